#pragma once
/// Reverse-mode differentiation over the recorded graph.
#include <optional>

#include "ember/core/options.h"
#include "ember/core/tensor.h"

namespace ember::autograd {

/// Gradients of `outputs` w.r.t. `inputs`, weighted by `grad_outputs` (which may
/// be omitted, or hold undefined entries, for one-element outputs). Leaves' .grad()
/// is left alone. With create_graph the result has history, for higher-order
/// gradients. An input that does not reach the outputs throws unless
/// allow_unused, in which case its gradient is undefined. (LibTorch's positional
/// form; GradOptions below names the choices.)
TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs = {},
                std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                bool allow_unused = false);

/// grad()'s choices by name: grad({y}, {x}, GradOptions().create_graph(true)).
struct GradOptions {
  /// Weights for the outputs (may be omitted for one-element outputs).
  EMBER_OPTION(GradOptions, TensorList, grad_outputs, {})
  /// Keep the graph for another backward (default: create_graph).
  EMBER_OPTION(GradOptions, std::optional<bool>, retain_graph, std::nullopt)
  /// Give the result history, for higher-order gradients.
  EMBER_OPTION(GradOptions, bool, create_graph, false)
  /// An input that does not reach the outputs gets an undefined gradient instead of an error.
  EMBER_OPTION(GradOptions, bool, allow_unused, false)
};
TensorList grad(const TensorList& outputs, const TensorList& inputs, const GradOptions& options);

/// Accumulates gradients of `outputs` into the .grad() of every leaf that requires grad.
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

}  // namespace ember::autograd
