// Losses, written in differentiable ops (so their gradients come from the
// ops' own and can be differentiated again).
#include "ember/nn/functional.h"

#include <cmath>

#include "ember/autograd/function.h"
#include "ember/core/warning.h"

namespace ember::nn::functional {
namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::None: return loss;
    case Reduction::Sum: return loss.sum();
    case Reduction::Mean: return loss.mean();
  }
  return loss;
}

void check_class_inputs(const Tensor& x, const Tensor& targets, const Tensor& weight, const char* op) {
  EMBER_CHECK(x.defined() && targets.defined(), "{}: got an undefined tensor", op);
  EMBER_CHECK(x.dim() == 2, "{}: expected input [N, C], got {}", op, shape_str(x.sizes()));
  EMBER_CHECK(x.is_floating_point(), "{}: expected a floating input, got {}", op, x.dtype());
  EMBER_CHECK(targets.dtype() == DType::Int64, "{}: expected int64 class indices as targets, got {}", op,
              targets.dtype());
  EMBER_CHECK(targets.sizes() == Shape{x.sizes()[0]}, "{}: input {} needs targets of shape [{}], got {}", op,
              shape_str(x.sizes()), x.sizes()[0], shape_str(targets.sizes()));
  if (weight.defined())
    EMBER_CHECK(weight.sizes() == Shape{x.sizes()[1]}, "{}: weight {} does not match {} classes", op,
                shape_str(weight.sizes()), x.sizes()[1]);
}

// Targets with ignored entries replaced by 0 (a valid index), and the mask of kept ones.
std::pair<Tensor, Tensor> valid_targets(const Tensor& targets, std::int64_t classes, std::int64_t ignore_index,
                                        const char* op) {
  const Tensor keep = targets != static_cast<double>(ignore_index);
  const Tensor safe = where(keep, targets, zeros_like(targets));
  for (auto t : safe.to_vector<std::int64_t>())
    EMBER_CHECK(t >= 0 && t < classes, "{}: target {} is out of bounds for {} classes", op, t, classes);
  return {safe, keep};
}

}  // namespace

namespace {
// Unweighted mean or sum, the classification step's loss: one pass picks
// -log_probs[i, target_i] over the kept rows, and one node records it, whose
// gradient is the kept rows' one-hot mask times -g / denominator (differentiable,
// in ops). The composed form took a dozen small ops and nodes per step.
Tensor nll_loss_unweighted(const Tensor& log_probs, const Tensor& targets, std::int64_t ignore_index,
                           Reduction reduction) {
  const std::int64_t n = log_probs.sizes()[0], classes = log_probs.sizes()[1];
  const auto t = targets.contiguous().to_vector<std::int64_t>();
  const Tensor lp = log_probs.detach().contiguous();
  Tensor mask = zeros({n, classes}, log_probs.dtype());
  double total = 0.0;
  std::int64_t kept = 0;
  dispatch_floating(lp.dtype(), "nll_loss", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = lp.data_ptr<T>();
    T* m = mask.data_ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t c = t[static_cast<std::size_t>(i)];
      if (c == ignore_index) continue;
      EMBER_CHECK(c >= 0 && c < classes, "nll_loss: target {} is out of bounds for {} classes", c, classes);
      total -= static_cast<double>(p[i * classes + c]);
      m[i * classes + c] = T(1);
      ++kept;
    }
  });
  // PyTorch: the mean over kept rows, NaN when none is kept.
  const double denom = reduction == Reduction::Mean ? static_cast<double>(kept) : 1.0;
  Tensor loss = full({}, reduction == Reduction::Mean && kept == 0 ? std::nan("") : total / denom, log_probs.dtype());
  // With every row ignored the mask is all zero and so is PyTorch's gradient.
  const double scale = kept == 0 ? 0.0 : -1.0 / denom;
  autograd::record("NllLossBackward", {log_probs}, {loss}, {mask}, [scale](const BackwardCtx& c, const TensorList& g) {
    return TensorList{c.saved(0) * (g[0] * scale)};
  });
  return loss;
}
}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const NLLLossFuncOptions& options) {
  const Tensor& weight = options.weight();
  const std::int64_t ignore_index = options.ignore_index();
  const Reduction reduction = options.reduction();
  check_class_inputs(log_probs, targets, weight, "nll_loss");
  if (!weight.defined() && reduction != Reduction::None) return nll_loss_unweighted(log_probs, targets, ignore_index, reduction);
  auto [safe, keep] = valid_targets(targets, log_probs.sizes()[1], ignore_index, "nll_loss");
  Tensor w = keep.to(log_probs.dtype());
  if (weight.defined()) w = w * index_select(weight.to(log_probs.dtype()), 0, safe);
  const Tensor picked = gather(log_probs, 1, safe.unsqueeze(1)).squeeze(1);
  const Tensor loss = -picked * w;
  if (reduction == Reduction::Mean) return loss.sum() / w.sum();  // PyTorch: weighted mean
  return reduce(loss, reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyFuncOptions& options) {
  // The fields by their short names, for the formulas below.
  const struct {
    Tensor weight;
    std::int64_t ignore_index;
    double label_smoothing;
    Reduction reduction;
  } o{options.weight(), options.ignore_index(), options.label_smoothing(), options.reduction()};
  check_class_inputs(logits, targets, o.weight, "cross_entropy");
  EMBER_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0,
              "cross_entropy: label_smoothing must be in [0, 1], got {}", o.label_smoothing);
  const Tensor lp = log_softmax(logits, 1);
  const Tensor nll =
      nll_loss(lp, targets, NLLLossFuncOptions().weight(o.weight).ignore_index(o.ignore_index).reduction(o.reduction));
  if (o.label_smoothing == 0.0) return nll;
  // PyTorch: (1 - eps) * nll + eps * smooth, smooth = -sum_c w_c log p_c / C per sample.
  auto [safe, keep] = valid_targets(targets, logits.sizes()[1], o.ignore_index, "cross_entropy");
  const double classes = static_cast<double>(logits.sizes()[1]);
  Tensor per_class = o.weight.defined() ? lp * o.weight.to(lp.dtype()) : lp;
  Tensor smooth = -(per_class.sum({1})) * keep.to(lp.dtype()) / classes;
  if (o.reduction == Reduction::Mean) {
    Tensor denom = o.weight.defined() ? (index_select(o.weight.to(lp.dtype()), 0, safe) * keep.to(lp.dtype())).sum()
                                      : keep.to(lp.dtype()).sum();
    smooth = smooth.sum() / denom;
  } else {
    smooth = reduce(smooth, o.reduction);
  }
  return nll * (1.0 - o.label_smoothing) + smooth * o.label_smoothing;
}

