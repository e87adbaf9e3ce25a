// Copies and dtype conversion: clone, to, contiguous, and the copy kernel.
#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace kernels {

namespace {
// Same 16-bit dtype: the bits as they are, src broadcast to dst's shape.
void copy_into_same16(const Tensor& dst, const Tensor& src) {
  const auto* ps = static_cast<const std::uint16_t*>(src.plain_impl().storage->data());
  auto* pd = static_cast<std::uint16_t*>(dst.plain_impl().storage->data());
  std::vector<std::int64_t> so;
  if (src.sizes() == dst.sizes()) {
    so = ember::detail::element_offsets(src);
  } else {  // broadcast: walk dst's shape with src's strides (0 on broadcast dims)
    Shape st(dst.sizes().size(), 0);
    const std::size_t lead = dst.sizes().size() - src.sizes().size();
    for (std::size_t d = 0; d < src.sizes().size(); ++d)
      st[lead + d] = src.sizes()[d] == 1 ? 0 : src.strides()[d];
    so = ember::detail::element_offsets(ember::detail::make_view(src, dst.sizes(), st, src.storage_offset()));
  }
  const auto dof = ember::detail::element_offsets(dst);
  for (std::size_t i = 0; i < dof.size(); ++i) pd[dof[i]] = ps[so[i]];
}

// float16 / bfloat16 <-> float32, element by element in logical order (issue 10).
void halves_to_float(const Tensor& dst, const Tensor& src) {  // dst: contiguous float32 of src's shape
  const auto* ps = static_cast<const std::uint16_t*>(src.plain_impl().storage->data());
  float* pd = dst.data_ptr<float>();
  const bool f16 = src.dtype() == DType::Float16;
  std::size_t i = 0;
  for (auto off : ember::detail::element_offsets(src))
    pd[i++] = f16 ? half_to_float(Half{ps[off]}) : bfloat16_to_float(BFloat16{ps[off]});
}
void float_to_halves(const Tensor& dst, const Tensor& src) {  // src: contiguous float32 of dst's shape
  auto* pd = static_cast<std::uint16_t*>(dst.plain_impl().storage->data());
  const float* ps = src.data_ptr<float>();
  const bool f16 = dst.dtype() == DType::Float16;
  std::size_t i = 0;
  for (auto off : ember::detail::element_offsets(dst)) {
    const float v = ps[i++];
    pd[off] = f16 ? float_to_half(v).bits : float_to_bfloat16(v).bits;
  }
}
}  // namespace

void copy_into(const Tensor& dst, const Tensor& src) {
  EMBER_CHECK(is_expandable_to(src.sizes(), dst.sizes()), "copy_: source of shape {} cannot be broadcast to {}",
              shape_str(src.sizes()), shape_str(dst.sizes()));
  if (src.dtype() == dst.dtype() && is_storage_only(src.dtype())) {
    copy_into_same16(dst, src);
    return;
  }
  if (is_storage_only(src.dtype())) {  // through float32
    Tensor f = empty(src.sizes(), DType::Float32);
    halves_to_float(f, src);
    copy_into(dst, f);
    return;
  }
  if (is_storage_only(dst.dtype())) {
    Tensor f = empty(dst.sizes(), DType::Float32);
    copy_into(f, src);
    float_to_halves(dst, f);
    return;
  }
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
