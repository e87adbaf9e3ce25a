// The update rules, one function each, following torch.optim (1.13)
// operation for operation so float64 runs match PyTorch to rounding.
#include "ember/optim/optimizers.h"

#include <cmath>

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
void SGD::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  Tensor d = with_weight_decay(grad, p, o.at("weight_decay"));
  const double momentum = o.at("momentum");
  if (momentum != 0.0) {
    auto it = s.tensors.find("momentum_buffer");
    if (it == s.tensors.end()) {
      it = s.tensors.emplace("momentum_buffer", d.clone()).first;
    } else {
      it->second.mul_(momentum).add_(d, 1.0 - o.at("dampening"));
    }
    d = o.at("nesterov") != 0.0 ? d + it->second * momentum : it->second;
  }
  p.add_(d, -o.at("lr"));
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
// The shared Adam step on an already decayed gradient.
void adam_step(Tensor& p, const Tensor& grad, const Hyper& o, std::map<std::string, Tensor>& s, std::int64_t step) {
  const double b1 = o.at("beta1"), b2 = o.at("beta2");
  Tensor& m = slot(s, "exp_avg", p);
  Tensor& v = slot(s, "exp_avg_sq", p);
  m.mul_(b1).add_(grad, 1.0 - b1);
  v.mul_(b2).add_(grad * grad, 1.0 - b2);
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step)));
  Tensor denom;
  if (o.at("amsgrad") != 0.0) {
    Tensor& vmax = slot(s, "max_exp_avg_sq", p);
    vmax.copy_(maximum(vmax, v));
    denom = sqrt(vmax) / bc2_sqrt + o.at("eps");
  } else {
    denom = sqrt(v) / bc2_sqrt + o.at("eps");
  }
  p.add_(m / denom, -o.at("lr") / bc1);
}
}  // namespace
void Adam::validate(const Hyper& o) const { validate_adam("Adam", o); }
void Adam::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  adam_step(p, with_weight_decay(grad, p, o.at("weight_decay")), o, s.tensors, s.step);
}
void AdamW::validate(const Hyper& o) const { validate_adam("AdamW", o); }
void AdamW::update(Tensor& p, const Tensor& grad, const Hyper& o, State& s) {
  p.mul_(1.0 - o.at("lr") * o.at("weight_decay"));  // decoupled decay
  adam_step(p, grad, o, s.tensors, s.step);
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
void Adadelta::update(Tensor& p, const Tensor& grad_in, const Hyper& o, State& s) {
  const Tensor grad = with_weight_decay(grad_in, p, o.at("weight_decay"));
  const double rho = o.at("rho"), eps = o.at("eps");
  Tensor& sq = slot(s.tensors, "square_avg", p);
  Tensor& acc = slot(s.tensors, "acc_delta", p);
  sq.mul_(rho).add_(grad * grad, 1.0 - rho);
  const Tensor delta = sqrt(acc + eps) / sqrt(sq + eps) * grad;
  acc.mul_(rho).add_(delta * delta, 1.0 - rho);
  p.add_(delta, -o.at("lr"));
}

}  // namespace ember::optim
