// batch_norm. float32 runs on oneDNN (training statistics, inference, and the
// backward); the gradient is also written in differentiable ops, used for
// float64 and whenever a graph of the gradient is wanted (create_graph).
#include <cmath>

#include "ember/autograd/function.h"
#include "ember/core/parallel.h"
#include "ember/core/random.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// The dims statistics are taken over: all but the channel dim 1.
Shape stat_dims(const Tensor& x) {
  Shape d{0};
  for (std::int64_t i = 2; i < x.dim(); ++i) d.push_back(i);
  return d;
}

// [C] as [1, C, 1, ...] to broadcast against x.
Tensor per_channel(const Tensor& v, const Tensor& x) {
  Shape s(static_cast<std::size_t>(x.dim()), 1);
  s[1] = x.sizes()[1];
  return v.reshape(s);
}

// x as [N, C, H, W] for oneDNN.
Tensor as_nchw(const Tensor& x) {
  Shape s = x.sizes();
  while (s.size() < 4) s.push_back(1);
  return x.contiguous().reshape(s);
}

// The training-mode gradient in differentiable ops (statistics recomputed from x,
// so the result is differentiable in x too). Returns {gx, gw, gb}.
TensorList train_backward_composite(const Tensor& g, const Tensor& x, const Tensor& w, double eps) {
  const Shape dims = stat_dims(x);
  const double n = static_cast<double>(x.numel() / x.sizes()[1]);
  const Tensor mean = x.mean(dims, true);
  const Tensor centered = x - mean;
  const Tensor invstd = rsqrt((centered * centered).mean(dims, true) + eps);
  const Tensor xhat = centered * invstd;
  const Tensor gsum = g.sum(dims, true), gxhat = (g * xhat).sum(dims, true);
  Tensor scale = invstd / n;
  if (w.defined()) scale = scale * per_channel(w, x);
  return {scale * (g * n - gsum - xhat * gxhat), gxhat.reshape({-1}), gsum.reshape({-1})};
}

void check(const Tensor& x, const Tensor& rm, const Tensor& rv, const Tensor& w, const Tensor& b) {
  kernels::check_defined(x, "batch_norm");
  EMBER_CHECK(x.dim() >= 2 && x.dim() <= 4, "batch_norm: expected input [N, C], [N, C, L] or [N, C, H, W], got {}",
              shape_str(x.sizes()));
  EMBER_CHECK(x.is_floating_point(), "batch_norm: expected a floating input, got {}", x.dtype());
  const std::int64_t c = x.sizes()[1];
  for (const Tensor* t : {&rm, &rv, &w, &b})
    if (t->defined())
      EMBER_CHECK(t->sizes() == Shape{c} && t->dtype() == x.dtype(),
                  "batch_norm: input {} has {} channels but a parameter or running statistic is {} ({})",
                  shape_str(x.sizes()), c, shape_str(t->sizes()), t->dtype());
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  check(x, running_mean, running_var, weight, bias);
  const Shape dims = stat_dims(x);
  const std::int64_t count = x.numel() / x.sizes()[1];
  const bool batch_stats = training || !running_mean.defined();
  if (batch_stats) EMBER_CHECK(count > 1 || !training, "batch_norm: expected more than 1 value per channel when training, got input {}", shape_str(x.sizes()));
  const Tensor w = weight.defined() ? weight : ones({x.sizes()[1]}, x.dtype());
  const Tensor b = bias.defined() ? bias : zeros({x.sizes()[1]}, x.dtype());
  Tensor y, mean, var;  // var: the biased batch variance
  {
    NoGradGuard no_grad;
    if (x.dtype() == DType::Float32 && x.numel() > 0) {
      if (batch_stats) {
        auto r = onednn::batch_norm_training(as_nchw(x), w, b, eps);
        y = r.y.reshape(x.sizes());
        mean = r.mean;
        var = r.var;
      } else {
        y = onednn::batch_norm_inference(as_nchw(x), running_mean.contiguous(), running_var.contiguous(), w, b, eps)
                .reshape(x.sizes());
      }
    } else {
      if (batch_stats) {
        mean = x.mean(dims);
        const Tensor centered = x - per_channel(mean, x);
        var = (centered * centered).mean(dims);
      } else {
        mean = running_mean;
        var = running_var;
      }
      y = (x - per_channel(mean, x)) * per_channel(rsqrt(var + eps), x) * per_channel(w, x) + per_channel(b, x);
    }
    if (training && running_mean.defined()) {
      // PyTorch's update: the running variance takes the unbiased batch variance.
      Tensor rm = running_mean, rv = running_var;
      rm.mul_(1.0 - momentum).add_(mean * momentum);
      rv.mul_(1.0 - momentum).add_(var * (momentum * static_cast<double>(count) / static_cast<double>(count - 1)));
    }
  }
  const bool fp32 = x.dtype() == DType::Float32;
  if (batch_stats) {
    autograd::record("BatchNormBackward", {x, weight, bias}, {y}, {x, weight},
                     [eps, fp32, mean, var](const BackwardCtx& c, const TensorList& g) {
                       const Tensor xs = c.saved(0), ws = c.saved(1);
                       if (fp32 && !autograd::GradMode::is_enabled()) {
                         const Tensor wv = ws.defined() ? ws : ones({xs.sizes()[1]}, xs.dtype());
                         auto r = onednn::batch_norm_backward(as_nchw(g[0]), as_nchw(xs), mean, var, wv, eps);
                         return TensorList{r.grad_input.reshape(xs.sizes()), r.grad_weight, r.grad_bias};
                       }
                       return train_backward_composite(g[0], xs, ws, eps);
                     });
  } else {
    const Tensor invstd = rsqrt(running_var.detach() + eps), rmean = running_mean.detach();
    autograd::record("BatchNormBackward", {x, weight, bias}, {y}, {x, weight},
                     [invstd, rmean, dims](const BackwardCtx& c, const TensorList& g) {
                       const Tensor xs = c.saved(0), ws = c.saved(1);
                       const Tensor is = per_channel(invstd, xs);
                       const Tensor gx = ws.defined() ? g[0] * is * per_channel(ws, xs) : g[0] * is;
                       return TensorList{gx, (g[0] * (xs - per_channel(rmean, xs)) * is).sum(dims), g[0].sum(dims)};
                     });
  }
  return y;
}

Tensor dropout(const Tensor& x, double p, bool training) {
  kernels::check_defined(x, "dropout");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, got {}", p);
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  // Inverted dropout: kept elements are scaled so the expectation is unchanged.
  // The scaled mask is drawn in one pass (it was a uniform fill, a comparison,
  // a bool-to-float copy and a multiply); x * mask records the gradient.
  const CounterStream stream = next_stream();
  const Tensor mask = empty(x.sizes(), x.is_floating_point() ? x.dtype() : DType::Float32);
  dispatch_floating(mask.dtype(), "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* m = mask.data_ptr<T>();
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    // An element is kept when its uniform draw u = k * 2^-53 is >= p, that is
    // when the integer k >= ceil(p * 2^53): compared on the raw bits.
    const auto threshold = static_cast<std::uint64_t>(std::ceil(p * 0x1.0p53));
    parallel_for(0, mask.numel(), kParallelGrain / 8, [&, stream](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i)  // branch-free: a random branch mispredicts every other element
        m[i] = scale * static_cast<T>((stream.bits(static_cast<std::uint64_t>(i)) >> 11) >= threshold);
    });
  });
  return x * mask;
}

}  // namespace ember
