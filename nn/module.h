#pragma once
/// Module: the base of every layer and model, as in PyTorch. A module owns
/// named, ordered parameters (trained), buffers (state such as batch norm's
/// running statistics) and child modules, and gives them dotted names
/// ("conv1.weight") for state_dict, checkpoints and optimizers.
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ember/core/named_tensors.h"

namespace ember::nn {

using ember::NamedTensors;

class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation, for modules with one tensor in and one out (override it).
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  /// "Linear", "Conv2d", ...: used in printing and errors.
  const std::string& type_name() const { return type_name_; }
  /// The part of the printed line inside the parentheses, e.g. "in_features=784, out_features=512".
  virtual std::string extra_repr() const { return ""; }

  /// Adds a parameter (a leaf that requires grad unless requires_grad is false); returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Adds a buffer: state saved with the model but not trained (undefined allowed).
  Tensor& register_buffer(const std::string& name, Tensor tensor);
  /// Adds a child module; returns it.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  /// This module's parameters (and its descendants' when recurse), in registration order.
  TensorList parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  TensorList buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  /// Direct children, and all modules in the tree (this one first) with dotted names.
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
  std::vector<std::shared_ptr<Module>> modules();
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();

  /// Calls fn on every module of the tree, children first, then this one (as PyTorch).
  void apply(const std::function<void(Module&)>& fn);

  /// Training mode (dropout active, batch norm uses batch statistics) for the whole tree.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Clears every parameter's gradient (to an undefined tensor, or to zeros if !set_to_none).
  void zero_grad(bool set_to_none = true);

  /// Converts every floating parameter and buffer to `dtype` in place (handles held
  /// elsewhere see the change); gradients are cleared.
  void to(DType dtype);

  /// Number of scalar parameters in the tree.
  std::int64_t num_parameters() const;

  /// Parameters and buffers with dotted names, sharing storage with the module.
  NamedTensors state_dict() const;
  /// Copies values in by name. strict: the names must match exactly; always: shapes and
  /// dtypes must. The error lists every missing, unexpected and mismatched entry.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  /// state_dict() to a safetensors file (atomically), with metadata such as the architecture.
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;
  /// Loads a safetensors file written by save() or by PyTorch; returns its metadata.
  std::map<std::string, std::string> load(const std::string& path, bool strict = true);

  /// The tree, as PyTorch prints a model.
  std::string to_string() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const;
  void print(std::string& out, int indent) const;

  std::string type_name_;
  NamedTensors parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

/// Modules hold their layers as shared pointers, as LibTorch does.
template <class M, class... Args>
std::shared_ptr<M> make(Args&&... args) {
  return std::make_shared<M>(std::forward<Args>(args)...);
}

}  // namespace ember::nn

template <>
struct fmt::formatter<ember::nn::Module> : fmt::formatter<std::string> {
  auto format(const ember::nn::Module& m, format_context& ctx) const {
    return fmt::formatter<std::string>::format(m.to_string(), ctx);
  }
};
