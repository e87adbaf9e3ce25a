#include "ember/core/tensor.h"

#include <mutex>

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

namespace {
// Guards every TensorImpl::opaque and OpaqueState::plain: conversions are
// rare (once per opaque tensor), so one lock for all of them is enough.
std::mutex& opaque_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

void Tensor::make_plain() const {
  TensorImpl& me = impl();
  if (!me.opaque_pending.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(opaque_mutex());
  if (!me.opaque) return;  // another thread converted this handle meanwhile
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
  me.opaque_pending.store(false, std::memory_order_release);
}

std::shared_ptr<const OpaqueLayout> Tensor::opaque_layout() const {
  const TensorImpl& me = impl();
  if (!me.opaque_pending.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard<std::mutex> lock(opaque_mutex());
  return me.opaque && !me.opaque->plain ? me.opaque->layout : nullptr;
}

void* Tensor::opaque_data() const {
  const TensorImpl& me = impl();
  std::lock_guard<std::mutex> lock(opaque_mutex());
  EMBER_CHECK(me.opaque && !me.opaque->plain, "opaque_data: the tensor is not in an opaque layout");
  return me.storage->data();
}

Tensor make_opaque(Shape sizes, DType dtype, Storage storage, std::shared_ptr<const OpaqueLayout> layout) {
  EMBER_CHECK(storage != nullptr && layout != nullptr, "make_opaque: needs a storage and a layout");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->opaque = std::make_shared<OpaqueState>();
  impl->opaque->layout = std::move(layout);
  impl->opaque_pending.store(true, std::memory_order_release);
  impl->strides = contiguous_strides(sizes);
  impl->sizes = std::move(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

void Tensor::set_data(const Tensor& data) const {
  EMBER_CHECK(data.defined(), "set_data: got an undefined tensor");
  data.make_plain();
  make_plain();  // drops this handle's opaque state under the lock
  TensorImpl& me = impl();
  const TensorImpl& src = data.impl();
  me.storage = src.storage;
  me.sizes = src.sizes;
  me.strides = src.strides;
  me.offset = src.offset;
  me.dtype = src.dtype;
  me.version = src.version;
}

bool Tensor::shares_storage(const Tensor& other) const {
  if (!defined() || !other.defined()) return false;
  // An alias still holding the blocked buffer after another alias converted
  // will read the converted storage: compare what each will read.
  auto reads = [](const TensorImpl& t) -> const StorageImpl* {
    return t.opaque && t.opaque->plain ? t.opaque->plain.get() : t.storage.get();
  };
  std::lock_guard<std::mutex> lock(opaque_mutex());
  return reads(impl()) == reads(other.impl());
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

Tensor from_blob(void* data, Shape shape, DType dtype, std::function<void()> release) {
  for (auto s : shape) EMBER_CHECK(s >= 0, "from_blob: negative dimension in shape {}", shape_str(shape));
  const std::size_t nbytes = static_cast<std::size_t>(numel(shape)) * itemsize(dtype);
  EMBER_CHECK(data != nullptr || nbytes == 0, "from_blob: null data for shape {}", shape_str(shape));
  EMBER_CHECK(reinterpret_cast<std::uintptr_t>(data) % itemsize(dtype) == 0,
              "from_blob: data at {} is not aligned for {}", data, dtype);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<StorageImpl>(data, nbytes, std::move(release));
  impl->strides = contiguous_strides(shape);
  impl->sizes = std::move(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

namespace detail {

Tensor alias(const Tensor& t) {
  const TensorImpl& src = t.impl();
  auto impl = std::make_shared<TensorImpl>();
  std::unique_lock<std::mutex> lock(opaque_mutex(), std::defer_lock);
  if (src.opaque_pending.load(std::memory_order_acquire)) lock.lock();
  impl->storage = src.storage;
  impl->opaque = src.opaque;
  impl->opaque_pending.store(src.opaque != nullptr, std::memory_order_release);
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
