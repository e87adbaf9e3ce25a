#pragma once
/// Loss modules: each holds its options and calls the functional loss;
/// forward takes (input, target): `loss(output, target)`.
#include "ember/nn/functional.h"
#include "ember/core/options.h"
#include "ember/nn/module.h"

namespace ember::nn {

/// Cross entropy from logits [N, C] and int64 targets [N].
class CrossEntropyLossImpl : public Cloneable<CrossEntropyLossImpl> {
 public:
  explicit CrossEntropyLossImpl(F::CrossEntropyOptions options = {}) : options(std::move(options)) {}
  Tensor forward(const Tensor& logits, const Tensor& targets) { return F::cross_entropy(logits, targets, options); }
  F::CrossEntropyOptions options;
};
EMBER_MODULE(CrossEntropyLoss);

/// A loss of (input, target) with a reduction; Derived supplies `static Tensor compute(input, target, reduction)`.
template <class Derived>
class PairLoss : public Cloneable<Derived> {
 public:
  explicit PairLoss(Reduction reduction) : reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return Derived::compute(input, target, reduction); }
  Reduction reduction;
};

/// Negative log likelihood of log-probabilities [N, C] at int64 targets [N].
class NLLLossImpl : public PairLoss<NLLLossImpl> {
 public:
  explicit NLLLossImpl(Reduction r = Reduction::Mean) : PairLoss(r) {}
  static Tensor compute(const Tensor& x, const Tensor& t, Reduction r) { return F::nll_loss(x, t, {}, -100, r); }
};
EMBER_MODULE(NLLLoss);

/// Mean (or summed) squared error.
class MSELossImpl : public PairLoss<MSELossImpl> {
 public:
  explicit MSELossImpl(Reduction r = Reduction::Mean) : PairLoss(r) {}
  static Tensor compute(const Tensor& x, const Tensor& t, Reduction r) { return F::mse_loss(x, t, r); }
};
EMBER_MODULE(MSELoss);

/// Mean (or summed) absolute error.
class L1LossImpl : public PairLoss<L1LossImpl> {
 public:
  explicit L1LossImpl(Reduction r = Reduction::Mean) : PairLoss(r) {}
  static Tensor compute(const Tensor& x, const Tensor& t, Reduction r) { return F::l1_loss(x, t, r); }
};
EMBER_MODULE(L1Loss);

/// Binary cross entropy of probabilities.
class BCELossImpl : public PairLoss<BCELossImpl> {
 public:
  explicit BCELossImpl(Reduction r = Reduction::Mean) : PairLoss(r) {}
  static Tensor compute(const Tensor& x, const Tensor& t, Reduction r) { return F::binary_cross_entropy(x, t, {}, r); }
};
EMBER_MODULE(BCELoss);

/// Binary cross entropy of logits, computed stably.
class BCEWithLogitsLossImpl : public PairLoss<BCEWithLogitsLossImpl> {
 public:
  explicit BCEWithLogitsLossImpl(Reduction r = Reduction::Mean) : PairLoss(r) {}
  static Tensor compute(const Tensor& x, const Tensor& t, Reduction r) {
    return F::binary_cross_entropy_with_logits(x, t, {}, {}, r);
  }
};
EMBER_MODULE(BCEWithLogitsLoss);

// ---- issue 10 part B: SmoothL1Loss, HuberLoss, KLDivLoss ----
struct SmoothL1LossOptions {
  EMBER_OPTION(SmoothL1LossOptions, Reduction, reduction, Reduction::Mean)
  EMBER_OPTION(SmoothL1LossOptions, double, beta, 1.0)
};
/// Squared error below beta, absolute error above (F::smooth_l1_loss).
class SmoothL1LossImpl : public Cloneable<SmoothL1LossImpl> {
 public:
  explicit SmoothL1LossImpl(SmoothL1LossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return F::smooth_l1_loss(input, target, options.reduction(), options.beta());
  }
  SmoothL1LossOptions options;
};
EMBER_MODULE(SmoothL1Loss);

struct HuberLossOptions {
  EMBER_OPTION(HuberLossOptions, Reduction, reduction, Reduction::Mean)
  EMBER_OPTION(HuberLossOptions, double, delta, 1.0)
};
/// Squared error below delta, delta-scaled absolute error above (F::huber_loss).
class HuberLossImpl : public Cloneable<HuberLossImpl> {
 public:
  explicit HuberLossImpl(HuberLossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return F::huber_loss(input, target, options.reduction(), options.delta());
  }
  HuberLossOptions options;
};
EMBER_MODULE(HuberLoss);

struct KLDivLossOptions {
  EMBER_OPTION(KLDivLossOptions, Reduction, reduction, Reduction::Mean)
  EMBER_OPTION(KLDivLossOptions, bool, log_target, false)
};
/// KL divergence of a target distribution from log-probabilities (F::kl_div).
class KLDivLossImpl : public Cloneable<KLDivLossImpl> {
 public:
  explicit KLDivLossImpl(KLDivLossOptions options = {}) : options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return F::kl_div(input, target, options.reduction(), options.log_target());
  }
  KLDivLossOptions options;
};
EMBER_MODULE(KLDivLoss);
// ---- end issue 10 part B ----

}  // namespace ember::nn
