#pragma once
/// Sequential (runs its modules in order), ModuleList (holds modules) and
/// ModuleDict (holds modules by name).
#include <string>
#include <utility>
#include <vector>

#include "ember/nn/any_module.h"
#include "ember/nn/module.h"

namespace ember::nn {

/// What Sequential, ModuleList and ModuleDict accept: a holder, a shared_ptr or a temporary module.
template <class M>
concept ModuleArg = std::is_constructible_v<AnyModule, M> && !std::is_same_v<std::decay_t<M>, AnyModule>;

/// Runs its modules in order, passing each one's result to the next; the first
/// may take any arguments. Children are named "0", "1", ... as in PyTorch, so checkpoints match:
/// `nn::Sequential(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10))`.
class SequentialImpl : public Cloneable<SequentialImpl> {
 public:
  SequentialImpl() = default;
  template <ModuleArg... Ms>
    requires(sizeof...(Ms) > 0 && (!std::is_base_of_v<SequentialImpl, std::decay_t<Ms>> && ...))
  explicit SequentialImpl(Ms&&... modules) {
    (push_back(AnyModule(std::forward<Ms>(modules))), ...);
  }
  /// Appends a module (named by its position).
  SequentialImpl& push_back(AnyModule module);
  /// The one-tensor chain: no allocation beyond what the modules do.
  Tensor forward(const Tensor& x);
  /// The general chain: forward<Out>(args...) for a first module taking args, a last returning Out.
  template <class Out = Tensor, class... Args>
    requires(!(std::is_same_v<Out, Tensor> && sizeof...(Args) == 1 &&
               (std::is_convertible_v<Args&&, const Tensor&> && ...)))
  Out forward(Args&&... args) {
    EMBER_CHECK(!modules_.empty(), "Sequential: forward on an empty Sequential");
    std::vector<std::any> values;
    (values.emplace_back(std::decay_t<Args>(std::forward<Args>(args))), ...);
    std::any value = modules_.front().forward_any(values);
    for (std::size_t i = 1; i < modules_.size(); ++i) {
      std::vector<std::any> one;
      one.push_back(std::move(value));
      value = modules_[i].forward_any(one);
    }
    return detail::any_result<Out>(std::move(value), "Sequential");
  }
  std::size_t size() const { return modules_.size(); }
  /// The i-th module; at<M>(i) as its own class.
  std::shared_ptr<Module> operator[](std::size_t i) const;
  template <class M>
  M& at(std::size_t i) const {
    return module(i).get<M>();
  }
  const AnyModule& module(std::size_t i) const;
  /// Clones every module.
  std::shared_ptr<Module> clone() const override;

 private:
  std::vector<AnyModule> modules_;
};
EMBER_MODULE(Sequential);

/// A list of modules registered as children "0", "1", ...; forward is yours to write.
class ModuleListImpl : public Cloneable<ModuleListImpl> {
 public:
  ModuleListImpl() = default;
  template <ModuleArg... Ms>
    requires(sizeof...(Ms) > 0 && (!std::is_base_of_v<ModuleListImpl, std::decay_t<Ms>> && ...))
  explicit ModuleListImpl(Ms&&... modules) {
    (push_back(AnyModule(std::forward<Ms>(modules))), ...);
  }
  ModuleListImpl& push_back(AnyModule module);
  std::size_t size() const { return modules_.size(); }
  std::shared_ptr<Module> operator[](std::size_t i) const;
  template <class M>
  M& at(std::size_t i) const {
    return module(i).get<M>();
  }
  const AnyModule& module(std::size_t i) const;
  std::shared_ptr<Module> clone() const override;

 private:
  std::vector<AnyModule> modules_;
};
EMBER_MODULE(ModuleList);

/// Modules by name, in insertion order (PyTorch's ModuleDict); state_dict names are "key.weight".
class ModuleDictImpl : public Cloneable<ModuleDictImpl> {
 public:
  ModuleDictImpl() = default;
  /// `nn::ModuleDict({{"encoder", nn::Linear(4, 3)}, {"act", nn::ReLU()}})`.
  explicit ModuleDictImpl(std::vector<std::pair<std::string, AnyModule>> modules);
  /// Adds a module under a new key.
  ModuleDictImpl& insert(const std::string& key, AnyModule module);
  bool contains(const std::string& key) const;
  std::size_t size() const { return modules_.size(); }
  std::vector<std::string> keys() const;
  /// The module under key (an error names the keys there are); at<M>(key) as its own class.
  std::shared_ptr<Module> operator[](const std::string& key) const;
  template <class M>
  M& at(const std::string& key) const {
    return module(key).get<M>();
  }
  const AnyModule& module(const std::string& key) const;
  std::shared_ptr<Module> clone() const override;

 private:
  std::vector<std::pair<std::string, AnyModule>> modules_;
};

/// The holder of ModuleDictImpl; it also takes the key-module pairs in braces.
class ModuleDict : public ModuleHolder<ModuleDictImpl> {
 public:
  using ModuleHolder<ModuleDictImpl>::ModuleHolder;
  using Impl = ModuleDictImpl;
  /// `nn::ModuleDict({{"encoder", nn::Linear(4, 3)}, {"act", nn::ReLU()}})`.
  explicit ModuleDict(std::vector<std::pair<std::string, AnyModule>> modules)
      : ModuleHolder(std::make_shared<ModuleDictImpl>(std::move(modules))) {}
};

}  // namespace ember::nn
