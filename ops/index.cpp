// Joining and indexing: cat, stack, index_select / index_add, gather /
// scatter_add, one_hot. Each gather-like op's gradient is its scatter-like
// adjoint, and the other way round, so both are twice differentiable.
#include <cstring>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/kernels/index_walk.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

using kernels::index_walk;
using kernels::strides_without;

// A history-free view of x restricted to [start, start + len) along dim, for kernels to write.
Tensor raw_narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t len) {
  Shape sizes = x.sizes();
  sizes[dim] = len;
  return detail::make_view(x, sizes, x.strides(), x.storage_offset() + start * x.strides()[dim]);
}

void check_index(const Tensor& index, const char* op) {
  kernels::check_defined(index, op);
  EMBER_CHECK(index.dtype() == DType::Int64, "{}: index must be int64, got {}", op, index.dtype());
}

void check_index_range(const Tensor& index, std::int64_t n, const char* op) {
  for (auto v : index.to_vector<std::int64_t>())
    EMBER_CHECK(v >= 0 && v < n, "{}: index {} out of range for a dimension of size {}", op, v, n);
}

void check_gather_shapes(const Tensor& x, std::int64_t dim, const Tensor& index, const char* op) {
  EMBER_CHECK(index.dim() == x.dim(), "{}: index {} must have as many dims as input {}", op, shape_str(index.sizes()),
              shape_str(x.sizes()));
  for (std::int64_t d = 0; d < x.dim(); ++d)
    EMBER_CHECK(d == dim || index.sizes()[d] <= x.sizes()[d],
                "{}: index {} is larger than input {} outside dim {}", op, shape_str(index.sizes()),
                shape_str(x.sizes()), dim);
}

}  // namespace

Tensor cat(const TensorList& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  // 1-d empty tensors are skipped, as PyTorch does for legacy reasons.
  TensorList parts;
  for (const auto& t : tensors) {
    kernels::check_defined(t, "cat");
    if (!(t.dim() == 1 && t.numel() == 0)) parts.push_back(t);
  }
  if (parts.empty()) return empty({0}, tensors[0].dtype());
  const Tensor& first = parts[0];
  EMBER_CHECK(first.dim() > 0, "cat: zero-dimensional tensor cannot be concatenated");
  dim = wrap_dim(dim, first.dim(), "cat");
  DType dt = first.dtype();
  Shape out_shape = first.sizes();
  out_shape[dim] = 0;
  for (const auto& t : parts) {
    EMBER_CHECK(t.dim() == first.dim(), "cat: tensors must have the same number of dims, got {} and {}",
                shape_str(first.sizes()), shape_str(t.sizes()));
    for (std::int64_t d = 0; d < t.dim(); ++d)
      EMBER_CHECK(d == dim || t.sizes()[d] == first.sizes()[d],
                  "cat: sizes of tensors must match except in dimension {}: got {} and {}", dim,
                  shape_str(first.sizes()), shape_str(t.sizes()));
    out_shape[dim] += t.sizes()[dim];
    dt = promote_types(dt, t.dtype());
  }
  Tensor out = empty(out_shape, dt);
  std::vector<std::int64_t> starts;
  std::int64_t off = 0;
  for (const auto& t : parts) {
    starts.push_back(off);
    kernels::copy_into(raw_narrow(out, dim, off, t.sizes()[dim]), t);
    off += t.sizes()[dim];
  }
  std::vector<std::int64_t> lens;
  for (const auto& t : parts) lens.push_back(t.sizes()[dim]);
  autograd::record("CatBackward", parts, {out}, {}, [dim, starts, lens](const BackwardCtx& c, const TensorList& g) {
    TensorList grads;
    for (std::size_t i = 0; i < starts.size(); ++i)
      grads.push_back(c.needs_input_grad(i) ? slice(g[0], dim, starts[i], starts[i] + lens[i]) : Tensor());
    return grads;
  });
  return out;
}

