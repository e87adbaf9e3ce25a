#pragma once
/// AnyModule: any module behind one type, called with the arguments its forward
/// takes. Sequential holds its modules this way (LibTorch's AnyModule).
#include <any>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/nn/module.h"

namespace ember::nn {
namespace detail {

// The forward an AnyModule calls: the only one, or else the Tensor(const Tensor&) overload.
template <class M>
constexpr auto forward_of() {
  if constexpr (requires { &M::forward; }) return &M::forward;
  else return static_cast<Tensor (M::*)(const Tensor&)>(&M::forward);
}

/// The value of a type-erased result, or an error naming both types.
template <class Out>
Out any_result(std::any value, const std::string& module) {
  auto* out = std::any_cast<Out>(&value);
  EMBER_CHECK(out != nullptr, "{}: forward returned {}, not the {} asked for", module,
              value.has_value() ? demangle(value.type()) : "nothing", demangle(typeid(Out)));
  return std::move(*out);
}
}  // namespace detail

class AnyModule {
 public:
  AnyModule() = default;
  /// Shares the module (a copy of an AnyModule shares it too; clone() copies it).
  template <class M>
    requires std::is_base_of_v<Module, M>
  AnyModule(std::shared_ptr<M> module) : content_(std::make_shared<Content<M>>(std::move(module))) {}  // NOLINT
  template <ModuleHolderType H>
  AnyModule(const H& holder) : AnyModule(holder.ptr()) {}  // NOLINT
  /// Takes a module given by value (a temporary): `AnyModule(nn::LinearImpl(3, 4))`.
  template <class M>
    requires(std::is_base_of_v<Module, M> && !std::is_lvalue_reference_v<M>)
  AnyModule(M&& module) : AnyModule(std::make_shared<M>(std::move(module))) {}  // NOLINT

  /// forward(args...) with the module's hooks. Out is what forward returns;
  /// the arguments must have the types forward takes (after decay).
  template <class Out = Tensor, class... Args>
  Out forward(Args&&... args) const {
    if constexpr (std::is_same_v<Out, Tensor> && sizeof...(Args) == 1 && (std::is_convertible_v<Args&&, const Tensor&> && ...)) {
      return content().forward_tensor(args...);
    } else {
      std::vector<std::any> values;
      values.reserve(sizeof...(Args));
      (values.emplace_back(std::decay_t<Args>(std::forward<Args>(args))), ...);
      return detail::any_result<Out>(content().forward_any(values), ptr()->type_name());
    }
  }
  /// The same as forward: `any(x)`, `any(output, target)`.
  template <class Out = Tensor, class... Args>
  Out operator()(Args&&... args) const {
    return forward<Out>(std::forward<Args>(args)...);
  }
  /// The type-erased call (Sequential passes values along with it); checks the types.
  std::any forward_any(std::vector<std::any>& args) const { return content().forward_any(args); }

  /// A deep copy of the module (see Module::clone).
  AnyModule clone() const { return content().clone(); }
  /// The module; get<M>() checks that it is an M.
  std::shared_ptr<Module> ptr() const { return content().module(); }
  template <class M>
  M& get() const {
    auto* m = dynamic_cast<M*>(ptr().get());
    EMBER_CHECK(m != nullptr, "AnyModule: holds a {}, not a {}", ptr()->type_name(), detail::class_name(typeid(M)));
    return *m;
  }
  bool is_empty() const { return content_ == nullptr; }

 private:
  struct Placeholder {
    virtual ~Placeholder() = default;
    virtual std::shared_ptr<Module> module() const = 0;
    virtual Tensor forward_tensor(const Tensor& x) = 0;
    virtual std::any forward_any(std::vector<std::any>& args) = 0;
    virtual AnyModule clone() const = 0;
  };

  template <class M>
  struct Content final : Placeholder {
    using Traits = detail::ForwardTraits<decltype(detail::forward_of<M>())>;
    using Result = std::decay_t<typename Traits::Result>;
    explicit Content(std::shared_ptr<M> m) : m(std::move(m)) {}
    std::shared_ptr<Module> module() const override { return m; }

    Tensor forward_tensor(const Tensor& x) override {
      if constexpr (Traits::arity == 1 && std::is_same_v<typename Traits::Params, std::tuple<Tensor>> &&
                    std::is_same_v<Result, Tensor>) {
        return call(*m, x);
      } else {
        throw Error(fmt::format("{}: forward takes {} and returns {}; call it as forward<Result>(args...)",
                                m->type_name(), detail::demangle(typeid(typename Traits::Params)),
                                detail::demangle(typeid(Result))));
      }
    }

    std::any forward_any(std::vector<std::any>& args) override {
      EMBER_CHECK(args.size() == Traits::arity, "{}: forward takes {} argument(s), got {}", m->type_name(),
                  Traits::arity, args.size());
      return unpack(args, std::make_index_sequence<Traits::arity>{});
    }

    template <std::size_t... I>
    std::any unpack(std::vector<std::any>& args, std::index_sequence<I...>) {
      (void)args;  // unused when forward takes nothing
      std::tuple<std::tuple_element_t<I, typename Traits::Params>*...> ptrs{
          std::any_cast<std::tuple_element_t<I, typename Traits::Params>>(&args[I])...};
      const bool all = ((std::get<I>(ptrs) != nullptr) && ...);
      if (!all) {
        std::string given;
        for (const auto& a : args) given += (given.empty() ? "" : ", ") + detail::demangle(a.type());
        throw Error(fmt::format("{}: forward takes {}, called with ({})", m->type_name(),
                                detail::demangle(typeid(typename Traits::Params)), given));
      }
      if constexpr (std::is_void_v<Result>) {
        call(*m, *std::get<I>(ptrs)...);
        return {};
      } else {
        return std::any(call(*m, *std::get<I>(ptrs)...));
      }
    }

    AnyModule clone() const override {
      auto copy = std::dynamic_pointer_cast<M>(m->clone());
      EMBER_CHECK(copy != nullptr, "{}: clone() returned another class (derive it from nn::Cloneable of itself)",
                  m->type_name());
      return AnyModule(std::move(copy));
    }

    std::shared_ptr<M> m;
  };

  Placeholder& content() const {
    EMBER_CHECK(content_ != nullptr, "AnyModule: empty");
    return *content_;
  }

  std::shared_ptr<Placeholder> content_;
};

}  // namespace ember::nn
