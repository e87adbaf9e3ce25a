#pragma once
/// Reverse-mode differentiation over the recorded graph.
#include <optional>

#include "ember/core/tensor.h"

namespace ember::autograd {

/// Gradients of `outputs` w.r.t. `inputs`, weighted by `grad_outputs` (which may
/// be omitted, or hold undefined entries, for one-element outputs). Leaves' .grad()
/// is left alone. With create_graph the result has history, for higher-order
/// gradients. An input that does not reach the outputs throws unless
/// allow_unused, in which case its gradient is undefined.
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                bool allow_unused = false);

/// Accumulates gradients of `outputs` into the .grad() of every leaf that requires grad.
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

}  // namespace ember::autograd
