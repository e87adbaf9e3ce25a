// matmul: PyTorch's semantics (dot, mv, mm, batched with broadcasting) on
// kernels::matmul. The backward is matmuls of the same kind; the engine
// sums a broadcast batch gradient back to each operand's shape.
#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/kernels/matmul.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {
// The differentiable core: both operands at least 2-d.
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::matmul(a, b);
  autograd::record("MmBackward", {a, b}, {out}, {a, b}, [](const BackwardCtx& c, const TensorList& g) {
    return TensorList{c.needs_input_grad(0) ? matmul_nd(g[0], c.saved(1).mT()) : Tensor(),
                      c.needs_input_grad(1) ? matmul_nd(c.saved(0).mT(), g[0]) : Tensor()};
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  kernels::check_defined(a, "matmul");
  kernels::check_defined(b, "matmul");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got shapes {} and {}",
              shape_str(a.sizes()), shape_str(b.sizes()));
  EMBER_CHECK(a.dtype() == b.dtype(), "matmul: expected both operands to have the same dtype, got {} and {}",
              a.dtype(), b.dtype());
  dispatch_floating(a.dtype(), "matmul", [](auto) {});
  const std::int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  EMBER_CHECK(ka == kb, "matmul: shapes {} and {} cannot be multiplied ({} != {})", shape_str(a.sizes()),
              shape_str(b.sizes()), ka, kb);
  // 1-d operands become matrices and their added dim is removed again, as in PyTorch.
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  Tensor out = matmul_nd(a2, b2);
  if (b.dim() == 1) out = out.squeeze(-1);
  if (a.dim() == 1) out = out.squeeze(a.dim() == 1 && b.dim() == 1 ? -1 : -2);
  return out;
}

Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }

}  // namespace ember
