#pragma once
/// Per-tensor autograd state, kept apart from the core TensorImpl (which holds
/// only an opaque pointer to it) so the core stays free of autograd.
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "ember/autograd/node.h"

namespace ember::autograd {

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                                 // leaves: accumulated by backward()
  std::shared_ptr<Node> grad_fn;               // non-leaves: the op that made this tensor
  std::weak_ptr<Node> grad_accumulator;        // leaves: the sink, created on first use
  // Guards grad_accumulator and grad: threads sharing a model reach the same
  // leaf when they record ops on it (forward) and when they add into its
  // .grad (concurrent backward), as PyTorch's AutogradMeta mutex does.
  std::mutex mutex;
  std::uint32_t output_nr = 0;                 // which output of grad_fn
  bool retains_grad = false;                   // non-leaves: Tensor::retain_grad() was called
  // Views (made by a differentiable view op): their base, and the base's grad_fn
  // when the view was taken, to catch a view used after its base's history was
  // rewritten by an in-place op.
  bool is_view = false;
  std::weak_ptr<TensorImpl> view_base;
  std::weak_ptr<Node> base_grad_fn;
  // Leaves: run after each backward() adds into grad (autograd/hooks.h), by id.
  std::vector<std::pair<std::uint64_t, std::function<void(const Tensor&)>>> post_accumulate_hooks;
};

/// Marks `view` as a view of `base` (or of base's own base).
void mark_view(const Tensor& view, const Tensor& base);

/// The meta of `t`, or null when `t` has none.
AutogradMeta* meta(const Tensor& t);
/// The meta of `t`, created if missing.
AutogradMeta& ensure_meta(const Tensor& t);

/// The edge a gradient for `t` flows into: its grad_fn, or its leaf accumulator
/// (created if needed); invalid when `t` does not require grad.
Edge gradient_edge(const Tensor& t);

}  // namespace ember::autograd
