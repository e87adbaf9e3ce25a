// conv1d (conv2d over a height-1 image) and conv_transpose2d. A transposed
// convolution is the adjoint of conv2d's input: conv_transpose2d(x, w) is
// conv2d_input_grad(x, w) for the output size that output_padding picks, so
// its gradients are conv2d (for x) and conv2d_weight_grad (for w), and those
// three close under differentiation: twice differentiable and more. float32
// runs forward on oneDNN's deconvolution, the gradients on its convolutions.
#include "ember/autograd/function.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride, std::int64_t padding,
              std::int64_t dilation, std::int64_t groups) {
  kernels::check_defined(x, "conv1d");
  kernels::check_defined(weight, "conv1d");
  EMBER_CHECK(x.dim() == 2 || x.dim() == 3, "conv1d: expected an input [N, C, L] or [C, L], got {}", shape_str(x.sizes()));
  EMBER_CHECK(weight.dim() == 3, "conv1d: expected a 3-d weight [O, C/groups, K], got {}", shape_str(weight.sizes()));
  const Tensor x3 = x.dim() == 2 ? x.unsqueeze(0) : x;
  EMBER_CHECK(x3.size(1) == weight.size(1) * groups, "conv1d: input {} has {} channels but weight {} expects {}",
              shape_str(x.sizes()), x3.size(1), shape_str(weight.sizes()), weight.size(1) * groups);
  Tensor y = conv2d(x3.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding}, {1, dilation}, groups).squeeze(2);
  return x.dim() == 2 ? y.squeeze(0) : y;
}

namespace {

struct TransposeParams {
  Int2 stride, padding, output_padding, dilation;
  std::int64_t groups;
};

Shape transpose_output_shape(const Tensor& x, const Tensor& w, const TransposeParams& p) {
  const char* op = "conv_transpose2d";
  EMBER_CHECK(x.dim() == 4, "{}: expected a 4-d input [N, C_in, H, W], got {}", op, shape_str(x.sizes()));
  EMBER_CHECK(w.dim() == 4, "{}: expected a 4-d weight [C_in, C_out/groups, KH, KW], got {}", op, shape_str(w.sizes()));
  EMBER_CHECK(p.groups >= 1 && w.size(0) % p.groups == 0, "{}: the weight's {} input channels cannot be split into {} groups",
              op, w.size(0), p.groups);
  EMBER_CHECK(x.size(1) == w.size(0), "{}: input {} has {} channels but weight {} expects {}", op, shape_str(x.sizes()),
              x.size(1), shape_str(w.sizes()), w.size(0));
  EMBER_CHECK(x.dtype() == w.dtype() && x.is_floating_point(),
              "{}: input is {} but weight is {} (expected one floating dtype)", op, x.dtype(), w.dtype());
  Shape y{x.size(0), w.size(1) * p.groups, 0, 0};
  for (int i = 0; i < 2; ++i) {
    EMBER_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0 && p.output_padding[i] >= 0,
                "{}: stride and dilation must be positive, padding and output_padding non-negative", op);
    EMBER_CHECK(p.output_padding[i] < p.stride[i],
                "{}: output_padding ({}, {}) must be smaller than the stride ({}, {})", op, p.output_padding[0],
                p.output_padding[1], p.stride[0], p.stride[1]);
    y[2 + i] = (x.size(2 + i) - 1) * p.stride[i] - 2 * p.padding[i] + p.dilation[i] * (w.size(2 + i) - 1) +
               p.output_padding[i] + 1;
    EMBER_CHECK(y[2 + i] > 0, "{}: input {} with weight {}, stride ({}, {}) and padding ({}, {}) gives an empty output",
                op, shape_str(x.sizes()), shape_str(w.sizes()), p.stride[0], p.stride[1], p.padding[0], p.padding[1]);
  }
  EMBER_CHECK(x.numel() > 0, "{}: input {} has a zero-size dimension", op, shape_str(x.sizes()));
  return y;
}

Tensor forward_kernel(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& ys, const TransposeParams& p) {
  NoGradGuard no_grad;
  const bool pads_fit = p.padding[0] >= p.output_padding[0] && p.padding[1] >= p.output_padding[1];
  if (x.dtype() == DType::Float32 && pads_fit)
    return onednn::deconv2d_forward(x, w, b, ys,
                                    onednn::Deconv2dParams{p.stride, p.padding, p.output_padding, p.dilation, p.groups});
  Tensor y = conv2d_input_grad(x, w, ys, p.stride, p.padding, p.dilation, p.groups);
  if (b.defined()) y = y + b.reshape({1, -1, 1, 1});
  return y;
}

}  // namespace

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Int2 stride, Int2 padding,
                        Int2 output_padding, std::int64_t groups, Int2 dilation) {
  kernels::check_defined(x, "conv_transpose2d");
  kernels::check_defined(weight, "conv_transpose2d");
  const TransposeParams p{stride, padding, output_padding, dilation, groups};
  const Shape ys = transpose_output_shape(x, weight, p);
  if (bias.defined())
    EMBER_CHECK(bias.sizes() == Shape{ys[1]} && bias.dtype() == x.dtype(),
                "conv_transpose2d: bias {} does not match the {} output channels of weight {}",
                shape_str(bias.sizes()), ys[1], shape_str(weight.sizes()));
  Tensor y = forward_kernel(x, weight, bias, ys, p);
  const Shape ws = weight.sizes();
  autograd::record("ConvolutionBackward", {x, weight, bias}, {y}, {x, weight},
                   [p, ws](const BackwardCtx& c, const TensorList& g) {
                     return TensorList{
                         c.needs_input_grad(0) ? conv2d(g[0], c.saved(1), {}, p.stride, p.padding, p.dilation, p.groups)
                                               : Tensor(),
                         c.needs_input_grad(1)
                             ? conv2d_weight_grad(g[0], c.saved(0), ws, p.stride, p.padding, p.dilation, p.groups)
                             : Tensor(),
                         c.needs_input_grad(2) ? g[0].sum({0, 2, 3}) : Tensor()};
                   });
  return y;
}

}  // namespace ember
