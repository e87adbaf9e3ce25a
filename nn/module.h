#pragma once
/// Module: the base of every layer and model, as in PyTorch. A module owns
/// named, ordered parameters (trained), buffers (state such as batch norm's
/// running statistics) and child modules, and gives them dotted names
/// ("conv1.weight") for state_dict, checkpoints and optimizers.
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ember/core/named_tensors.h"
#include "ember/core/options.h"

namespace ember::nn {

using ember::NamedTensors;

class Module;

/// How Module::load and load_state_dict treat a checkpoint (issue 10).
struct LoadOptions {
  /// The names must match exactly (else entries missing on either side are skipped).
  EMBER_OPTION(LoadOptions, bool, strict, true)
  /// Converts floating tensors of another floating dtype (a PyTorch float16 or
  /// bfloat16 checkpoint) to the model's dtype, instead of refusing them.
  EMBER_OPTION(LoadOptions, bool, convert_dtypes, false)
};

namespace detail {
/// The readable name of a type ("std::tuple<ember::Tensor, ember::Tensor>").
std::string demangle(const std::type_info& type);
/// "Linear" for ember::nn::LinearImpl: the class name without namespaces or "Impl".
std::string class_name(const std::type_info& type);

// A hook, type-erased: `signature` is std::tuple of the decayed values it takes
// (the inputs, then the output for a forward hook); `fn` gets pointers to them.
struct Hook {
  std::uint64_t id = 0;
  const std::type_info* signature = nullptr;
  std::function<void(Module&, void* const*)> fn;
};
// Held by a shared_ptr so that a HookHandle may outlive its module.
struct HookList {
  std::vector<Hook> pre, post;
  std::uint64_t next_id = 0;
};
}  // namespace detail

/// Returned by register_forward_hook and register_forward_pre_hook; remove()
/// takes the hook off (PyTorch's RemovableHandle). Harmless twice or after the module is gone.
class HookHandle {
 public:
  HookHandle() = default;
  void remove();

 private:
  friend class Module;
  HookHandle(std::weak_ptr<detail::HookList> list, std::uint64_t id) : list_(std::move(list)), id_(id) {}
  std::weak_ptr<detail::HookList> list_;
  std::uint64_t id_ = 0;
};

template <class Impl>
class ModuleHolder;

/// True for nn::Linear, nn::Sequential, ...: the holders EMBER_MODULE declares.
template <class T>
concept ModuleHolderType =
    requires { typename T::ContainedType; } && std::is_base_of_v<ModuleHolder<typename T::ContainedType>, T>;

/// The base of every layer and model. It has no forward of its own: each module
/// declares the forward it needs (any arguments, any result), and `m(args...)`
/// calls it through nn::call, which runs the hooks around it.
class Module : public std::enable_shared_from_this<Module> {
 public:
  /// The name printed and used in errors defaults to the class name, without
  /// namespaces and without a trailing "Impl" ("Net", "Linear").
  Module() = default;
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module& operator=(const Module&) = delete;

  /// "Linear", "Conv2d", "Net", ...: used in printing and errors.
  std::string type_name() const;
  /// The part of the printed line inside the parentheses, e.g. "in_features=784, out_features=512".
  virtual std::string extra_repr() const { return ""; }

