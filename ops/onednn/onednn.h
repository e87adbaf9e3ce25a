#pragma once
// oneDNN kernels for the float32 hot path, in Ember's terms: no oneDNN type
// appears here, so the rest of ops/ never includes oneDNN. Every function
// takes float32 tensors whose shapes the calling op has already checked.
#include <array>

#include "ember/core/tensor.h"

namespace ember::onednn {

/// a @ b (+ bias along the last dim). a: [..., n, k], b: [..., k, m], batch dims
/// broadcast; transposed operands are read through their strides, not copied.
Tensor matmul(const Tensor& a, const Tensor& b, const Tensor& bias = {});

struct Conv2dParams {
  std::array<std::int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  std::int64_t groups = 1;
};
/// x: [N, C, H, W], w: [O, C/groups, KH, KW], b: [O] or undefined -> [N, O, OH, OW].
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Shape& out_shape, const Conv2dParams& p);
/// The gradient w.r.t. the input: g: [N, O, OH, OW] -> [N, C, H, W].
Tensor conv2d_backward_input(const Tensor& g, const Tensor& w, const Shape& in_shape, const Conv2dParams& p);
/// The gradients w.r.t. the weight (and bias when wanted) from input x and output gradient g.
std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& x, const Tensor& g, const Shape& w_shape, bool with_bias,
                                                 const Conv2dParams& p);

/// Whether 3x3 unit-stride convolutions may use Winograd (default on, or
/// EMBER_CONV_WINOGRAD=0 at start-up). Direct convolution rounds closer to
/// the float64 reference; Winograd is about twice as fast.
void set_conv_winograd(bool enabled);
bool conv_winograd();

struct Pool2dParams {
  std::array<std::int64_t, 2> kernel{1, 1}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  std::array<std::int64_t, 2> padding_r{0, 0};  // right/bottom padding that yields the wanted output size
};
/// What max pooling's backward needs from its forward: oneDNN's workspace and
/// the input's layout (an opaque input is pooled in its own blocked layout).
struct MaxPoolSaved {
  Tensor workspace;
  std::shared_ptr<const OpaqueLayout> layout;
};
/// Max pooling; `saved` (if non-null) receives what backward needs.
Tensor max_pool2d_forward(const Tensor& x, const Shape& out_shape, const Pool2dParams& p, MaxPoolSaved* saved);
Tensor max_pool2d_backward(const Tensor& g, const MaxPoolSaved& saved, const Shape& in_shape, const Pool2dParams& p);
Tensor avg_pool2d_forward(const Tensor& x, const Shape& out_shape, const Pool2dParams& p, bool count_include_pad);
Tensor avg_pool2d_backward(const Tensor& g, const Shape& in_shape, const Pool2dParams& p, bool count_include_pad);

struct BatchNormForward {
  Tensor y, mean, var;  // var is the biased batch variance
};
/// x: [N, C, H, W] (contiguous), weight/bias: [C]. Training: batch statistics.
BatchNormForward batch_norm_training(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
/// Inference with given statistics.
Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& weight,
                            const Tensor& bias, double eps);
struct BatchNormBackward {
  Tensor grad_input, grad_weight, grad_bias;
};
BatchNormBackward batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& var,
                                      const Tensor& weight, double eps);

/// Drops cached primitives; the number cached; how many were built (cache misses).
void clear_primitive_cache();
std::size_t primitive_cache_size();
std::size_t primitive_cache_misses();
/// At most n primitives stay cached (default 1024), the least recently used
/// evicted first; returns the old limit.
std::size_t set_primitive_cache_capacity(std::size_t n);

}  // namespace ember::onednn
