// Pooling: max_pool2d, avg_pool2d (with its differentiable backward) and
// adaptive_avg_pool2d. float32 runs on oneDNN; the reference loops below
// serve float64 and the corners oneDNN counts differently.
#include <cmath>

#include "ember/autograd/function.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

using onednn::Pool2dParams;

// PyTorch's pooling output size, and the right padding that makes oneDNN agree.
Shape pool_shape(const Tensor& x, Pool2dParams& p, bool ceil_mode, const char* op) {
  kernels::check_defined(x, op);
  EMBER_CHECK(x.dim() == 4, "{}: expected a 4-d input [N, C, H, W], got {}", op, shape_str(x.sizes()));
  EMBER_CHECK(x.is_floating_point(), "{}: expected a floating input, got {}", op, x.dtype());
  EMBER_CHECK(x.numel() > 0, "{}: input {} has a zero-size dimension", op, shape_str(x.sizes()));
  Shape y{x.sizes()[0], x.sizes()[1], 0, 0};
  for (int i = 0; i < 2; ++i) {
    const std::int64_t in = x.sizes()[2 + i], k = p.kernel[i], s = p.stride[i], pad = p.padding[i], d = p.dilation[i];
    EMBER_CHECK(k >= 1 && s >= 1 && d >= 1 && pad >= 0, "{}: kernel, stride and dilation must be positive, padding non-negative",
                op);
    EMBER_CHECK(pad <= k / 2, "{}: padding {} should be at most half of the kernel size {}", op, pad, k);
    const std::int64_t extent = d * (k - 1) + 1;
    EMBER_CHECK(extent <= in + 2 * pad, "{}: kernel {}x{} is larger than the padded input (input {}, padding [{}, {}])",
                op, p.kernel[0], p.kernel[1], shape_str(x.sizes()), p.padding[0], p.padding[1]);
    std::int64_t out = (in + 2 * pad - extent + (ceil_mode ? s - 1 : 0)) / s + 1;
    if (ceil_mode && (out - 1) * s >= in + pad) --out;  // the last window must start inside the input
    y[2 + i] = out;
    p.padding_r[i] = std::max<std::int64_t>((out - 1) * s + extent - in - pad, 0);
  }
  return y;
}

Pool2dParams make_params(Int2 kernel, std::optional<Int2> stride, Int2 padding, Int2 dilation) {
  Pool2dParams p;
  p.kernel = kernel;
  p.stride = stride.value_or(kernel);
  p.padding = padding;
  p.dilation = dilation;
  return p;
}

// ---- reference kernels over contiguous [N*C, H, W] planes ----
template <class T>
void ref_max(const T* x, T* y, std::int64_t* idx, std::int64_t planes, const Shape& xs, const Shape& ys, const Pool2dParams& p) {
  const std::int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
  parallel_for(0, planes, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t arg = -1;
          for (std::int64_t kh = 0; kh < p.kernel[0]; ++kh) {
            const std::int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
            if (ih < 0 || ih >= H) continue;
            for (std::int64_t kw = 0; kw < p.kernel[1]; ++kw) {
              const std::int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
              if (iw < 0 || iw >= W) continue;
              const T v = x[(c * H + ih) * W + iw];
              if (arg < 0 || v > best || std::isnan(v)) {  // first maximum; NaN wins
                best = v;
                arg = ih * W + iw;
                if (std::isnan(v)) goto done;
              }
            }
          }
        done:
          y[(c * OH + oh) * OW + ow] = best;
          idx[(c * OH + oh) * OW + ow] = arg;
        }
  });
}

