// conv2d and its two gradients. The three form a closed set under
// differentiation (each one's adjoints are the other two), so conv2d is
// differentiable any number of times. float32 runs on oneDNN; other dtypes
// on the reference loops below.
#include "ember/autograd/function.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

using onednn::Conv2dParams;

Conv2dParams params(Int2 stride, Int2 padding, Int2 dilation, std::int64_t groups) {
  return Conv2dParams{stride, padding, dilation, groups};
}

// Checks a conv2d call and returns its output shape [N, O, OH, OW].
Shape conv_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p, const char* op) {
  EMBER_CHECK(x.size() == 4, "{}: expected a 4-d input [N, C, H, W], got {}", op, shape_str(x));
  EMBER_CHECK(w.size() == 4, "{}: expected a 4-d weight [O, C/groups, KH, KW], got {}", op, shape_str(w));
  EMBER_CHECK(p.groups >= 1 && w[0] % p.groups == 0, "{}: {} output channels cannot be split into {} groups", op,
              w[0], p.groups);
  EMBER_CHECK(x[1] == w[1] * p.groups, "{}: input {} has {} channels but weight {} expects {}", op, shape_str(x), x[1],
              shape_str(w), w[1] * p.groups);
  for (int i = 0; i < 2; ++i)
    EMBER_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0,
                "{}: stride and dilation must be positive and padding non-negative, got stride [{}, {}], padding "
                "[{}, {}], dilation [{}, {}]",
                op, p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]);
  EMBER_CHECK(numel(x) > 0, "{}: input {} has a zero-size dimension", op, shape_str(x));
  Shape y{x[0], w[0], 0, 0};
  for (int i = 0; i < 2; ++i) {
    const std::int64_t padded = x[2 + i] + 2 * p.padding[i], extent = p.dilation[i] * (w[2 + i] - 1) + 1;
    EMBER_CHECK(extent <= padded,
                "{}: kernel {}x{} (dilated extent {}) is larger than the padded input {}x{} (input {}, padding [{}, {}])",
                op, w[2], w[3], extent, x[2] + 2 * p.padding[0], x[3] + 2 * p.padding[1], shape_str(x), p.padding[0],
                p.padding[1]);
    y[2 + i] = (padded - extent) / p.stride[i] + 1;
  }
  return y;
}

void check_dtypes(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.dtype() == b.dtype() && a.is_floating_point(), "{}: input is {} but weight is {} (expected one floating dtype)",
              op, a.dtype(), b.dtype());
}

// ---- reference kernels: x [N, C, H, W], w [O, C/G, KH, KW], y [N, O, OH, OW] ----
// Each walks the same index space; `visit(xi, wi, yi)` gets flat offsets into
// contiguous x, w, y for every (input, weight, output) triple that meet.
template <class Visit>
void for_each_tap(const Shape& xs, const Shape& ws, const Shape& ys, const Conv2dParams& p, std::int64_t n, std::int64_t o,
                  Visit visit) {
  const std::int64_t C = xs[1], H = xs[2], W = xs[3], CG = ws[1], KH = ws[2], KW = ws[3], OH = ys[2], OW = ys[3];
  const std::int64_t g = o / (ys[1] / p.groups);
  for (std::int64_t oh = 0; oh < OH; ++oh)
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      const std::int64_t yi = ((n * ys[1] + o) * OH + oh) * OW + ow;
      for (std::int64_t ic = 0; ic < CG; ++ic)
        for (std::int64_t kh = 0; kh < KH; ++kh) {
          const std::int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
          if (ih < 0 || ih >= H) continue;
          for (std::int64_t kw = 0; kw < KW; ++kw) {
            const std::int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            if (iw < 0 || iw >= W) continue;
            visit(((n * C + g * CG + ic) * H + ih) * W + iw, ((o * CG + ic) * KH + kh) * KW + kw, yi);
          }
        }
    }
}

