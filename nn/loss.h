#pragma once
/// Loss modules: each holds its options (nn/loss_options.h) and calls the
/// functional loss; forward takes (input, target): `loss(output, target)`.
///   nn::CrossEntropyLoss loss(nn::CrossEntropyLossOptions().label_smoothing(0.1));
///   nn::MSELoss sum(nn::kSum);
#include "ember/nn/functional.h"
#include "ember/nn/module.h"

namespace ember::nn {

/// A loss module holding options of type Options.
template <class Derived, class Options>
class LossModule : public Cloneable<Derived> {
 public:
  explicit LossModule(Options options = {}) : options(std::move(options)) {}
  Options options;
};

/// Cross entropy from logits [N, C] and int64 targets [N].
class CrossEntropyLossImpl : public LossModule<CrossEntropyLossImpl, CrossEntropyLossOptions> {
 public:
  using LossModule::LossModule;
  Tensor forward(const Tensor& logits, const Tensor& targets) { return F::cross_entropy(logits, targets, options); }
};
EMBER_MODULE(CrossEntropyLoss);

/// Negative log likelihood of log-probabilities [N, C] at int64 targets [N].
class NLLLossImpl : public LossModule<NLLLossImpl, NLLLossOptions> {
 public:
  using LossModule::LossModule;
  Tensor forward(const Tensor& log_probs, const Tensor& targets) { return F::nll_loss(log_probs, targets, options); }
};
EMBER_MODULE(NLLLoss);

/// Mean (or summed) squared error.
class MSELossImpl : public LossModule<MSELossImpl, MSELossOptions> {
 public:
  using LossModule::LossModule;
  Tensor forward(const Tensor& input, const Tensor& target) { return F::mse_loss(input, target, options); }
};
EMBER_MODULE(MSELoss);

/// Mean (or summed) absolute error.
class L1LossImpl : public LossModule<L1LossImpl, L1LossOptions> {
 public:
  using LossModule::LossModule;
  Tensor forward(const Tensor& input, const Tensor& target) { return F::l1_loss(input, target, options); }
};
EMBER_MODULE(L1Loss);

/// Binary cross entropy of probabilities.
class BCELossImpl : public LossModule<BCELossImpl, BCELossOptions> {
 public:
  using LossModule::LossModule;
  Tensor forward(const Tensor& input, const Tensor& target) { return F::binary_cross_entropy(input, target, options); }
};
EMBER_MODULE(BCELoss);

/// Binary cross entropy of logits, computed stably.
class BCEWithLogitsLossImpl : public LossModule<BCEWithLogitsLossImpl, BCEWithLogitsLossOptions> {
 public:
  using LossModule::LossModule;
  Tensor forward(const Tensor& input, const Tensor& target) {
    return F::binary_cross_entropy_with_logits(input, target, options);
  }
};
EMBER_MODULE(BCEWithLogitsLoss);

}  // namespace ember::nn
