#pragma once
/// Element types and compile-time dispatch over them.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "ember/core/error.h"

namespace ember {

enum class DType : std::uint8_t { Bool, UInt8, Int64, Float32, Float64 };

constexpr DType kDefaultDType = DType::Float32;

/// LibTorch's dtype names, so torch::zeros({2, 3}, torch::kFloat64) ports as zeros({2, 3}, kFloat64).
constexpr DType kBool = DType::Bool, kUInt8 = DType::UInt8, kByte = DType::UInt8, kInt64 = DType::Int64,
                kLong = DType::Int64, kFloat32 = DType::Float32, kFloat = DType::Float32, kFloat64 = DType::Float64,
                kDouble = DType::Float64;

/// Bytes per element.
constexpr std::size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8: return 1;
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::Float64: return 8;
  }
  return 0;
}

/// Name as PyTorch spells it without the "torch." prefix ("float32").
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

/// The dtype an op on `a` and `b` computes in (PyTorch's promotion lattice
/// restricted to Ember's dtypes: bool < uint8 < int64 < float32 < float64).
constexpr DType promote_types(DType a, DType b) {
  return static_cast<std::uint8_t>(a) > static_cast<std::uint8_t>(b) ? a : b;
}

template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <class T> constexpr DType dtype_of_v = dtype_of<T>::value;

template <class T> struct TypeTag { using type = T; };

/// Calls f(TypeTag<T>{}) with T the C++ type of `t`.
///   dispatch(t, [&](auto tag) { using T = typename decltype(tag)::type; ... });
template <class F>
decltype(auto) dispatch(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(TypeTag<bool>{});
    case DType::UInt8: return f(TypeTag<std::uint8_t>{});
    case DType::Int64: return f(TypeTag<std::int64_t>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
  }
  throw Error("dispatch: unknown dtype");
}

/// Like dispatch, for the floating dtypes only; `op` names the caller in the error.
template <class F>
decltype(auto) dispatch_floating(DType t, std::string_view op, F&& f) {
  switch (t) {
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: return f(TypeTag<double>{});
    default: break;
  }
  throw Error(fmt::format("{}: expected a floating dtype (float32 or float64), got {}", op,
                          dtype_name(t)));
}

}  // namespace ember

template <>
struct fmt::formatter<ember::DType> : fmt::formatter<std::string_view> {
  auto format(ember::DType t, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(ember::dtype_name(t), ctx);
  }
};
