#pragma once
// Loop machinery shared by the CPU kernels: walk K strided operands of one
// shape in row segments, in parallel above a size threshold, with a tight
// inner loop when every operand is contiguous along the segment.
#include <array>
#include <tuple>
#include <utility>

#include "ember/core/parallel.h"
#include "ember/core/tensor.h"

namespace ember::kernels {

template <std::size_t K>
using Offsets = std::array<std::int64_t, K>;

/// Drops size-1 dims and merges dims that are contiguous for every operand, so
/// a contiguous tensor becomes one long segment whatever its rank.
template <std::size_t K>
void coalesce(Shape& shape, std::array<Shape, K>& strides) {
  Shape s;
  std::array<Shape, K> st;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !s.empty();
    for (std::size_t k = 0; k < K && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      s.back() *= shape[d];
      for (std::size_t k = 0; k < K; ++k) st[k].back() = strides[k][d];
    } else {
      s.push_back(shape[d]);
      for (std::size_t k = 0; k < K; ++k) st[k].push_back(strides[k][d]);
    }
  }
  if (s.empty()) {  // a single element
    s.push_back(1);
    for (auto& x : st) x.push_back(0);
  }
  shape = std::move(s);
  strides = std::move(st);
}

/// Calls body(pos, offsets, inner_strides, n) for the row segments covering
/// linear indices [b, e) of an already coalesced index space, serially: n
/// elements from linear index pos, operand k's element i at
/// base[k] + offsets[k] + i * inner_strides[k].
template <std::size_t K, class Body>
void walk_segments(const Shape& shape, const std::array<Shape, K>& strides, const Offsets<K>& base,
                   std::int64_t b, std::int64_t e, Body&& body) {
  const std::size_t nd = shape.size();
  const std::int64_t inner = shape[nd - 1];
  Offsets<K> inner_strides;
  for (std::size_t k = 0; k < K; ++k) inner_strides[k] = strides[k][nd - 1];
  Shape idx(nd);
  Offsets<K> off = base;
  std::int64_t rem = b;
  for (std::size_t d = nd; d-- > 0;) {
    idx[d] = rem % shape[d];
    rem /= shape[d];
    for (std::size_t k = 0; k < K; ++k) off[k] += idx[d] * strides[k][d];
  }
  for (std::int64_t pos = b; pos < e;) {
    const std::int64_t n = std::min(inner - idx[nd - 1], e - pos);
    body(pos, off, inner_strides, n);
    pos += n;
    idx[nd - 1] += n;
    for (std::size_t k = 0; k < K; ++k) off[k] += n * inner_strides[k];
    for (std::size_t d = nd - 1; idx[d] == shape[d] && d > 0; --d) {  // carry
      for (std::size_t k = 0; k < K; ++k) off[k] += strides[k][d - 1] - idx[d] * strides[k][d];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

/// Calls body(pos, offsets, inner_strides, n) over all of `shape` (see walk_segments),
/// in parallel chunks above kParallelGrain elements.
template <std::size_t K, class Body>
void for_each_segment(Shape shape, std::array<Shape, K> strides, Body&& body) {
  const std::int64_t total = numel(shape);
  if (total == 0) return;
  coalesce(shape, strides);
  parallel_for(0, total, kParallelGrain, [&](std::int64_t b, std::int64_t e) {
    walk_segments<K>(shape, strides, Offsets<K>{}, b, e, body);
  });
}

namespace detail {
// A contiguous output with one of two inputs constant along the segment (a
// scalar operand, x * 0.5 or x.div_(n)): the value is hoisted so the loop
// vectorises, where the strided loop's `p[i * 0]` would not. Returns false
// for any other layout.
template <class Out, class... In, class F, std::size_t K, class... P>
bool constant_operand_loop([[maybe_unused]] Out* o, [[maybe_unused]] const Offsets<K>& st,
                           [[maybe_unused]] std::int64_t n, [[maybe_unused]] F& f,
                           [[maybe_unused]] const P*... p) {
  if constexpr (sizeof...(In) == 2) {
    if (st[0] != 1) return false;
    const auto [a, b] = std::tuple<const P*...>{p...};
    if (st[1] == 1 && st[2] == 0) {
      const auto bv = *b;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
      return true;
    }
    if (st[1] == 0 && st[2] == 1) {
      const auto av = *a;
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
      return true;
    }
  }
  return false;
}

template <class Out, class... In, class F, std::size_t... I, class... Ts>
void map_impl(std::index_sequence<I...>, const Tensor& out, F& f, const Ts&... in) {
  constexpr std::size_t K = 1 + sizeof...(In);
  std::array<Shape, K> strides{out.strides(), broadcast_strides(in.sizes(), in.strides(), out.sizes())...};
  Out* po = out.data_ptr<Out>();
  const std::tuple<const In*...> pin{in.template data_ptr<In>()...};
  for_each_segment<K>(out.sizes(), strides,
                      [&](std::int64_t, const Offsets<K>& off, const Offsets<K>& st, std::int64_t n) {
    Out* o = po + off[0];
    const std::tuple<const In*...> p{(std::get<I>(pin) + off[I + 1])...};
    if (((st[I + 1] == 1) && ...) && st[0] == 1) {
      for (std::int64_t i = 0; i < n; ++i) o[i] = f(std::get<I>(p)[i]...);
    } else if (!constant_operand_loop<Out, In...>(o, st, n, f, std::get<I>(p)...)) {
      for (std::int64_t i = 0; i < n; ++i) o[i * st[0]] = f(std::get<I>(p)[i * st[I + 1]]...);
    }
  });
}
}  // namespace detail

/// out[i] = f(in[i]...) over out's shape; each input broadcasts to it.
/// Out and In... are the C++ element types (must match the tensors' dtypes):
///   map_to<float, float, float>(out, [](float a, float b) { return a * b; }, a, b);
template <class Out, class... In, class F, class... Ts>
void map_to(const Tensor& out, F f, const Ts&... in) {
  static_assert(sizeof...(In) == sizeof...(Ts));
  detail::map_impl<Out, In...>(std::index_sequence_for<In...>{}, out, f, static_cast<const Tensor&>(in)...);
}

}  // namespace ember::kernels
