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

/// grad()'s choices by name: grad({y}, {x}, GradOptions().create_graph(true)).
struct GradOptions {
  /// Weights for the outputs (may be omitted for one-element outputs).
  GradOptions& grad_outputs(TensorList g) { grad_outputs_ = std::move(g); return *this; }
  /// Keep the graph for another backward (default: create_graph).
  GradOptions& retain_graph(bool on) { retain_graph_ = on; return *this; }
  /// Give the result history, for higher-order gradients.
  GradOptions& create_graph(bool on) { create_graph_ = on; return *this; }
  /// An input that does not reach the outputs gets an undefined gradient instead of an error.
  GradOptions& allow_unused(bool on) { allow_unused_ = on; return *this; }

  TensorList grad_outputs_;
  std::optional<bool> retain_graph_;
  bool create_graph_ = false;
  bool allow_unused_ = false;
};
TensorList grad(const TensorList& outputs, const TensorList& inputs, const GradOptions& options);

/// Accumulates gradients of `outputs` into the .grad() of every leaf that requires grad.
void backward(const TensorList& outputs, const TensorList& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

}  // namespace ember::autograd
