#pragma once
/// The matrix-product kernel behind matmul and linear (no autograd).
#include "ember/core/tensor.h"

namespace ember::kernels {

/// Batched matrix product without history: a: [..., n, k], b: [..., k, m], batch
/// dims broadcast. float32 runs on oneDNN, anything else on the reference loops.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace ember::kernels
