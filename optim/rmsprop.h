#pragma once
/// RMSprop, optionally centered and with momentum (torch.optim.RMSprop).
///   optim::RMSprop opt(model->parameters(), optim::RMSpropOptions(1e-2).alpha(0.99));
#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// RMSprop's options: RMSpropOptions(lr).alpha(0.99).eps(1e-8).weight_decay(0).momentum(0).centered(false).
class RMSpropOptions : public OptionsBase<RMSpropOptions> {
 public:
  explicit RMSpropOptions(double lr = 1e-2) : OptionsBase(lr) {}
  /// Sets the learning rate.
  RMSpropOptions& lr(double value) {
    set_lr(value);
    return *this;
  }
  using OptimizerOptions::lr;
  EMBER_OPTION(RMSpropOptions, double, alpha, 0.99)
  EMBER_OPTION(RMSpropOptions, double, eps, 1e-8)
  EMBER_OPTION(RMSpropOptions, double, weight_decay, 0.0)
  EMBER_OPTION(RMSpropOptions, double, momentum, 0.0)
  EMBER_OPTION(RMSpropOptions, bool, centered, false)
 public:
  /// Each hyperparameter by name, for state_dict().
  void visit(OptionVisitor& v) override;
};

/// RMSprop's per-parameter state (grad_avg only when centered, momentum_buffer only with momentum).
struct RMSpropParamState : OptimizerParamState {
  Tensor square_avg, grad_avg, momentum_buffer;
  /// The state tensors by name, for state_dict().
  std::vector<std::pair<const char*, Tensor*>> tensors() override {
    return {{"square_avg", &square_avg}, {"grad_avg", &grad_avg}, {"momentum_buffer", &momentum_buffer}};
  }
};

/// RMSprop, PyTorch's update rule and defaults.
class RMSprop : public Optimizer {
 public:
  /// Optimizes `params` with `defaults`, or several groups (a group without options takes them).
  RMSprop(const TensorList& params, const RMSpropOptions& defaults = RMSpropOptions());
  RMSprop(const std::vector<OptimizerParamGroup>& groups, const RMSpropOptions& defaults = RMSpropOptions());

 protected:
  void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) override;
  void validate(const OptimizerOptions& o) const override;
  std::unique_ptr<OptimizerParamState> make_state() const override { return std::make_unique<RMSpropParamState>(); }
};

}  // namespace ember::optim
