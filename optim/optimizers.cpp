// The update rules, one function each, following torch.optim (1.13)
// operation for operation so float64 runs match PyTorch to rounding.
#include "ember/optim/optimizers.h"

#include <cmath>

#include "ember/core/parallel.h"

#include "ember/ops/ops.h"

namespace ember::optim {
namespace {

void check_range(const char* name, const Hyper& o, const char* key, double lo, double hi, bool lo_open = false) {
  const double v = o.at(key);
  const bool ok = (lo_open ? v > lo : v >= lo) && v <= hi;
  EMBER_CHECK(ok, "{}: invalid {}: {}", name, key, v);
}

// Lazily created state tensor, zeros like p (or `fill`).
Tensor& slot(std::map<std::string, Tensor>& s, const char* key, const Tensor& p, double fill = 0.0) {
  auto it = s.find(key);
  if (it == s.end()) it = s.emplace(key, full_like(p, fill)).first;
  return it->second;
}

// grad + weight_decay * p (PyTorch's L2 penalty), without touching the stored gradient.
Tensor with_weight_decay(const Tensor& grad, const Tensor& p, double wd) { return wd != 0.0 ? grad + p * wd : grad; }

constexpr double kInf = INFINITY;

// Runs an update in one parallel pass over p, its gradient and its state
// tensors (all contiguous), instead of a dozen whole-tensor ops: the step is
// memory-bound, and each op would read and write every parameter again.
// f(tag, p, g, state pointers, begin, end) runs the loop over [begin, end).
template <class F>
void fused(Tensor& p, const Tensor& grad, std::initializer_list<Tensor*> state, F f) {
  const bool direct = p.is_contiguous();
  Tensor work = direct ? p : p.contiguous();
  const Tensor g = grad.contiguous().to(p.dtype());
  dispatch_floating(p.dtype(), "optimizer", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* pp = work.data_ptr<T>();
    const T* gp = g.data_ptr<T>();
    std::vector<T*> sp;
    for (Tensor* s : state) sp.push_back(s->data_ptr<T>());
    parallel_for(0, work.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) { f(tag, pp, gp, sp.data(), b, e); });
  });
  if (!direct) p.copy_(work);
  p.bump_version();
}

}  // namespace

#define EMBER_OPTIMIZER_CTORS(NAME, OPTIONS)                                                         \
  NAME::NAME(const TensorList& params, const OPTIONS& options) : Optimizer(#NAME, options.hyper()) { \
    init_groups({ParamGroup{params, {}}});                                                           \
  }                                                                                                  \
  NAME::NAME(std::vector<ParamGroup> groups, const OPTIONS& options) : Optimizer(#NAME, options.hyper()) { \
    init_groups(std::move(groups));                                                                  \
  }
EMBER_OPTIMIZER_CTORS(SGD, SGDOptions)
EMBER_OPTIMIZER_CTORS(Adam, AdamOptions)
EMBER_OPTIMIZER_CTORS(RMSprop, RMSpropOptions)
EMBER_OPTIMIZER_CTORS(Adagrad, AdagradOptions)
EMBER_OPTIMIZER_CTORS(Adadelta, AdadeltaOptions)
#undef EMBER_OPTIMIZER_CTORS

AdamW::AdamW(const TensorList& params, const AdamOptions& options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}
AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& options) : Optimizer("AdamW", [&] {
  Hyper h = options.hyper();
  if (options.weight_decay() == 0.0) h["weight_decay"] = 1e-2;  // AdamW's default
  return h;
}()) {
  init_groups(std::move(groups));
}

