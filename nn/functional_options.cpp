// nn::functional's LibTorch option forms (F::max_pool2d(x, MaxPool2dFuncOptions(2)),
// F::dropout(x, DropoutFuncOptions().p(0.2)), F::normalize(x)): each unpacks its
// options into the op of ops/nn_ops.h or ops/ops.h that does the work.
#include "ember/nn/functional.h"

namespace ember::nn::functional {

Tensor max_pool2d(const Tensor& x, const MaxPool2dFuncOptions& o) {
  return ember::max_pool2d(x, o.kernel_size(), Int2(o.stride()), o.padding(), o.dilation(), o.ceil_mode());
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dFuncOptions& o) {
  return ember::avg_pool2d(x, o.kernel_size(), Int2(o.stride()), o.padding(), o.ceil_mode(), o.count_include_pad());
}

namespace {
Tensor maybe_inplace(Tensor x, const Tensor& y, bool inplace) {
  if (!inplace) return y;
  x.copy_(y);
  return x;
}
}  // namespace

Tensor dropout(const Tensor& x, const DropoutFuncOptions& o) {
  return maybe_inplace(x, ember::dropout(x, o.p(), o.training()), o.inplace());
}

Tensor dropout2d(const Tensor& x, const Dropout2dFuncOptions& o) {
  return maybe_inplace(x, ember::dropout2d(x, o.p(), o.training()), o.inplace());
}

Tensor normalize(const Tensor& x, const NormalizeFuncOptions& o) {
  return x / clamp(linalg::vector_norm(x, o.p(), {o.dim()}, true), o.eps(), std::nullopt);
}

}  // namespace ember::nn::functional
