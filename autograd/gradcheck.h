#pragma once
/// Gradient checks for your own functions and modules (LibTorch has none):
/// compare the gradients autograd computes with central finite differences
/// in double precision, as PyTorch's torch.autograd.gradcheck does.
#include <functional>

#include "ember/core/options.h"
#include "ember/core/tensor.h"

namespace ember::autograd {

/// gradcheck's tolerances: GradcheckOptions().eps(1e-6).atol(1e-5).rtol(1e-3).fast_mode(false).
struct GradcheckOptions {
  /// The finite-difference step.
  EMBER_OPTION(GradcheckOptions, double, eps, 1e-6)
  /// Pass when |analytical - numerical| <= atol + rtol * |numerical|.
  EMBER_OPTION(GradcheckOptions, double, atol, 1e-5)
  EMBER_OPTION(GradcheckOptions, double, rtol, 1e-3)
  /// Check one random projection v^T J u per (output, input) pair instead of the
  /// whole Jacobian: much faster, slightly weaker.
  EMBER_OPTION(GradcheckOptions, bool, fast_mode, false)
};

/// f maps the inputs to one or more outputs. Inputs that require grad must be float64.
using CheckedFunction = std::function<TensorList(const TensorList&)>;

/// Checks f's Jacobian w.r.t. every input that requires grad. Returns true, or
/// throws ember::Error naming the output index, input index, element and both values.
bool gradcheck(const CheckedFunction& f, const TensorList& inputs, const GradcheckOptions& options = {});

/// Checks second derivatives: gradcheck of (inputs, v) -> v^T J(inputs), built with
/// create_graph, for random v.
bool gradgradcheck(const CheckedFunction& f, const TensorList& inputs, const GradcheckOptions& options = {});

}  // namespace ember::autograd
