// The sort family (issue 10, part A): sort / argsort, topk, kthvalue, median,
// cumsum, cumprod. The selection ops compute indices with a kernel and take
// their values with gather, so their gradients are gather's (scatter_add into
// the chosen positions), twice differentiable. NaN orders as the largest
// value throughout, as in PyTorch.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

template <class T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// a before b in ascending order, NaN last.
template <class T>
bool ascending(T a, T b) {
  if (is_nan(a) || is_nan(b)) return !is_nan(a) && is_nan(b);
  return a < b;
}

// x (no history) with `dim` moved last, contiguous: rows of length n.
Tensor as_rows(const Tensor& x, std::int64_t dim) {
  NoGradGuard no_grad;
  return x.detach().transpose(dim, -1).contiguous();
}

// The inverse of as_rows for a result of the same rank.
Tensor from_rows(const Tensor& rows, std::int64_t dim) {
  NoGradGuard no_grad;
  return rows.transpose(dim, -1).contiguous();
}

// Calls f(row_pointer, out_pointer, row) for every row of the contiguous rows tensor, in parallel.
template <class T, class O, class F>
void for_rows(const Tensor& rows, const Tensor& out, std::int64_t n, std::int64_t m, F f) {
  const T* px = rows.data_ptr<T>();
  O* po = out.data_ptr<O>();
  const std::int64_t count = n == 0 ? 0 : rows.numel() / n;
  parallel_for(0, count, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(n * 8, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t r = b; r < e; ++r) f(px + r * n, po + r * m);
               });
}

std::int64_t dim_size(const Tensor& x, std::int64_t dim) { return x.dim() == 0 ? 1 : x.sizes()[dim]; }

// Indices (int64, x's shape with `dim` of size m) chosen by pick(row, n, idx_out) per row.
template <class Pick>
Tensor row_indices(const Tensor& x, std::int64_t dim, std::int64_t m, Pick pick) {
  const Tensor xs = x.dim() == 0 ? x.detach().reshape({1}) : x;
  const Tensor rows = as_rows(xs, dim);
  const std::int64_t n = xs.sizes()[dim];
  Shape shape = rows.sizes();
  shape.back() = m;
  Tensor idx = empty(shape, DType::Int64);
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    for_rows<T, std::int64_t>(rows, idx, n, m, [&](const T* row, std::int64_t* out) { pick(row, n, out); });
  });
  Tensor res = from_rows(idx, dim);
  return x.dim() == 0 ? res.reshape({}) : res;
}

Tensor take(const Tensor& x, std::int64_t dim, const Tensor& idx) {
  if (x.dim() == 0) return gather(x.reshape({1}), 0, idx.reshape({1})).reshape({});
  return gather(x, dim, idx);
}

std::int64_t wrap(const Tensor& x, std::int64_t dim, const char* op) {
  kernels::check_defined(x, op);
  return wrap_dim(dim, std::max<std::int64_t>(x.dim(), 1), op);
}

}  // namespace

ValuesIndices sort(const Tensor& x, std::int64_t dim, bool descending, bool /*stable: always*/) {
  dim = wrap(x, dim, "sort");
  Tensor idx = row_indices(x, dim, dim_size(x, dim), [descending](const auto* row, std::int64_t n, std::int64_t* out) {
    std::iota(out, out + n, 0);
    if (descending)
      std::stable_sort(out, out + n, [row](std::int64_t a, std::int64_t b) { return ascending(row[b], row[a]); });
    else
      std::stable_sort(out, out + n, [row](std::int64_t a, std::int64_t b) { return ascending(row[a], row[b]); });
  });
  return {take(x, dim, idx), idx};
}

Tensor argsort(const Tensor& x, std::int64_t dim, bool descending, bool stable) {
  return sort(x.detach(), dim, descending, stable).indices;
}

ValuesIndices topk(const Tensor& x, std::int64_t k, std::int64_t dim, bool largest, bool /*sorted: always*/) {
  dim = wrap(x, dim, "topk");
  const std::int64_t n = dim_size(x, dim);
  EMBER_CHECK(k >= 0 && k <= n, "topk: k ({}) is out of range for dim {} of size {} (input {})", k, dim, n,
              shape_str(x.sizes()));
  Tensor idx = row_indices(x, dim, k, [k, largest](const auto* row, std::int64_t len, std::int64_t* out) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(len));
    std::iota(order.begin(), order.end(), 0);
    // A total order (ties by position) so the result does not depend on the algorithm.
    auto before = [row, largest](std::int64_t a, std::int64_t b) {
      const bool ab = largest ? ascending(row[b], row[a]) : ascending(row[a], row[b]);
      const bool ba = largest ? ascending(row[a], row[b]) : ascending(row[b], row[a]);
      return ab || (!ba && a < b);
    };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
    std::copy(order.begin(), order.begin() + k, out);
  });
  return {take(x, dim, idx), idx};
}

