#pragma once
/// Per-tensor autograd state, kept apart from the core TensorImpl (which holds
/// only an opaque pointer to it) so the core stays free of autograd.
#include <memory>

#include "ember/autograd/node.h"

namespace ember::autograd {

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                                 // leaves: accumulated by backward()
  std::shared_ptr<Node> grad_fn;               // non-leaves: the op that made this tensor
  std::weak_ptr<Node> grad_accumulator;        // leaves: the sink, created on first use
  std::uint32_t output_nr = 0;                 // which output of grad_fn
  bool is_view_of_grad = false;                // a view of a tensor that requires grad
};

/// The meta of `t`, or null when `t` has none.
AutogradMeta* meta(const Tensor& t);
/// The meta of `t`, created if missing.
AutogradMeta& ensure_meta(const Tensor& t);

/// The edge a gradient for `t` flows into: its grad_fn, or its leaf accumulator
/// (created if needed); invalid when `t` does not require grad.
Edge gradient_edge(const Tensor& t);

}  // namespace ember::autograd
