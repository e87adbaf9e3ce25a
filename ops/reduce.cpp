// Reductions: sum, mean, var/std, max/min (with indices), amax, argmax,
// logsumexp, sum_to. Only sum and max/min have hand-written gradients; the
// rest are compositions.
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// Which dims of x a reduction over `dims` removes (all when dims is empty).
std::vector<bool> reduced_mask(const Tensor& x, const Shape& dims, const char* op) {
  kernels::check_defined(x, op);
  std::vector<bool> mask(static_cast<std::size_t>(x.dim()), dims.empty());
  if (x.dim() == 0) {  // a 0-d tensor reduces over dim 0 or -1 to itself
    for (auto d : dims) wrap_dim(d, 0, op);
    return mask;
  }
  for (auto d : dims) {
    const auto w = static_cast<std::size_t>(wrap_dim(d, x.dim(), op));
    EMBER_CHECK(!mask[w] || dims.empty(), "{}: dim {} appears multiple times in {}", op, w, shape_str(dims));
    mask[w] = true;
  }
  return mask;
}

Shape keepdim_shape(const Tensor& x, const std::vector<bool>& mask) {
  Shape s = x.sizes();
  for (std::size_t d = 0; d < s.size(); ++d)
    if (mask[d]) s[d] = 1;
  return s;
}

Shape squeezed_shape(const Tensor& x, const std::vector<bool>& mask) {
  Shape s;
  for (std::size_t d = 0; d < mask.size(); ++d)
    if (!mask[d]) s.push_back(x.sizes()[d]);
  return s;
}

// Runs a reduction of x over the masked dims into `out` (contiguous, keepdim
// shape). step(acc, value, pos) sees each element with its linear position in
// the reduced sub-space; combine merges partial results in order; finish maps
// an accumulator to the output element.
template <class T, class O, class Acc, class Step, class Combine, class Finish>
void reduce_into(const Tensor& out, const Tensor& x, const std::vector<bool>& mask, Acc init, Step step,
                 Combine combine, Finish finish) {
  Shape keep_sizes, keep_strides;
  std::array<Shape, 1> red_strides;
  Shape red_sizes;
  for (std::size_t d = 0; d < mask.size(); ++d) {
    (mask[d] ? red_sizes : keep_sizes).push_back(x.sizes()[d]);
    (mask[d] ? red_strides[0] : keep_strides).push_back(x.strides()[d]);
  }
  const std::int64_t M = numel(keep_sizes), R = numel(red_sizes);
  const T* px = x.data_ptr<T>();
  O* po = out.data_ptr<O>();
  if (M == 0) return;
  if (R == 0) {
    for (std::int64_t m = 0; m < M; ++m) po[m] = finish(init);
    return;
  }
  kernels::coalesce(red_sizes, red_strides);
  auto accumulate = [&](Acc& acc, std::int64_t base, std::int64_t b, std::int64_t e) {
    kernels::walk_segments<1>(red_sizes, red_strides, {base}, b, e,
                              [&](std::int64_t pos, const kernels::Offsets<1>& off, const kernels::Offsets<1>& st,
                                  std::int64_t n) {
                                const T* p = px + off[0];
                                if (st[0] == 1)
                                  for (std::int64_t i = 0; i < n; ++i) step(acc, p[i], pos + i);
                                else
                                  for (std::int64_t i = 0; i < n; ++i) step(acc, p[i * st[0]], pos + i);
                              });
  };
  if (M == 1) {
    // One output: the reduced elements in blocks of a fixed length, each its own
    // partial, combined in block order. The blocks do not depend on how many
    // threads run them, so neither does the result (bit for bit).
    const std::int64_t blocks = (R + kParallelGrain - 1) / kParallelGrain;
    std::unique_ptr<Acc[]> partials(new Acc[static_cast<std::size_t>(blocks)]);
    for (std::int64_t k = 0; k < blocks; ++k) partials[static_cast<std::size_t>(k)] = init;
    parallel_for(0, blocks, 2, [&](std::int64_t kb, std::int64_t ke) {
      for (std::int64_t k = kb; k < ke; ++k)
        accumulate(partials[static_cast<std::size_t>(k)], 0, k * kParallelGrain, std::min(R, (k + 1) * kParallelGrain));
    });
    Acc total = init;
    for (std::int64_t k = 0; k < blocks; ++k) combine(total, partials[static_cast<std::size_t>(k)]);
    po[0] = finish(total);
    return;
  }
  parallel_for(0, M, std::max<std::int64_t>(1, kParallelGrain / R), [&](std::int64_t mb, std::int64_t me) {
    for (std::int64_t m = mb; m < me; ++m) {
      std::int64_t base = 0, rem = m;
      for (std::size_t d = keep_sizes.size(); d-- > 0;) {
        base += (rem % keep_sizes[d]) * keep_strides[d];
        rem /= keep_sizes[d];
      }
      Acc acc = init;
      accumulate(acc, base, 0, R);
      po[m] = finish(acc);
    }
  });
}

