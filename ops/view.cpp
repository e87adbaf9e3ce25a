// Views: new geometry over the same storage, no copy. Each records a node
// whose backward maps the gradient back to the input's geometry.
#include <algorithm>
#include <numeric>

#include "ember/autograd/function.h"
#include "ember/autograd/meta.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// Records a view op. The output is marked as a view of x's base, so that an
// in-place op on it, or its use after the base changed history, is caught.
Tensor record_view(const char* name, const Tensor& x, Tensor out, autograd::BackwardFn fn) {
  autograd::record(name, {x}, {out}, {}, std::move(fn));
  autograd::mark_view(out, x);
  return out;
}

// Shape-only views (view, reshape, squeeze, unsqueeze, flatten) share this backward.
Tensor reshape_view(const char* name, const Tensor& x, Shape sizes, Shape strides) {
  Tensor out = detail::make_view(x, std::move(sizes), std::move(strides), x.storage_offset());
  Shape in = x.sizes();
  return record_view(name, x, out, [in](const BackwardCtx&, const TensorList& g) {
    return TensorList{g[0].reshape(in)};
  });
}

// Replaces one -1 in `shape` by the size that keeps numel.
Shape infer_size(Shape shape, std::int64_t n, const char* op, const Shape& from) {
  std::int64_t known = 1;
  std::optional<std::size_t> infer;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(!infer, "{}: only one dimension can be inferred in {}", op, shape_str(shape));
      infer = i;
    } else {
      EMBER_CHECK(shape[i] >= 0, "{}: invalid shape {}", op, shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer) {
    EMBER_CHECK(known != 0 && n % known == 0, "{}: shape {} is invalid for input of shape {}", op,
                shape_str(shape), shape_str(from));
    shape[*infer] = n / known;
  }
  EMBER_CHECK(numel(shape) == n, "{}: shape {} is invalid for input of shape {} ({} elements)", op,
              shape_str(shape), shape_str(from), n);
  return shape;
}

// Strides for viewing (sizes, strides) as `shape` without a copy, if possible:
// each run of old dims that is contiguous within itself can be re-split freely.
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& shape) {
  Shape out(shape.size());
  if (numel(sizes) == 0 || sizes.empty()) return contiguous_strides(shape);
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    // End of a contiguous chunk of old dims: lay the new dims over it.
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

}  // namespace

Tensor view(const Tensor& x, Shape shape) {
  kernels::check_defined(x, "view");
  shape = infer_size(std::move(shape), x.numel(), "view", x.sizes());
  auto st = view_strides(x.sizes(), x.strides(), shape);
  EMBER_CHECK(st.has_value(),
              "view: size {} is not compatible with input of shape {} and strides {}; use reshape",
              shape_str(shape), shape_str(x.sizes()), shape_str(x.strides()));
  return reshape_view("ViewBackward", x, std::move(shape), std::move(*st));
}

Tensor reshape(const Tensor& x, Shape shape) {
  kernels::check_defined(x, "reshape");
  shape = infer_size(std::move(shape), x.numel(), "reshape", x.sizes());
  if (auto st = view_strides(x.sizes(), x.strides(), shape))
    return reshape_view("ViewBackward", x, std::move(shape), std::move(*st));
  return view(clone(x), std::move(shape));
}

Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  kernels::check_defined(x, "transpose");
  dim0 = wrap_dim(dim0, x.dim(), "transpose");
  dim1 = wrap_dim(dim1, x.dim(), "transpose");
  Shape sizes = x.sizes(), strides = x.strides();
  if (x.dim() > 0) {
    std::swap(sizes[dim0], sizes[dim1]);
    std::swap(strides[dim0], strides[dim1]);
  }
  Tensor out = detail::make_view(x, sizes, strides, x.storage_offset());
  return record_view("TransposeBackward", x, out, [dim0, dim1](const BackwardCtx&, const TensorList& g) {
    return TensorList{g[0].transpose(dim0, dim1)};
  });
}

Tensor permute(const Tensor& x, Shape dims) {
  kernels::check_defined(x, "permute");
  const std::int64_t nd = x.dim();
  EMBER_CHECK(static_cast<std::int64_t>(dims.size()) == nd,
              "permute: {} dims given for a tensor of shape {}", dims.size(), shape_str(x.sizes()));
  Shape sizes(nd), strides(nd), inverse(nd), seen(nd, 0);
  for (std::int64_t i = 0; i < nd; ++i) {
    const std::int64_t d = wrap_dim(dims[i], nd, "permute");
    EMBER_CHECK(!seen[d], "permute: dim {} repeated in {}", d, shape_str(dims));
    seen[d] = 1;
    sizes[i] = x.sizes()[d];
    strides[i] = x.strides()[d];
    inverse[d] = i;
  }
  Tensor out = detail::make_view(x, sizes, strides, x.storage_offset());
  return record_view("PermuteBackward", x, out, [inverse](const BackwardCtx&, const TensorList& g) {
    return TensorList{g[0].permute(inverse)};
  });
}

Tensor squeeze(const Tensor& x, std::optional<std::int64_t> dim) {
  kernels::check_defined(x, "squeeze");
  Shape sizes, strides;
  const std::int64_t target = dim ? wrap_dim(*dim, x.dim(), "squeeze") : -1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    const bool drop = x.sizes()[d] == 1 && (!dim || d == target);
    if (drop) continue;
    sizes.push_back(x.sizes()[d]);
    strides.push_back(x.strides()[d]);
  }
  return reshape_view("SqueezeBackward", x, sizes, strides);
}

Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  kernels::check_defined(x, "unsqueeze");
  dim = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape sizes = x.sizes(), strides = x.strides();
  const std::int64_t st = dim < x.dim() ? sizes[dim] * strides[dim] : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, st);
  return reshape_view("UnsqueezeBackward", x, sizes, strides);
}