Tensor stack(const TensorList& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  for (const auto& t : tensors) {
    kernels::check_defined(t, "stack");
    EMBER_CHECK(t.sizes() == tensors[0].sizes(), "stack: expects each tensor to be equal size, got {} and {}",
                shape_str(tensors[0].sizes()), shape_str(t.sizes()));
  }
  dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList parts;
  for (const auto& t : tensors) parts.push_back(t.unsqueeze(dim));
  return cat(parts, dim);
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  kernels::check_defined(x, "index_select");
  check_index(index, "index_select");
  EMBER_CHECK(index.dim() <= 1, "index_select: index must be 0-d or 1-d, got shape {}", shape_str(index.sizes()));
  const std::int64_t d = wrap_dim(dim, std::max<std::int64_t>(x.dim(), 1), "index_select");
  const Tensor xs = x.dim() == 0 ? x.detach().reshape({1}) : x;
  check_index_range(index, xs.sizes()[d], "index_select");
  auto idx = index.to_vector<std::int64_t>();
  Shape out_shape = xs.sizes();
  out_shape[d] = static_cast<std::int64_t>(idx.size());
  Tensor out = empty(out_shape, x.dtype());
  if (d == 0 && xs.is_contiguous() && out.numel() > 0) {
    // Whole rows of a contiguous tensor (a DataLoader gathering a batch): one
    // memcpy each instead of a strided copy per row.
    const std::size_t row = static_cast<std::size_t>(numel(xs.sizes()) / std::max<std::int64_t>(xs.sizes()[0], 1)) *
                            itemsize(x.dtype());
    const char* src = static_cast<const char*>(xs.raw_data());
    char* dst = static_cast<char*>(out.raw_data());
    for (std::size_t i = 0; i < idx.size(); ++i)
      std::memcpy(dst + i * row, src + static_cast<std::size_t>(idx[i]) * row, row);
  } else {
    for (std::size_t i = 0; i < idx.size(); ++i)
      kernels::copy_into(raw_narrow(out, d, static_cast<std::int64_t>(i), 1), raw_narrow(xs, d, idx[i], 1));
  }
  if (x.dim() == 0) out = out.reshape({index.numel()});
  Shape in = x.sizes();
  autograd::record("IndexSelectBackward", {x, index}, {out}, {index}, [in, d](const BackwardCtx& c, const TensorList& g) {
    if (in.empty()) return TensorList{sum(g[0]), Tensor()};
    return TensorList{index_add(zeros(in, g[0].dtype()), d, c.saved(0).reshape({-1}), g[0]), Tensor()};
  });
  return out;
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  kernels::check_defined(x, "index_add");
  kernels::check_defined(src, "index_add");
  check_index(index, "index_add");
  EMBER_CHECK(x.dim() >= 1 && index.dim() == 1, "index_add: expected input with dims and a 1-d index, got {} and {}",
              shape_str(x.sizes()), shape_str(index.sizes()));
  dim = wrap_dim(dim, x.dim(), "index_add");
  Shape expect = x.sizes();
  expect[dim] = index.numel();
  EMBER_CHECK(src.sizes() == expect, "index_add: source of shape {} does not match {} for input {}",
              shape_str(src.sizes()), shape_str(expect), shape_str(x.sizes()));
  check_index_range(index, x.sizes()[dim], "index_add");
  Tensor out = empty(x.sizes(), promote_types(x.dtype(), src.dtype()));
  kernels::copy_into(out, x);
  const Tensor sc = kernels::cast(src, out.dtype());
  auto idx = index.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < idx.size(); ++i) {  // serial: repeated indices accumulate
    Tensor slot = raw_narrow(out, dim, idx[i], 1);
    Tensor add_part = raw_narrow(sc, dim, static_cast<std::int64_t>(i), 1);
    dispatch(out.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      kernels::map_to<T, T, T>(slot, [](T a, T b) { return static_cast<T>(a + b); }, slot, add_part);
    });
  }
  autograd::record("IndexAddBackward", {x, index, src}, {out}, {index}, [dim](const BackwardCtx& c, const TensorList& g) {
    return TensorList{g[0], Tensor(), c.needs_input_grad(2) ? index_select(g[0], dim, c.saved(0)) : Tensor()};
  });
  return out;
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  kernels::check_defined(x, "gather");
  check_index(index, "gather");
  EMBER_CHECK(x.dim() >= 1, "gather: input must have at least 1 dim");
  dim = wrap_dim(dim, x.dim(), "gather");
  check_gather_shapes(x, dim, index, "gather");
  check_index_range(index, x.sizes()[dim], "gather");
  Tensor out = empty(index.sizes(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data_ptr<T>();
    const T* px = x.data_ptr<T>();
    const std::int64_t sd = x.strides()[dim];
    index_walk(index, {out.strides(), index.strides(), strides_without(x, dim)},
               [&](std::int64_t o, std::int64_t i, std::int64_t s) { po[o] = px[s + i * sd]; });
  });
  Shape in = x.sizes();
  autograd::record("GatherBackward", {x, index}, {out}, {index}, [in, dim](const BackwardCtx& c, const TensorList& g) {
    return TensorList{scatter_add(zeros(in, g[0].dtype()), dim, c.saved(0), g[0]), Tensor()};
  });
  return out;
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  kernels::check_defined(x, "scatter_add");
  kernels::check_defined(src, "scatter_add");
  check_index(index, "scatter_add");
  EMBER_CHECK(x.dim() >= 1, "scatter_add: input must have at least 1 dim");
  dim = wrap_dim(dim, x.dim(), "scatter_add");
  check_gather_shapes(x, dim, index, "scatter_add");
  EMBER_CHECK(src.dim() == index.dim(), "scatter_add: source {} and index {} must have the same number of dims",
              shape_str(src.sizes()), shape_str(index.sizes()));
  for (std::int64_t d = 0; d < index.dim(); ++d)
    EMBER_CHECK(index.sizes()[d] <= src.sizes()[d], "scatter_add: index {} is larger than source {}",
                shape_str(index.sizes()), shape_str(src.sizes()));
  check_index_range(index, x.sizes()[dim], "scatter_add");
  Tensor out = empty(x.sizes(), promote_types(x.dtype(), src.dtype()));
  kernels::copy_into(out, x);
  const Tensor sc = kernels::cast(src, out.dtype());
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data_ptr<T>();
    const T* ps = sc.data_ptr<T>();
    const std::int64_t sd = out.strides()[dim];
    index_walk(index, {strides_without(out, dim), index.strides(), sc.strides()},
               [&](std::int64_t o, std::int64_t i, std::int64_t s) { po[o + i * sd] += ps[s]; });
  });
  Shape src_shape = src.sizes();
  autograd::record("ScatterAddBackward", {x, index, src}, {out}, {index},
                   [dim, src_shape](const BackwardCtx& c, const TensorList& g) {
                     if (!c.needs_input_grad(2)) return TensorList{g[0], Tensor(), Tensor()};
                     // Only src's leading block of index's shape was used: zeros elsewhere.
                     Tensor gs = gather(g[0], dim, c.saved(0));
                     for (std::int64_t d = 0; d < gs.dim(); ++d) {
                       if (gs.sizes()[d] == src_shape[d]) continue;
                       Shape grown = gs.sizes();
                       grown[d] = src_shape[d];
                       gs = slice_backward(gs, grown, d, 0, gs.sizes()[d], 1);
                     }
                     return TensorList{g[0], Tensor(), gs};
                   });
  return out;
}

Tensor Tensor::gather(std::int64_t dim, const Tensor& index) const { return ember::gather(*this, dim, index); }

Tensor one_hot(const Tensor& labels, std::int64_t num_classes) {
  check_index(labels, "one_hot");
  auto v = labels.to_vector<std::int64_t>();
  if (num_classes < 0) {
    EMBER_CHECK(!v.empty(), "one_hot: cannot infer the number of classes from an empty tensor");
    num_classes = *std::max_element(v.begin(), v.end()) + 1;
  }
  for (auto l : v)
    EMBER_CHECK(l >= 0 && l < num_classes, "one_hot: class {} out of range for {} classes", l, num_classes);
  Shape shape = labels.sizes();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, DType::Int64);
  std::int64_t* p = out.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < v.size(); ++i) p[static_cast<std::int64_t>(i) * num_classes + v[i]] = 1;
  return out;
}

}  // namespace ember
