// RMSprop, following torch.optim.RMSprop (1.13) operation for operation.
#include "ember/optim/rmsprop.h"

#include "ember/ops/ops.h"
#include "ember/optim/fused.h"

namespace ember::optim {

void RMSpropOptions::visit(OptionVisitor& v) {
  v.number("lr", lr_);
  v.number("alpha", alpha_);
  v.number("eps", eps_);
  v.number("weight_decay", weight_decay_);
  v.number("momentum", momentum_);
  v.flag("centered", centered_);
}

RMSprop::RMSprop(const TensorList& params, const RMSpropOptions& defaults)
    : RMSprop(std::vector{OptimizerParamGroup(params)}, defaults) {}
RMSprop::RMSprop(const std::vector<OptimizerParamGroup>& groups, const RMSpropOptions& defaults)
    : Optimizer("RMSprop", defaults) {
  init_groups(groups);
}

void RMSprop::validate(const OptimizerOptions& options) const {
  const auto& o = options_as<RMSpropOptions>(options, name());
  check_option(o.lr() >= 0.0, name(), "learning rate", o.lr());
  check_option(o.eps() >= 0.0, name(), "epsilon value", o.eps());
  check_option(o.momentum() >= 0.0, name(), "momentum value", o.momentum());
  check_option(o.weight_decay() >= 0.0, name(), "weight_decay value", o.weight_decay());
  check_option(o.alpha() >= 0.0, name(), "alpha value", o.alpha());
}

void RMSprop::update(Tensor& p, const Tensor& grad_in, const OptimizerOptions& options, OptimizerParamState& state) {
  const auto& o = options_as<RMSpropOptions>(options, name());
  auto& s = static_cast<RMSpropParamState&>(state);
  const Tensor grad = o.weight_decay() != 0.0 ? grad_in + p * o.weight_decay() : grad_in;  // PyTorch's L2 penalty
  const double alpha = o.alpha();
  Tensor& sq = detail::lazy(s.square_avg, p);
  sq.mul_(alpha).add_(grad * grad, 1.0 - alpha);
  Tensor avg;
  if (o.centered()) {
    Tensor& ga = detail::lazy(s.grad_avg, p);
    ga.mul_(alpha).add_(grad, 1.0 - alpha);
    avg = sqrt(sq - ga * ga) + o.eps();
  } else {
    avg = sqrt(sq) + o.eps();
  }
  if (o.momentum() > 0.0) {
    Tensor& buf = detail::lazy(s.momentum_buffer, p);
    buf.mul_(o.momentum()).add_(grad / avg);
    p.add_(buf, -o.lr());
  } else {
    p.add_(grad / avg, -o.lr());
  }
}

}  // namespace ember::optim
