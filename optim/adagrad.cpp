// Adagrad, following torch.optim.Adagrad (1.13) operation for operation.
#include "ember/optim/adagrad.h"

#include "ember/ops/ops.h"
#include "ember/optim/fused.h"

namespace ember::optim {

void AdagradOptions::visit(OptionVisitor& v) {
  v.number("lr", lr_);
  v.number("lr_decay", lr_decay_);
  v.number("weight_decay", weight_decay_);
  v.number("initial_accumulator_value", initial_accumulator_value_);
  v.number("eps", eps_);
}

Adagrad::Adagrad(const TensorList& params, const AdagradOptions& defaults)
    : Adagrad(std::vector{OptimizerParamGroup(params)}, defaults) {}
Adagrad::Adagrad(const std::vector<OptimizerParamGroup>& groups, const AdagradOptions& defaults)
    : Optimizer("Adagrad", defaults) {
  init_groups(groups);
}

void Adagrad::validate(const OptimizerOptions& options) const {
  const auto& o = options_as<AdagradOptions>(options, name());
  check_option(o.lr() >= 0.0, name(), "learning rate", o.lr());
  check_option(o.lr_decay() >= 0.0, name(), "lr_decay value", o.lr_decay());
  check_option(o.weight_decay() >= 0.0, name(), "weight_decay value", o.weight_decay());
  check_option(o.initial_accumulator_value() >= 0.0, name(), "initial_accumulator_value value",
               o.initial_accumulator_value());
  check_option(o.eps() >= 0.0, name(), "epsilon value", o.eps());
}

void Adagrad::update(Tensor& p, const Tensor& grad_in, const OptimizerOptions& options, OptimizerParamState& state) {
  const auto& o = options_as<AdagradOptions>(options, name());
  auto& s = static_cast<AdagradParamState&>(state);
  const Tensor grad = o.weight_decay() != 0.0 ? grad_in + p * o.weight_decay() : grad_in;  // PyTorch's L2 penalty
  const double clr = o.lr() / (1.0 + static_cast<double>(s.step - 1) * o.lr_decay());
  Tensor& sum = detail::lazy(s.sum, p, o.initial_accumulator_value());
  sum.add_(grad * grad);
  p.add_(grad / (sqrt(sum) + o.eps()), -clr);
}

}  // namespace ember::optim