// ---- SGD ----
Hyper SGDOptions::hyper() const {
  return {{"lr", lr()}, {"momentum", momentum()}, {"dampening", dampening()}, {"weight_decay", weight_decay()},
          {"nesterov", nesterov() ? 1.0 : 0.0}};
}
void SGD::validate(const Hyper& o) const {
  check_range("SGD", o, "lr", 0.0, kInf);
  check_range("SGD", o, "momentum", 0.0, kInf);
  check_range("SGD", o, "weight_decay", 0.0, kInf);
  EMBER_CHECK(o.at("nesterov") == 0.0 || (o.at("momentum") > 0.0 && o.at("dampening") == 0.0),
              "SGD: nesterov momentum requires a momentum and zero dampening");
}
std::vector<std::string> SGD::state_names() const { return {"momentum_buffer"}; }
void SGD::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  const double wd = o.at("weight_decay"), momentum = o.at("momentum"), lr = o.at("lr");
  const double dampening = o.at("dampening");
  const bool nesterov = o.at("nesterov") != 0.0;
  if (momentum == 0.0) {
    fused(p, grad, {}, [&](auto tag, auto* pp, const auto* gp, auto**, std::int64_t b, std::int64_t e) {
      using T = typename decltype(tag)::type;
      const T twd = T(wd), tlr = T(-lr);
      for (std::int64_t i = b; i < e; ++i) pp[i] = pp[i] + tlr * (gp[i] + pp[i] * twd);
    });
    return;
  }
  const bool first = !s.tensors.count("momentum_buffer");
  Tensor& buf = slot(s.tensors, "momentum_buffer", p);
  fused(p, grad, {&buf}, [&](auto tag, auto* pp, const auto* gp, auto** st, std::int64_t b, std::int64_t e) {
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

// ---- Adam / AdamW ----
Hyper AdamOptions::hyper() const {
  return {{"lr", lr()}, {"beta1", beta1()}, {"beta2", beta2()}, {"eps", eps()}, {"weight_decay", weight_decay()},
          {"amsgrad", amsgrad() ? 1.0 : 0.0}};
}
namespace {
void validate_adam(const char* name, const Hyper& o) {
  check_range(name, o, "lr", 0.0, kInf);
  check_range(name, o, "eps", 0.0, kInf);
  EMBER_CHECK(o.at("beta1") >= 0.0 && o.at("beta1") < 1.0, "{}: invalid beta parameter at index 0: {}", name, o.at("beta1"));
  EMBER_CHECK(o.at("beta2") >= 0.0 && o.at("beta2") < 1.0, "{}: invalid beta parameter at index 1: {}", name, o.at("beta2"));
  check_range(name, o, "weight_decay", 0.0, kInf);
}
// The shared Adam step; `decay` is Adam's L2 term (added to the gradient),
// `decoupled` AdamW's (p *= 1 - lr * wd first).
void adam_step(Tensor& p, const Tensor& grad, const Hyper& o, std::map<std::string, Tensor>& s, std::int64_t step,
               double decay, double decoupled) {
  const double b1 = o.at("beta1"), b2 = o.at("beta2"), lr = o.at("lr"), eps = o.at("eps");
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step)));
  const double step_size = lr / bc1;
  const bool amsgrad = o.at("amsgrad") != 0.0;
  Tensor& m = slot(s, "exp_avg", p);
  Tensor& v = slot(s, "exp_avg_sq", p);
  Tensor& vmax = amsgrad ? slot(s, "max_exp_avg_sq", p) : v;
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
}  // namespace
void Adam::validate(const Hyper& o) const { validate_adam("Adam", o); }
std::vector<std::string> Adam::state_names() const { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }
void Adam::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  adam_step(p, grad, o, s.tensors, s.step, o.at("weight_decay"), 0.0);
}
void AdamW::validate(const Hyper& o) const { validate_adam("AdamW", o); }
std::vector<std::string> AdamW::state_names() const { return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}; }
void AdamW::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  adam_step(p, grad, o, s.tensors, s.step, 0.0, o.at("weight_decay"));
}