namespace {
// PyTorch's warning for the elementwise losses: target [N] against input
// [N, 1] broadcasts to [N, N] and silently averages the wrong thing.
void warn_if_broadcast(const char* op, const Tensor& input, const Tensor& target) {
  if (input.sizes() != target.sizes())
    warn_once(fmt::format("{}: using a target size ({}) that is different to the input size ({}); this will likely "
                          "lead to incorrect results due to broadcasting. Please ensure they have the same size.",
                          op, shape_str(target.sizes()), shape_str(input.sizes())));
}
}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& options) {
  warn_if_broadcast("mse_loss", input, target);
  const Tensor d = input - target;
  return reduce(d * d, options.reduction());
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& options) {
  warn_if_broadcast("l1_loss", input, target);
  return reduce(abs(input - target), options.reduction());
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& options) {
  const Tensor& weight = options.weight();
  EMBER_CHECK(input.defined() && target.defined() && input.sizes() == target.sizes(),
              "binary_cross_entropy: input and target must have the same shape, got {} and {}",
              shape_str(input.sizes()), shape_str(target.sizes()));
  auto in = input.detach().to_vector<double>();
  for (double v : in) EMBER_CHECK(v >= 0.0 && v <= 1.0, "binary_cross_entropy: input values must be in [0, 1], got {}", v);
  // log clamped at -100 so that p = 0 or 1 gives a finite loss, as PyTorch.
  const Tensor log_p = clamp(log(input), -100.0, std::nullopt), log_1mp = clamp(log(1.0 - input), -100.0, std::nullopt);
  Tensor loss = -(target * log_p + (1.0 - target) * log_1mp);
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, options.reduction());
}

Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& options) {
  const Tensor &weight = options.weight(), &pos_weight = options.pos_weight();
  EMBER_CHECK(x.defined() && y.defined() && x.sizes() == y.sizes(),
              "binary_cross_entropy_with_logits: input and target must have the same shape, got {} and {}",
              shape_str(x.sizes()), shape_str(y.sizes()));
  // log(1 + exp(-|x|)) never overflows; softplus(-x) = max(-x, 0) + log1p(exp(-|x|)).
  const Tensor log1p_exp = log(1.0 + exp(-abs(x)));
  const Tensor softplus_neg = relu(-x) + log1p_exp;  // -log(sigmoid(x))
  Tensor loss;
  if (pos_weight.defined()) {
    const Tensor lw = 1.0 + (pos_weight - 1.0) * y;
    loss = (1.0 - y) * x + lw * softplus_neg;
  } else {
    loss = (1.0 - y) * x + softplus_neg;
  }
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, options.reduction());
}

}  // namespace ember::nn::functional