Tensor finish_shape(Tensor out, const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  return keepdim ? out : detail::make_view(out, squeezed_shape(x, mask), contiguous_strides(squeezed_shape(x, mask)), 0);
}

// The raw sum kernel (no history): floats accumulate in double, integers in int64.
Tensor sum_kernel(const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  const DType out_dtype = x.is_floating_point() ? x.dtype() : DType::Int64;
  Tensor out = empty(keepdim_shape(x, mask), out_dtype);
  // Leading dims of a contiguous floating tensor (a bias gradient: [batch, features]
  // summed over the batch): add whole rows into a row of double accumulators, a
  // loop that vectorises, instead of walking each output's column (perf: 3.5%
  // of an MLP step).
  std::size_t lead = 0;
  while (lead < mask.size() && mask[lead]) ++lead;
  bool rows = x.is_floating_point() && x.is_contiguous() && lead > 0 && lead < mask.size();
  for (std::size_t d = lead; d < mask.size() && rows; ++d) rows = !mask[d];
  if (rows && x.numel() > 0) {
    const std::int64_t M = out.numel(), R = x.numel() / M;
    dispatch_floating(x.dtype(), "sum", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data_ptr<T>();
      T* po = out.data_ptr<T>();
      parallel_for(0, M, std::max<std::int64_t>(64, kParallelGrain / R), [&](std::int64_t mb, std::int64_t me) {
        std::vector<double> acc(static_cast<std::size_t>(me - mb), 0.0);
        for (std::int64_t r = 0; r < R; ++r) {
          const T* row = px + r * M + mb;
          for (std::int64_t m = 0; m < me - mb; ++m) acc[static_cast<std::size_t>(m)] += static_cast<double>(row[m]);
        }
        for (std::int64_t m = mb; m < me; ++m) po[m] = static_cast<T>(acc[static_cast<std::size_t>(m - mb)]);
      });
    });
    return finish_shape(out, x, mask, keepdim);
  }
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
    dispatch(out_dtype, [&](auto otag) {
      using O = typename decltype(otag)::type;
      reduce_into<T, O, Acc>(out, x, mask, Acc(0), [](Acc& a, T v, std::int64_t) { a += static_cast<Acc>(v); },
                             [](Acc& a, const Acc& b) { a += b; }, [](Acc a) { return static_cast<O>(a); });
    });
  });
  return finish_shape(out, x, mask, keepdim);
}

// Max/min with the index of the first extreme (NaN counts as the extreme, as in PyTorch).
ValuesIndices extreme_kernel(const Tensor& x, const std::vector<bool>& mask, bool keepdim, bool is_max,
                             const char* op) {
  for (std::size_t d = 0; d < mask.size(); ++d)
    EMBER_CHECK(!mask[d] || x.sizes()[d] > 0, "{}: cannot reduce over a zero-size dimension (shape {})", op,
                shape_str(x.sizes()));
  Tensor values = empty(keepdim_shape(x, mask), x.dtype());
  Tensor indices = empty(keepdim_shape(x, mask), DType::Int64);
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    struct Acc {
      T v;
      std::int64_t i;
    };
    auto better = [is_max](T a, T b) {
      if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(a)) return !std::isnan(b);
      return is_max ? a > b : a < b;
    };
    auto step = [&](Acc& a, T v, std::int64_t pos) {
      if (a.i < 0 || better(v, a.v)) a = {v, pos};
    };
    auto combine = [&](Acc& a, const Acc& b) {
      if (b.i >= 0 && (a.i < 0 || better(b.v, a.v))) a = b;
    };
    // Two passes keep reduce_into single-output: values, then indices.
    reduce_into<T, T, Acc>(values, x, mask, Acc{T(), -1}, step, combine, [](const Acc& a) { return a.v; });
    reduce_into<T, std::int64_t, Acc>(indices, x, mask, Acc{T(), -1}, step, combine,
                                      [](const Acc& a) { return a.i; });
  });
  return {finish_shape(values, x, mask, keepdim), finish_shape(indices, x, mask, keepdim)};
}

// Unsqueezes a reduced gradient back to keepdim form, ready to broadcast over x.
Tensor unsqueeze_reduced(const Tensor& g, const Shape& keep_shape) { return g.reshape(keep_shape); }

std::int64_t reduced_count(const Tensor& x, const std::vector<bool>& mask) {
  std::int64_t n = 1;
  for (std::size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) n *= x.sizes()[d];
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, Shape dims, bool keepdim) {
  auto mask = reduced_mask(x, dims, "sum");
  Tensor out = sum_kernel(x, mask, keepdim);
  Shape keep = keepdim_shape(x, mask), in = x.sizes();
  autograd::record("SumBackward", {x}, {out}, {}, [keep, in](const BackwardCtx&, const TensorList& g) {
    return TensorList{unsqueeze_reduced(g[0], keep).expand(in)};
  });
  return out;
}

Tensor sum(const Tensor& x) { return sum(x, Shape{}, false); }

