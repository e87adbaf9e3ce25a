#pragma once
/// nn::functional: the functions modules call (PyTorch's torch.nn.functional),
/// including the losses. Layers are the ops of ops/nn_ops.h; losses are
/// compositions of differentiable ops.
#include <optional>
#include <string_view>

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

/// How a loss reduces its per-element values. BatchMean (the sum divided by the batch size) is kl_div's only.
enum class Reduction { None, Mean, Sum, BatchMean };

struct CrossEntropyOptions {
  Tensor weight;                      // [C] per-class weights, or undefined
  std::int64_t ignore_index = -100;   // targets equal to this contribute nothing
  double label_smoothing = 0.0;       // in [0, 1]
  Reduction reduction = Reduction::Mean;
};

/// Cross entropy from logits: logits [N, C], targets [N] (int64 class indices).
/// Stable for large logits (uses log_softmax). Mean reduction divides by the
/// total weight of the non-ignored targets, as PyTorch.
/// Floating targets [N, C] are class probabilities (soft labels): the loss is
/// -sum_c weight_c * target_c * log_softmax_c, smoothed by label_smoothing, and
/// the mean divides by N (ignore_index does not apply), as PyTorch.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options = {});
/// Negative log likelihood of log-probabilities [N, C] for targets [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& weight = {},
                std::int64_t ignore_index = -100, Reduction reduction = Reduction::Mean);
/// Mean squared error; input and target broadcast.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Mean absolute error.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Binary cross entropy of probabilities in [0, 1] (log clamped at -100, as PyTorch).
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                            Reduction reduction = Reduction::Mean);
/// Binary cross entropy from logits, computed stably: max(x,0) - x*y + log(1 + exp(-|x|)).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                                        const Tensor& pos_weight = {}, Reduction reduction = Reduction::Mean);

// ---- issue 10 part B: more losses (nn/more_losses.cpp) ----
/// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean, double beta = 1.0);
/// 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean, double delta = 1.0);
/// KL divergence of target from the log-probabilities `input`: target (log target - input)
/// (0 where target = 0), or with log_target exp(target) (target - input). BatchMean divides
/// the sum by input.size(0) (the mathematically correct mean); Mean averages every element.
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean, bool log_target = false);
// ---- end issue 10 part B ----

}  // namespace ember::nn::functional

namespace ember::nn {
namespace F = functional;
using functional::Reduction;
}  // namespace ember::nn
