// Copies and dtype conversion: clone, to, contiguous, and the copy kernel.
#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace kernels {

void copy_into(const Tensor& dst, const Tensor& src) {
  EMBER_CHECK(is_expandable_to(src.sizes(), dst.sizes()), "copy_: source of shape {} cannot be broadcast to {}",
              shape_str(src.sizes()), shape_str(dst.sizes()));
  dispatch(dst.dtype(), [&](auto dtag) {
    using D = typename decltype(dtag)::type;
    dispatch(src.dtype(), [&](auto stag) {
      using S = typename decltype(stag)::type;
      map_to<D, S>(dst, [](S v) { return static_cast<D>(v); }, src);
    });
  });
}

Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x.detach();
  Tensor out = empty(x.sizes(), dtype);
  copy_into(out, x);
  return out;
}

}  // namespace kernels

Tensor clone(const Tensor& x) {
  kernels::check_defined(x, "clone");
  Tensor out = empty(x.sizes(), x.dtype());
  kernels::copy_into(out, x);
  autograd::record("CloneBackward", {x}, {out}, {},
                   [](const BackwardCtx&, const TensorList& g) { return TensorList{g[0]}; });
  return out;
}

Tensor to(const Tensor& x, DType dtype) {
  kernels::check_defined(x, "to");
  if (x.dtype() == dtype) return x;
  Tensor out = empty(x.sizes(), dtype);
  kernels::copy_into(out, x);
  const DType from = x.dtype();
  autograd::record("ToCopyBackward", {x}, {out}, {}, [from](const BackwardCtx&, const TensorList& g) {
    return TensorList{g[0].to(from)};
  });
  return out;
}

Tensor Tensor::clone() const { return ember::clone(*this); }
Tensor Tensor::to(DType dtype) const { return ember::to(*this, dtype); }
Tensor Tensor::contiguous() const { return is_contiguous() ? *this : ember::clone(*this); }

}  // namespace ember
