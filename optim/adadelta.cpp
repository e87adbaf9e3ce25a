// Adadelta, following torch.optim.Adadelta (1.13) operation for operation.
#include "ember/optim/adadelta.h"

#include <cmath>

#include "ember/optim/fused.h"

namespace ember::optim {

void AdadeltaOptions::visit(OptionVisitor& v) {
  v.number("lr", lr_);
  v.number("rho", rho_);
  v.number("eps", eps_);
  v.number("weight_decay", weight_decay_);
}

Adadelta::Adadelta(const TensorList& params, const AdadeltaOptions& defaults)
    : Adadelta(std::vector{OptimizerParamGroup(params)}, defaults) {}
Adadelta::Adadelta(const std::vector<OptimizerParamGroup>& groups, const AdadeltaOptions& defaults)
    : Optimizer("Adadelta", defaults) {
  init_groups(groups);
}

void Adadelta::validate(const OptimizerOptions& options) const {
  const auto& o = options_as<AdadeltaOptions>(options, name());
  check_option(o.lr() >= 0.0, name(), "learning rate", o.lr());
  check_option(o.rho() >= 0.0 && o.rho() <= 1.0, name(), "rho value", o.rho());
  check_option(o.eps() >= 0.0, name(), "epsilon value", o.eps());
  check_option(o.weight_decay() >= 0.0, name(), "weight_decay value", o.weight_decay());
}

void Adadelta::update(Tensor& p, const Tensor& grad, const OptimizerOptions& options, OptimizerParamState& state) {
  const auto& o = options_as<AdadeltaOptions>(options, name());
  auto& s = static_cast<AdadeltaParamState&>(state);
  const double rho = o.rho(), eps = o.eps(), lr = o.lr(), wd = o.weight_decay();
  Tensor& sq = detail::lazy(s.square_avg, p);
  Tensor& acc = detail::lazy(s.acc_delta, p);
  detail::fused(p, grad, {&sq, &acc}, [&](auto tag, auto* pp, const auto* gp, auto** st, std::int64_t b, std::int64_t e) {
    using T = typename decltype(tag)::type;
    const T twd = T(wd), trho = T(rho), trc = T(1.0 - rho), teps = T(eps), tlr = T(-lr);
    T* __restrict sqp = st[0];
    T* __restrict accp = st[1];
    for (std::int64_t i = b; i < e; ++i) {
      const T g = gp[i] + pp[i] * twd;
      const T sqi = sqp[i] * trho + trc * (g * g);
      const T delta = std::sqrt(accp[i] + teps) / std::sqrt(sqi + teps) * g;
      sqp[i] = sqi;
      accp[i] = accp[i] * trho + trc * (delta * delta);
      pp[i] = pp[i] + tlr * delta;
    }
  });
}

}  // namespace ember::optim
