#include "ember/nn/container.h"

namespace ember::nn {
namespace {
std::shared_ptr<Module> at(const Module& m, std::size_t i) {
  const auto children = m.named_children();
  EMBER_CHECK(i < children.size(), "{}: index {} out of range for {} modules", m.type_name(), i, children.size());
  return children[i].second;
}
}  // namespace

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Sequential() {
  for (const auto& m : modules) push_back(m);
}

Sequential& Sequential::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(size()), std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& m : children()) y = m->forward(y);
  return y;
}

std::shared_ptr<Module> Sequential::operator[](std::size_t i) const { return at(*this, i); }

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) : ModuleList() {
  for (const auto& m : modules) push_back(m);
}

ModuleList& ModuleList::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(size()), std::move(module));
  return *this;
}

std::shared_ptr<Module> ModuleList::operator[](std::size_t i) const { return at(*this, i); }

}  // namespace ember::nn
