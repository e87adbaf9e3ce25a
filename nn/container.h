#pragma once
/// Sequential (runs its modules in order) and ModuleList (holds modules).
#include <initializer_list>

#include "ember/nn/module.h"

namespace ember::nn {

/// Children named "0", "1", ... as in PyTorch, so checkpoints match.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// Appends a module (named by its position).
  Sequential& push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](std::size_t i) const;
};

/// A list of modules registered as children "0", "1", ...; forward is yours to write.
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  ModuleList& push_back(std::shared_ptr<Module> module);
  std::size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> operator[](std::size_t i) const;
};

}  // namespace ember::nn