Tensor expand(const Tensor& x, Shape shape) {
  kernels::check_defined(x, "expand");
  EMBER_CHECK(shape.size() >= x.sizes().size(),
              "expand: the target shape {} has fewer dims than the input {}", shape_str(shape),
              shape_str(x.sizes()));
  const std::size_t lead = shape.size() - x.sizes().size();
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(i >= lead, "expand: -1 not allowed for a new leading dim in {}", shape_str(shape));
      shape[i] = x.sizes()[i - lead];
    }
  }
  EMBER_CHECK(is_expandable_to(x.sizes(), shape), "expand: shape {} cannot be expanded to {}",
              shape_str(x.sizes()), shape_str(shape));
  if (shape == x.sizes()) return x;
  Shape strides = broadcast_strides(x.sizes(), x.strides(), shape);
  Tensor out = detail::make_view(x, shape, strides, x.storage_offset());
  Shape in = x.sizes();
  return record_view("ExpandBackward", x, out, [in](const BackwardCtx&, const TensorList& g) {
    return TensorList{sum_to(g[0], in)};
  });
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  kernels::check_defined(x, "slice");
  EMBER_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, x.dim(), "slice");
  EMBER_CHECK(step > 0, "slice: step must be positive, got {}", step);
  const std::int64_t n = x.sizes()[dim];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape sizes = x.sizes(), strides = x.strides();
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  Tensor out = detail::make_view(x, sizes, strides, x.storage_offset() + start * x.strides()[dim]);
  Shape in = x.sizes();
  return record_view("SliceBackward", x, out, [in, dim, start, end, step](const BackwardCtx&, const TensorList& g) {
    return TensorList{slice_backward(g[0], in, dim, start, end, step)};
  });
}

Tensor slice_backward(const Tensor& grad, const Shape& input_shape, std::int64_t dim, std::int64_t start,
                      std::int64_t end, std::int64_t step) {
  Tensor out = zeros(input_shape, grad.dtype());
  Tensor window;
  {
    NoGradGuard no_grad;  // a raw view to copy into; the history is recorded below
    window = slice(out, dim, start, end, step);
  }
  kernels::copy_into(window, grad);
  autograd::record("SliceBackwardBackward", {grad}, {out}, {},
                   [dim, start, end, step](const BackwardCtx&, const TensorList& g) {
                     return TensorList{slice(g[0], dim, start, end, step)};
                   });
  return out;
}

Tensor Tensor::view(Shape shape) const { return ember::view(*this, std::move(shape)); }
Tensor Tensor::reshape(Shape shape) const { return ember::reshape(*this, std::move(shape)); }
Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim(start_dim, dim(), "flatten");
  end_dim = wrap_dim(end_dim, dim(), "flatten");
  EMBER_CHECK(start_dim <= end_dim, "flatten: start_dim {} must not exceed end_dim {}", start_dim, end_dim);
  Shape s(sizes().begin(), sizes().begin() + start_dim);
  s.push_back(std::accumulate(sizes().begin() + start_dim, sizes().begin() + end_dim + 1, std::int64_t{1},
                              std::multiplies<>()));
  s.insert(s.end(), sizes().begin() + end_dim + 1, sizes().end());
  return reshape(s);
}
Tensor Tensor::transpose(std::int64_t d0, std::int64_t d1) const { return ember::transpose(*this, d0, d1); }
Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, "t: expects a tensor with at most 2 dims, got shape {}", shape_str(sizes()));
  return dim() < 2 ? *this : transpose(0, 1);
}
Tensor Tensor::mT() const {
  EMBER_CHECK(dim() >= 2, "mT: expects a tensor with at least 2 dims, got shape {}", shape_str(sizes()));
  return transpose(-2, -1);
}
Tensor Tensor::permute(Shape dims) const { return ember::permute(*this, std::move(dims)); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return ember::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return ember::unsqueeze(*this, d); }
Tensor Tensor::expand(Shape shape) const { return ember::expand(*this, std::move(shape)); }
Tensor Tensor::expand_as(const Tensor& other) const { return ember::expand(*this, other.sizes()); }
Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length) const {
  EMBER_CHECK(dim() > 0, "narrow: cannot narrow a 0-d tensor");
  const std::int64_t n = size(d);
  EMBER_CHECK(length >= 0 && start >= -n && start <= n && (start < 0 ? start + n : start) + length <= n,
              "narrow: start {} and length {} out of range for dim {} of size {} (shape {})", start, length, d,
              n, shape_str(sizes()));
  if (start < 0) start += n;
  return ember::slice(*this, d, start, start + length);
}
Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return ember::slice(*this, d, start, end, step);
}
Tensor Tensor::select(std::int64_t d, std::int64_t index) const {
  EMBER_CHECK(dim() > 0, "select: cannot select on a 0-d tensor");
  const std::int64_t n = size(d);
  EMBER_CHECK(index >= -n && index < n, "select: index {} out of range for dim {} of size {} (shape {})", index,
              d, n, shape_str(sizes()));
  if (index < 0) index += n;
  return ember::slice(*this, d, index, index + 1).squeeze(d);
}

}  // namespace ember
