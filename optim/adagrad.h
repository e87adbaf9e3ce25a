#pragma once
/// Adagrad with learning-rate decay (torch.optim.Adagrad).
///   optim::Adagrad opt(model->parameters(), optim::AdagradOptions(1e-2).lr_decay(1e-4));
#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// Adagrad's options: AdagradOptions(lr).lr_decay(0).weight_decay(0).initial_accumulator_value(0).eps(1e-10).
class AdagradOptions : public OptionsBase<AdagradOptions> {
 public:
  explicit AdagradOptions(double lr = 1e-2) : OptionsBase(lr) {}
  /// Sets the learning rate.
  AdagradOptions& lr(double value) {
    set_lr(value);
    return *this;
  }
  using OptimizerOptions::lr;
  EMBER_OPTION(AdagradOptions, double, lr_decay, 0.0)
  EMBER_OPTION(AdagradOptions, double, weight_decay, 0.0)
  EMBER_OPTION(AdagradOptions, double, initial_accumulator_value, 0.0)
  EMBER_OPTION(AdagradOptions, double, eps, 1e-10)
 public:
  /// Each hyperparameter by name, for state_dict().
  void visit(OptionVisitor& v) override;
};

/// Adagrad's per-parameter state: the running sum of squared gradients.
struct AdagradParamState : OptimizerParamState {
  Tensor sum;
  /// The state tensors by name, for state_dict().
  std::vector<std::pair<const char*, Tensor*>> tensors() override { return {{"sum", &sum}}; }
};

/// Adagrad, PyTorch's update rule and defaults.
class Adagrad : public Optimizer {
 public:
  /// Optimizes `params` with `defaults`, or several groups (a group without options takes them).
  Adagrad(const TensorList& params, const AdagradOptions& defaults = AdagradOptions());
  Adagrad(const std::vector<OptimizerParamGroup>& groups, const AdagradOptions& defaults = AdagradOptions());

 protected:
  void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) override;
  void validate(const OptimizerOptions& o) const override;
  std::unique_ptr<OptimizerParamState> make_state() const override { return std::make_unique<AdagradParamState>(); }
};

}  // namespace ember::optim