  /// Adds a parameter (a leaf that requires grad unless requires_grad is false); returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Adds a buffer: state saved with the model but not trained (undefined allowed).
  Tensor& register_buffer(const std::string& name, Tensor tensor);
  /// Adds a child module; returns it (a holder stays a holder, as in LibTorch).
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  template <ModuleHolderType H>
  H register_module(const std::string& name, H holder) {
    add_child(name, holder.ptr());
    return holder;
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
  /// The CPU, Ember's one device: nothing to move (LibTorch's model->to(device)).
  void to(const Device&) {}

  /// Number of scalar parameters in the tree.
  std::int64_t num_parameters() const;

  /// Parameters and buffers with dotted names, sharing storage with the module.
  NamedTensors state_dict() const;
  /// Copies values in by name. strict: the names must match exactly; always: shapes and
  /// dtypes must. The error lists every missing, unexpected and mismatched entry.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  /// As above; `LoadOptions().convert_dtypes(true)` converts floating dtypes.
  void load_state_dict(const NamedTensors& state, const LoadOptions& options);
  /// state_dict() to a safetensors file (atomically), with metadata such as the architecture.
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;
  /// Loads a safetensors file written by save() or by PyTorch; returns its metadata.
  std::map<std::string, std::string> load(const std::string& path, bool strict = true);
  /// As above: `net->load("half.safetensors", nn::LoadOptions().convert_dtypes(true))`.
  std::map<std::string, std::string> load(const std::string& path, const LoadOptions& options);

  /// The tree, as PyTorch prints a model.
  std::string to_string() const;

  /// A deep copy: same class, options and training mode; parameters and buffers
  /// copied (not shared), children cloned; no gradients, no hooks. Modules get it
  /// from nn::Cloneable<Derived>; this one throws.
  virtual std::shared_ptr<Module> clone() const;

  /// Calls fn(module, inputs...) before every forward, in registration order.
  /// fn may take the inputs by non-const reference to replace them.
  template <class Fn>
  HookHandle register_forward_pre_hook(Fn fn);
  /// Calls fn(module, inputs..., output) after every forward, in registration order
  /// (to look at activations; take the output by non-const reference to replace it).
  template <class Fn>
  HookHandle register_forward_hook(Fn fn);
  /// True when a hook is registered: the call path checks only this when there are none.
  bool has_hooks() const { return hooks_ && !(hooks_->pre.empty() && hooks_->post.empty()); }
  /// Runs the pre (or forward) hooks on type-erased values; nn::call uses it.
  void run_hooks(bool pre, const std::type_info& signature, void* const* values);

 protected:
  /// Copies name and training mode and, shallowly, the registrations (the copy
  /// shares parameters and children until clone() replaces them); not the hooks.
  Module(const Module& other);
  /// Forgets every parameter, buffer and child (clone() then calls reset()).
  void clear_registrations();
  bool has_registrations() const { return !parameters_.empty() || !buffers_.empty() || !children_.empty(); }
  /// Copies `source`'s parameter and buffer values (new storage) and training
  /// mode into this module, which must have the same structure; recurses into children.
  void copy_state_from(const Module& source);

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  HookHandle add_hook(bool pre, detail::Hook hook);
  void collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const;
  void print(std::string& out, int indent) const;

  std::string type_name_;  // empty: derived from the class
  NamedTensors parameters_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  std::shared_ptr<detail::HookList> hooks_;
};

namespace detail {
template <class Self, class... P, class F, std::size_t... I>
void invoke_hook(const F& f, Module& m, void* const* values, std::index_sequence<I...>) {
  (void)values;  // unused when the hook takes no values
  auto* self = dynamic_cast<Self*>(&m);
  EMBER_CHECK(self != nullptr, "{}: hook expects a module of type {}", m.type_name(), class_name(typeid(Self)));
  f(*self, *static_cast<std::decay_t<P>*>(values[I])...);
}

template <class R, class Self, class... P>
Hook make_hook(std::function<R(Self, P...)> f) {
  static_assert(std::is_void_v<R>, "a hook returns nothing; take a value by non-const reference to change it");
  static_assert(std::is_lvalue_reference_v<Self> && std::is_base_of_v<Module, std::remove_cvref_t<Self>>,
                "a hook's first parameter is the module, by reference");
  using SelfT = std::remove_reference_t<Self>;
  return Hook{0, &typeid(std::tuple<std::decay_t<P>...>), [f = std::move(f)](Module& m, void* const* values) {
                invoke_hook<SelfT, P...>(f, m, values, std::index_sequence_for<P...>{});
              }};
}

/// The result and the decayed parameter types of a forward.
template <class T>
struct ForwardTraits;
template <class R, class C, class... P>
struct ForwardTraits<R (C::*)(P...)> {
  using Result = R;
  using Params = std::tuple<std::decay_t<P>...>;
  static constexpr std::size_t arity = sizeof...(P);
};
template <class R, class C, class... P>
struct ForwardTraits<R (C::*)(P...) const> : ForwardTraits<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct ForwardTraits<R (C::*)(P...) noexcept> : ForwardTraits<R (C::*)(P...)> {};
template <class R, class C, class... P>
struct ForwardTraits<R (C::*)(P...) const noexcept> : ForwardTraits<R (C::*)(P...)> {};

// What hooks see as the inputs: forward's own parameter types when it has one
// forward of that arity (so `cell(x, std::nullopt)` shows a hook the optional),
// else the decayed argument types.
template <class M, class... Args>
auto hook_inputs() {
  if constexpr (requires { &M::forward; }) {
    using Traits = ForwardTraits<decltype(&M::forward)>;
    if constexpr (Traits::arity == sizeof...(Args)) return std::type_identity<typename Traits::Params>{};
    else return std::type_identity<std::tuple<std::decay_t<Args>...>>{};
  } else {
    return std::type_identity<std::tuple<std::decay_t<Args>...>>{};
  }
}

// The slow path of nn::call: the inputs are copied so that pre-hooks can replace them.
template <class M, class... Args>
auto call_with_hooks(M& m, Args&&... args) -> decltype(m.forward(std::forward<Args>(args)...)) {
  typename decltype(hook_inputs<M, Args...>())::type inputs(std::forward<Args>(args)...);
  return std::apply(
      [&m](auto&... in) {
        void* pre[] = {static_cast<void*>(std::addressof(in))..., nullptr};
        m.run_hooks(true, typeid(std::tuple<std::decay_t<decltype(in)>...>), pre);
        auto out = m.forward(in...);
        void* post[] = {static_cast<void*>(std::addressof(in))..., static_cast<void*>(std::addressof(out))};
        m.run_hooks(false, typeid(std::tuple<std::decay_t<decltype(in)>..., decltype(out)>), post);
        return out;
      },
      inputs);
}
}  // namespace detail

template <class Fn>
HookHandle Module::register_forward_pre_hook(Fn fn) {
  return add_hook(true, detail::make_hook(std::function{std::move(fn)}));
}

template <class Fn>
HookHandle Module::register_forward_hook(Fn fn) {
  return add_hook(false, detail::make_hook(std::function{std::move(fn)}));
}

/// m.forward(args...), with m's hooks around it when it has any: what `m(args...)` runs.
template <class M, class... Args>
  requires std::is_base_of_v<Module, M>
auto call(M& m, Args&&... args) -> decltype(m.forward(std::forward<Args>(args)...)) {
  if (!m.has_hooks()) return m.forward(std::forward<Args>(args)...);
  return detail::call_with_hooks(m, std::forward<Args>(args)...);
}

/// The base a module derives from to be called as `m(x)` and deep-copied with
/// clone() (LibTorch's name): `struct NetImpl : nn::Cloneable<NetImpl> {...}`.
/// clone() copy-constructs Derived, then calls its reset() (if it has
/// registrations, reset() must create them, as in LibTorch) and copies the values.
template <class Derived>
class Cloneable : public Module {
 public:
  using Module::Module;
  Cloneable() = default;

