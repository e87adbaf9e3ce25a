// kernels::matmul: float32 on oneDNN, everything else on a plain reference
// kernel (i-k-j loops), batch dims broadcast.
#include "ember/ops/kernels/matmul.h"

#include "ember/core/factory.h"
#include "ember/core/parallel.h"
#include "ember/ops/onednn/onednn.h"
#include "ember/ops/kernels/elementwise.h"

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

}  // namespace ember
