// interpolate (torch.nn.functional.interpolate): nearest and (bi/tri)linear
// resizing of [N, C, *spatial], one spatial dim at a time. Each dim is an
// index_select (nearest) or a blend of two index_selects with constant weights
// (linear), so the gradient is index_add and the op is twice differentiable.
// Source coordinates follow PyTorch's (area_pixel_compute_source_index).
// Also dropout2d: a per-channel mask drawn by dropout and broadcast over the plane.
#include <cmath>

#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// PyTorch's scale for output index -> input coordinate.
double source_scale(std::int64_t in, std::int64_t out, std::optional<double> scale_factor, bool align_corners) {
  if (align_corners) return out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
  if (scale_factor && *scale_factor > 0) return 1.0 / *scale_factor;
  return static_cast<double>(in) / static_cast<double>(out);
}

Tensor resize_nearest(const Tensor& x, std::int64_t d, std::int64_t out, std::optional<double> sf) {
  const std::int64_t in = x.size(d);
  const double scale = source_scale(in, out, sf, false);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(out));
  for (std::int64_t i = 0; i < out; ++i)
    idx[static_cast<std::size_t>(i)] =
        std::min(static_cast<std::int64_t>(std::floor(static_cast<double>(i) * scale)), in - 1);
  return index_select(x, d, from_vector(idx));
}

Tensor resize_linear(const Tensor& x, std::int64_t d, std::int64_t out, std::optional<double> sf, bool align_corners) {
  const std::int64_t in = x.size(d);
  const double scale = source_scale(in, out, sf, align_corners);
  std::vector<std::int64_t> i0(static_cast<std::size_t>(out)), i1(i0.size());
  std::vector<double> w1(i0.size());
  for (std::int64_t i = 0; i < out; ++i) {
    double src = align_corners ? static_cast<double>(i) * scale : (static_cast<double>(i) + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const auto lo = std::min(static_cast<std::int64_t>(src), in - 1);
    const auto k = static_cast<std::size_t>(i);
    i0[k] = lo;
    i1[k] = std::min(lo + 1, in - 1);
    w1[k] = src - static_cast<double>(lo);
  }
  Shape wshape(static_cast<std::size_t>(x.dim()), 1);
  wshape[static_cast<std::size_t>(d)] = out;
  const Tensor l1 = from_vector(w1, wshape).to(x.dtype());
  const Tensor l0 = 1.0 - l1;
  return index_select(x, d, from_vector(i0)) * l0 + index_select(x, d, from_vector(i1)) * l1;
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
  kernels::check_defined(x, "interpolate");
  const std::string& mode = o.mode();
  EMBER_CHECK(x.dim() >= 3 && x.dim() <= 5, "interpolate: expected an input [N, C, *spatial] with 1 to 3 spatial dims, got {}",
              shape_str(x.sizes()));
  EMBER_CHECK(x.is_floating_point(), "interpolate: expected a floating input, got {}", x.dtype());
  const std::int64_t spatial = x.dim() - 2;
  const bool linear = mode == "linear" || mode == "bilinear" || mode == "trilinear";
  EMBER_CHECK(mode == "nearest" || linear, "interpolate: unknown mode '{}' (nearest, linear, bilinear, trilinear)", mode);
  const std::int64_t wanted = mode == "linear" ? 1 : mode == "bilinear" ? 2 : mode == "trilinear" ? 3 : spatial;
  EMBER_CHECK(wanted == spatial, "interpolate: mode '{}' expects {} spatial dims, got input {}", mode, wanted,
              shape_str(x.sizes()));
  EMBER_CHECK(linear || !o.align_corners().has_value(),
              "interpolate: align_corners can only be set with the interpolating modes (linear, bilinear, trilinear)");
  const bool align = o.align_corners().value_or(false);
  EMBER_CHECK(o.size().empty() != o.scale_factor().empty(), "interpolate: give exactly one of size and scale_factor");
  auto per_dim = [&](const auto& v, const char* what) {
    EMBER_CHECK(v.size() == 1 || static_cast<std::int64_t>(v.size()) == spatial,
                "interpolate: {} has {} values but the input {} has {} spatial dims", what, v.size(),
                shape_str(x.sizes()), spatial);
  };
  Tensor y = x;
  for (std::int64_t k = 0; k < spatial; ++k) {
    const std::int64_t d = 2 + k, in = x.size(d);
    std::int64_t out = 0;
    std::optional<double> sf;
    if (!o.size().empty()) {
      per_dim(o.size(), "size");
      out = o.size()[o.size().size() == 1 ? 0 : static_cast<std::size_t>(k)];
    } else {
      per_dim(o.scale_factor(), "scale_factor");
      sf = o.scale_factor()[o.scale_factor().size() == 1 ? 0 : static_cast<std::size_t>(k)];
      EMBER_CHECK(*sf > 0, "interpolate: scale_factor must be positive, got {}", *sf);
      out = static_cast<std::int64_t>(std::floor(static_cast<double>(in) * *sf));
    }
    EMBER_CHECK(out > 0 && in > 0, "interpolate: input {} and output size {} must be non-empty in every spatial dim",
                shape_str(x.sizes()), out);
    y = linear ? resize_linear(y, d, out, sf, align) : resize_nearest(y, d, out, sf);
  }
  return y;
}

Tensor dropout2d(const Tensor& x, double p, bool training) {
  kernels::check_defined(x, "dropout2d");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout2d: probability has to be between 0 and 1, got {}", p);
  EMBER_CHECK(x.dim() == 3 || x.dim() == 4, "dropout2d: expected an input [N, C, H, W] or [C, H, W], got {}",
              shape_str(x.sizes()));
  if (!training || p == 0.0) return x;
  // One draw per channel (per sample), broadcast over the plane.
  Shape mask_shape = x.sizes();
  for (std::size_t d = mask_shape.size() - 2; d < mask_shape.size(); ++d) mask_shape[d] = 1;
  const Tensor mask = dropout(ones(mask_shape, x.is_floating_point() ? x.dtype() : DType::Float32), p, true);
  return x * mask;
}

}  // namespace ember