Tensor mean(const Tensor& x, Shape dims, bool keepdim) {
  auto mask = reduced_mask(x, dims, "mean");
  EMBER_CHECK(x.is_floating_point(), "mean: expected a floating dtype, got {}", x.dtype());
  return sum(x, dims, keepdim) / static_cast<double>(reduced_count(x, mask));
}

Tensor mean(const Tensor& x) { return mean(x, Shape{}, false); }

Tensor var(const Tensor& x, Shape dims, std::int64_t correction, bool keepdim) {
  auto mask = reduced_mask(x, dims, "var");
  EMBER_CHECK(x.is_floating_point(), "var: expected a floating dtype, got {}", x.dtype());
  Tensor centered = x - mean(x, dims, true);
  const double denom = static_cast<double>(std::max<std::int64_t>(reduced_count(x, mask) - correction, 0));
  return sum(centered * centered, dims, keepdim) / denom;
}

Tensor std(const Tensor& x, Shape dims, std::int64_t correction, bool keepdim) {
  return sqrt(var(x, std::move(dims), correction, keepdim));
}

namespace {
ValuesIndices extreme_dim(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  auto mask = reduced_mask(x, {dim}, op);
  ValuesIndices r = extreme_kernel(x, mask, keepdim, is_max, op);
  Shape keep = keepdim_shape(x, mask), in = x.sizes();
  const std::int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), op);
  autograd::record(is_max ? "MaxBackward" : "MinBackward", {x}, {r.values}, {r.indices},
                   [keep, in, d](const BackwardCtx& c, const TensorList& g) {
                     // The gradient goes to the index that won.
                     if (in.empty()) return TensorList{g[0].reshape(in)};
                     Tensor idx = c.saved(0).reshape(keep);
                     return TensorList{scatter_add(zeros(in, g[0].dtype()), d, idx, g[0].reshape(keep))};
                   });
  return r;
}

// Extreme over dims with the gradient split evenly among ties.
Tensor extreme_even(const Tensor& x, const Shape& dims, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  auto mask = reduced_mask(x, dims, op);
  Tensor out = extreme_kernel(x, mask, keepdim, is_max, op).values;
  Shape keep = keepdim_shape(x, mask);
  autograd::record(is_max ? "AmaxBackward" : "AminBackward", {x}, {out}, {x, out},
                   [keep, dims](const BackwardCtx& c, const TensorList& g) {
                     Tensor x = c.saved(0);
                     Tensor winners = eq(x, c.saved(1).reshape(keep)).to(g[0].dtype());
                     Tensor count = winners.sum(dims, true);
                     return TensorList{winners * (g[0].reshape(keep) / count)};
                   });
  return out;
}
}  // namespace

ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_dim(x, dim, keepdim, true); }
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_dim(x, dim, keepdim, false); }
Tensor max(const Tensor& x) { return extreme_even(x, {}, false, true); }
Tensor min(const Tensor& x) { return extreme_even(x, {}, false, false); }
Tensor amax(const Tensor& x, Shape dims, bool keepdim) { return extreme_even(x, dims, keepdim, true); }

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  return extreme_kernel(x, reduced_mask(x, {dim}, "argmax"), keepdim, true, "argmax").indices;
}
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) {
  return extreme_kernel(x, reduced_mask(x, {dim}, "argmin"), keepdim, false, "argmin").indices;
}

Tensor logsumexp(const Tensor& x, Shape dims, bool keepdim) {
  auto mask = reduced_mask(x, dims, "logsumexp");
  EMBER_CHECK(x.is_floating_point(), "logsumexp: expected a floating dtype, got {}", x.dtype());
  // Shift by the (constant) max so exp never overflows; infinite maxima shift by 0.
  Tensor m = amax(x.detach(), dims, true);
  m = where(kernels::unary("logsumexp", m, m.dtype(), [](auto v) { return std::isinf(v); }), wrap_scalar(0.0, m), m);
  Tensor out = log(sum(exp(x - m), dims, true)) + m;
  return keepdim ? out : out.reshape(squeezed_shape(x, mask));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.sizes() == shape) return x;
  EMBER_CHECK(is_expandable_to(shape, x.sizes()), "sum_to: shape {} cannot be summed to {}",
              shape_str(x.sizes()), shape_str(shape));
  const std::size_t lead = x.sizes().size() - shape.size();
  Shape dims;
  for (std::size_t i = 0; i < x.sizes().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.sizes()[i] != 1)) dims.push_back(static_cast<std::int64_t>(i));
  Tensor s = dims.empty() ? x : sum(x, dims, true);
  return s.reshape(shape);
}

Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::sum(Shape dims, bool keepdim) const { return ember::sum(*this, std::move(dims), keepdim); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::mean(Shape dims, bool keepdim) const { return ember::mean(*this, std::move(dims), keepdim); }
Tensor Tensor::max() const { return ember::max(*this); }
Tensor Tensor::min() const { return ember::min(*this); }
Tensor Tensor::argmax(std::int64_t dim, bool keepdim) const { return ember::argmax(*this, dim, keepdim); }

}  // namespace ember
