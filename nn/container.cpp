#include "ember/nn/container.h"

#include <fmt/ranges.h>

namespace ember::nn {
namespace {
const AnyModule& at_index(const std::vector<AnyModule>& modules, std::size_t i, const char* owner) {
  EMBER_CHECK(i < modules.size(), "{}: index {} out of range for {} modules", owner, i, modules.size());
  return modules[i];
}
}  // namespace

SequentialImpl& SequentialImpl::push_back(AnyModule module) {
  register_module(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
  return *this;
}

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : modules_) y = m.forward(y);
  return y;
}

const AnyModule& SequentialImpl::module(std::size_t i) const { return at_index(modules_, i, "Sequential"); }
std::shared_ptr<Module> SequentialImpl::operator[](std::size_t i) const { return module(i).ptr(); }

std::shared_ptr<Module> SequentialImpl::clone() const {
  auto copy = std::make_shared<SequentialImpl>(*this);
  copy->clear_registrations();
  copy->modules_.clear();
  for (const auto& m : modules_) copy->push_back(m.clone());  // each keeps its training mode
  return copy;
}

ModuleListImpl& ModuleListImpl::push_back(AnyModule module) {
  register_module(std::to_string(modules_.size()), module.ptr());
  modules_.push_back(std::move(module));
  return *this;
}

const AnyModule& ModuleListImpl::module(std::size_t i) const { return at_index(modules_, i, "ModuleList"); }
std::shared_ptr<Module> ModuleListImpl::operator[](std::size_t i) const { return module(i).ptr(); }

std::shared_ptr<Module> ModuleListImpl::clone() const {
  auto copy = std::make_shared<ModuleListImpl>(*this);
  copy->clear_registrations();
  copy->modules_.clear();
  for (const auto& m : modules_) copy->push_back(m.clone());
  return copy;
}

ModuleDictImpl::ModuleDictImpl(std::vector<std::pair<std::string, AnyModule>> modules) {
  for (auto& [key, m] : modules) insert(key, std::move(m));
}

ModuleDictImpl& ModuleDictImpl::insert(const std::string& key, AnyModule module) {
  register_module(key, module.ptr());  // checks the key: not empty, no ".", not there yet
  modules_.emplace_back(key, std::move(module));
  return *this;
}

bool ModuleDictImpl::contains(const std::string& key) const {
  for (const auto& [k, _] : modules_)
    if (k == key) return true;
  return false;
}

std::vector<std::string> ModuleDictImpl::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : modules_) out.push_back(k);
  return out;
}

const AnyModule& ModuleDictImpl::module(const std::string& key) const {
  for (const auto& [k, m] : modules_)
    if (k == key) return m;
  throw Error(fmt::format("ModuleDict: no module \"{}\" (keys: {})", key, fmt::join(keys(), ", ")));
}

std::shared_ptr<Module> ModuleDictImpl::operator[](const std::string& key) const { return module(key).ptr(); }

std::shared_ptr<Module> ModuleDictImpl::clone() const {
  auto copy = std::make_shared<ModuleDictImpl>(*this);
  copy->clear_registrations();
  copy->modules_.clear();
  for (const auto& [k, m] : modules_) copy->insert(k, m.clone());
  return copy;
}

}  // namespace ember::nn
