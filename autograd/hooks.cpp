// Hooks the engine calls during a pass (see hooks.h). The hook list lives in
// the leaf's AutogradMeta under its mutex, as .grad does; a hook runs outside
// that lock so it may read .grad or register further hooks.
#include "ember/autograd/hooks.h"

#include <atomic>

#include "ember/autograd/meta.h"

namespace ember::autograd {
namespace {
thread_local detail::CallbackQueue* t_queue = nullptr;  // the innermost running pass on this thread
std::atomic<std::uint64_t> g_next_hook_id{1};
}  // namespace

std::uint64_t register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook) {
  EMBER_CHECK(leaf.defined() && leaf.requires_grad(),
              "register_post_accumulate_grad_hook: the tensor does not require grad");
  AutogradMeta& m = ensure_meta(leaf);
  EMBER_CHECK(m.grad_fn == nullptr,
              "register_post_accumulate_grad_hook: only leaf tensors have a gradient accumulator (this one has {})",
              m.grad_fn->name());
  EMBER_CHECK(hook != nullptr, "register_post_accumulate_grad_hook: empty hook");
  const std::uint64_t id = g_next_hook_id++;
  std::lock_guard<std::mutex> lock(m.mutex);
  m.post_accumulate_hooks.emplace_back(id, std::move(hook));
  return id;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, std::uint64_t id) {
  AutogradMeta* m = meta(leaf);
  if (!m) return;
  std::lock_guard<std::mutex> lock(m->mutex);
  std::erase_if(m->post_accumulate_hooks, [id](const auto& h) { return h.first == id; });
}

void queue_callback(std::function<void()> callback) {
  EMBER_CHECK(t_queue != nullptr, "queue_callback: no backward pass is running on this thread");
  t_queue->callbacks_.push_back(std::move(callback));
}

namespace detail {
CallbackQueue::CallbackQueue() : outer_(t_queue) { t_queue = this; }
CallbackQueue::~CallbackQueue() { t_queue = outer_; }

void CallbackQueue::run() {
  // By index: a callback may queue another, which appends (and may reallocate).
  for (std::size_t i = 0; i < callbacks_.size(); ++i) {
    std::function<void()> cb = std::move(callbacks_[i]);
    cb();
  }
  callbacks_.clear();
}

void run_post_accumulate_hooks(const Tensor& leaf) {
  AutogradMeta* m = meta(leaf);
  if (!m) return;
  std::vector<std::function<void(const Tensor&)>> hooks;
  {
    std::lock_guard<std::mutex> lock(m->mutex);
    if (m->post_accumulate_hooks.empty()) return;
    for (const auto& h : m->post_accumulate_hooks) hooks.push_back(h.second);
  }
  for (const auto& h : hooks) h(leaf);
}
}  // namespace detail

}  // namespace ember::autograd
