#include "ember/nn/module.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include <fmt/ranges.h>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/meta.h"
#include "ember/nn/safetensors.h"
#include "ember/ops/ops.h"

namespace ember::nn {
namespace {

void check_name(const std::string& name, const Module& owner, const char* what) {
  EMBER_CHECK(!name.empty(), "{}: {} name must not be empty", owner.type_name(), what);
  EMBER_CHECK(name.find('.') == std::string::npos, "{}: {} name \"{}\" must not contain \".\"", owner.type_name(), what,
              name);
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

namespace detail {
std::string demangle(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

std::string class_name(const std::type_info& type) {
  std::string name = demangle(type);
  // Drop the namespaces: everything up to the last "::" outside template arguments.
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    else if (name[i] == '>') --depth;
    else if (depth == 0 && name[i] == ':' && name[i + 1] == ':') start = i + 2;
  }
  name = name.substr(start);
  constexpr std::string_view kImpl = "Impl";
  if (name.size() > kImpl.size() && name.compare(name.size() - kImpl.size(), kImpl.size(), kImpl) == 0)
    name.resize(name.size() - kImpl.size());
  return name;
}
}  // namespace detail

void HookHandle::remove() {
  auto list = list_.lock();
  if (!list) return;
  for (auto* hooks : {&list->pre, &list->post})
    std::erase_if(*hooks, [this](const detail::Hook& h) { return h.id == id_; });
  list_.reset();
}

Module::Module(const Module& other)
    : std::enable_shared_from_this<Module>(other),
      type_name_(other.type_name_),
      parameters_(other.parameters_),
      buffers_(other.buffers_),
      children_(other.children_),
      training_(other.training_) {}

std::string Module::type_name() const { return type_name_.empty() ? detail::class_name(typeid(*this)) : type_name_; }

std::shared_ptr<Module> Module::clone() const {
  throw Error(fmt::format("{}: clone() is not available; derive the module from nn::Cloneable<{}>", type_name(),
                          detail::class_name(typeid(*this))));
}

void Module::clear_registrations() {
  parameters_.clear();
  buffers_.clear();
  children_.clear();
}

void Module::copy_state_from(const Module& source) {
  auto same_names = [](const auto& a, const auto& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].first != b[i].first) return false;
    return true;
  };
  EMBER_CHECK(same_names(parameters_, source.parameters_) && same_names(buffers_, source.buffers_) &&
                  same_names(children_, source.children_),
              "{}: clone(): reset() registered other parameters, buffers or submodules than the original has",
              type_name());
  NoGradGuard no_grad;
  auto copy_values = [](NamedTensors& to, const NamedTensors& from) {
    for (std::size_t i = 0; i < to.size(); ++i) {
      const Tensor& src = from[i].second;
      Tensor& dst = to[i].second;
      if (!src.defined() || !dst.defined()) {
        dst = src.defined() ? src.detach().clone() : Tensor();
        continue;
      }
      dst.set_data(src.detach().clone());  // new storage, and the dtype of the original
      if (dst.requires_grad() != src.requires_grad()) dst.requires_grad_(src.requires_grad());
    }
  };
  copy_values(parameters_, source.parameters_);
  copy_values(buffers_, source.buffers_);
  training_ = source.training_;
  for (std::size_t i = 0; i < children_.size(); ++i) children_[i].second->copy_state_from(*source.children_[i].second);
}

HookHandle Module::add_hook(bool pre, detail::Hook hook) {
  if (!hooks_) hooks_ = std::make_shared<detail::HookList>();
  hook.id = ++hooks_->next_id;
  (pre ? hooks_->pre : hooks_->post).push_back(std::move(hook));
  return HookHandle(hooks_, hooks_->next_id);
}

void Module::run_hooks(bool pre, const std::type_info& signature, void* const* values) {
  if (!hooks_) return;
  const std::vector<detail::Hook> hooks = pre ? hooks_->pre : hooks_->post;  // a hook may remove itself
  for (const auto& h : hooks) {
    EMBER_CHECK(*h.signature == signature, "{}: a forward {}hook takes {} but this call has {}", type_name(),
                pre ? "pre-" : "", detail::demangle(*h.signature), detail::demangle(signature));
    h.fn(*this, values);
  }
}

Tensor& Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_name(name, *this, "parameter");
  EMBER_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name),
              "{}: \"{}\" is already registered", type_name(), name);
  if (tensor.defined() && requires_grad) tensor.requires_grad_();
  parameters_.emplace_back(name, std::move(tensor));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor tensor) {
  check_name(name, *this, "buffer");
  EMBER_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name),
              "{}: \"{}\" is already registered", type_name(), name);
  buffers_.emplace_back(name, std::move(tensor));
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, *this, "submodule");
  EMBER_CHECK(module != nullptr, "{}: submodule \"{}\" is null", type_name(), name);
  EMBER_CHECK(!has_name(parameters_, name) && !has_name(buffers_, name) && !has_name(children_, name),
              "{}: \"{}\" is already registered", type_name(), name);
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
  EMBER_CHECK(is_floating(dtype), "{}: to(): modules hold floating parameters, got {}", type_name(), dtype);
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
  load_state_dict(state, LoadOptions().strict(strict));
}

void Module::load_state_dict(const NamedTensors& state, const LoadOptions& options) {
  const bool strict = options.strict();
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
    const bool convertible = options.convert_dtypes() && it->second.is_floating_point() && t.is_floating_point();
    if (it->second.sizes() != t.sizes() || (it->second.dtype() != t.dtype() && !convertible))
      mismatched.push_back(fmt::format("{}: checkpoint {} {} vs model {} {}{}", name, shape_str(it->second.sizes()),
                                       it->second.dtype(), shape_str(t.sizes()), t.dtype(),
                                       it->second.sizes() == t.sizes() && it->second.is_floating_point() &&
                                               t.is_floating_point()
                                           ? " (LoadOptions().convert_dtypes(true) converts it)"
                                           : ""));
  }
  for (const auto& [name, _] : given)
    if (!known.count(name)) unexpected.push_back(name);
  const bool names_ok = !strict || (missing.empty() && unexpected.empty());
  if (!names_ok || !mismatched.empty() || !duplicates.empty()) {
    std::string msg = fmt::format("load_state_dict: error(s) loading state_dict for {}:", type_name());
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
  return load(path, LoadOptions().strict(strict));
}

std::map<std::string, std::string> Module::load(const std::string& path, const LoadOptions& options) {
  safetensors::File f = safetensors::load(path);
  load_state_dict(f.tensors, options);
  return f.metadata;
}

void Module::print(std::string& out, int indent) const {
  out += type_name() + "(" + extra_repr();
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
