// Adam, following torch.optim.Adam (1.13) operation for operation so float64
// runs match PyTorch to rounding.
#include "ember/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "ember/optim/fused.h"

namespace ember::optim {

void AdamOptions::visit(OptionVisitor& v) {
  v.number("lr", lr_);
  v.pair("betas", betas_);
  v.number("eps", eps_);
  v.number("weight_decay", weight_decay_);
  v.flag("amsgrad", amsgrad_);
}

Adam::Adam(const TensorList& params, const AdamOptions& defaults)
    : Adam(std::vector{OptimizerParamGroup(params)}, defaults) {}
Adam::Adam(const std::vector<OptimizerParamGroup>& groups, const AdamOptions& defaults) : Optimizer("Adam", defaults) {
  init_groups(groups);
}

void Adam::validate(const OptimizerOptions& options) const {
  const auto& o = options_as<AdamOptions>(options, name());
  check_option(o.lr() >= 0.0, name(), "learning rate", o.lr());
  check_option(o.eps() >= 0.0, name(), "epsilon value", o.eps());
  check_option(o.beta1() >= 0.0 && o.beta1() < 1.0, name(), "beta1", o.beta1());
  check_option(o.beta2() >= 0.0 && o.beta2() < 1.0, name(), "beta2", o.beta2());
  check_option(o.weight_decay() >= 0.0, name(), "weight_decay value", o.weight_decay());
}

void Adam::update(Tensor& p, const Tensor& grad, const OptimizerOptions& options, OptimizerParamState& state) {
  const auto& o = options_as<AdamOptions>(options, name());
  auto& s = static_cast<AdamParamState&>(state);
  detail::adam_step(p, grad, o.lr(), o.beta1(), o.beta2(), o.eps(), o.amsgrad(), o.weight_decay(), 0.0, s.step,
                    s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq);
}

namespace detail {
void adam_step(Tensor& p, const Tensor& grad, double lr, double b1, double b2, double eps, bool amsgrad, double decay,
               double decoupled, std::int64_t step, Tensor& exp_avg, Tensor& exp_avg_sq, Tensor& max_exp_avg_sq) {
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step)));
  const double step_size = lr / bc1;
  Tensor& m = lazy(exp_avg, p);
  Tensor& v = lazy(exp_avg_sq, p);
  Tensor& vmax = amsgrad ? lazy(max_exp_avg_sq, p) : v;
  fused(p, grad, {&m, &v, &vmax}, [&](auto tag, auto* pp, const auto* gp, auto** st, std::int64_t b, std::int64_t e) {
    using T = typename decltype(tag)::type;
    const T shrink = T(1.0 - lr * decoupled), tdecay = T(decay), tb1 = T(b1), tb1c = T(1.0 - b1), tb2 = T(b2),
            tb2c = T(1.0 - b2), tbc2 = T(bc2_sqrt), teps = T(eps), tstep = T(-step_size);
    T* __restrict mp = st[0];
    T* __restrict vp = st[1];
    T* vmp = st[2];
    for (std::int64_t i = b; i < e; ++i) {
      T pv = pp[i];
      if (decoupled != 0.0) pv = pv * shrink;
      const T g = gp[i] + pv * tdecay;
      const T mi = mp[i] * tb1 + tb1c * g;
      const T vi = vp[i] * tb2 + tb2c * (g * g);
      mp[i] = mi;
      vp[i] = vi;
      T base = vi;
      if (amsgrad) base = vmp[i] = std::max(vmp[i], vi);
      pp[i] = pv + tstep * (mi / (std::sqrt(base) / tbc2 + teps));
    }
  });
}
}  // namespace detail

}  // namespace ember::optim
