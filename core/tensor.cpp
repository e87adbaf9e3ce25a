#include "ember/core/tensor.h"

namespace ember {

std::int64_t Tensor::size(std::int64_t d) const {
  EMBER_CHECK(dim() > 0, "size: dimension specified as {} but tensor has no dimensions", d);
  return sizes()[wrap_dim(d, dim(), "size")];
}

std::int64_t Tensor::stride(std::int64_t d) const {
  EMBER_CHECK(dim() > 0, "stride: dimension specified as {} but tensor has no dimensions", d);
  return strides()[wrap_dim(d, dim(), "stride")];
}

bool Tensor::is_contiguous() const {
  const auto& sz = sizes();
  const auto& st = strides();
  std::int64_t expected = 1;
  for (std::size_t i = sz.size(); i-- > 0;) {
    if (sz[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (st[i] != expected) return numel() == 0;
    expected *= sz[i];
  }
  return true;
}

void Tensor::make_plain() const {
  TensorImpl& me = impl();
  if (!me.opaque) return;
  OpaqueState& st = *me.opaque;
  if (!st.plain) {
    Storage plain = make_storage(static_cast<std::size_t>(numel()) * itemsize(me.dtype));
    st.layout->to_plain(me.storage->data(), plain->data());
    st.plain = std::move(plain);
  }
  me.storage = st.plain;
  me.strides = contiguous_strides(me.sizes);
  me.offset = 0;
  me.opaque.reset();
}

Tensor make_opaque(Shape sizes, DType dtype, Storage storage, std::shared_ptr<const OpaqueLayout> layout) {
  EMBER_CHECK(storage != nullptr && layout != nullptr, "make_opaque: needs a storage and a layout");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->opaque = std::make_shared<OpaqueState>();
  impl->opaque->layout = std::move(layout);
  impl->strides = contiguous_strides(sizes);
  impl->sizes = std::move(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

void Tensor::set_data(const Tensor& data) const {
  EMBER_CHECK(data.defined(), "set_data: got an undefined tensor");
  data.make_plain();
  TensorImpl& me = impl();
  const TensorImpl& src = data.impl();
  me.opaque.reset();
  me.storage = src.storage;
  me.sizes = src.sizes;
  me.strides = src.strides;
  me.offset = src.offset;
  me.dtype = src.dtype;
  me.version = src.version;
}

bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && impl().storage == other.impl().storage;
}

Tensor empty(Shape shape, DType dtype) {
  for (auto s : shape) EMBER_CHECK(s >= 0, "empty: negative dimension in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = make_storage(static_cast<std::size_t>(numel(shape)) * itemsize(dtype));
  impl->strides = contiguous_strides(shape);
  impl->sizes = std::move(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

namespace detail {

Tensor alias(const Tensor& t) {
  const TensorImpl& src = t.impl();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage;
  impl->opaque = src.opaque;
  impl->sizes = src.sizes;
  impl->strides = src.strides;
  impl->offset = src.offset;
  impl->dtype = src.dtype;
  impl->version = src.version;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.plain_impl().storage;  // a view of an opaque tensor views its plain form
  impl->version = base.impl().version;
  impl->dtype = base.dtype();
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(std::move(impl));
}

std::int64_t element_offset(const Tensor& t, const std::int64_t* index) {
  std::int64_t off = t.storage_offset();
  for (std::int64_t d = 0; d < t.dim(); ++d) off += index[d] * t.strides()[d];
  return off;
}

std::vector<std::int64_t> element_offsets(const Tensor& t) {
  const std::int64_t n = t.numel();
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(n));
  std::vector<std::int64_t> idx(t.sizes().size(), 0);
  std::int64_t off = t.storage_offset();
  for (std::int64_t i = 0; i < n; ++i) {
    out.push_back(off);
    for (std::size_t d = idx.size(); d-- > 0;) {  // odometer increment
      off += t.strides()[d];
      if (++idx[d] < t.sizes()[d]) break;
      off -= t.strides()[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

}  // namespace detail
}  // namespace ember
