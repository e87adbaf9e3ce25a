#pragma once
/// Engine hooks for code that must act while backward() runs, such as
/// data-parallel training starting a gradient all-reduce as soon as a
/// parameter's gradient is final (PyTorch's
/// Tensor.register_post_accumulate_grad_hook and Engine::queue_callback).
#include <cstdint>
#include <functional>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::autograd {

/// Called with the leaf after backward() has added a gradient into its .grad().
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

/// Registers `hook` on `leaf` (a tensor that requires grad and has no grad_fn).
/// It runs on the backward thread once per backward() pass that reaches the
/// leaf, after the gradient is in .grad() (not for grad(), which leaves .grad()
/// alone). Hooks run in registration order. Returns an id for removal.
std::uint64_t register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook);
/// Removes the hook with this id from `leaf`; harmless if already removed.
void remove_post_accumulate_grad_hook(const Tensor& leaf, std::uint64_t id);

/// Runs `callback` on the backward thread once the backward() or grad() pass
/// running on this thread has finished all its nodes (callbacks queued by a
/// callback run too). Only valid while a pass runs, e.g. from a hook; throws
/// otherwise. If the pass throws, its queued callbacks are dropped.
void queue_callback(std::function<void()> callback);

namespace detail {
/// The engine's side of the hooks. One CallbackQueue lives for each pass:
/// queue_callback() adds to the innermost one on this thread, run() drains it.
class CallbackQueue {
 public:
  CallbackQueue();
  ~CallbackQueue();
  CallbackQueue(const CallbackQueue&) = delete;
  CallbackQueue& operator=(const CallbackQueue&) = delete;
  /// Runs the queued callbacks, and those they queue, in order.
  void run();

 private:
  friend void autograd::queue_callback(std::function<void()>);
  std::vector<std::function<void()>> callbacks_;
  CallbackQueue* outer_;
};
/// Runs leaf's post-accumulate-grad hooks (a copy of the list, taken under its lock).
void run_post_accumulate_hooks(const Tensor& leaf);
}  // namespace detail

}  // namespace ember::autograd
