#include "ember/optim/optimizer.h"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "ember/autograd/grad_mode.h"
#include "ember/ops/ops.h"

namespace ember::optim {

Optimizer::Optimizer(std::string name, Hyper defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {}

void Optimizer::init_groups(std::vector<ParamGroup> groups) {
  std::size_t count = 0;
  for (const auto& g : groups) count += g.params.size();
  EMBER_CHECK(count > 0, "{}: got an empty parameter list", name_);
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::add_param_group(ParamGroup group) {
  for (const auto& [key, _] : group.options)
    EMBER_CHECK(defaults_.count(key), "{}: unknown option \"{}\"", name_, key);
  for (const auto& [key, value] : defaults_) group.options.emplace(key, value);
  validate(group.options);
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.impl_ptr().get());
  for (const auto& p : group.params) {
    EMBER_CHECK(p.defined() && p.is_floating_point() && p.is_leaf(),
                "{}: can only optimize floating-point leaf tensors", name_);
    EMBER_CHECK(seen.insert(p.impl_ptr().get()).second, "{}: a parameter appears in more than one group", name_);
  }
  groups_.push_back(std::move(group));
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (auto& g : groups_)
    for (auto& p : g.params) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      State& s = state_[p.impl_ptr().get()];
      ++s.step;
      update(p, grad, g.options, s);
    }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& p : g.params) {
      if (!p.grad().defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else {
        NoGradGuard no_grad;
        Tensor gr = p.grad();
        gr.zero_();
      }
    }
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    for (const auto& [key, value] : groups_[gi].options)
      out.emplace_back(fmt::format("param_groups.{}.{}", gi, key), scalar_tensor(value, DType::Float64));
    for (std::size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      auto it = state_.find(groups_[gi].params[pi].impl_ptr().get());
      if (it == state_.end()) continue;
      out.emplace_back(fmt::format("state.{}.{}.step", gi, pi), scalar_tensor(static_cast<double>(it->second.step), DType::Int64));
      for (const auto& [key, t] : it->second.tensors) out.emplace_back(fmt::format("state.{}.{}.{}", gi, pi, key), t);
    }
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  std::map<const TensorImpl*, State> loaded;
  std::vector<Hyper> options(groups_.size());
  for (const auto& [name, t] : state) {
    unsigned long gi = 0, pi = 0;
    char key[64] = {0};
    if (std::sscanf(name.c_str(), "param_groups.%lu.%63s", &gi, key) == 2) {
      EMBER_CHECK(gi < groups_.size() && defaults_.count(key), "{}: load_state_dict: unexpected entry \"{}\"", name_, name);
      options[gi][key] = t.item<double>();
    } else if (std::sscanf(name.c_str(), "state.%lu.%lu.%63s", &gi, &pi, key) == 3) {
      EMBER_CHECK(gi < groups_.size() && pi < groups_[gi].params.size(),
                  "{}: load_state_dict: \"{}\" names a parameter this optimizer does not have", name_, name);
      const Tensor& p = groups_[gi].params[pi];
      State& s = loaded[p.impl_ptr().get()];
      if (std::string(key) == "step") {
        s.step = t.item<std::int64_t>();
      } else {
        EMBER_CHECK(t.sizes() == p.sizes(), "{}: load_state_dict: \"{}\" has shape {} but the parameter has {}", name_,
                    name, shape_str(t.sizes()), shape_str(p.sizes()));
        s.tensors[key] = t.to(p.dtype()).contiguous().clone();
      }
    } else {
      throw Error(fmt::format("{}: load_state_dict: unexpected entry \"{}\"", name_, name));
    }
  }
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    Hyper merged = groups_[gi].options;
    for (const auto& [k, v] : options[gi]) merged[k] = v;
    validate(merged);
    groups_[gi].options = merged;
  }
  state_ = std::move(loaded);
}

double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type) {
  NoGradGuard no_grad;
  double total = 0.0;
  const bool inf_norm = std::isinf(norm_type);
  for (const auto& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    if (inf_norm) total = std::max(total, abs(g).max().item<double>());
    else total += pow(abs(g.to(DType::Float64)), norm_type).sum().item<double>();
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (const auto& p : params)
      if (Tensor g = p.grad(); g.defined()) g.mul_(coef);
  return total;
}

void clip_grad_value_(const TensorList& params, double clip_value) {
  NoGradGuard no_grad;
  for (const auto& p : params)
    if (Tensor g = p.grad(); g.defined()) g.copy_(clamp(g, -clip_value, clip_value));
}

}  // namespace ember::optim
