// Shape and indexing ops a PyTorch user reaches for (issue 10, part A):
// chunk / split / unbind, flip, roll, pad, repeat / tile, tril / triu,
// diag / diagonal, masked_fill / masked_select, nonzero, unique.
// Most are compositions of differentiable ops (slice, cat, index_select,
// where, reshape, expand), so their gradients, and the gradients of those,
// come from the ops they are made of.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "ember/autograd/grad_mode.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

Tensor index_tensor(const std::vector<std::int64_t>& v) { return from_vector(v); }

std::vector<std::int64_t> wrap_dims(const Shape& dims, std::int64_t ndim, const char* op) {
  std::vector<std::int64_t> out;
  std::set<std::int64_t> seen;
  for (auto d : dims) {
    const std::int64_t w = wrap_dim(d, ndim, op);
    EMBER_CHECK(seen.insert(w).second, "{}: dim {} appears multiple times in the list of dims", op, w);
    out.push_back(w);
  }
  return out;
}

}  // namespace

// ---- chunk, split, unbind ----

TensorList split(const Tensor& x, const Shape& split_sizes, std::int64_t dim) {
  kernels::check_defined(x, "split");
  EMBER_CHECK(x.dim() > 0, "split: expected a tensor with at least 1 dim, got a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "split");
  std::int64_t total = 0;
  for (auto s : split_sizes) {
    EMBER_CHECK(s >= 0, "split: split sizes must be non-negative, got {}", shape_str(split_sizes));
    total += s;
  }
  EMBER_CHECK(total == x.sizes()[dim],
              "split: split sizes {} add up to {}, but dim {} of the input {} has size {}", shape_str(split_sizes),
              total, dim, shape_str(x.sizes()), x.sizes()[dim]);
  TensorList out;
  std::int64_t start = 0;
  for (auto s : split_sizes) {
    out.push_back(x.slice(dim, start, start + s));
    start += s;
  }
  return out;
}

TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  kernels::check_defined(x, "split");
  EMBER_CHECK(x.dim() > 0, "split: expected a tensor with at least 1 dim, got a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "split");
  const std::int64_t n = x.sizes()[dim];
  EMBER_CHECK(split_size > 0 || (split_size == 0 && n == 0),
              "split: split_size must be positive for a dim of size {}, got {}", n, split_size);
  Shape sizes;
  if (n == 0) {
    sizes.push_back(0);
  } else {
    for (std::int64_t start = 0; start < n; start += split_size) sizes.push_back(std::min(split_size, n - start));
  }
  return split(x, sizes, dim);
}

TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  kernels::check_defined(x, "chunk");
  EMBER_CHECK(x.dim() > 0, "chunk: expected a tensor with at least 1 dim, got a 0-d tensor");
  EMBER_CHECK(chunks > 0, "chunk: number of chunks must be positive, got {}", chunks);
  dim = wrap_dim(dim, x.dim(), "chunk");
  const std::int64_t n = x.sizes()[dim];
  if (n == 0) return split(x, Shape(static_cast<std::size_t>(chunks), 0), dim);  // `chunks` empty pieces, as PyTorch
  return split(x, (n + chunks - 1) / chunks, dim);
}

