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
#include "ember/optim/fused.h"

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

// The optimizer's class name as a 1-d uint8 tensor, the "type" entry of a state_dict.
Tensor type_tensor(const std::string& name) {
  return from_vector(std::vector<std::uint8_t>(name.begin(), name.end()));
}

// The class name a "type" entry holds, checked to be short printable text.
std::string read_type(const Tensor& t, const std::string& who) {
  EMBER_CHECK(t.defined() && t.dtype() == DType::UInt8 && t.dim() == 1 && t.numel() > 0 && t.numel() <= 64,
              "{}: load_state_dict: \"type\" must be the optimizer's class name as 1 to 64 uint8 bytes", who);
  std::string name;
  for (std::uint8_t c : t.contiguous().to_vector<std::uint8_t>()) {
    EMBER_CHECK(c >= 0x20 && c < 0x7f, "{}: load_state_dict: \"type\" is not a class name", who);
    name.push_back(static_cast<char>(c));
  }
  return name;
}

// Writes each hyperparameter as a tensor: numbers float64 scalars, flags bool
// scalars, pairs float64 [2].
struct OptionWriter : OptionVisitor {
  NamedTensors& out;
  std::string prefix;
  OptionWriter(NamedTensors& o, std::string p) : out(o), prefix(std::move(p)) {}
  void number(const char* name, double& v) override {
    out.emplace_back(prefix + name, scalar_tensor(v, DType::Float64));
  }
  void flag(const char* name, bool& v) override { out.emplace_back(prefix + name, scalar_tensor(v, DType::Bool)); }
  void pair(const char* name, std::tuple<double, double>& v) override {
    out.emplace_back(prefix + name, from_vector(std::vector<double>{std::get<0>(v), std::get<1>(v)}));
  }
};

// Sets the hyperparameters that `given` holds (names already checked); keeps the others.
struct OptionReader : OptionVisitor {
  const std::map<std::string, Tensor>& given;
  std::string who;
  std::size_t group;
  OptionReader(const std::map<std::string, Tensor>& g, std::string w, std::size_t gi)
      : given(g), who(std::move(w)), group(gi) {}
  const Tensor* find(const char* name) const {
    auto it = given.find(name);
    return it == given.end() ? nullptr : &it->second;
  }
  std::string where(const char* name) const {
    return fmt::format("{}: load_state_dict: option \"{}\" of group {}", who, name, group);
  }
  void number(const char* name, double& v) override {
    if (const Tensor* t = find(name)) {
      EMBER_CHECK(t->numel() == 1, "{} must be one number, got shape {}", where(name), shape_str(t->sizes()));
      EMBER_CHECK(t->dtype() != DType::Bool, "{} must be a number, got a bool", where(name));
      v = t->item<double>();
    }
  }
  void flag(const char* name, bool& v) override {
    if (const Tensor* t = find(name)) {
      EMBER_CHECK(t->numel() == 1 && t->dtype() == DType::Bool, "{} must be one bool, got {} of shape {}",
                  where(name), t->dtype(), shape_str(t->sizes()));
      v = t->item<bool>();
    }
  }
  void pair(const char* name, std::tuple<double, double>& v) override {
    if (const Tensor* t = find(name)) {
      EMBER_CHECK(t->dim() == 1 && t->numel() == 2 && is_floating(t->dtype()),
                  "{} must be two floating-point numbers, got {} of shape {}", where(name), t->dtype(),
                  shape_str(t->sizes()));
      const auto x = t->to(DType::Float64).contiguous().to_vector<double>();
      v = {x[0], x[1]};
    }
  }
};

// The names of the hyperparameters of an options struct.
struct OptionNames : OptionVisitor {
  std::set<std::string> names;
  void number(const char* name, double&) override { names.insert(name); }
  void flag(const char* name, bool&) override { names.insert(name); }
  void pair(const char* name, std::tuple<double, double>&) override { names.insert(name); }
};

}  // namespace

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
  EMBER_CHECK(options_, "OptimizerParamGroup: this group has no options (it has not joined an optimizer)");
  return *options_;
}
const OptimizerOptions& OptimizerParamGroup::options() const {
  EMBER_CHECK(options_, "OptimizerParamGroup: this group has no options (it has not joined an optimizer)");
  return *options_;
}

void check_option(bool ok, const std::string& optimizer, const char* what, double value) {
  EMBER_CHECK(ok, "{}: invalid {}: {}", optimizer, what, value);
}

Optimizer::Optimizer(std::string name, const OptimizerOptions& defaults)
    : name_(std::move(name)), defaults_(defaults.clone()) {}

void Optimizer::init_groups(const std::vector<OptimizerParamGroup>& groups) {
  validate(*defaults_);
  std::size_t count = 0;
  for (const auto& g : groups) count += g.params().size();
  EMBER_CHECK(count > 0, "{}: got an empty parameter list", name_);
  for (const auto& g : groups) add_param_group(g);
}

void Optimizer::add_param_group(const OptimizerParamGroup& group_in) {
  OptimizerParamGroup group = group_in;
  if (!group.has_options()) group.set_options(defaults_->clone());
  validate(group.options());
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params()) seen.insert(p.impl_ptr().get());
  for (const auto& p : group.params()) {
    EMBER_CHECK(p.defined() && p.is_floating_point() && p.is_leaf(),
                "{}: can only optimize floating-point leaf tensors", name_);
    EMBER_CHECK(seen.insert(p.impl_ptr().get()).second, "{}: a parameter appears in more than one group", name_);
  }
  groups_.push_back(std::move(group));
}

