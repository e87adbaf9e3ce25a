#pragma once
#include <array>
#include <utility>
// Elementwise kernels without autograd: the forward halves of ops/ and the
// masks their backward formulas need. Inputs are cast to the compute dtype
// first; outputs are new contiguous tensors.
#include "ember/ops/kernels/loops.h"

namespace ember::kernels {

/// dst[...] = src[...] converted to dst's dtype; src broadcasts to dst's shape.
void copy_into(const Tensor& dst, const Tensor& src);

/// PyTorch's result type of a binary op: a 0-d operand (such as a wrapped
/// scalar) decides the dtype only when it is of a higher category (bool <
/// integer < floating) than the dimensioned one.
inline DType result_type(const Tensor& a, const Tensor& b) {
  auto category = [](DType t) { return t == DType::Bool ? 0 : is_floating(t) ? 2 : 1; };
  if ((a.dim() == 0) != (b.dim() == 0)) {
    const Tensor& dimensioned = a.dim() ? a : b;
    const Tensor& zero_dim = a.dim() ? b : a;
    if (category(zero_dim.dtype()) <= category(dimensioned.dtype())) return dimensioned.dtype();
  }
  return promote_types(a.dtype(), b.dtype());
}

/// x's values in `dtype`, no history: x itself (detached) when the dtype matches,
/// else a contiguous converted copy.
Tensor cast(const Tensor& x, DType dtype);

inline void check_defined(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), "{}: got an undefined tensor", op);
}

/// f applied to every element of x (cast to `compute`); result in `compute` dtype,
/// or bool when f returns bool.
template <class F>
Tensor unary(const char* op, const Tensor& x, DType compute, F f) {
  check_defined(x, op);
  compute = compute_dtype(compute);  // float16 / bfloat16 compute in float32
  Tensor xc = cast(x, compute);
  return dispatch(compute, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using R = decltype(f(T()));
    Tensor out = empty(x.sizes(), std::is_same_v<R, bool> ? DType::Bool : compute);
    using O = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
    map_to<O, T>(out, [&](T v) { return static_cast<O>(f(v)); }, xc);
    return out;
  });
}

/// f applied to every element of x in its floating dtype (float32 for integer x);
/// f is only instantiated for float and double.
template <class F>
Tensor unary_floating(const char* op, const Tensor& x, F f) {
  check_defined(x, op);
  const DType compute = x.is_floating_point() ? compute_dtype(x.dtype()) : DType::Float32;
  Tensor xc = cast(x, compute);
  Tensor out = empty(x.sizes(), compute);
  dispatch_floating(compute, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    map_to<T, T>(out, [&](T v) { return static_cast<T>(f(v)); }, xc);
  });
  return out;
}

/// f applied to broadcast pairs of a and b (cast to `compute`); result in
/// `compute`, or bool when f returns bool. Throws "<op>: shapes ... cannot be broadcast".
template <class F>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, DType compute, F f) {
  compute = compute_dtype(compute);
  check_defined(a, op);
  check_defined(b, op);
  Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  Tensor ac = cast(a, compute), bc = cast(b, compute);
  return dispatch(compute, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using R = decltype(f(T(), T()));
    using O = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
    Tensor out = empty(shape, dtype_of_v<O>);
    map_to<O, T, T>(out, [&](T x, T y) { return static_cast<O>(f(x, y)); }, ac, bc);
    return out;
  });
}

/// out = f(out, b) in place: b (cast to out's dtype) broadcasts to out's shape.
/// The caller makes sure b does not share memory with out.
template <class F>
void binary_into(const Tensor& out, const Tensor& b, F f) {
  const Tensor bc = cast(b, out.dtype());
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    map_to<T, T, T>(out, [&](T x, T y) { return static_cast<T>(f(x, y)); }, out, bc);
  });
}

/// f over the raw buffers of float32 tensors that are all opaque in one
/// layout, element by element in storage order, into a new tensor in that
/// layout: relu and its gradient keep oneDNN's blocked activations blocked.
/// Undefined when the inputs do not qualify; the caller then takes its plain path.
template <class F, class... Ts>
Tensor map_opaque(F f, const Tensor& first, const Ts&... rest) {
  auto qualifies = [&](const Tensor& t) {
    return t.defined() && t.is_opaque() && t.dtype() == DType::Float32 && t.sizes() == first.sizes() &&
           t.opaque_layout()->same_as(*first.opaque_layout()) &&
           t.impl().storage->nbytes() == first.impl().storage->nbytes();
  };
  if (!qualifies(first) || !(qualifies(rest) && ...)) return Tensor();
  const std::size_t nbytes = first.impl().storage->nbytes();
  Tensor out = make_opaque(first.sizes(), DType::Float32, make_storage(nbytes), first.opaque_layout());
  float* o = static_cast<float*>(out.opaque_data());
  // Aliases hold the blocked buffers for the loop's duration, whatever other handles do.
  const std::array<Tensor, 1 + sizeof...(Ts)> held{ember::detail::alias(first), ember::detail::alias(rest)...};
  std::array<const float*, 1 + sizeof...(Ts)> in{};
  for (std::size_t k = 0; k < held.size(); ++k) {
    if (!held[k].is_opaque()) return Tensor();  // converted by another thread meanwhile: take the plain path
    in[k] = static_cast<const float*>(held[k].opaque_data());
  }
  parallel_for(0, static_cast<std::int64_t>(nbytes / sizeof(float)), kParallelGrain, [&](std::int64_t b, std::int64_t e) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      for (std::int64_t i = b; i < e; ++i) o[i] = f(in[I][i]...);
    }(std::index_sequence_for<Tensor, Ts...>{});
  });
  return out;
}

}  // namespace ember::kernels