namespace {
// The index of kthvalue's k-th smallest (0-based): the classic median-of-three
// quickselect (Numerical Recipes' `select`) moving positions with the values,
// which is the algorithm PyTorch's CPU kthvalue runs, so ties resolve to the
// same index (checked against PyTorch 1.13 on 2,000 rows full of ties).
template <class T>
std::int64_t quickselect(const T* row, std::int64_t n, std::int64_t k) {
  using V = std::conditional_t<std::is_same_v<T, bool>, std::uint8_t, T>;  // no vector<bool> proxies
  std::vector<V> a(row, row + n);
  std::vector<std::int64_t> id(static_cast<std::size_t>(n));
  std::iota(id.begin(), id.end(), 0);
  auto gt = [](V x, V y) { return ascending(y, x); };  // x > y, NaN largest
  auto sw = [&](std::int64_t i, std::int64_t j) {
    std::swap(a[static_cast<std::size_t>(i)], a[static_cast<std::size_t>(j)]);
    std::swap(id[static_cast<std::size_t>(i)], id[static_cast<std::size_t>(j)]);
  };
  auto at = [&](std::int64_t i) { return a[static_cast<std::size_t>(i)]; };
  std::int64_t lo = 0, hi = n - 1;
  while (hi > lo) {
    if (hi == lo + 1) {
      if (gt(at(lo), at(hi))) sw(lo, hi);
      break;
    }
    sw(lo + (hi - lo) / 2, lo + 1);  // median of three as the pivot, left in a[lo]
    if (gt(at(lo + 1), at(hi))) sw(lo + 1, hi);
    if (gt(at(lo), at(hi))) sw(lo, hi);
    if (gt(at(lo + 1), at(lo))) sw(lo + 1, lo);
    std::int64_t i = lo + 1, j = hi;
    const V pivot = at(lo);
    while (true) {
      do ++i; while (gt(pivot, at(i)));
      do --j; while (gt(at(j), pivot));
      if (j < i) break;
      sw(i, j);
    }
    sw(lo, j);
    if (j <= k) lo = i;
    if (j >= k) hi = j - 1;
  }
  return id[static_cast<std::size_t>(k)];
}

// The index of median's k-th smallest: the first NaN if there is one, else the
// position the value would have after a stable sort (PyTorch's CPU median
// gives that index on ties; checked on 3,000 rows full of ties).
template <class T>
std::int64_t stable_kth(const T* row, std::int64_t n, std::int64_t k) {
  for (std::int64_t i = 0; i < n; ++i)
    if (is_nan(row[i])) return i;
  using V = std::conditional_t<std::is_same_v<T, bool>, std::uint8_t, T>;
  std::vector<V> v(row, row + n);
  std::nth_element(v.begin(), v.begin() + k, v.end());
  const V value = v[static_cast<std::size_t>(k)];
  std::int64_t below = 0;
  for (std::int64_t i = 0; i < n; ++i) below += row[i] < value;
  std::int64_t seen = 0;
  for (std::int64_t i = 0; i < n; ++i)
    if (row[i] == value && below + seen++ == k) return i;
  return 0;  // unreachable
}

ValuesIndices select_along(const Tensor& x, std::int64_t dim, std::int64_t k, bool keepdim, bool is_median) {
  Tensor idx = row_indices(x, dim, 1, [k, is_median](const auto* row, std::int64_t n, std::int64_t* out) {
    out[0] = is_median ? stable_kth(row, n, k) : quickselect(row, n, k);
  });
  Tensor values = take(x, dim, idx);
  if (!keepdim && x.dim() > 0) return {values.squeeze(dim), idx.squeeze(dim)};
  return {values, idx};
}
}  // namespace

ValuesIndices kthvalue(const Tensor& x, std::int64_t k, std::int64_t dim, bool keepdim) {
  dim = wrap(x, dim, "kthvalue");
  const std::int64_t n = dim_size(x, dim);
  EMBER_CHECK(k >= 1 && k <= n, "kthvalue: k ({}) is out of range for dim {} of size {} (input {})", k, dim, n,
              shape_str(x.sizes()));
  return select_along(x, dim, k - 1, keepdim, false);
}

ValuesIndices median(const Tensor& x, std::int64_t dim, bool keepdim) {
  dim = wrap(x, dim, "median");
  const std::int64_t n = dim_size(x, dim);
  EMBER_CHECK(n > 0, "median: cannot take the median of an empty dim {} (input {})", dim, shape_str(x.sizes()));
  return select_along(x, dim, (n - 1) / 2, keepdim, true);
}

