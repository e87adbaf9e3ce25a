#include "ember/nn/module.h"

#include <algorithm>
#include <set>

#include <fmt/ranges.h>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/meta.h"
#include "ember/nn/safetensors.h"
#include "ember/ops/ops.h"

namespace ember::nn {
namespace {

void check_name(const std::string& name, const std::string& owner, const char* what) {
  EMBER_CHECK(!name.empty(), "{}: {} name must not be empty", owner, what);
  EMBER_CHECK(name.find('.') == std::string::npos, "{}: {} name \"{}\" must not contain \".\"", owner, what, name);
}

template <class List>
bool has_name(const List& list, const std::string& name) {
  for (const auto& [n, _] : list)
    if (n == name) return true;
  return false;
}

// Items for an error message: the first ten, then "... and N more", so a file with
// millions of unexpected keys gives a message one can read.
std::string first_few(const std::vector<std::string>& items, const char* sep) {
  constexpr std::size_t kShown = 10;
  const std::size_t shown = std::min(items.size(), kShown);
  std::string out =
      fmt::format("{}", fmt::join(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(shown), sep));
  if (items.size() > shown) out += fmt::format("{}... and {} more", sep, items.size() - shown);
  return out;
}

}  // namespace

Tensor Module::forward(const Tensor&) {
  throw Error(fmt::format("{}: forward(Tensor) is not implemented for this module", type_name_));
}

Tensor& Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_name(name, type_name_, "parameter");
  EMBER_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name),
              "{}: \"{}\" is already registered", type_name_, name);
  if (tensor.defined() && requires_grad) tensor.requires_grad_();
  parameters_.emplace_back(name, std::move(tensor));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor tensor) {
  check_name(name, type_name_, "buffer");
  EMBER_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name),
              "{}: \"{}\" is already registered", type_name_, name);
  buffers_.emplace_back(name, std::move(tensor));
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, type_name_, "submodule");
  EMBER_CHECK(module != nullptr, "{}: submodule \"{}\" is null", type_name_, name);
  EMBER_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name),
              "{}: \"{}\" is already registered", type_name_, name);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const {
  for (const auto& [name, t] : params ? parameters_ : buffers_)
    if (t.defined()) out.emplace_back(prefix + name, t);
  if (recurse)
    for (const auto& [name, child] : children_) child->collect(prefix + name + ".", true, params, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, out);
  return out;
}

TensorList Module::parameters(bool recurse) const {
  TensorList out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, out);
  return out;
}

TensorList Module::buffers(bool recurse) const {
  TensorList out;
  for (auto& [_, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [_, c] : children_) out.push_back(c);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out{{"", shared_from_this()}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [_, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (const auto& [_, child] : children_) child->apply(fn);
  fn(*this);
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else {
      Tensor g = p.grad();
      NoGradGuard no_grad;
      g.zero_();
    }
  }
}

void Module::to(DType dtype) {
  EMBER_CHECK(is_floating(dtype), "{}: to(): modules hold floating parameters, got {}", type_name_, dtype);
  NoGradGuard no_grad;
  for (auto& t : parameters()) {
    if (t.dtype() == dtype) continue;
    t.set_data(t.to(dtype).contiguous().clone());
    t.set_grad(Tensor());
    if (auto* m = autograd::meta(t)) {  // its recorded dtype is stale
      std::lock_guard<std::mutex> lock(m->mutex);
      m->grad_accumulator.reset();
    }
  }
  for (auto& t : buffers())
    if (t.is_floating_point() && t.dtype() != dtype) t.set_data(t.to(dtype).contiguous().clone());
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& b : named_buffers()) out.push_back(b);
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors mine = state_dict();
  std::map<std::string, Tensor> given;
  std::vector<std::string> duplicates, missing, unexpected, mismatched;
  for (const auto& [name, t] : state)
    if (!given.emplace(name, t).second) duplicates.push_back(name);
  std::set<std::string> known;
  for (const auto& [name, t] : mine) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    if (it->second.sizes() != t.sizes() || it->second.dtype() != t.dtype())
      mismatched.push_back(fmt::format("{}: checkpoint {} {} vs model {} {}", name, shape_str(it->second.sizes()),
                                       it->second.dtype(), shape_str(t.sizes()), t.dtype()));
  }
  for (const auto& [name, _] : given)
    if (!known.count(name)) unexpected.push_back(name);
  const bool names_ok = !strict || (missing.empty() && unexpected.empty());
  if (!names_ok || !mismatched.empty() || !duplicates.empty()) {
    std::string msg = fmt::format("load_state_dict: error(s) loading state_dict for {}:", type_name_);
    if (strict && !missing.empty()) msg += "\n  missing keys: " + first_few(missing, ", ");
    if (strict && !unexpected.empty()) msg += "\n  unexpected keys: " + first_few(unexpected, ", ");
    if (!mismatched.empty()) msg += "\n  size or dtype mismatch: " + first_few(mismatched, "; ");
    if (!duplicates.empty()) msg += "\n  duplicate keys: " + first_few(duplicates, ", ");
    throw Error(msg);
  }
  NoGradGuard no_grad;  // copying into parameters is not part of any graph
  for (auto& [name, t] : mine)
    if (auto it = given.find(name); it != given.end()) t.copy_(it->second);
}

void Module::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  safetensors::save(path, state_dict(), metadata);
}

std::map<std::string, std::string> Module::load(const std::string& path, bool strict) {
  safetensors::File f = safetensors::load(path);
  load_state_dict(f.tensors, strict);
  return f.metadata;
}

void Module::print(std::string& out, int indent) const {
  out += type_name_ + "(" + extra_repr();
  if (!children_.empty()) {
    out += "\n";
    for (const auto& [name, child] : children_) {
      out.append(static_cast<std::size_t>(indent + 2), ' ');
      out += "(" + name + "): ";
      child->print(out, indent + 2);
      out += "\n";
    }
    out.append(static_cast<std::size_t>(indent), ' ');
  }
  out += ")";
}

std::string Module::to_string() const {
  std::string out;
  print(out, 0);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.to_string(); }

}  // namespace ember::nn