  /// Runs this module's forward (and hooks): `model(x)`, `loss(output, target)`.
  template <class Self = Derived, class... Args>
  auto operator()(Args&&... args) -> decltype(std::declval<Self&>().forward(std::forward<Args>(args)...)) {
    return call(static_cast<Self&>(*this), std::forward<Args>(args)...);
  }

  std::shared_ptr<Module> clone() const override {
    auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
    if constexpr (requires(Derived& d) { d.reset(); }) {
      copy->clear_registrations();
      copy->reset();
    } else {
      EMBER_CHECK(!has_registrations(),
                  "{}: clone() needs a reset() that registers the parameters, buffers and submodules", type_name());
    }
    copy->copy_state_from(*this);
    return copy;
  }
};

/// Holds a module by shared pointer, as LibTorch's holders do: `nn::Linear fc(784, 128);
/// fc->weight; fc(x); fc->forward(x)`. Copies share the module; clone() copies it.
template <class Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;

  /// The module built with its defaults (`nn::ReLU()`).
  ModuleHolder()
    requires std::is_default_constructible_v<Impl>
      : impl_(std::make_shared<Impl>()) {}
  /// Empty, to be assigned later: `nn::Linear fc1{nullptr};`.
  ModuleHolder(std::nullptr_t) {}  // NOLINT: LibTorch's spelling
  ModuleHolder(std::shared_ptr<Impl> module) : impl_(std::move(module)) {}  // NOLINT
  /// Builds the module from its constructor's arguments: `nn::Linear(784, 128)`.
  template <class A0, class... Args>
    requires((sizeof...(Args) > 0 ||
              (!std::is_base_of_v<ModuleHolder, std::decay_t<A0>> && !std::is_same_v<std::decay_t<A0>, std::nullptr_t> &&
               !std::is_same_v<std::decay_t<A0>, std::shared_ptr<Impl>>)) &&
             std::is_constructible_v<Impl, A0, Args...>)
  explicit ModuleHolder(A0&& a0, Args&&... args)
      : impl_(std::make_shared<Impl>(std::forward<A0>(a0), std::forward<Args>(args)...)) {}

  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  Impl* get() const {
    EMBER_CHECK(impl_ != nullptr, "{}: the module holder is empty", detail::class_name(typeid(Impl)));
    return impl_.get();
  }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return impl_ != nullptr; }
  /// Shares the module as a shared_ptr to it or to one of its bases.
  template <class M>
    requires std::is_convertible_v<Impl*, M*>
  operator std::shared_ptr<M>() const {  // NOLINT
    return impl_;
  }

