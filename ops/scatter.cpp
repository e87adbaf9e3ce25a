// scatter and scatter_reduce (issue 10, part A). Their gradients are written
// with gather, scatter_add, where and the comparisons, as PyTorch's
// scatter_reduce_backward is, so they are twice differentiable.
#include <cmath>
#include <limits>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/kernels/index_walk.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

using kernels::index_walk;
using kernels::strides_without;

// Checks PyTorch's scatter rules and returns the wrapped dim.
std::int64_t check_scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, const char* op) {
  kernels::check_defined(x, op);
  kernels::check_defined(index, op);
  kernels::check_defined(src, op);
  EMBER_CHECK(index.dtype() == DType::Int64, "{}: index must be int64, got {}", op, index.dtype());
  EMBER_CHECK(x.dim() >= 1, "{}: input must have at least 1 dim", op);
  dim = wrap_dim(dim, x.dim(), op);
  EMBER_CHECK(index.dim() == x.dim() && src.dim() == x.dim(),
              "{}: input {}, index {} and source {} must have the same number of dims", op, shape_str(x.sizes()),
              shape_str(index.sizes()), shape_str(src.sizes()));
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    EMBER_CHECK(index.sizes()[d] <= src.sizes()[d], "{}: index {} is larger than source {} in dim {}", op,
                shape_str(index.sizes()), shape_str(src.sizes()), d);
    EMBER_CHECK(d == dim || index.sizes()[d] <= x.sizes()[d], "{}: index {} is larger than input {} outside dim {}", op,
                shape_str(index.sizes()), shape_str(x.sizes()), dim);
  }
  for (auto v : index.to_vector<std::int64_t>())
    EMBER_CHECK(v >= 0 && v < x.sizes()[dim], "{}: index {} out of range for dim {} of size {} (input {})", op, v, dim,
                x.sizes()[dim], shape_str(x.sizes()));
  return dim;
}

// gather(g, dim, index) grown with zeros to src's shape (only src's leading
// block of index's shape was used).
Tensor grow_to(Tensor gs, const Shape& src_shape) {
  for (std::int64_t d = 0; d < gs.dim(); ++d) {
    if (gs.sizes()[d] == src_shape[d]) continue;
    Shape grown = gs.sizes();
    grown[d] = src_shape[d];
    gs = slice_backward(gs, grown, d, 0, gs.sizes()[d], 1);
  }
  return gs;
}

Tensor gather_to_src(const Tensor& g, std::int64_t dim, const Tensor& index, const Shape& src_shape) {
  return grow_to(gather(g, dim, index), src_shape);
}

enum class Reduce { Assign, Sum, Mean, Amax, Amin };

// The raw kernel: out = x, then each src element reduced into out at its index.
Tensor scatter_kernel(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, Reduce r,
                      bool include_self) {
  Tensor out = empty(x.sizes(), x.dtype());
  kernels::copy_into(out, x);
  const Tensor sc = kernels::cast(src, x.dtype());
  const Tensor ic = index.contiguous();
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* po = out.data_ptr<T>();
    const T* ps = sc.data_ptr<T>();
    const std::int64_t sd = out.strides()[dim];
    const std::array<Shape, 3> st{strides_without(out, dim), ic.strides(), sc.strides()};
    if (r == Reduce::Assign) {
      index_walk(ic, st, [&](std::int64_t o, std::int64_t i, std::int64_t s) { po[o + i * sd] = ps[s]; });
      return;
    }
    // Counts per output element (contiguous, out's shape) for mean and include_self = false.
    std::vector<std::int64_t> count(static_cast<std::size_t>(out.numel()), include_self ? 1 : 0);
    // out is fresh and contiguous: an element's offset is its linear index.
    auto count_at = [&](std::int64_t off) -> std::int64_t& { return count[static_cast<std::size_t>(off)]; };
    auto combine = [&](T& a, T b, bool first) {
      if (first) {
        a = b;
        return;
      }
      switch (r) {
        case Reduce::Sum:
        case Reduce::Mean: a = static_cast<T>(a + b); break;
        case Reduce::Amax:
          if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(b) || b > a) a = b;
          } else if (b > a) a = b;
          break;
        case Reduce::Amin:
          if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(b) || b < a) a = b;
          } else if (b < a) a = b;
          break;
        default: break;
      }
    };
    index_walk(ic, st, [&](std::int64_t o, std::int64_t i, std::int64_t s) {
      std::int64_t& c = count_at(o + i * sd);
      combine(po[o + i * sd], ps[s], c == 0);
      ++c;
    });
    if (r == Reduce::Mean) {
      for (std::int64_t k = 0; k < out.numel(); ++k) {
        const std::int64_t c = count[static_cast<std::size_t>(k)];
        if (c <= 1) continue;
        if constexpr (std::is_floating_point_v<T>) po[k] = static_cast<T>(po[k] / static_cast<T>(c));
        else if constexpr (!std::is_same_v<T, bool>) {
          // integer mean: floor division, as PyTorch
          const auto q = static_cast<double>(po[k]) / static_cast<double>(c);
          po[k] = static_cast<T>(std::floor(q));
        }
      }
    }
  });
  return out;
}

