#pragma once
/// SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
///   optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// SGD's options: SGDOptions(lr).momentum(0.9).dampening(0).weight_decay(0).nesterov(false).
class SGDOptions : public OptionsBase<SGDOptions> {
 public:
  explicit SGDOptions(double lr) : OptionsBase(lr) {}
  /// Sets the learning rate.
  SGDOptions& lr(double value) {
    set_lr(value);
    return *this;
  }
  using OptimizerOptions::lr;
  EMBER_OPTION(SGDOptions, double, momentum, 0.0)
  EMBER_OPTION(SGDOptions, double, dampening, 0.0)
  EMBER_OPTION(SGDOptions, double, weight_decay, 0.0)
  EMBER_OPTION(SGDOptions, bool, nesterov, false)
 public:
  /// Each hyperparameter by name, for state_dict().
  void visit(OptionVisitor& v) override;
};

/// SGD's per-parameter state: the momentum buffer (undefined without momentum).
struct SGDParamState : OptimizerParamState {
  Tensor momentum_buffer;
  /// The state tensors by name, for state_dict().
  std::vector<std::pair<const char*, Tensor*>> tensors() override { return {{"momentum_buffer", &momentum_buffer}}; }
};

/// Stochastic gradient descent, PyTorch's update rule and defaults.
class SGD : public Optimizer {
 public:
  /// Optimizes `params` with `defaults`, or several groups (a group without options takes them).
  SGD(const TensorList& params, const SGDOptions& defaults);
  SGD(const std::vector<OptimizerParamGroup>& groups, const SGDOptions& defaults);

 protected:
  void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) override;
  void validate(const OptimizerOptions& o) const override;
  std::unique_ptr<OptimizerParamState> make_state() const override { return std::make_unique<SGDParamState>(); }
};

}  // namespace ember::optim