Tensor median(const Tensor& x) {
  kernels::check_defined(x, "median");
  if (x.numel() == 0) return full({}, NAN, x.is_floating_point() ? x.dtype() : DType::Float32);
  return median(x.reshape({-1}), 0).values;
}

// ---- cumsum, cumprod ----

namespace {
template <class Step>
Tensor scan_kernel(const Tensor& x, std::int64_t dim, const char* op, Step step) {
  const DType out_dt = x.is_floating_point() ? x.dtype() : DType::Int64;
  const Tensor xs = x.dim() == 0 ? x.detach().reshape({1}) : x;
  const Tensor rows = as_rows(kernels::cast(xs, out_dt), dim);
  const std::int64_t n = xs.sizes()[dim];
  Tensor out = empty(rows.sizes(), out_dt);
  dispatch(out_dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::uint8_t>) {
      throw Error(fmt::format("{}: unexpected dtype", op));
    } else {
      for_rows<T, T>(rows, out, n, n, [&](const T* row, T* o) {
        using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
        Acc acc = step.init();
        for (std::int64_t i = 0; i < n; ++i) {
          acc = step(acc, static_cast<Acc>(row[i]));
          o[i] = static_cast<T>(acc);
        }
      });
    }
  });
  Tensor res = from_rows(out, dim);
  return x.dim() == 0 ? res.reshape({}) : res;
}

struct SumStep {
  static int init() { return 0; }
  template <class A>
  A operator()(A acc, A v) const { return acc + v; }
};
struct ProdStep {
  static int init() { return 1; }
  template <class A>
  A operator()(A acc, A v) const { return acc * v; }
};

Tensor reverse_cumsum(const Tensor& g, std::int64_t dim) { return flip(cumsum(flip(g, {dim}), dim), {dim}); }

// d cumprod / dx for x with zeros, in differentiable ops: with dim last,
//   grad_i = (prod_{k<i} x_k) * sum_{j>=i} g_j * prod_{k=i+1..j} x_k,
// the inner products from a cumprod over an [n, n] matrix (O(n^2) memory).
Tensor cumprod_backward_with_zeros(const Tensor& g, const Tensor& x, std::int64_t dim) {
  const Tensor xt = x.transpose(dim, -1), gt = g.transpose(dim, -1);
  const std::int64_t n = xt.sizes().back();
  Shape sq = xt.sizes();
  sq.insert(sq.end() - 1, n);  // [..., n(i), n(j)]
  Tensor upto = empty({n, n}, DType::Bool), from = empty({n, n}, DType::Bool);
  bool* pu = upto.data_ptr<bool>();
  bool* pf = from.data_ptr<bool>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      pu[i * n + j] = j <= i;
      pf[i * n + j] = j >= i;
    }
  const Tensor one = scalar_tensor(1.0, x.dtype()), zero = scalar_tensor(0.0, x.dtype());
  Tensor partial = cumprod(where(upto, one, xt.unsqueeze(-2).expand(sq)), -1);  // prod_{k=i+1..j} x_k
  Tensor inner = sum(where(from, partial, zero) * gt.unsqueeze(-2), {-1});
  Tensor before = cat({ones_like(xt.slice(-1, 0, 1)), cumprod(xt.slice(-1, 0, n - 1), -1)}, -1);  // prod_{k<i} x_k
  return (before * inner).transpose(dim, -1);
}
}  // namespace

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  dim = wrap(x, dim, "cumsum");
  Tensor out = scan_kernel(x, dim, "cumsum", SumStep{});
  autograd::record("CumsumBackward", {x}, {out}, {}, [dim](const BackwardCtx&, const TensorList& g) {
    if (g[0].dim() == 0) return TensorList{g[0]};
    return TensorList{reverse_cumsum(g[0], dim)};
  });
  return out;
}

Tensor cumprod(const Tensor& x, std::int64_t dim) {
  dim = wrap(x, dim, "cumprod");
  Tensor out = scan_kernel(x, dim, "cumprod", ProdStep{});
  autograd::record("CumprodBackward", {x}, {out}, {x, out}, [dim](const BackwardCtx& c, const TensorList& g) {
    const Tensor &x0 = c.saved(0), &y = c.saved(1);
    if (g[0].dim() == 0 || x0.numel() == 0) return TensorList{g[0]};
    bool has_zero = false;
    for (double v : x0.to_vector<double>()) has_zero = has_zero || v == 0.0;
    if (!has_zero) return TensorList{reverse_cumsum(g[0] * y, dim) / x0};
    return TensorList{cumprod_backward_with_zeros(g[0], x0, dim)};
  });
  return out;
}

}  // namespace ember