Reduce parse_reduce(std::string_view reduce) {
  if (reduce == "sum") return Reduce::Sum;
  if (reduce == "mean") return Reduce::Mean;
  if (reduce == "amax") return Reduce::Amax;
  if (reduce == "amin") return Reduce::Amin;
  throw Error(fmt::format("scatter_reduce: reduce must be \"sum\", \"mean\", \"amax\" or \"amin\", got \"{}\"", reduce));
}

// True where x receives at least one value from index along dim.
Tensor scattered_mask(const Shape& shape, std::int64_t dim, const Tensor& index) {
  NoGradGuard no_grad;
  return scatter_kernel(zeros(shape, DType::Bool), dim, index, ones(index.sizes(), DType::Bool), Reduce::Assign, true);
}

}  // namespace

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  dim = check_scatter(x, dim, index, src, "scatter");
  Tensor out = scatter_kernel(x, dim, index, src, Reduce::Assign, true);
  const Shape src_shape = src.sizes();
  autograd::record("ScatterBackward", {x, index, src}, {out}, {index},
                   [dim, src_shape, shape = x.sizes()](const BackwardCtx& c, const TensorList& g) {
                     const Tensor& idx = c.saved(0);
                     return TensorList{
                         c.needs_input_grad(0) ? masked_fill(g[0], scattered_mask(shape, dim, idx), 0.0) : Tensor(),
                         Tensor(), c.needs_input_grad(2) ? gather_to_src(g[0], dim, idx, src_shape) : Tensor()};
                   });
  return out;
}

Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, double value) {
  kernels::check_defined(x, "scatter");
  kernels::check_defined(index, "scatter");
  return scatter(x, dim, index, full(index.sizes(), value, x.dtype()));
}

Tensor scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self) {
  const Reduce r = parse_reduce(reduce);
  dim = check_scatter(x, dim, index, src, "scatter_reduce");
  EMBER_CHECK(x.dtype() == src.dtype(), "scatter_reduce: input ({}) and source ({}) must have the same dtype",
              x.dtype(), src.dtype());
  Tensor out = scatter_kernel(x, dim, index, src, r, include_self);
  const Shape src_shape = src.sizes();
  autograd::record(
      "ScatterReduceBackward", {x, index, src}, {out}, {x, index, src, out},
      [dim, r, include_self, src_shape](const BackwardCtx& c, const TensorList& g) {
        const Tensor &self = c.saved(0), &idx = c.saved(1), &source = c.saved(2), &result = c.saved(3);
        // PyTorch's scatter_reduce_backward, formula for formula.
        Tensor src_used = source;
        if (src_used.sizes() != idx.sizes()) {
          src_used = source;
          for (std::int64_t d = 0; d < idx.dim(); ++d) src_used = src_used.slice(d, 0, idx.sizes()[d]);
        }
        Tensor grad_self, grad_src;
        if (r == Reduce::Sum) {
          grad_self = g[0];
          grad_src = gather_to_src(g[0], dim, idx, src_shape);
        } else if (r == Reduce::Mean) {
          Tensor n = include_self ? ones_like(self) : zeros_like(self);
          n = scatter_add(n, dim, idx, ones(idx.sizes(), self.dtype()));
          n = masked_fill(n, n == 0.0, 1.0);
          grad_self = g[0] / n;
          grad_src = gather_to_src(g[0] / n, dim, idx, src_shape);
        } else {  // amax / amin: the gradient is shared evenly among the elements equal to the result
          Tensor value = gather(result, dim, idx);
          Tensor self_is = to(self == result, self.dtype());
          Tensor src_is = to(src_used == value, self.dtype());
          Tensor n = scatter_add(self_is, dim, idx, src_is);
          Tensor distributed = g[0] / n;
          grad_self = self_is * distributed;
          grad_src = grow_to(src_is * gather(distributed, dim, idx), src_shape);
        }
        if (!include_self) grad_self = masked_fill(grad_self, scattered_mask(self.sizes(), dim, idx), 0.0);
        return TensorList{c.needs_input_grad(0) ? grad_self : Tensor(), Tensor(),
                          c.needs_input_grad(2) ? grad_src : Tensor()};
      });
  return out;
}

}  // namespace ember
