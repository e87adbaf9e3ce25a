#pragma once
/// Adam with L2 weight decay and AMSGrad (torch.optim.Adam).
///   optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3).betas({0.9, 0.999}));
#include <tuple>

#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// Adam's options: AdamOptions(lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(false).
class AdamOptions : public OptionsBase<AdamOptions> {
 public:
  explicit AdamOptions(double lr = 1e-3) : OptionsBase(lr) {}
  /// Sets the learning rate.
  AdamOptions& lr(double value) {
    set_lr(value);
    return *this;
  }
  using OptimizerOptions::lr;
  /// (beta1, beta2): the decay rates of the gradient's running mean and square.
  using Betas = std::tuple<double, double>;
  EMBER_OPTION(AdamOptions, Betas, betas, Betas(0.9, 0.999))
 public:
  /// Sets the first beta alone (betas()[0]).
  AdamOptions& beta1(double value) {
    std::get<0>(betas_) = value;
    return *this;
  }
  /// Sets the second beta alone (betas()[1]).
  AdamOptions& beta2(double value) {
    std::get<1>(betas_) = value;
    return *this;
  }
  double beta1() const { return std::get<0>(betas_); }
  double beta2() const { return std::get<1>(betas_); }
  EMBER_OPTION(AdamOptions, double, eps, 1e-8)
  EMBER_OPTION(AdamOptions, double, weight_decay, 0.0)
  EMBER_OPTION(AdamOptions, bool, amsgrad, false)
 public:
  /// Each hyperparameter by name, for state_dict().
  void visit(OptionVisitor& v) override;
};

/// Adam's per-parameter state (max_exp_avg_sq only with amsgrad).
struct AdamParamState : OptimizerParamState {
  Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;
  /// The state tensors by name, for state_dict().
  std::vector<std::pair<const char*, Tensor*>> tensors() override {
    return {{"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq}, {"max_exp_avg_sq", &max_exp_avg_sq}};
  }
};

/// Adam, PyTorch's update rule and defaults.
class Adam : public Optimizer {
 public:
  /// Optimizes `params` with `defaults`, or several groups (a group without options takes them).
  Adam(const TensorList& params, const AdamOptions& defaults = AdamOptions());
  Adam(const std::vector<OptimizerParamGroup>& groups, const AdamOptions& defaults = AdamOptions());

 protected:
  void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) override;
  void validate(const OptimizerOptions& o) const override;
  std::unique_ptr<OptimizerParamState> make_state() const override { return std::make_unique<AdamParamState>(); }
};

}  // namespace ember::optim
