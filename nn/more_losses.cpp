// smooth_l1_loss, huber_loss and kl_div (issue 10 part B), compositions of
// differentiable ops like the other losses in functional.cpp.
#include "ember/nn/functional.h"

namespace ember::nn::functional {
namespace {

Tensor reduce_loss(const Tensor& loss, Reduction r, const char* op) {
  switch (r) {
    case Reduction::None: return loss;
    case Reduction::Sum: return loss.sum();
    case Reduction::Mean: return loss.mean();
    case Reduction::BatchMean: break;
  }
  throw Error(fmt::format("{}: reduction BatchMean is only valid for kl_div", op));
}

void check_pair(const Tensor& input, const Tensor& target, const char* op) {
  EMBER_CHECK(input.defined() && target.defined(), "{}: got an undefined tensor", op);
  EMBER_CHECK(input.is_floating_point(), "{}: expected a floating input, got {}", op, input.dtype());
  broadcast_shapes(input.sizes(), target.sizes(), op);
}

}  // namespace

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options) {
  const Reduction reduction = options.reduction();
  const double beta = options.beta();
  check_pair(input, target, "smooth_l1_loss");
  EMBER_CHECK(beta >= 0.0, "smooth_l1_loss: beta must be non-negative, got {}", beta);
  const Tensor d = input - target, ad = abs(d);
  if (beta == 0.0) return reduce_loss(ad, reduction, "smooth_l1_loss");
  return reduce_loss(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction, "smooth_l1_loss");
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& options) {
  const Reduction reduction = options.reduction();
  const double delta = options.delta();
  check_pair(input, target, "huber_loss");
  EMBER_CHECK(delta > 0.0, "huber_loss: delta must be positive, got {}", delta);
  const Tensor d = input - target, ad = abs(d);
  return reduce_loss(where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta), reduction, "huber_loss");
}

Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options) {
  const Reduction reduction = options.reduction();
  const bool log_target = options.log_target();
  check_pair(input, target, "kl_div");
  Tensor loss;
  if (log_target) {
    loss = exp(target) * (target - input);
  } else {
    // xlogy(t, t) - t * input: 0 log 0 counts as 0.
    const Tensor pos = target > 0.0;
    const Tensor safe = where(pos, target, ones_like(target));
    loss = where(pos, target * log(safe), zeros_like(target)) - target * input;
  }
  if (reduction == Reduction::BatchMean)
    return input.dim() == 0 ? loss.sum() : loss.sum() / static_cast<double>(input.size(0));
  return reduce_loss(loss, reduction, "kl_div");
}

}  // namespace ember::nn::functional
