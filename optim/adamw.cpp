// AdamW, following torch.optim.AdamW (1.13): Adam's step (adam.cpp) with the
// weight decay applied to the parameter instead of the gradient.
#include "ember/optim/adamw.h"

#include "ember/optim/fused.h"

namespace ember::optim {

void AdamWOptions::visit(OptionVisitor& v) {
  v.number("lr", lr_);
  v.pair("betas", betas_);
  v.number("eps", eps_);
  v.number("weight_decay", weight_decay_);
  v.flag("amsgrad", amsgrad_);
}

AdamW::AdamW(const TensorList& params, const AdamWOptions& defaults)
    : AdamW(std::vector{OptimizerParamGroup(params)}, defaults) {}
AdamW::AdamW(const std::vector<OptimizerParamGroup>& groups, const AdamWOptions& defaults) : Optimizer("AdamW", defaults) {
  init_groups(groups);
}

void AdamW::validate(const OptimizerOptions& options) const {
  const auto& o = options_as<AdamWOptions>(options, name());
  check_option(o.lr() >= 0.0, name(), "learning rate", o.lr());
  check_option(o.eps() >= 0.0, name(), "epsilon value", o.eps());
  check_option(o.beta1() >= 0.0 && o.beta1() < 1.0, name(), "beta1", o.beta1());
  check_option(o.beta2() >= 0.0 && o.beta2() < 1.0, name(), "beta2", o.beta2());
  check_option(o.weight_decay() >= 0.0, name(), "weight_decay value", o.weight_decay());
}

void AdamW::update(Tensor& p, const Tensor& grad, const OptimizerOptions& options, OptimizerParamState& state) {
  const auto& o = options_as<AdamWOptions>(options, name());
  auto& s = static_cast<AdamWParamState&>(state);
  detail::adam_step(p, grad, o.lr(), o.beta1(), o.beta2(), o.eps(), o.amsgrad(), 0.0, o.weight_decay(), s.step,
                    s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq);
}

}  // namespace ember::optim
