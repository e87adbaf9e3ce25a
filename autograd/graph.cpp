// The graph's building blocks: grad mode, nodes, saved tensors, per-tensor
// autograd state, and record() which ops call to add themselves to the graph.
#include <atomic>

#include "ember/autograd/function.h"
#include "ember/autograd/meta.h"

namespace ember::autograd {

// ---- grad mode ----
namespace {
thread_local bool t_grad_enabled = true;
std::atomic<std::uint64_t> g_next_sequence_nr{0};
}  // namespace

bool GradMode::is_enabled() { return t_grad_enabled; }
void GradMode::set_enabled(bool enabled) { t_grad_enabled = enabled; }

// ---- nodes ----
Node::Node(std::string name) : name_(std::move(name)), sequence_nr_(g_next_sequence_nr++) {}

// Why destruction is iterative: dropping the last handle to the end of a
// 100,000-op chain would otherwise destroy node N, whose edge (and saved
// tensors, whose grad_fn) destroys node N-1 inside it, and so on: 100,000
// nested destructors overflow the stack. Instead a dying node hands what it
// holds to a per-thread list, and the outermost destructor empties that list
// in a loop, so the nesting depth stays constant.
namespace {
thread_local bool t_lists_gone = false;  // trivially destructible: readable at thread exit
struct DyingLists {
  std::vector<std::shared_ptr<Node>> nodes;
  std::vector<Tensor> tensors;
  bool draining = false;
  ~DyingLists() { t_lists_gone = true; }
};
// The calling thread's lists, or null once they are destroyed (a graph freed by
// a static's destructor at exit is then freed recursively, as it is small or
// the process is ending).
DyingLists* dying_lists() {
  if (t_lists_gone) return nullptr;
  thread_local DyingLists lists;
  return &lists;
}
}  // namespace

Node::~Node() {
  DyingLists* dl = dying_lists();
  if (!dl) return;
  for (auto& e : next_edges)
    if (e.node) dl->nodes.push_back(std::move(e.node));
  if (dl->draining) return;
  dl->draining = true;
  while (!dl->nodes.empty() || !dl->tensors.empty()) {
    if (!dl->tensors.empty()) {
      Tensor last = std::move(dl->tensors.back());
      dl->tensors.pop_back();
    } else {
      std::shared_ptr<Node> last = std::move(dl->nodes.back());
      dl->nodes.pop_back();
    }
  }
  dl->draining = false;
}

AccumulateGrad::AccumulateGrad(const Tensor& variable)
    : Node("AccumulateGrad"), variable_(variable.impl_ptr()) {
  input_meta.push_back({variable.sizes(), variable.dtype()});
  output_meta = input_meta;
}

FunctionNode::FunctionNode(std::string name, BackwardFn fn) : Node(std::move(name)), fn_(std::move(fn)) {}

FunctionNode::~FunctionNode() {
  if (DyingLists* dl = dying_lists())
    for (auto& s : saved_)
      if (Tensor t = s.release(); t.defined()) dl->tensors.push_back(std::move(t));
}

TensorList FunctionNode::apply(const TensorList& grad_outputs) {
  EMBER_CHECK(!released_ || saved_.empty(),
              "{}: trying to backward through the graph a second time: its saved tensors were "
              "freed by the first backward. Pass retain_graph=true to the first backward.",
              name());
  return fn_(BackwardCtx(*this), grad_outputs);
}

void FunctionNode::release_saved() {
  for (auto& s : saved_) s.reset();
  released_ = true;
}

void FunctionNode::save(const TensorList& tensors) {
  for (const auto& t : tensors) saved_.emplace_back(t, this);
}

Tensor FunctionNode::saved(std::size_t i) const {
  EMBER_CHECK(i < saved_.size(), "{}: asked for saved tensor {} of {}", name(), i, saved_.size());
  return saved_[i].unpack(*this);
}

// ---- saved tensors ----
SavedTensor::SavedTensor(const Tensor& t, const Node* owner) {
  if (!t.defined()) return;
  saved_version_ = t.version();
  const AutogradMeta* m = meta(t);
  if (m && m->grad_fn.get() == owner) {
    is_output_ = true;
    grad_fn_ = m->grad_fn;
    output_nr_ = m->output_nr;
    data_ = detail::alias(t);
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(const Node& owner) const {
  EMBER_CHECK(!freed_, "{}: saved tensors were freed after backward; pass retain_graph=true",
              owner.name());
  if (!data_.defined()) return Tensor();
  EMBER_CHECK(data_.version() == saved_version_,
              "a tensor saved by {} was modified in place (saved at version {}, now at version "
              "{}); make a copy with clone() before modifying it",
              owner.name(), saved_version_, data_.version());
  if (!is_output_) return data_;
  Tensor out = detail::alias(data_);
  if (auto fn = grad_fn_.lock()) {
    auto& m = ensure_meta(out);
    m.requires_grad = true;
    m.grad_fn = std::move(fn);
    m.output_nr = output_nr_;
  }
  return out;
}

// ---- per-tensor state ----
AutogradMeta* meta(const Tensor& t) { return t.defined() ? t.impl().autograd.get() : nullptr; }

AutogradMeta& ensure_meta(const Tensor& t) {
  auto& slot = t.impl().autograd;
  if (!slot) slot = std::make_shared<AutogradMeta>();
  return *slot;
}

void mark_view(const Tensor& view, const Tensor& base) {
  const AutogradMeta* bm = meta(base);
  auto root = bm && bm->is_view ? bm->view_base.lock() : nullptr;
  const Tensor b = root ? Tensor(root) : base;
  AutogradMeta& m = ensure_meta(view);
  m.is_view = true;
  m.view_base = b.impl_ptr();
  if (const AutogradMeta* rm = meta(b)) m.base_grad_fn = rm->grad_fn;
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta* m = meta(t);
  if (!m || !m->requires_grad) return {};
  if (m->grad_fn && m->is_view) {
    // The view's history runs through its base as it was; if an in-place op has
    // since given the base new history, the view's values no longer follow it.
    if (auto base = m->view_base.lock()) {
      const AutogradMeta* bm = base->autograd.get();
      const Node* now = bm ? bm->grad_fn.get() : nullptr;
      EMBER_CHECK(now == m->base_grad_fn.lock().get(),
                  "a view used in autograd was taken before its base was modified in place (base now made "
                  "by {}); take the view again after the in-place op",
                  now ? now->name() : "an in-place op");
    }
  }
  if (m->grad_fn) return {m->grad_fn, m->output_nr};
  std::lock_guard<std::mutex> lock(m->mutex);
  auto acc = m->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    m->grad_accumulator = acc;
  }
  return {acc, 0};
}

// ---- recording ----
bool needs_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (const AutogradMeta* m = meta(t); m && m->requires_grad) return true;
  return false;
}

std::shared_ptr<FunctionNode> record(std::string name, const TensorList& inputs,
                                     const TensorList& outputs, const TensorList& saved,
                                     BackwardFn backward) {
  if (!needs_grad(inputs)) return nullptr;
  auto node = std::make_shared<FunctionNode>(std::move(name), std::move(backward));
  for (const auto& t : inputs) {
    node->next_edges.push_back(gradient_edge(t));
    node->input_meta.push_back(t.defined() ? TensorMeta{t.sizes(), t.dtype()} : TensorMeta{{}, kDefaultDType});
  }
  std::uint32_t nr = 0;
  for (const auto& out : outputs) {
    node->output_meta.push_back({out.sizes(), out.dtype()});
    if (out.is_floating_point()) {
      auto& m = ensure_meta(out);
      m.requires_grad = true;
      m.grad_fn = node;
      m.output_nr = nr;
    }
    ++nr;
  }
  node->save(saved);
  return node;
}

}  // namespace ember::autograd