TensorList unbind(const Tensor& x, std::int64_t dim) {
  kernels::check_defined(x, "unbind");
  EMBER_CHECK(x.dim() > 0, "unbind: expected a tensor with at least 1 dim, got a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "unbind");
  TensorList out;
  for (std::int64_t i = 0; i < x.sizes()[dim]; ++i) out.push_back(x.select(dim, i));
  return out;
}

// ---- flip, roll ----

Tensor flip(const Tensor& x, Shape dims) {
  kernels::check_defined(x, "flip");
  Tensor out = x;
  for (auto d : wrap_dims(dims, std::max<std::int64_t>(x.dim(), 1), "flip")) {
    if (x.dim() == 0) break;
    const std::int64_t n = x.sizes()[d];
    std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = n - 1 - i;
    out = index_select(out, d, index_tensor(idx));
  }
  return out.is_same(x) ? clone(x) : out;
}

Tensor roll(const Tensor& x, Shape shifts, Shape dims) {
  kernels::check_defined(x, "roll");
  if (dims.empty()) {
    EMBER_CHECK(shifts.size() == 1, "roll: without dims, expected one shift, got {}", shape_str(shifts));
    return roll(x.flatten(), shifts, {0}).view(x.sizes());
  }
  EMBER_CHECK(shifts.size() == dims.size(), "roll: shifts {} and dims {} must have the same length",
              shape_str(shifts), shape_str(dims));
  const auto wd = wrap_dims(dims, std::max<std::int64_t>(x.dim(), 1), "roll");
  Tensor out = x.dim() == 0 ? x.reshape({1}) : x;
  for (std::size_t k = 0; k < wd.size(); ++k) {
    const std::int64_t d = wd[k], n = out.sizes()[d];
    if (n == 0) continue;
    const std::int64_t s = ((shifts[k] % n) + n) % n;
    if (s == 0) continue;
    out = cat({out.slice(d, n - s, n), out.slice(d, 0, n - s)}, d);
  }
  if (x.dim() == 0) out = out.reshape({});
  return out.is_same(x) ? clone(x) : out;
}

// ---- pad ----

Tensor pad(const Tensor& x, Shape p, std::string_view mode, double value) {
  kernels::check_defined(x, "pad");
  EMBER_CHECK(p.size() % 2 == 0, "pad: padding length must be even (a left and a right per dim), got {}",
              shape_str(p));
  const std::int64_t npad = static_cast<std::int64_t>(p.size() / 2);
  EMBER_CHECK(npad <= x.dim(), "pad: padding {} pads {} dims, longer than the {} dims of the input {}", shape_str(p),
              npad, x.dim(), shape_str(x.sizes()));
  const bool constant = mode == "constant";
  EMBER_CHECK(constant || mode == "reflect" || mode == "replicate" || mode == "circular",
              "pad: mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got \"{}\"", mode);
  Tensor out = x;
  for (std::int64_t i = 0; i < npad; ++i) {
    const std::int64_t d = x.dim() - 1 - i, left = p[2 * i], right = p[2 * i + 1];
    const std::int64_t n = out.sizes()[d], m = n + left + right;
    EMBER_CHECK(m >= 0, "pad: padding ({}, {}) of dim {} gives a negative size for the input {}", left, right, d,
                shape_str(x.sizes()));
    if (left == 0 && right == 0) continue;
    if (constant) {
      // Crop negative sides first, then join constant blocks on the positive ones.
      out = out.slice(d, std::max<std::int64_t>(-left, 0), n - std::max<std::int64_t>(-right, 0));
      TensorList parts;
      Shape block = out.sizes();
      if (left > 0) {
        block[d] = left;
        parts.push_back(full(block, value, x.dtype()));
      }
      parts.push_back(out);
      if (right > 0) {
        block[d] = right;
        parts.push_back(full(block, value, x.dtype()));
      }
      out = parts.size() == 1 ? out : cat(parts, d);
      continue;
    }
    EMBER_CHECK(n > 0, "pad: {} padding needs a non-empty dim {}, input {}", mode, d, shape_str(x.sizes()));
    if (mode == "reflect")
      EMBER_CHECK(left < n && right < n,
                  "pad: reflect padding ({}, {}) must be smaller than the size {} of dim {} of the input {}", left,
                  right, n, d, shape_str(x.sizes()));
    if (mode == "circular")
      EMBER_CHECK(left <= n && right <= n,
                  "pad: circular padding ({}, {}) must be at most the size {} of dim {} of the input {}", left, right,
                  n, d, shape_str(x.sizes()));
    // Every mode is a gather along d: output j reads input i(j - left).
    std::vector<std::int64_t> idx(static_cast<std::size_t>(m));
    for (std::int64_t j = 0; j < m; ++j) {
      std::int64_t k = j - left;
      if (mode == "replicate") k = std::clamp<std::int64_t>(k, 0, n - 1);
      else if (mode == "circular") k = ((k % n) + n) % n;
      else if (n == 1) k = 0;
      else {  // reflect about the edge elements, without repeating them
        const std::int64_t period = 2 * (n - 1);
        k = std::abs(k) % period;
        if (k >= n) k = period - k;
      }
      idx[static_cast<std::size_t>(j)] = k;
    }
    out = index_select(out, d, index_tensor(idx));
  }
  return out.is_same(x) ? clone(x) : out;
}

// ---- repeat, tile ----

Tensor repeat(const Tensor& x, Shape repeats) {
  kernels::check_defined(x, "repeat");
  EMBER_CHECK(static_cast<std::int64_t>(repeats.size()) >= x.dim(),
              "repeat: number of repeats {} can not be smaller than the number of dims of the input {}",
              shape_str(repeats), shape_str(x.sizes()));
  for (auto r : repeats) EMBER_CHECK(r >= 0, "repeat: repeats must be non-negative, got {}", shape_str(repeats));
  const std::size_t n = repeats.size();
  Shape padded(n - static_cast<std::size_t>(x.dim()), 1);
  padded.insert(padded.end(), x.sizes().begin(), x.sizes().end());
  // [s0, s1, ...] -> [1, s0, 1, s1, ...] -> expand to [r0, s0, r1, s1, ...] -> [r0*s0, r1*s1, ...]
  Shape inter, expanded, result;
  for (std::size_t d = 0; d < n; ++d) {
    inter.insert(inter.end(), {1, padded[d]});
    expanded.insert(expanded.end(), {repeats[d], padded[d]});
    result.push_back(repeats[d] * padded[d]);
  }
  return x.reshape(inter).expand(expanded).reshape(result);
}

Tensor tile(const Tensor& x, Shape reps) {
  kernels::check_defined(x, "tile");
  if (static_cast<std::int64_t>(reps.size()) < x.dim()) reps.insert(reps.begin(), x.dim() - static_cast<std::int64_t>(reps.size()), 1);
  return repeat(x, reps);
}

// ---- tril, triu, diag, diagonal ----

namespace {
Tensor triangle(const Tensor& x, std::int64_t diagonal, bool lower, const char* op) {
  kernels::check_defined(x, op);
  EMBER_CHECK(x.dim() >= 2, "{}: expected a tensor with at least 2 dims, got {}", op, shape_str(x.sizes()));
  const std::int64_t r = x.sizes()[x.dim() - 2], c = x.sizes()[x.dim() - 1];
  Tensor keep = empty({r, c}, DType::Bool);
  bool* pk = keep.data_ptr<bool>();
  for (std::int64_t i = 0; i < r; ++i)
    for (std::int64_t j = 0; j < c; ++j) pk[i * c + j] = lower ? j - i <= diagonal : j - i >= diagonal;
  return where(keep, x, scalar_tensor(0.0, x.dtype()));
}
}  // namespace

Tensor tril(const Tensor& x, std::int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }
Tensor triu(const Tensor& x, std::int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }

Tensor diagonal(const Tensor& x, std::int64_t offset, std::int64_t dim1, std::int64_t dim2) {
  kernels::check_defined(x, "diagonal");
  EMBER_CHECK(x.dim() >= 2, "diagonal: expected a tensor with at least 2 dims, got {}", shape_str(x.sizes()));
  const std::int64_t d1 = wrap_dim(dim1, x.dim(), "diagonal"), d2 = wrap_dim(dim2, x.dim(), "diagonal");
  EMBER_CHECK(d1 != d2, "diagonal: dim1 and dim2 cannot be the same dim ({}) of the input {}", d1, shape_str(x.sizes()));
  const std::int64_t n1 = x.sizes()[d1], n2 = x.sizes()[d2];
  const std::int64_t len = std::max<std::int64_t>(
      0, offset >= 0 ? std::min(n1, n2 - offset) : std::min(n1 + offset, n2));
  Shape perm, lead;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (d != d1 && d != d2) {
      perm.push_back(d);
      lead.push_back(x.sizes()[d]);
    }
  perm.push_back(d1);
  perm.push_back(d2);
  Shape flat = lead;
  flat.push_back(n1 * n2);
  // The plane flattened, then the diagonal's flat positions picked: a gather whose
  // adjoint (index_add) places the gradient back on the diagonal.
  std::vector<std::int64_t> idx(static_cast<std::size_t>(len));
  const std::int64_t r0 = std::max<std::int64_t>(0, -offset), c0 = std::max<std::int64_t>(0, offset);
  for (std::int64_t k = 0; k < len; ++k) idx[static_cast<std::size_t>(k)] = (r0 + k) * n2 + c0 + k;
  return index_select(x.permute(perm).reshape(flat), static_cast<std::int64_t>(lead.size()), index_tensor(idx));
}

Tensor diag(const Tensor& x, std::int64_t d) {
  kernels::check_defined(x, "diag");
  EMBER_CHECK(x.dim() == 1 || x.dim() == 2, "diag: expected a 1-d or 2-d tensor, got {}", shape_str(x.sizes()));
  if (x.dim() == 2) return diagonal(x, d, 0, 1);
  const std::int64_t n = x.sizes()[0], N = n + std::abs(d);
  const std::int64_t r0 = std::max<std::int64_t>(0, -d), c0 = std::max<std::int64_t>(0, d);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k) idx[static_cast<std::size_t>(k)] = (r0 + k) * N + c0 + k;
  return index_add(zeros({N * N}, x.dtype()), 0, index_tensor(idx), x).view({N, N});
}