OptimizerParamState* Optimizer::state(const Tensor& p) {
  auto it = state_.find(p.impl_ptr().get());
  return it == state_.end() ? nullptr : it->second.get();
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (auto& g : groups_)
    for (auto& p : g.params()) {
      const Tensor grad = p.grad();
      if (!grad.defined()) continue;
      std::unique_ptr<OptimizerParamState>& s = state_[p.impl_ptr().get()];
      if (!s) s = make_state();
      ++s->step;
      update(p, grad, g.options(), *s);
    }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& p : g.params()) {
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
  out.emplace_back("type", type_tensor(name_));
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    OptionWriter writer(out, fmt::format("param_groups.{}.", gi));
    groups_[gi].options().clone()->visit(writer);
    for (std::size_t pi = 0; pi < groups_[gi].params().size(); ++pi) {
      auto it = state_.find(groups_[gi].params()[pi].impl_ptr().get());
      if (it == state_.end()) continue;
      out.emplace_back(fmt::format("state.{}.{}.step", gi, pi),
                       from_vector(std::vector<std::int64_t>{it->second->step}, Shape{}));  // exact, not via double
      for (const auto& [key, t] : it->second->tensors())
        if (t->defined()) out.emplace_back(fmt::format("state.{}.{}.{}", gi, pi, key), *t);
    }
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  // The type first: state of another optimizer (or of the old untyped format) fails
  // with that, not with the first entry it does not know.
  const Tensor* type = nullptr;
  for (const auto& [name, t] : state)
    if (name == "type") {
      EMBER_CHECK(!type, "{}: load_state_dict: \"type\" appears twice", name_);
      type = &t;
    }
  EMBER_CHECK(type,
              "{}: load_state_dict: the state has no \"type\" entry: it is from Ember's old untyped optimizer "
              "format (before typed optimizers), which this version cannot load; save it again with this version",
              name_);
  const std::string from = read_type(*type, name_);
  EMBER_CHECK(from == name_, "{}: load_state_dict: the state belongs to another optimizer: it is {} state, not {}",
              name_, from, name_);

  std::map<const TensorImpl*, std::unique_ptr<OptimizerParamState>> loaded;
  std::vector<std::map<std::string, Tensor>> options(groups_.size());
  std::vector<std::string> names;
  for (const auto& [key, _] : make_state()->tensors()) names.emplace_back(key);
  OptionNames option_names;
  defaults_->clone()->visit(option_names);
  std::set<std::tuple<bool, std::size_t, std::size_t, std::string>> seen;
  for (const auto& [name, t] : state) {
    if (name == "type") continue;
    const std::optional<EntryName> e = parse_entry_name(name);
    EMBER_CHECK(e && (e->is_state || (e->group < groups_.size() && option_names.names.count(e->key))),
                "{}: load_state_dict: unexpected entry \"{}\"", name_, name);
    EMBER_CHECK(!e->is_state || (e->group < groups_.size() && e->param < groups_[e->group].params().size()),
                "{}: load_state_dict: \"{}\" names a parameter this optimizer does not have", name_, name);
    EMBER_CHECK(seen.emplace(e->is_state, e->group, e->param, e->key).second,
                "{}: load_state_dict: \"{}\" is a second entry for the same value", name_, name);
    EMBER_CHECK(t.defined(), "{}: load_state_dict: \"{}\" is an undefined tensor", name_, name);
    if (!e->is_state) {
      options[e->group][e->key] = t;
      continue;
    }
    const std::string where = fmt::format("{}: load_state_dict: parameter {} of group {}, state \"{}\"", name_,
                                          e->param, e->group, e->key);
    const Tensor& p = groups_[e->group].params()[e->param];
    std::unique_ptr<OptimizerParamState>& s = loaded[p.impl_ptr().get()];
    if (!s) s = make_state();
    if (e->key == "step") {
      s->step = read_step(t, where);
      continue;
    }
    Tensor* slot = nullptr;
    for (const auto& [key, ptr] : s->tensors())
      if (e->key == key) slot = ptr;
    EMBER_CHECK(slot, "{}: not a state {} keeps (it keeps {})", where, name_, fmt::join(names, ", "));
    EMBER_CHECK(t.dtype() == p.dtype(), "{}: has dtype {} but the parameter has {}", where, t.dtype(), p.dtype());
    EMBER_CHECK(t.sizes() == p.sizes(), "{}: has shape {} but the parameter has {}", where, shape_str(t.sizes()),
                shape_str(p.sizes()));
    *slot = t.contiguous().clone();
  }
  std::vector<std::unique_ptr<OptimizerOptions>> merged(groups_.size());
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    merged[gi] = groups_[gi].options().clone();
    OptionReader reader(options[gi], name_, gi);
    merged[gi]->visit(reader);
    validate(*merged[gi]);
  }
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].set_options(std::move(merged[gi]));
  state_ = std::move(loaded);
}

Tensor& detail::lazy(Tensor& t, const Tensor& p, double fill) {
  if (!t.defined()) t = full_like(p, fill);
  return t;
}

}  // namespace ember::optim
