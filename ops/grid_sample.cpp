// affine_grid and grid_sample (spatial transformers, augmentation). Both are
// compositions: affine_grid is a matmul of a fixed base grid with theta^T;
// grid_sample unnormalizes the grid in elementwise ops, applies the padding
// rule (clamp for border, a fold for reflection) and blends the gathered
// corner pixels with weights that are differentiable in the grid. The integer
// corner positions are constants, so the gradients w.r.t. input (gather's
// adjoint) and grid (the weights') follow from the ops, and so do second
// derivatives. Coordinates follow PyTorch's GridSampler.h.
#include <cmath>

#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// f applied elementwise to the values of t (no history; t's shape and dtype).
template <class F>
Tensor map_values(const Tensor& t, F f) {
  auto v = t.detach().contiguous().to_vector<double>();
  for (auto& e : v) e = f(e);
  return from_vector(v, t.sizes()).to(t.dtype());
}

// -1..1 to pixel coordinates (PyTorch's grid_sampler_unnormalize).
Tensor unnormalize(const Tensor& g, std::int64_t size, bool align_corners) {
  const double s = static_cast<double>(size);
  return align_corners ? (g + 1.0) * ((s - 1.0) / 2.0) : ((g + 1.0) * s - 1.0) / 2.0;
}

// Folds coordinates into [twice_low/2, twice_high/2] by reflection.
Tensor reflect(const Tensor& c, double twice_low, double twice_high) {
  if (twice_low == twice_high) return c * 0.0;
  const double lo = twice_low / 2.0, span = (twice_high - twice_low) / 2.0;
  const Tensor in = abs(c - lo);
  const Tensor flips = map_values(in, [span](double v) { return std::floor(v / span); });
  const Tensor extra = in - flips * span;
  const Tensor even = map_values(flips, [](double v) { return std::fmod(v, 2.0) == 0.0 ? 1.0 : 0.0; }) != 0.0;
  return where(even, extra + lo, (span + lo) - extra);
}

Tensor source_index(const Tensor& g, std::int64_t size, const std::string& padding, bool align_corners) {
  Tensor c = unnormalize(g, size, align_corners);
  const double hi = static_cast<double>(size - 1);
  if (padding == "border") return clamp(c, 0.0, hi);
  if (padding == "reflection") {
    c = align_corners ? reflect(c, 0.0, 2.0 * hi) : reflect(c, -1.0, 2.0 * static_cast<double>(size) - 1.0);
    return clamp(c, 0.0, hi);
  }
  return c;
}

}  // namespace

Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners) {
  kernels::check_defined(theta, "affine_grid");
  EMBER_CHECK(size.size() == 4, "affine_grid: expected size [N, C, H, W], got {} (only 2-d grids are supported)",
              shape_str(size));
  EMBER_CHECK(theta.is_floating_point() && theta.dim() == 3 && theta.size(0) == size[0] && theta.size(1) == 2 &&
                  theta.size(2) == 3,
              "affine_grid: expected a floating theta [{}, 2, 3] for size {}, got {} ({})", size[0], shape_str(size),
              shape_str(theta.sizes()), theta.dtype());
  const std::int64_t h = size[2], w = size[3];
  EMBER_CHECK(h > 0 && w > 0, "affine_grid: size {} has an empty spatial dim", shape_str(size));
  // PyTorch's linspace_from_neg_one: -1..1, pulled in by (n-1)/n unless align_corners; 0 for n = 1.
  auto axis = [&](std::int64_t n) {
    if (n <= 1) return zeros({n}, theta.dtype());
    Tensor l = linspace(-1.0, 1.0, n, theta.dtype());
    return align_corners ? l : l * (static_cast<double>(n - 1) / static_cast<double>(n));
  };
  const Tensor xs = axis(w).reshape({1, w, 1}).expand({h, w, 1});
  const Tensor ys = axis(h).reshape({h, 1, 1}).expand({h, w, 1});
  const Tensor base = cat({xs, ys, ones({h, w, 1}, theta.dtype())}, 2).reshape({1, h * w, 3});
  return matmul(base, theta.transpose(1, 2)).reshape({size[0], h, w, 2});
}

