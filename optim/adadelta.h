#pragma once
/// Adadelta (torch.optim.Adadelta).
///   optim::Adadelta opt(model->parameters(), optim::AdadeltaOptions(1.0).rho(0.9));
#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// Adadelta's options: AdadeltaOptions(lr).rho(0.9).eps(1e-6).weight_decay(0).
class AdadeltaOptions : public OptionsBase<AdadeltaOptions> {
 public:
  explicit AdadeltaOptions(double lr = 1.0) : OptionsBase(lr) {}
  /// Sets the learning rate.
  AdadeltaOptions& lr(double value) {
    set_lr(value);
    return *this;
  }
  using OptimizerOptions::lr;
  EMBER_OPTION(AdadeltaOptions, double, rho, 0.9)
  EMBER_OPTION(AdadeltaOptions, double, eps, 1e-6)
  EMBER_OPTION(AdadeltaOptions, double, weight_decay, 0.0)
 public:
  /// Each hyperparameter by name, for state_dict().
  void visit(OptionVisitor& v) override;
};

/// Adadelta's per-parameter state: running averages of squared gradients and squared updates.
struct AdadeltaParamState : OptimizerParamState {
  Tensor square_avg, acc_delta;
  /// The state tensors by name, for state_dict().
  std::vector<std::pair<const char*, Tensor*>> tensors() override {
    return {{"square_avg", &square_avg}, {"acc_delta", &acc_delta}};
  }
};

/// Adadelta, PyTorch's update rule and defaults.
class Adadelta : public Optimizer {
 public:
  /// Optimizes `params` with `defaults`, or several groups (a group without options takes them).
  Adadelta(const TensorList& params, const AdadeltaOptions& defaults = AdadeltaOptions());
  Adadelta(const std::vector<OptimizerParamGroup>& groups, const AdadeltaOptions& defaults = AdadeltaOptions());

 protected:
  void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) override;
  void validate(const OptimizerOptions& o) const override;
  std::unique_ptr<OptimizerParamState> make_state() const override { return std::make_unique<AdadeltaParamState>(); }
};

}  // namespace ember::optim