template <class T>
void ref_forward(const T* x, const T* w, const T* b, T* y, const Shape& xs, const Shape& ws, const Shape& ys,
                 const Conv2dParams& p) {
  const std::int64_t N = xs[0], O = ws[0], plane = ys[2] * ys[3];
  parallel_for(0, N * O, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::int64_t n = r / O, o = r % O;
      T* yp = y + r * plane;
      for (std::int64_t i = 0; i < plane; ++i) yp[i] = b ? b[o] : T(0);
      for_each_tap(xs, ws, ys, p, n, o, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { y[yi] += x[xi] * w[wi]; });
    }
  });
}

template <class T>
void ref_input_grad(const T* g, const T* w, T* gx, const Shape& xs, const Shape& ws, const Shape& ys, const Conv2dParams& p) {
  // Serial over the batch's images in parallel: taps of one image may overlap.
  const std::int64_t N = xs[0], O = ws[0];
  parallel_for(0, N, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t n = lo; n < hi; ++n)
      for (std::int64_t o = 0; o < O; ++o)
        for_each_tap(xs, ws, ys, p, n, o, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { gx[xi] += g[yi] * w[wi]; });
  });
}

template <class T>
void ref_weight_grad(const T* x, const T* g, T* gw, const Shape& xs, const Shape& ws, const Shape& ys, const Conv2dParams& p) {
  const std::int64_t N = xs[0], O = ws[0];
  parallel_for(0, O, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o)
      for (std::int64_t n = 0; n < N; ++n)
        for_each_tap(xs, ws, ys, p, n, o, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { gw[wi] += g[yi] * x[xi]; });
  });
}

// ---- raw kernels (no history): oneDNN for float32, reference otherwise ----
Tensor forward_kernel(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& ys, const Conv2dParams& p) {
  if (x.dtype() == DType::Float32) return onednn::conv2d_forward(x, w, b, ys, p);
  const Tensor xc = x.contiguous(), wc = w.contiguous(), bc = b.defined() ? b.contiguous() : Tensor();
  Tensor y = empty(ys, x.dtype());
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    ref_forward<T>(xc.data_ptr<T>(), wc.data_ptr<T>(), bc.defined() ? bc.data_ptr<T>() : nullptr, y.data_ptr<T>(),
                   x.sizes(), w.sizes(), ys, p);
  });
  return y;
}

Tensor input_grad_kernel(const Tensor& g, const Tensor& w, const Shape& xs, const Conv2dParams& p) {
  if (g.dtype() == DType::Float32) return onednn::conv2d_backward_input(g, w, xs, p);
  const Tensor gc = g.contiguous(), wc = w.contiguous();
  Tensor gx = zeros(xs, g.dtype());
  dispatch_floating(g.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    ref_input_grad<T>(gc.data_ptr<T>(), wc.data_ptr<T>(), gx.data_ptr<T>(), xs, w.sizes(), g.sizes(), p);
  });
  return gx;
}

Tensor weight_grad_kernel(const Tensor& x, const Tensor& g, const Shape& ws, const Conv2dParams& p) {
  if (x.dtype() == DType::Float32) return onednn::conv2d_backward_weight(x, g, ws, false, p).first;
  const Tensor xc = x.contiguous(), gc = g.contiguous();
  Tensor gw = zeros(ws, x.dtype());
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    ref_weight_grad<T>(xc.data_ptr<T>(), gc.data_ptr<T>(), gw.data_ptr<T>(), x.sizes(), ws, g.sizes(), p);
  });
  return gw;
}

Tensor input_grad_op(const Tensor& g, const Tensor& w, const Shape& xs, const Conv2dParams& p);
Tensor weight_grad_op(const Tensor& x, const Tensor& g, const Shape& ws, const Conv2dParams& p);

