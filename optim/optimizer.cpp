#include "ember/optim/optimizer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ember/autograd/grad_mode.h"
#include "ember/ops/ops.h"

namespace ember::optim {
namespace {

// The largest step count a loaded state may hold: 2^53, the largest range of whole
// numbers a double (and so PyTorch's float step) holds exactly, and far from where
// ++step or Adagrad's step - 1 could overflow.
constexpr std::int64_t kMaxStep = std::int64_t{1} << 53;

// A state_dict entry name, "param_groups.G.KEY" or "state.G.I.KEY", split exactly:
// the indices plain decimal (no sign or space), the key not empty.
struct EntryName {
  bool is_state = false;
  std::size_t group = 0, param = 0;
  std::string key;
};

// Reads "N." from the front of s into n.
bool take_index(std::string_view& s, std::size_t& n) {
  const std::size_t dot = s.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + dot, n);
  if (ec != std::errc() || end != s.data() + dot) return false;
  s.remove_prefix(dot + 1);
  return true;
}

std::optional<EntryName> parse_entry_name(std::string_view s) {
  EntryName e;
  constexpr std::string_view kGroups = "param_groups.", kState = "state.";
  if (s.starts_with(kGroups)) {
    s.remove_prefix(kGroups.size());
    if (!take_index(s, e.group)) return std::nullopt;
  } else if (s.starts_with(kState)) {
    s.remove_prefix(kState.size());
    e.is_state = true;
    if (!take_index(s, e.group) || !take_index(s, e.param)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (s.empty()) return std::nullopt;
  e.key = std::string(s);
  return e;
}

// A step count from a state_dict: one whole number in [0, kMaxStep], stored as an
// int64 (as state_dict() writes it) or a float (as PyTorch does). Checked before any
// conversion, since converting 1e300 to an int64 is itself undefined.
std::int64_t read_step(const Tensor& t, const std::string& where) {
  EMBER_CHECK(t.numel() == 1, "{}: must be one number, got shape {}", where, shape_str(t.sizes()));
  if (t.dtype() == DType::Int64) {
    const auto v = t.item<std::int64_t>();
    EMBER_CHECK(v >= 0 && v <= kMaxStep, "{}: {} is out of range [0, 2^53]", where, v);
    return v;
  }
  EMBER_CHECK(is_floating(t.dtype()), "{}: has dtype {}, expected int64, float32 or float64", where, t.dtype());
  const double v = t.item<double>();
  EMBER_CHECK(std::isfinite(v) && v >= 0.0 && v <= static_cast<double>(kMaxStep) && v == std::floor(v),
              "{}: {} is not a whole number in [0, 2^53]", where, v);
  return static_cast<std::int64_t>(v);
}

}  // namespace

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
      out.emplace_back(fmt::format("state.{}.{}.step", gi, pi),
                       from_vector(std::vector<std::int64_t>{it->second.step}, Shape{}));  // exact, not via double
      for (const auto& [key, t] : it->second.tensors) out.emplace_back(fmt::format("state.{}.{}.{}", gi, pi, key), t);
    }
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  std::map<const TensorImpl*, State> loaded;
  std::vector<Hyper> options(groups_.size());
  const std::vector<std::string> names = state_names();
  std::set<std::tuple<bool, std::size_t, std::size_t, std::string>> seen;
  for (const auto& [name, t] : state) {
    const std::optional<EntryName> e = parse_entry_name(name);
    EMBER_CHECK(e && (e->is_state || (e->group < groups_.size() && defaults_.count(e->key))),
                "{}: load_state_dict: unexpected entry \"{}\"", name_, name);
    EMBER_CHECK(!e->is_state || (e->group < groups_.size() && e->param < groups_[e->group].params.size()),
                "{}: load_state_dict: \"{}\" names a parameter this optimizer does not have", name_, name);
    EMBER_CHECK(seen.emplace(e->is_state, e->group, e->param, e->key).second,
                "{}: load_state_dict: \"{}\" is a second entry for the same value", name_, name);
    EMBER_CHECK(t.defined(), "{}: load_state_dict: \"{}\" is an undefined tensor", name_, name);
    if (!e->is_state) {
      EMBER_CHECK(t.numel() == 1, "{}: load_state_dict: option \"{}\" of group {} must be one number, got shape {}",
                  name_, e->key, e->group, shape_str(t.sizes()));
      options[e->group][e->key] = t.item<double>();
      continue;
    }
    const std::string where = fmt::format("{}: load_state_dict: parameter {} of group {}, state \"{}\"", name_,
                                          e->param, e->group, e->key);
    const Tensor& p = groups_[e->group].params[e->param];
    State& s = loaded[p.impl_ptr().get()];
    if (e->key == "step") {
      s.step = read_step(t, where);
      continue;
    }
    EMBER_CHECK(names.empty() || std::find(names.begin(), names.end(), e->key) != names.end(),
                "{}: not a state {} keeps (it keeps {})", where, name_, fmt::join(names, ", "));
    EMBER_CHECK(t.dtype() == p.dtype(), "{}: has dtype {} but the parameter has {}", where, t.dtype(), p.dtype());
    EMBER_CHECK(t.sizes() == p.sizes(), "{}: has shape {} but the parameter has {}", where, shape_str(t.sizes()),
                shape_str(p.sizes()));
    s.tensors[e->key] = t.contiguous().clone();
  }
  std::vector<Hyper> merged(groups_.size());
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    merged[gi] = groups_[gi].options;
    for (const auto& [k, v] : options[gi]) merged[gi][k] = v;
    validate(merged[gi]);
  }
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].options = std::move(merged[gi]);
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
