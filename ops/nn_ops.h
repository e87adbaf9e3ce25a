#pragma once
/// The neural-network ops (PyTorch's torch.nn.functional): linear, conv2d,
/// pooling, batch norm, dropout. Differentiable like every op; float32 runs
/// on oneDNN, float64 on reference kernels (used to check gradients).
#include <array>
#include <optional>

#include "ember/core/tensor.h"

namespace ember {

using Int2 = std::array<std::int64_t, 2>;

/// x @ weight^T + bias. x: [..., in], weight: [out, in], bias: [out] or undefined -> [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

/// 2-d convolution (cross-correlation, as PyTorch). x: [N, C, H, W], weight:
/// [O, C/groups, KH, KW], bias: [O] or undefined -> [N, O, OH, OW] with
/// OH = (H + 2*padding - dilation*(KH-1) - 1) / stride + 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Int2 stride = {1, 1},
              Int2 padding = {0, 0}, Int2 dilation = {1, 1}, std::int64_t groups = 1);
/// The gradient of conv2d w.r.t. its input, for output gradient g: [N, O, OH, OW] -> input_shape.
/// Differentiable itself (its adjoint is conv2d), so conv2d is twice differentiable.
Tensor conv2d_input_grad(const Tensor& g, const Tensor& weight, const Shape& input_shape, Int2 stride = {1, 1},
                         Int2 padding = {0, 0}, Int2 dilation = {1, 1}, std::int64_t groups = 1);
/// The gradient of conv2d w.r.t. its weight, from input x and output gradient g -> weight_shape.
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& g, const Shape& weight_shape, Int2 stride = {1, 1},
                          Int2 padding = {0, 0}, Int2 dilation = {1, 1}, std::int64_t groups = 1);

/// Max pooling over [N, C, H, W]; stride defaults to the kernel size.
Tensor max_pool2d(const Tensor& x, Int2 kernel, std::optional<Int2> stride = std::nullopt, Int2 padding = {0, 0},
                  Int2 dilation = {1, 1}, bool ceil_mode = false);
/// Average pooling over [N, C, H, W]; count_include_pad counts padded zeros in the divisor.
Tensor avg_pool2d(const Tensor& x, Int2 kernel, std::optional<Int2> stride = std::nullopt, Int2 padding = {0, 0},
                  bool ceil_mode = false, bool count_include_pad = true);
/// The gradient of avg_pool2d (differentiable: its adjoint is avg_pool2d).
Tensor avg_pool2d_backward(const Tensor& g, const Shape& input_shape, Int2 kernel, Int2 stride, Int2 padding,
                           bool ceil_mode, bool count_include_pad);
/// Average pooling to a fixed output size (PyTorch's bins).
Tensor adaptive_avg_pool2d(const Tensor& x, Int2 output_size);

/// Batch normalization over dim 1 of x: [N, C], [N, C, L] or [N, C, H, W].
/// training: normalizes with the batch statistics and, when running stats are
/// given, updates them in place (momentum; unbiased variance, as PyTorch).
/// Otherwise normalizes with the running statistics. weight/bias: [C] or undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

/// Zeroes each element with probability p and scales the rest by 1/(1-p) when
/// training (mask from the default generator); the identity otherwise.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

}  // namespace ember