// ---- RMSprop ----
Hyper RMSpropOptions::hyper() const {
  return {{"lr", lr()}, {"alpha", alpha()}, {"eps", eps()}, {"weight_decay", weight_decay()}, {"momentum", momentum()},
          {"centered", centered() ? 1.0 : 0.0}};
}
void RMSprop::validate(const Hyper& o) const {
  check_range("RMSprop", o, "lr", 0.0, kInf);
  check_range("RMSprop", o, "eps", 0.0, kInf);
  check_range("RMSprop", o, "momentum", 0.0, kInf);
  check_range("RMSprop", o, "weight_decay", 0.0, kInf);
  check_range("RMSprop", o, "alpha", 0.0, kInf);
}
std::vector<std::string> RMSprop::state_names() const { return {"square_avg", "grad_avg", "momentum_buffer"}; }
void RMSprop::update(Tensor& p, const Tensor& grad_in, const Hyper& o, State& s) {
  const Tensor grad = with_weight_decay(grad_in, p, o.at("weight_decay"));
  const double alpha = o.at("alpha");
  Tensor& sq = slot(s.tensors, "square_avg", p);
  sq.mul_(alpha).add_(grad * grad, 1.0 - alpha);
  Tensor avg;
  if (o.at("centered") != 0.0) {
    Tensor& ga = slot(s.tensors, "grad_avg", p);
    ga.mul_(alpha).add_(grad, 1.0 - alpha);
    avg = sqrt(sq - ga * ga) + o.at("eps");
  } else {
    avg = sqrt(sq) + o.at("eps");
  }
  if (o.at("momentum") > 0.0) {
    Tensor& buf = slot(s.tensors, "momentum_buffer", p);
    buf.mul_(o.at("momentum")).add_(grad / avg);
    p.add_(buf, -o.at("lr"));
  } else {
    p.add_(grad / avg, -o.at("lr"));
  }
}

// ---- Adagrad ----
Hyper AdagradOptions::hyper() const {
  return {{"lr", lr()}, {"lr_decay", lr_decay()}, {"weight_decay", weight_decay()},
          {"initial_accumulator_value", initial_accumulator_value()}, {"eps", eps()}};
}
void Adagrad::validate(const Hyper& o) const {
  check_range("Adagrad", o, "lr", 0.0, kInf);
  check_range("Adagrad", o, "lr_decay", 0.0, kInf);
  check_range("Adagrad", o, "weight_decay", 0.0, kInf);
  check_range("Adagrad", o, "initial_accumulator_value", 0.0, kInf);
  check_range("Adagrad", o, "eps", 0.0, kInf);
}
std::vector<std::string> Adagrad::state_names() const { return {"sum"}; }
void Adagrad::update(Tensor& p, const Tensor& grad_in, const Hyper& o, State& s) {
  const Tensor grad = with_weight_decay(grad_in, p, o.at("weight_decay"));
  const double clr = o.at("lr") / (1.0 + static_cast<double>(s.step - 1) * o.at("lr_decay"));
  Tensor& sum = slot(s.tensors, "sum", p, o.at("initial_accumulator_value"));
  sum.add_(grad * grad);
  p.add_(grad / (sqrt(sum) + o.at("eps")), -clr);
}

// ---- Adadelta ----
Hyper AdadeltaOptions::hyper() const {
  return {{"lr", lr()}, {"rho", rho()}, {"eps", eps()}, {"weight_decay", weight_decay()}};
}
void Adadelta::validate(const Hyper& o) const {
  check_range("Adadelta", o, "lr", 0.0, kInf);
  check_range("Adadelta", o, "rho", 0.0, 1.0);
  check_range("Adadelta", o, "eps", 0.0, kInf);
  check_range("Adadelta", o, "weight_decay", 0.0, kInf);
}
std::vector<std::string> Adadelta::state_names() const { return {"square_avg", "acc_delta"}; }
void Adadelta::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  const double rho = o.at("rho"), eps = o.at("eps"), lr = o.at("lr"), wd = o.at("weight_decay");
  Tensor& sq = slot(s.tensors, "square_avg", p);
  Tensor& acc = slot(s.tensors, "acc_delta", p);
  fused(p, grad, {&sq, &acc}, [&](auto tag, auto* pp, const auto* gp, auto** st, std::int64_t b, std::int64_t e) {
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
