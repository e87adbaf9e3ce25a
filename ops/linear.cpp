// linear: x @ weight^T + bias with PyTorch's weight layout [out, in]. The
// float32 forward is one oneDNN matmul with the bias fused and weight^T read
// through its strides. The backward is matmuls and a sum, so it is twice
// differentiable.
#include "ember/autograd/function.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/kernels/matmul.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  kernels::check_defined(x, "linear");
  kernels::check_defined(weight, "linear");
  EMBER_CHECK(x.dim() >= 1 && weight.dim() == 2, "linear: expected input [..., in] and weight [out, in], got {} and {}",
              shape_str(x.sizes()), shape_str(weight.sizes()));
  const std::int64_t in = weight.sizes()[1], out_features = weight.sizes()[0];
  EMBER_CHECK(x.sizes().back() == in, "linear: input {} has {} features but weight {} expects {}",
              shape_str(x.sizes()), x.sizes().back(), shape_str(weight.sizes()), in);
  EMBER_CHECK(x.dtype() == weight.dtype() && x.is_floating_point(),
              "linear: input and weight must share a floating dtype, got {} and {}", x.dtype(), weight.dtype());
  if (bias.defined())
    EMBER_CHECK(bias.sizes() == Shape{out_features} && bias.dtype() == x.dtype(),
                "linear: bias {} ({}) does not match weight {}", shape_str(bias.sizes()), bias.dtype(),
                shape_str(weight.sizes()));
  Tensor out;
  {
    NoGradGuard no_grad;  // the kernels below are raw; the node is recorded once, here
    const Tensor wt = weight.t();
    if (x.dtype() == DType::Float32 && x.numel() > 0) {
      out = onednn::matmul(x, wt, bias);
    } else {
      out = kernels::matmul(x, wt);
      if (bias.defined()) out = add(out, bias);
    }
  }
  autograd::record("LinearBackward", {x, weight, bias}, {out}, {x, weight},
                   [in, out_features](const BackwardCtx& c, const TensorList& g) {
                     const Tensor x = c.saved(0), w = c.saved(1);
                     const Tensor g2 = g[0].reshape({-1, out_features});
                     return TensorList{c.needs_input_grad(0) ? matmul(g[0], w) : Tensor(),
                                       c.needs_input_grad(1) ? matmul(g2.t(), x.reshape({-1, in})) : Tensor(),
                                       c.needs_input_grad(2) ? g2.sum({0}) : Tensor()};
                   });
  return out;
}

}  // namespace ember