  /// Runs the module's forward (and hooks).
  template <class I = Impl, class... Args>
  auto operator()(Args&&... args) const -> decltype(std::declval<I&>().forward(std::forward<Args>(args)...)) {
    return call(*get(), std::forward<Args>(args)...);
  }
  /// Indexing of containers: `seq[0]`.
  template <class Arg>
  decltype(auto) operator[](Arg&& arg) const {
    return (*get())[std::forward<Arg>(arg)];
  }

 private:
  std::shared_ptr<Impl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

/// A module held for sharing: make<Linear>(784, 128) gives a holder (nn::Linear),
/// make<MyModule>(...) a std::shared_ptr<MyModule>.
template <class M, class... Args>
auto make(Args&&... args) {
  if constexpr (ModuleHolderType<M>) return M(std::forward<Args>(args)...);
  else return std::make_shared<M>(std::forward<Args>(args)...);
}

template <class Impl>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<Impl>& m) {
  return os << *m;
}

}  // namespace ember::nn

/// Declares the holder `Name` of the module class `NameImpl` (LibTorch's TORCH_MODULE).
#define EMBER_MODULE(Name)                                        \
  class Name : public ::ember::nn::ModuleHolder<Name##Impl> {     \
   public:                                                        \
    using ::ember::nn::ModuleHolder<Name##Impl>::ModuleHolder;    \
    using Impl = Name##Impl;                                      \
  }

/// fmt::print("{}", model) for any module, by reference or through its holder.
template <class M>
  requires std::is_base_of_v<ember::nn::Module, M>
struct fmt::formatter<M> : fmt::formatter<std::string> {
  auto format(const M& m, fmt::format_context& ctx) const { return fmt::formatter<std::string>::format(m.to_string(), ctx); }
};
template <ember::nn::ModuleHolderType H>
struct fmt::formatter<H> : fmt::formatter<std::string> {
  auto format(const H& h, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(h ? h->to_string() : std::string("(empty holder)"), ctx);
  }
};
