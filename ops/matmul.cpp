// matmul: PyTorch's semantics (dot, mv, mm, batched with broadcasting) on a
// plain reference kernel. The backward is matmuls of the same kind; the engine
// sums a broadcast batch gradient back to each operand's shape.
#include "ember/autograd/function.h"
#include "ember/ops/dnnl/onednn.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// c[b] = a[b] @ b[b] for a: [..., n, k], b: [..., k, m] with broadcast batch dims:
// the reference kernel (plain loops, i-k-j order).
Tensor reference_mm(const Tensor& a, const Tensor& b) {
  const std::int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  const Shape a_batch(a.sizes().begin(), a.sizes().end() - 2), b_batch(b.sizes().begin(), b.sizes().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(n);
  out_shape.push_back(m);
  const DType dt = promote_types(a.dtype(), b.dtype());
  Tensor ac = kernels::cast(a, dt).contiguous(), bc = kernels::cast(b, dt).contiguous();
  Tensor out = zeros(out_shape, dt);
  // Batch offsets of each operand, in elements, with stride 0 along broadcast dims.
  const Shape a_bs = broadcast_strides(a_batch, Shape(ac.strides().begin(), ac.strides().end() - 2), batch);
  const Shape b_bs = broadcast_strides(b_batch, Shape(bc.strides().begin(), bc.strides().end() - 2), batch);
  const std::int64_t nbatch = numel(batch);
  dispatch(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = ac.data_ptr<T>();
    const T* pb = bc.data_ptr<T>();
    T* pc = out.data_ptr<T>();
    parallel_for(0, nbatch * n, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, k * m)),
                 [&](std::int64_t rb, std::int64_t re) {
      for (std::int64_t r = rb; r < re; ++r) {
        const std::int64_t bi = r / n, i = r % n;
        std::int64_t ao = 0, bo = 0, rem = bi;
        for (std::size_t d = batch.size(); d-- > 0;) {
          ao += (rem % batch[d]) * a_bs[d];
          bo += (rem % batch[d]) * b_bs[d];
          rem /= batch[d];
        }
        const T* arow = pa + ao + i * k;
        T* crow = pc + r * m;
        for (std::int64_t kk = 0; kk < k; ++kk) {  // i-k-j order: unit stride in b and c
          const T av = arow[kk];
          const T* brow = pb + bo + kk * m;
          for (std::int64_t j = 0; j < m; ++j) crow[j] += av * brow[j];
        }
      }
    });
  });
  return out;
}

}  // namespace

Tensor kernels::matmul(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 || b.numel() == 0 || a.dtype() != DType::Float32) return reference_mm(a, b);
  return onednn::matmul(a, b);
}

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
