#pragma once
/// The neural-network ops (PyTorch's torch.nn.functional): linear, conv2d,
/// pooling, batch norm, dropout. Differentiable like every op; float32 runs
/// on oneDNN, float64 on reference kernels (used to check gradients).
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/options.h"
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

// ---- issue 10 part B: embedding, normalization, conv1d / conv_transpose2d, resampling ----
/// Rows of weight [num_embeddings, dim] at int64 `indices` (any shape) -> [*indices, dim].
/// The gradient is dense: each row's gradient summed into its index, none for padding_idx
/// (negative counts from the end). An index outside [0, num_embeddings) is an error naming it.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx = std::nullopt);
/// embedding's gradient: grad [*indices, dim] summed into [num_weights, dim] (differentiable; its adjoint is embedding).
Tensor embedding_backward(const Tensor& grad, const Tensor& indices, std::int64_t num_weights,
                          std::optional<std::int64_t> padding_idx = std::nullopt);

/// Normalizes over the trailing dims `normalized_shape` (biased variance), then * weight + bias
/// (each of normalized_shape, or undefined). float32 on oneDNN's layer normalization.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
/// Normalizes x [N, C, *] over each of num_groups channel groups (with their spatial dims),
/// then * weight + bias per channel ([C] or undefined).
Tensor group_norm(const Tensor& x, std::int64_t num_groups, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

/// 1-d convolution: x [N, C, L] (or [C, L]), weight [O, C/groups, K], bias [O] or undefined -> [N, O, L_out].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, std::int64_t stride = 1,
              std::int64_t padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1);
/// Transposed 2-d convolution (the adjoint of conv2d's input): x [N, C_in, H, W], weight
/// [C_in, C_out/groups, KH, KW], bias [C_out] -> [N, C_out, OH, OW] with
/// OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1 (output_padding < stride).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Int2 stride = {1, 1},
                        Int2 padding = {0, 0}, Int2 output_padding = {0, 0}, std::int64_t groups = 1,
                        Int2 dilation = {1, 1});

/// interpolate's options: exactly one of size and scale_factor (one value, or one per spatial dim).
struct InterpolateOptions {
  EMBER_OPTION(InterpolateOptions, std::vector<std::int64_t>, size, {})
  EMBER_OPTION(InterpolateOptions, std::vector<double>, scale_factor, {})
  /// "nearest", "linear" (3-d input), "bilinear" (4-d) or "trilinear" (5-d).
  EMBER_OPTION(InterpolateOptions, std::string, mode, "nearest")
  /// Only for the linear modes; unset means false.
  EMBER_OPTION(InterpolateOptions, std::optional<bool>, align_corners, std::nullopt)
};
/// Resizes x [N, C, *spatial] as torch.nn.functional.interpolate (nearest: PyTorch's floor rule).
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

/// Zeroes whole channels of x [N, C, H, W] (or [C, H, W]) with probability p while training, scaling the rest by 1/(1-p).
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true);

/// The sampling grid [N, H, W, 2] of the affine maps theta [N, 2, 3] for an output of size [N, C, H, W].
Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners = false);
/// Samples input [N, C, H, W] at grid [N, H_out, W_out, 2] (x, y in -1..1) -> [N, C, H_out, W_out].
/// mode "bilinear" or "nearest"; padding_mode "zeros", "border" or "reflection".
Tensor grid_sample(const Tensor& input, const Tensor& grid, const std::string& mode = "bilinear",
                   const std::string& padding_mode = "zeros", bool align_corners = false);
// ---- end issue 10 part B ----

}  // namespace ember