// ---- the autograd part of Tensor's API that needs no arithmetic ----
namespace ember {
using autograd::AutogradMeta;
using autograd::meta;

bool Tensor::requires_grad() const {
  const AutogradMeta* m = meta(*this);
  return m && m->requires_grad;
}

Tensor& Tensor::requires_grad_(bool requires_grad) {
  const AutogradMeta* m = meta(*this);
  EMBER_CHECK(!(m && m->grad_fn) || requires_grad,
              "requires_grad_: cannot turn off requires_grad on a non-leaf tensor (made by {}); "
              "use detach()",
              m && m->grad_fn ? m->grad_fn->name() : "");
  if (m && m->grad_fn) return *this;
  EMBER_CHECK(!requires_grad || is_floating_point(),
              "requires_grad_: only floating-point tensors can require gradients, got {}", dtype());
  autograd::ensure_meta(*this).requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  AutogradMeta* m = meta(*this);
  if (!m) return Tensor();
  std::lock_guard<std::mutex> lock(m->mutex);
  return m->grad;
}

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined())
    EMBER_CHECK(grad.sizes() == sizes(), "set_grad: gradient of shape {} for a tensor of shape {}",
                shape_str(grad.sizes()), shape_str(sizes()));
  AutogradMeta& m = autograd::ensure_meta(*this);
  std::lock_guard<std::mutex> lock(m.mutex);
  m.grad = grad;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  const AutogradMeta* m = meta(*this);
  return m ? m->grad_fn : nullptr;
}

bool Tensor::is_leaf() const { return grad_fn() == nullptr; }

void Tensor::retain_grad() const {
  EMBER_CHECK(requires_grad(), "retain_grad: the tensor does not require grad");
  if (is_leaf() || retains_grad()) return;
  AutogradMeta& m = autograd::ensure_meta(*this);
  m.retains_grad = true;
  m.grad_fn->retained.push_back({m.output_nr, impl_ptr()});
}

bool Tensor::retains_grad() const {
  const AutogradMeta* m = meta(*this);
  return m && m->retains_grad;
}

std::uint32_t Tensor::output_nr() const {
  const AutogradMeta* m = meta(*this);
  return m ? m->output_nr : 0;
}

Tensor Tensor::detach() const { return detail::alias(*this); }

}  // namespace ember
