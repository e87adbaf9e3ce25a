// SGD, following torch.optim.SGD (1.13) operation for operation.
#include "ember/optim/sgd.h"

#include <cmath>

#include "ember/optim/fused.h"

namespace ember::optim {

void SGDOptions::visit(OptionVisitor& v) {
  v.number("lr", lr_);
  v.number("momentum", momentum_);
  v.number("dampening", dampening_);
  v.number("weight_decay", weight_decay_);
  v.flag("nesterov", nesterov_);
}

SGD::SGD(const TensorList& params, const SGDOptions& defaults) : SGD(std::vector{OptimizerParamGroup(params)}, defaults) {}
SGD::SGD(const std::vector<OptimizerParamGroup>& groups, const SGDOptions& defaults) : Optimizer("SGD", defaults) {
  init_groups(groups);
}

void SGD::validate(const OptimizerOptions& options) const {
  const auto& o = options_as<SGDOptions>(options, name());
  check_option(o.lr() >= 0.0, name(), "learning rate", o.lr());
  check_option(o.momentum() >= 0.0, name(), "momentum value", o.momentum());
  check_option(std::isfinite(o.dampening()), name(), "dampening value", o.dampening());
  check_option(o.weight_decay() >= 0.0, name(), "weight_decay value", o.weight_decay());
  EMBER_CHECK(!o.nesterov() || (o.momentum() > 0.0 && o.dampening() == 0.0),
              "SGD: nesterov momentum requires a momentum and zero dampening (got momentum {}, dampening {})",
              o.momentum(), o.dampening());
}

void SGD::update(Tensor& p, const Tensor& grad, const OptimizerOptions& options, OptimizerParamState& state) {
  const auto& o = options_as<SGDOptions>(options, name());
  auto& s = static_cast<SGDParamState&>(state);
  const double wd = o.weight_decay(), momentum = o.momentum(), lr = o.lr(), dampening = o.dampening();
  const bool nesterov = o.nesterov();
  if (momentum == 0.0) {
    detail::fused(p, grad, {}, [&](auto tag, auto* pp, const auto* gp, auto**, std::int64_t b, std::int64_t e) {
      using T = typename decltype(tag)::type;
      const T twd = T(wd), tlr = T(-lr);
      for (std::int64_t i = b; i < e; ++i) pp[i] = pp[i] + tlr * (gp[i] + pp[i] * twd);
    });
    return;
  }
  const bool first = !s.momentum_buffer.defined();
  Tensor& buf = detail::lazy(s.momentum_buffer, p);
  detail::fused(p, grad, {&buf}, [&](auto tag, auto* pp, const auto* gp, auto** st, std::int64_t b, std::int64_t e) {
    using T = typename decltype(tag)::type;
    const T twd = T(wd), tm = T(momentum), tdamp = T(1.0 - dampening), tlr = T(-lr);
    T* bp = st[0];
    for (std::int64_t i = b; i < e; ++i) {
      T d = gp[i] + pp[i] * twd;
      bp[i] = first ? d : bp[i] * tm + tdamp * d;  // PyTorch: the first buffer is d itself
      d = nesterov ? d + bp[i] * tm : bp[i];
      pp[i] = pp[i] + tlr * d;
    }
  });
}

}  // namespace ember::optim
