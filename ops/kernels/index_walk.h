#pragma once
// The serial walk that gather, scatter and their reductions share: over the
// elements of an int64 `index`, with a destination and a source beside it.
#include <array>

#include "ember/ops/kernels/loops.h"

namespace ember::kernels {

/// Serially walks the elements of `index` with three strided operands (dst,
/// index, src), calling f(dst_off, index_value, src_off); the offsets leave out
/// the indexed dim's contribution. Serial, so repeated indices reduce in order.
template <class F>
void index_walk(const Tensor& index, const std::array<Shape, 3>& strides, F f) {
  Shape shape = index.sizes();
  auto st = strides;
  if (numel(shape) == 0) return;
  coalesce(shape, st);
  const std::int64_t* pi = index.data_ptr<std::int64_t>();
  walk_segments<3>(shape, st, {}, 0, numel(shape),
                   [&](std::int64_t, const Offsets<3>& off, const Offsets<3>& s, std::int64_t n) {
                     for (std::int64_t i = 0; i < n; ++i) f(off[0] + i * s[0], pi[off[1] + i * s[1]], off[2] + i * s[2]);
                   });
}

/// t's strides with the one along `dim` zeroed.
inline Shape strides_without(const Tensor& t, std::int64_t dim) {
  Shape s = t.strides();
  s[dim] = 0;
  return s;
}

}  // namespace ember::kernels
