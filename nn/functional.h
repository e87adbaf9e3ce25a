#pragma once
/// nn::functional: the functions modules call (PyTorch's torch.nn.functional),
/// including the losses. Layers are the ops of ops/nn_ops.h; losses are
/// compositions of differentiable ops.
#include <optional>
#include <string>
#include <string_view>

#include "ember/core/options.h"
#include "ember/nn/loss_options.h"
#include "ember/nn/options.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember::nn::functional {

using ember::adaptive_avg_pool2d;
using ember::avg_pool2d;
using ember::batch_norm;
using ember::conv1d;            // issue 10 part B
using ember::conv_transpose2d;
using ember::affine_grid;
using ember::dropout2d;
using ember::embedding;
using ember::grid_sample;
using ember::group_norm;
using ember::interpolate;
using ember::InterpolateOptions;
using ember::layer_norm;
using ember::conv2d;
using ember::dropout;
using ember::gelu;
using ember::leaky_relu;
using ember::linear;
using ember::log_softmax;
using ember::max_pool2d;
using ember::relu;
using ember::sigmoid;
using ember::softmax;
using ember::tanh;

// ---- issue 10 part A: activations and pad ----
using ember::elu;
using ember::hardtanh;
using ember::mish;
using ember::silu;
using ember::softplus;

/// F.pad's arguments: `PadFuncOptions({1, 1, 2, 0}).mode("reflect")`; pad lists
/// {left, right} for the last dim, then the dim before, ...; negative values crop.
struct PadFuncOptions {
  PadFuncOptions(Shape pad) : pad_(std::move(pad)) {}  // NOLINT: implicit, as LibTorch's
  EMBER_OPTION(PadFuncOptions, Shape, pad, {})
  /// "constant", "reflect", "replicate" or "circular".
  EMBER_OPTION(PadFuncOptions, std::string, mode, "constant")
  /// The fill value of "constant" mode.
  EMBER_OPTION(PadFuncOptions, double, value, 0.0)
};
/// Pads x as torch.nn.functional.pad does (see ember::pad).
Tensor pad(const Tensor& x, const PadFuncOptions& options);
// ---- end of issue 10 part A ----

// ---- LibTorch's option forms: F::max_pool2d(x, F::MaxPool2dFuncOptions(2).stride(2)) ----
using MaxPool2dFuncOptions = MaxPool2dOptions;
using AvgPool2dFuncOptions = AvgPool2dOptions;
using InterpolateFuncOptions = InterpolateOptions;
Tensor max_pool2d(const Tensor& x, const MaxPool2dFuncOptions& options);
Tensor avg_pool2d(const Tensor& x, const AvgPool2dFuncOptions& options);
/// Dropout's probability and mode: F::dropout(x, F::DropoutFuncOptions().p(0.2).training(is_training())).
struct DropoutFuncOptions {
  EMBER_OPTION(DropoutFuncOptions, double, p, 0.5)
  EMBER_OPTION(DropoutFuncOptions, bool, training, true)
  EMBER_OPTION(DropoutFuncOptions, bool, inplace, false)
};
using Dropout2dFuncOptions = DropoutFuncOptions;
/// inplace(true) writes the result into x too (x must not need a gradient), as LibTorch.
Tensor dropout(const Tensor& x, const DropoutFuncOptions& options);
Tensor dropout2d(const Tensor& x, const Dropout2dFuncOptions& options);
/// x / max(||x||_p over dim, eps), as torch.nn.functional.normalize.
struct NormalizeFuncOptions {
  EMBER_OPTION(NormalizeFuncOptions, double, p, 2.0)
  EMBER_OPTION(NormalizeFuncOptions, std::int64_t, dim, 1)
  EMBER_OPTION(NormalizeFuncOptions, double, eps, 1e-12)
};
Tensor normalize(const Tensor& x, const NormalizeFuncOptions& options = {});

/// Cross entropy from logits: logits [N, C], targets [N] (int64 class indices).
/// Stable for large logits (uses log_softmax). Mean reduction divides by the
/// total weight of the non-ignored targets, as PyTorch.
/// Floating targets [N, C] are class probabilities (soft labels): the loss is
/// -sum_c weight_c * target_c * log_softmax_c, smoothed by label_smoothing, and
/// the mean divides by N (ignore_index does not apply), as PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyFuncOptions& options = {});
/// Negative log likelihood of log-probabilities [N, C] for targets [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const NLLLossFuncOptions& options = {});
/// Mean squared error; input and target broadcast (with a warning, as PyTorch).
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& options = {});
/// Mean absolute error.
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& options = {});
/// Binary cross entropy of probabilities in [0, 1] (log clamped at -100, as PyTorch).
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& options = {});
/// Binary cross entropy from logits, computed stably: max(x,0) - x*y + log(1 + exp(-|x|)).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& options = {});

// ---- issue 10 part B: more losses (nn/more_losses.cpp) ----
/// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options = {});
/// 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere.
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& options = {});
/// KL divergence of target from the log-probabilities `input`: target (log target - input)
/// (0 where target = 0), or with log_target exp(target) (target - input). BatchMean divides
/// the sum by input.size(0) (the mathematically correct mean); Mean averages every element.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options = {});
// ---- end issue 10 part B ----

}  // namespace ember::nn::functional

namespace ember::nn {
namespace F = functional;
}  // namespace ember::nn

namespace ember {
/// The losses at top level in LibTorch's argument order (torch::nll_loss(x, t, {}, torch::Reduction::Sum)),
/// for programs ported from LibTorch; nn::functional's forms take named options.
inline Tensor nll_loss(const Tensor& self, const Tensor& target, const Tensor& weight = {},
                       Reduction reduction = Reduction::Mean, std::int64_t ignore_index = -100) {
  return nn::F::nll_loss(self, target, nn::NLLLossOptions(reduction).weight(weight).ignore_index(ignore_index));
}
inline Tensor cross_entropy_loss(const Tensor& self, const Tensor& target, const Tensor& weight = {},
                                 Reduction reduction = Reduction::Mean, std::int64_t ignore_index = -100,
                                 double label_smoothing = 0.0) {
  return nn::F::cross_entropy(
      self, target,
      nn::CrossEntropyLossOptions(reduction).weight(weight).ignore_index(ignore_index).label_smoothing(label_smoothing));
}
inline Tensor mse_loss(const Tensor& self, const Tensor& target, Reduction reduction = Reduction::Mean) {
  return nn::F::mse_loss(self, target, reduction);
}
inline Tensor l1_loss(const Tensor& self, const Tensor& target, Reduction reduction = Reduction::Mean) {
  return nn::F::l1_loss(self, target, reduction);
}
inline Tensor binary_cross_entropy(const Tensor& self, const Tensor& target, const Tensor& weight = {},
                                   Reduction reduction = Reduction::Mean) {
  return nn::F::binary_cross_entropy(self, target, nn::BCELossOptions(reduction).weight(weight));
}
inline Tensor binary_cross_entropy_with_logits(const Tensor& self, const Tensor& target, const Tensor& weight = {},
                                               const Tensor& pos_weight = {}, Reduction reduction = Reduction::Mean) {
  return nn::F::binary_cross_entropy_with_logits(
      self, target, nn::BCEWithLogitsLossOptions(reduction).weight(weight).pos_weight(pos_weight));
}
}  // namespace ember