// Average pooling and its adjoint share the windows and divisors; `backward`
// scatters g over the windows instead of gathering x.
template <class T>
void ref_avg(const T* in, T* out, std::int64_t planes, const Shape& xs, const Shape& ys, const Pool2dParams& p,
             bool count_include_pad, bool backward) {
  const std::int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
  parallel_for(0, planes, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t c = lo; c < hi; ++c)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          // PyTorch's divisor: the window clipped to the padded input (include_pad) or to the input.
          const std::int64_t h0 = oh * p.stride[0] - p.padding[0], w0 = ow * p.stride[1] - p.padding[1];
          const std::int64_t h1 = std::min(h0 + p.kernel[0], H + p.padding[0]), w1 = std::min(w0 + p.kernel[1], W + p.padding[1]);
          const std::int64_t hs = std::max<std::int64_t>(h0, 0), ws = std::max<std::int64_t>(w0, 0);
          const std::int64_t he = std::min(h1, H), we = std::min(w1, W);
          const std::int64_t count = count_include_pad ? (h1 - h0) * (w1 - w0) : (he - hs) * (we - ws);
          const std::int64_t o = (c * OH + oh) * OW + ow;
          if (backward) {
            const T share = in[o] / static_cast<T>(count);
            for (std::int64_t ih = hs; ih < he; ++ih)
              for (std::int64_t iw = ws; iw < we; ++iw) out[(c * H + ih) * W + iw] += share;
          } else {
            T sum = 0;
            for (std::int64_t ih = hs; ih < he; ++ih)
              for (std::int64_t iw = ws; iw < we; ++iw) sum += in[(c * H + ih) * W + iw];
            out[o] = count > 0 ? sum / static_cast<T>(count) : T(0);
          }
        }
  });
}

// The reference max pool: values and, per output, the flat index (h * W + w) of the winner.
std::pair<Tensor, Tensor> ref_max_pool(const Tensor& x, const Shape& ys, const Pool2dParams& p) {
  const Tensor xc = x.contiguous();
  Tensor y = empty(ys, x.dtype()), idx = empty(ys, DType::Int64);
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    ref_max<T>(xc.data_ptr<T>(), y.data_ptr<T>(), idx.data_ptr<std::int64_t>(), ys[0] * ys[1], x.sizes(), ys, p);
  });
  return {y, idx};
}

// max pooling's gradient from the winners' indices, written in differentiable
// ops (scatter_add), so it can itself be differentiated.
Tensor max_pool_grad_from_indices(const Tensor& g, const Tensor& idx, const Shape& xs) {
  const std::int64_t n = xs[0], c = xs[1];
  Tensor flat = zeros({n, c, xs[2] * xs[3]}, g.dtype());
  return scatter_add(flat, 2, idx.reshape({n, c, -1}), g.reshape({n, c, -1})).reshape(xs);
}

bool avg_needs_reference(const Pool2dParams& p, bool count_include_pad) {
  // oneDNN counts the extra right padding of ceil_mode in the divisor; PyTorch does not.
  return count_include_pad && (p.padding_r[0] > p.padding[0] || p.padding_r[1] > p.padding[1]);
}

Tensor avg_kernel(const Tensor& in, const Shape& xs, const Shape& ys, const Pool2dParams& p, bool include_pad, bool backward) {
  if (in.dtype() == DType::Float32 && !avg_needs_reference(p, include_pad))
    return backward ? onednn::avg_pool2d_backward(in, xs, p, include_pad) : onednn::avg_pool2d_forward(in, ys, p, include_pad);
  const Tensor ic = in.contiguous();
  Tensor out = backward ? zeros(xs, in.dtype()) : empty(ys, in.dtype());
  dispatch_floating(in.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    ref_avg<T>(ic.data_ptr<T>(), out.data_ptr<T>(), xs[0] * xs[1], xs, ys, p, include_pad, backward);
  });
  return out;
}

Tensor avg_backward_op(const Tensor& g, const Shape& xs, const Shape& ys, const Pool2dParams& p, bool include_pad);

Tensor avg_forward_op(const Tensor& x, const Shape& ys, const Pool2dParams& p, bool include_pad) {
  Tensor y = avg_kernel(x, x.sizes(), ys, p, include_pad, false);
  const Shape xs = x.sizes();
  autograd::record("AvgPool2DBackward", {x}, {y}, {}, [xs, ys, p, include_pad](const BackwardCtx&, const TensorList& g) {
    return TensorList{avg_backward_op(g[0], xs, ys, p, include_pad)};
  });
  return y;
}