// ---- masked_fill, masked_select ----

namespace {
void check_mask(const Tensor& mask, const char* op) {
  kernels::check_defined(mask, op);
  EMBER_CHECK(mask.dtype() == DType::Bool, "{}: mask must be a bool tensor, got {}", op, mask.dtype());
}
}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  kernels::check_defined(x, "masked_fill");
  check_mask(mask, "masked_fill");
  kernels::check_defined(value, "masked_fill");
  EMBER_CHECK(value.dim() == 0, "masked_fill: value must be a 0-d tensor, got shape {}", shape_str(value.sizes()));
  broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill");
  return where(mask, value.dtype() == x.dtype() ? value : value.to(x.dtype()), x);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  kernels::check_defined(x, "masked_fill");
  return masked_fill(x, mask, scalar_tensor(value, x.dtype()));
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  kernels::check_defined(x, "masked_select");
  check_mask(mask, "masked_select");
  const Shape shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
  const auto m = mask.expand(shape).to_vector<bool>();
  std::vector<std::int64_t> idx;
  for (std::size_t i = 0; i < m.size(); ++i)
    if (m[i]) idx.push_back(static_cast<std::int64_t>(i));
  return index_select(x.expand(shape).reshape({-1}), 0, index_tensor(idx));
}

// ---- nonzero, unique (no gradient) ----

