#pragma once
/// Gradient clipping, where LibTorch has it: nn::utils::clip_grad_norm_ and
/// clip_grad_value_, called between backward() and the optimizer's step().
#include "ember/core/tensor.h"

namespace ember::nn::utils {

/// Scales the gradients so their total norm (norm_type: 2, 1, ..., or infinity) is at most
/// max_norm; returns the norm before. Parameters without a gradient are skipped.
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0);
/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const TensorList& params, double clip_value);

}  // namespace ember::nn::utils