Tensor avg_backward_op(const Tensor& g, const Shape& xs, const Shape& ys, const Pool2dParams& p, bool include_pad) {
  Tensor gx = avg_kernel(g, xs, ys, p, include_pad, true);
  autograd::record("AvgPool2DBackwardBackward", {g}, {gx}, {}, [ys, p, include_pad](const BackwardCtx&, const TensorList& h) {
    return TensorList{avg_forward_op(h[0], ys, p, include_pad)};  // the adjoint of the adjoint
  });
  return gx;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Int2 kernel, std::optional<Int2> stride, Int2 padding, Int2 dilation, bool ceil_mode) {
  Pool2dParams p = make_params(kernel, stride, padding, dilation);
  const Shape ys = pool_shape(x, p, ceil_mode, "max_pool2d");
  const Shape xs = x.sizes();
  if (x.dtype() == DType::Float32) {
    const bool train = autograd::needs_grad({x});
    onednn::MaxPoolSaved saved;
    Tensor y = onednn::max_pool2d_forward(x, ys, p, train ? &saved : nullptr);
    autograd::record("MaxPool2DBackward", {x}, {y}, {x}, [p, xs, ys, saved](const BackwardCtx& c, const TensorList& g) {
      // With create_graph the gradient must itself be differentiable: take the
      // winners' indices from the reference kernel and scatter. Otherwise use
      // oneDNN's backward with the workspace its forward kept.
      if (autograd::GradMode::is_enabled())
        return TensorList{max_pool_grad_from_indices(g[0], ref_max_pool(c.saved(0), ys, p).second, xs)};
      return TensorList{onednn::max_pool2d_backward(g[0], saved, xs, p)};
    });
    return y;
  }
  auto [y, idx] = ref_max_pool(x, ys, p);
  autograd::record("MaxPool2DBackward", {x}, {y}, {idx}, [xs](const BackwardCtx& c, const TensorList& g) {
    return TensorList{max_pool_grad_from_indices(g[0], c.saved(0), xs)};
  });
  return y;
}

Tensor avg_pool2d(const Tensor& x, Int2 kernel, std::optional<Int2> stride, Int2 padding, bool ceil_mode,
                  bool count_include_pad) {
  Pool2dParams p = make_params(kernel, stride, padding, {1, 1});
  const Shape ys = pool_shape(x, p, ceil_mode, "avg_pool2d");
  return avg_forward_op(x, ys, p, count_include_pad);
}

Tensor avg_pool2d_backward(const Tensor& g, const Shape& input_shape, Int2 kernel, Int2 stride, Int2 padding,
                           bool ceil_mode, bool count_include_pad) {
  Pool2dParams p = make_params(kernel, stride, padding, {1, 1});
  const Shape ys = pool_shape(empty(input_shape, g.dtype()), p, ceil_mode, "avg_pool2d_backward");
  EMBER_CHECK(g.sizes() == ys, "avg_pool2d_backward: gradient {} does not match the pooled shape {}",
              shape_str(g.sizes()), shape_str(ys));
  return avg_backward_op(g, input_shape, ys, p, count_include_pad);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Int2 out) {
  kernels::check_defined(x, "adaptive_avg_pool2d");
  EMBER_CHECK(x.dim() == 4, "adaptive_avg_pool2d: expected a 4-d input [N, C, H, W], got {}", shape_str(x.sizes()));
  EMBER_CHECK(out[0] >= 1 && out[1] >= 1, "adaptive_avg_pool2d: output size must be positive, got [{}, {}]", out[0], out[1]);
  const std::int64_t H = x.sizes()[2], W = x.sizes()[3];
  if (out[0] == 1 && out[1] == 1) return x.mean({2, 3}, true);
  if (H % out[0] == 0 && W % out[1] == 0) {
    const Int2 k{H / out[0], W / out[1]};
    return avg_pool2d(x, k, k);
  }
  // PyTorch's bins: [floor(i*H/oh), ceil((i+1)*H/oh)).
  TensorList rows;
  for (std::int64_t i = 0; i < out[0]; ++i) {
    const std::int64_t h0 = i * H / out[0], h1 = ((i + 1) * H + out[0] - 1) / out[0];
    TensorList cols;
    for (std::int64_t j = 0; j < out[1]; ++j) {
      const std::int64_t w0 = j * W / out[1], w1 = ((j + 1) * W + out[1] - 1) / out[1];
      cols.push_back(x.slice(2, h0, h1).slice(3, w0, w1).mean({2, 3}, true));
    }
    rows.push_back(cat(cols, 3));
  }
  return cat(rows, 2);
}

}  // namespace ember