Tensor conv_op(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  kernels::check_defined(x, "conv2d");
  kernels::check_defined(w, "conv2d");
  check_dtypes(x, w, "conv2d");
  const Shape ys = conv_output_shape(x.sizes(), w.sizes(), p, "conv2d");
  if (b.defined())
    EMBER_CHECK(b.sizes() == Shape{w.sizes()[0]} && b.dtype() == x.dtype(), "conv2d: bias {} does not match weight {}",
                shape_str(b.sizes()), shape_str(w.sizes()));
  Tensor y = forward_kernel(x, w, b, ys, p);
  const Shape xs = x.sizes(), ws = w.sizes();
  autograd::record("ConvolutionBackward", {x, w, b}, {y}, {x, w}, [p, xs, ws](const BackwardCtx& c, const TensorList& g) {
    if (!autograd::GradMode::is_enabled() && g[0].dtype() == DType::Float32 && c.needs_input_grad(1) && c.needs_input_grad(2)) {
      // No graph to build: oneDNN's weight gradient sums the bias gradient in
      // the same pass (the separate sum over N, H, W was 6% of a CNN step).
      auto [gw, gb] = onednn::conv2d_backward_weight(c.saved(0), g[0], ws, true, p);
      return TensorList{c.needs_input_grad(0) ? input_grad_op(g[0], c.saved(1), xs, p) : Tensor(), gw, gb};
    }
    return TensorList{c.needs_input_grad(0) ? input_grad_op(g[0], c.saved(1), xs, p) : Tensor(),
                      c.needs_input_grad(1) ? weight_grad_op(c.saved(0), g[0], ws, p) : Tensor(),
                      c.needs_input_grad(2) ? g[0].sum({0, 2, 3}) : Tensor()};
  });
  return y;
}

Tensor input_grad_op(const Tensor& g, const Tensor& w, const Shape& xs, const Conv2dParams& p) {
  check_dtypes(g, w, "conv2d_input_grad");
  EMBER_CHECK(g.sizes() == conv_output_shape(xs, w.sizes(), p, "conv2d_input_grad"),
              "conv2d_input_grad: gradient {} does not match the output of input {} and weight {}", shape_str(g.sizes()),
              shape_str(xs), shape_str(w.sizes()));
  Tensor gx = input_grad_kernel(g, w, xs, p);
  const Shape ws = w.sizes();
  // input_grad(g, w) is the adjoint of conv(., w): its own gradients are conv(h, w) for g
  // and weight_grad(h, g) for w.
  autograd::record("ConvolutionBackwardInput", {g, w}, {gx}, {g, w}, [p, ws](const BackwardCtx& c, const TensorList& h) {
    return TensorList{c.needs_input_grad(0) ? conv_op(h[0], c.saved(1), Tensor(), p) : Tensor(),
                      c.needs_input_grad(1) ? weight_grad_op(h[0], c.saved(0), ws, p) : Tensor()};
  });
  return gx;
}

Tensor weight_grad_op(const Tensor& x, const Tensor& g, const Shape& ws, const Conv2dParams& p) {
  check_dtypes(x, g, "conv2d_weight_grad");
  EMBER_CHECK(g.sizes() == conv_output_shape(x.sizes(), ws, p, "conv2d_weight_grad"),
              "conv2d_weight_grad: gradient {} does not match the output of input {} and weight {}",
              shape_str(g.sizes()), shape_str(x.sizes()), shape_str(ws));
  Tensor gw = weight_grad_kernel(x, g, ws, p);
  const Shape xs = x.sizes();
  // weight_grad(x, g) is the adjoint of conv(x, .): gradients input_grad(g, k) for x, conv(x, k) for g.
  autograd::record("ConvolutionBackwardWeight", {x, g}, {gw}, {x, g}, [p, xs](const BackwardCtx& c, const TensorList& k) {
    return TensorList{c.needs_input_grad(0) ? input_grad_op(c.saved(1), k[0], xs, p) : Tensor(),
                      c.needs_input_grad(1) ? conv_op(c.saved(0), k[0], Tensor(), p) : Tensor()};
  });
  return gw;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Int2 stride, Int2 padding, Int2 dilation,
              std::int64_t groups) {
  return conv_op(x, weight, bias, params(stride, padding, dilation, groups));
}

Tensor conv2d_input_grad(const Tensor& g, const Tensor& weight, const Shape& input_shape, Int2 stride, Int2 padding,
                         Int2 dilation, std::int64_t groups) {
  return input_grad_op(g, weight, input_shape, params(stride, padding, dilation, groups));
}

Tensor conv2d_weight_grad(const Tensor& x, const Tensor& g, const Shape& weight_shape, Int2 stride, Int2 padding,
                          Int2 dilation, std::int64_t groups) {
  return weight_grad_op(x, g, weight_shape, params(stride, padding, dilation, groups));
}

}  // namespace ember
