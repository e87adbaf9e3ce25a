// layer_norm and group_norm. layer_norm normalizes over the trailing
// normalized_shape dims: float32 runs on oneDNN's layer normalization
// (forward, and the backward when no graph of the gradient is wanted); the
// gradient is also written in differentiable ops (statistics recomputed from
// x), used for float64 and under create_graph, so it is twice differentiable.
// group_norm is layer_norm over [N, G, C/G * spatial] plus a per-channel affine.
#include "ember/autograd/function.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// The trailing `k` dims of x.
Shape trailing_dims(const Tensor& x, std::size_t k) {
  Shape d;
  for (std::int64_t i = x.dim() - static_cast<std::int64_t>(k); i < x.dim(); ++i) d.push_back(i);
  return d;
}

// Normalized x (no affine), in differentiable ops.
Tensor normalized(const Tensor& x, const Shape& dims, double eps) {
  const Tensor centered = x - x.mean(dims, true);
  return centered * rsqrt((centered * centered).mean(dims, true) + eps);
}

// The gradient in differentiable ops: {gx, gw, gb}.
TensorList backward_composite(const Tensor& g, const Tensor& x, const Tensor& w, const Tensor& b, const Shape& dims,
                              double eps) {
  const Tensor centered = x - x.mean(dims, true);
  const Tensor invstd = rsqrt((centered * centered).mean(dims, true) + eps);
  const Tensor xhat = centered * invstd;
  Shape batch;
  for (std::int64_t i = 0; i < x.dim() - static_cast<std::int64_t>(dims.size()); ++i) batch.push_back(i);
  const Tensor gxhat = w.defined() ? g * w : g;
  const Tensor gx = invstd * (gxhat - gxhat.mean(dims, true) - xhat * (gxhat * xhat).mean(dims, true));
  auto batch_sum = [&](const Tensor& t) { return batch.empty() ? t : t.sum(batch); };
  return {gx, w.defined() ? batch_sum(g * xhat) : Tensor(), b.defined() ? batch_sum(g) : Tensor()};
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  kernels::check_defined(x, "layer_norm");
  EMBER_CHECK(x.is_floating_point(), "layer_norm: expected a floating input, got {}", x.dtype());
  const std::size_t k = normalized_shape.size();
  EMBER_CHECK(k >= 1 && static_cast<std::int64_t>(k) <= x.dim() &&
                  Shape(x.sizes().end() - static_cast<std::ptrdiff_t>(k), x.sizes().end()) == normalized_shape,
              "layer_norm: input {} does not end with normalized_shape {}", shape_str(x.sizes()),
              shape_str(normalized_shape));
  for (const Tensor* t : {&weight, &bias})
    if (t->defined())
      EMBER_CHECK(t->sizes() == normalized_shape && t->dtype() == x.dtype(),
                  "layer_norm: weight and bias must be {} ({}), got {} ({})", shape_str(normalized_shape), x.dtype(),
                  shape_str(t->sizes()), t->dtype());
  const Shape dims = trailing_dims(x, k);
  const std::int64_t cols = numel(normalized_shape), rows = cols == 0 ? 0 : x.numel() / cols;
  const bool fp32 = x.dtype() == DType::Float32 && x.numel() > 0;
  Tensor y, mean, var;  // mean, var: oneDNN's statistics (float32 only)
  {
    NoGradGuard no_grad;
    if (fp32) {
      const Tensor w = weight.defined() ? weight.reshape({cols}) : Tensor();
      const Tensor b = bias.defined() ? bias.reshape({cols}) : Tensor();
      auto r = onednn::layer_norm_forward(x.contiguous().reshape({rows, cols}), w, b, eps);
      y = r.y.reshape(x.sizes());
      mean = r.mean;
      var = r.var;
    } else {
      y = normalized(x, dims, eps);
      if (weight.defined()) y = y * weight;
      if (bias.defined()) y = y + bias;
    }
  }
  autograd::record("NativeLayerNormBackward", {x, weight, bias}, {y}, {x, weight, bias},
                   [dims, eps, fp32, rows, cols, mean, var](const BackwardCtx& c, const TensorList& g) {
                     const Tensor xs = c.saved(0), ws = c.saved(1), bs = c.saved(2);
                     if (fp32 && !autograd::GradMode::is_enabled()) {
                       auto r = onednn::layer_norm_backward(g[0].contiguous().reshape({rows, cols}),
                                                            xs.contiguous().reshape({rows, cols}), mean, var,
                                                            ws.defined() ? ws.reshape({cols}) : Tensor(),
                                                            bs.defined(), eps);
                       return TensorList{r.grad_input.reshape(xs.sizes()),
                                         ws.defined() ? r.grad_weight.reshape(ws.sizes()) : Tensor(),
                                         bs.defined() ? r.grad_bias.reshape(bs.sizes()) : Tensor()};
                     }
                     return backward_composite(g[0], xs, ws, bs, dims, eps);
                   });
  return y;
}

Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  kernels::check_defined(x, "group_norm");
  EMBER_CHECK(x.dim() >= 2, "group_norm: expected an input [N, C, *], got {}", shape_str(x.sizes()));
  const std::int64_t n = x.size(0), c = x.size(1);
  EMBER_CHECK(num_groups >= 1 && c % num_groups == 0,
              "group_norm: expected the {} channels of input {} to divide into num_groups={}", c, shape_str(x.sizes()),
              num_groups);
  for (const Tensor* t : {&weight, &bias})
    if (t->defined())
      EMBER_CHECK(t->sizes() == Shape{c} && t->dtype() == x.dtype(),
                  "group_norm: weight and bias must be [{}] ({}), got {} ({})", c, x.dtype(), shape_str(t->sizes()),
                  t->dtype());
  const std::int64_t per_group = x.numel() / std::max<std::int64_t>(n * num_groups, 1);
  Tensor y = layer_norm(x.reshape({n, num_groups, per_group}), {per_group}, {}, {}, eps).reshape(x.sizes());
  Shape channel(static_cast<std::size_t>(x.dim()), 1);
  channel[1] = c;
  if (weight.defined()) y = y * weight.reshape(channel);
  if (bias.defined()) y = y + bias.reshape(channel);
  return y;
}

}  // namespace ember