Tensor grid_sample(const Tensor& input, const Tensor& grid, const std::string& mode, const std::string& padding_mode,
                   bool align_corners) {
  kernels::check_defined(input, "grid_sample");
  kernels::check_defined(grid, "grid_sample");
  EMBER_CHECK(input.dim() == 4 && grid.dim() == 4 && grid.size(3) == 2 && grid.size(0) == input.size(0),
              "grid_sample: expected input [N, C, H, W] and grid [N, H_out, W_out, 2], got {} and {}",
              shape_str(input.sizes()), shape_str(grid.sizes()));
  EMBER_CHECK(input.dtype() == grid.dtype() && input.is_floating_point(),
              "grid_sample: input ({}) and grid ({}) must share a floating dtype", input.dtype(), grid.dtype());
  EMBER_CHECK(mode == "bilinear" || mode == "nearest", "grid_sample: unknown mode '{}' (bilinear, nearest)", mode);
  EMBER_CHECK(padding_mode == "zeros" || padding_mode == "border" || padding_mode == "reflection",
              "grid_sample: unknown padding_mode '{}' (zeros, border, reflection)", padding_mode);
  const std::int64_t n = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
  const std::int64_t ho = grid.size(1), wo = grid.size(2);
  EMBER_CHECK(h > 0 && w > 0, "grid_sample: input {} has an empty spatial dim", shape_str(input.sizes()));
  const Tensor ix = source_index(grid.select(3, 0), w, padding_mode, align_corners);  // [N, Ho, Wo]
  const Tensor iy = source_index(grid.select(3, 1), h, padding_mode, align_corners);
  const Tensor flat = input.reshape({n, c, h * w});
  // The pixel at integer positions (px, py) (constants), zero outside the image.
  auto corner = [&](const Tensor& px, const Tensor& py) {
    const auto xv = px.to_vector<double>(), yv = py.to_vector<double>();
    std::vector<std::int64_t> idx(xv.size());
    std::vector<double> inside(xv.size());
    for (std::size_t i = 0; i < xv.size(); ++i) {
      const bool in = xv[i] >= 0 && xv[i] < static_cast<double>(w) && yv[i] >= 0 && yv[i] < static_cast<double>(h);
      inside[i] = in ? 1.0 : 0.0;
      idx[i] = in ? static_cast<std::int64_t>(yv[i]) * w + static_cast<std::int64_t>(xv[i]) : 0;
    }
    const Tensor index = from_vector(idx, Shape{n, 1, ho * wo}).expand({n, c, ho * wo}).contiguous();
    const Tensor mask = from_vector(inside, Shape{n, 1, ho, wo}).to(input.dtype());
    return flat.gather(2, index).reshape({n, c, ho, wo}) * mask;
  };
  if (mode == "nearest") {
    // nearbyint: halves round to even, as PyTorch.
    auto round = [](double v) { return std::nearbyint(v); };
    return corner(map_values(ix, round), map_values(iy, round));
  }
  const Tensor x0 = map_values(ix, [](double v) { return std::floor(v); }), y0 = map_values(iy, [](double v) { return std::floor(v); });
  const Tensor x1 = x0 + 1.0, y1 = y0 + 1.0;
  const Tensor wx1 = (ix - x0).unsqueeze(1), wy1 = (iy - y0).unsqueeze(1);  // [N, 1, Ho, Wo]
  const Tensor wx0 = 1.0 - wx1, wy0 = 1.0 - wy1;
  return corner(x0, y0) * (wx0 * wy0) + corner(x1, y0) * (wx1 * wy0) + corner(x0, y1) * (wx0 * wy1) +
         corner(x1, y1) * (wx1 * wy1);
}

}  // namespace ember
