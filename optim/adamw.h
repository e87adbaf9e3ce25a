#pragma once
/// AdamW: Adam with decoupled weight decay (torch.optim.AdamW).
///   optim::AdamW opt(model->parameters(), optim::AdamWOptions(1e-3).weight_decay(1e-2));
#include <tuple>

#include "ember/core/options.h"
#include "ember/optim/adam.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// AdamW's options: AdamWOptions(lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(1e-2).amsgrad(false).
class AdamWOptions : public OptionsBase<AdamWOptions> {
 public:
  explicit AdamWOptions(double lr = 1e-3) : OptionsBase(lr) {}
  /// Sets the learning rate.
  AdamWOptions& lr(double value) {
    set_lr(value);
    return *this;
  }
  using OptimizerOptions::lr;
  /// (beta1, beta2): the decay rates of the gradient's running mean and square.
  using Betas = std::tuple<double, double>;
  EMBER_OPTION(AdamWOptions, Betas, betas, Betas(0.9, 0.999))
 public:
  /// Sets the first beta alone (betas()[0]).
  AdamWOptions& beta1(double value) {
    std::get<0>(betas_) = value;
    return *this;
  }
  /// Sets the second beta alone (betas()[1]).
  AdamWOptions& beta2(double value) {
    std::get<1>(betas_) = value;
    return *this;
  }
  double beta1() const { return std::get<0>(betas_); }
  double beta2() const { return std::get<1>(betas_); }
  EMBER_OPTION(AdamWOptions, double, eps, 1e-8)
  EMBER_OPTION(AdamWOptions, double, weight_decay, 1e-2)
  EMBER_OPTION(AdamWOptions, bool, amsgrad, false)
 public:
  /// Each hyperparameter by name, for state_dict().
  void visit(OptionVisitor& v) override;
};

/// AdamW keeps Adam's per-parameter state.
using AdamWParamState = AdamParamState;

/// AdamW, PyTorch's update rule and defaults.
class AdamW : public Optimizer {
 public:
  /// Optimizes `params` with `defaults`, or several groups (a group without options takes them).
  AdamW(const TensorList& params, const AdamWOptions& defaults = AdamWOptions());
  AdamW(const std::vector<OptimizerParamGroup>& groups, const AdamWOptions& defaults = AdamWOptions());

 protected:
  void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) override;
  void validate(const OptimizerOptions& o) const override;
  std::unique_ptr<OptimizerParamState> make_state() const override { return std::make_unique<AdamWParamState>(); }
};

}  // namespace ember::optim
