#pragma once
/// nn::functional: the functions modules call (PyTorch's torch.nn.functional),
/// including the losses. Layers are the ops of ops/nn_ops.h; losses are
/// compositions of differentiable ops.
#include <optional>
#include <string_view>

#include "ember/nn/loss_options.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember::nn::functional {

using ember::adaptive_avg_pool2d;
using ember::avg_pool2d;
using ember::batch_norm;
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

/// Cross entropy from logits: logits [N, C], targets [N] (int64 class indices).
/// Stable for large logits (uses log_softmax). Mean reduction divides by the
/// total weight of the non-ignored targets, as PyTorch.
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