Tensor nonzero(const Tensor& x) {
  kernels::check_defined(x, "nonzero");
  const Tensor nz = kernels::cast(ne(x, scalar_tensor(0.0, x.dtype())), DType::Bool).contiguous();
  const bool* p = nz.data_ptr<bool>();
  const std::int64_t n = nz.numel(), rank = x.dim();
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!p[i]) continue;
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(rank));
    std::int64_t rem = i;
    for (std::int64_t d = rank; d-- > 0;) {
      out[at + static_cast<std::size_t>(d)] = rem % x.sizes()[d];
      rem /= x.sizes()[d];
    }
  }
  const std::int64_t count = rank == 0 ? static_cast<std::int64_t>(std::count(p, p + n, true))
                                       : static_cast<std::int64_t>(out.size()) / rank;
  return from_vector(out, Shape{count, rank});
}

UniqueResult unique(const Tensor& x, bool /*sorted: always sorted*/, bool return_inverse, bool return_counts) {
  kernels::check_defined(x, "unique");
  const Tensor flat = x.detach().reshape({-1}).contiguous();
  const std::int64_t n = flat.numel();
  UniqueResult r;
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = flat.data_ptr<T>();
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    // NaN sorts last, and each NaN is its own value (NaN != NaN), as in PyTorch.
    auto less = [&](std::int64_t a, std::int64_t b) {
      if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(p[a]) || std::isnan(p[b])) return !std::isnan(p[a]) && std::isnan(p[b]);
      return p[a] < p[b];
    };
    std::stable_sort(order.begin(), order.end(), less);
    std::vector<T> values;
    std::vector<std::int64_t> inverse(static_cast<std::size_t>(n)), counts;
    for (std::int64_t k = 0; k < n; ++k) {
      const T v = p[order[static_cast<std::size_t>(k)]];
      if (values.empty() || !(values.back() == v)) {
        values.push_back(v);
        counts.push_back(0);
      }
      ++counts.back();
      inverse[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = static_cast<std::int64_t>(values.size()) - 1;
    }
    Tensor vt = empty({static_cast<std::int64_t>(values.size())}, x.dtype());
    std::copy(values.begin(), values.end(), vt.data_ptr<T>());
    r.values = vt;
    if (return_inverse) r.inverse = from_vector(inverse).view(x.sizes());
    if (return_counts) r.counts = from_vector(counts);
  });
  return r;
}

}  // namespace ember
