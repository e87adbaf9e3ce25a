#pragma once
/// Tensor: a cheap, shared handle to a TensorImpl (storage + sizes + strides +
/// offset + dtype). Copying a Tensor copies the handle, not the data: two
/// handles see the same elements. Use clone() for a deep copy.
///
/// The core knows nothing of autograd: a TensorImpl carries an opaque pointer
/// that autograd/ fills in. The method declarations below are the user-facing
/// API; core/ defines the data accessors, ops/ the operations and autograd/
/// the gradient methods (as PyTorch's TensorBody does).
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/error.h"
#include "ember/core/half.h"
#include "ember/core/shape.h"
#include "ember/core/storage.h"

namespace ember {

namespace autograd {
struct AutogradMeta;  // defined in autograd/meta.h
class Node;
}  // namespace autograd

/// Counts in-place modifications; shared by a tensor and all its views so that
/// autograd can tell when a tensor it saved has changed underneath it.
// Atomic: threads that share a tensor (a model's parameter, a .grad that
// concurrent backward passes add into) may bump and read it at once.
struct VersionCounter {
  std::atomic<std::uint32_t> value{0};
};

/// A physical arrangement other than strided, such as oneDNN's channel-blocked
/// formats (ops/onednn keeps convolution activations in them between oneDNN
/// ops). Core knows only this interface. Layout-aware kernels read the buffer
/// as it is (Tensor::opaque_data); everything else sees a plain tensor,
/// because the data accessors convert it in place first (Tensor::make_plain).
struct OpaqueLayout {
  virtual ~OpaqueLayout() = default;
  /// Writes the elements of `src` (in this layout) to `dst` in contiguous row-major order.
  virtual void to_plain(const void* src, void* dst) const = 0;
  /// True when `other` arranges the elements the same way (raw buffers then match element for element).
  virtual bool same_as(const OpaqueLayout& other) const = 0;
};

/// Shared by an opaque tensor and its aliases (detach(), saved tensors): the
/// first alias to need plain data converts once and the others adopt the
/// result, so all of them keep seeing one set of elements.
struct OpaqueState {
  std::shared_ptr<const OpaqueLayout> layout;
  Storage plain;  // set once converted
};

struct TensorImpl {
  Storage storage;
  /// Non-null while the storage holds the elements in an opaque layout (or
  /// until this alias adopts the converted plain storage); strides are then
  /// the contiguous ones, offset is 0, and neither describes the storage.
  /// Written under a process-wide mutex (so tensors may still be read from
  /// several threads); `opaque_pending` mirrors `opaque != nullptr` for the
  /// lock-free check every data access makes.
  std::shared_ptr<OpaqueState> opaque;
  std::atomic<bool> opaque_pending{false};
  Shape sizes;
  Shape strides;  // in elements
  std::int64_t offset = 0;  // in elements
  DType dtype = kDefaultDType;
  std::shared_ptr<VersionCounter> version = std::make_shared<VersionCounter>();
  std::shared_ptr<autograd::AutogradMeta> autograd;  // null until autograd needs it
};

class Tensor;
using TensorList = std::vector<Tensor>;

class Tensor {
 public:
  /// An undefined tensor (no storage); defined() is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata (core) ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const { return impl().sizes; }
  const Shape& shape() const { return impl().sizes; }
  const Shape& strides() const { return plain_impl().strides; }
  std::int64_t size(std::int64_t dim) const;
  std::int64_t stride(std::int64_t dim) const;
  std::int64_t dim() const { return static_cast<std::int64_t>(impl().sizes.size()); }
  std::int64_t numel() const { return ember::numel(impl().sizes); }
  DType dtype() const { return impl().dtype; }
  std::int64_t storage_offset() const { return plain_impl().offset; }
  bool is_contiguous() const;
  bool is_floating_point() const { return is_floating(dtype()); }
  /// The version counter value, bumped by every in-place op on this tensor or its views.
  std::uint32_t version() const { return impl().version->value.load(std::memory_order_relaxed); }
  void bump_version() const { impl().version->value.fetch_add(1, std::memory_order_relaxed); }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  /// Makes this tensor (and every handle to it) hold `data`'s storage, geometry
  /// and dtype, keeping its autograd state: PyTorch's `t.data = data`, used to
  /// convert a module's parameters in place.
  void set_data(const Tensor& data) const;
  /// True when both tensors view the same storage.
  bool shares_storage(const Tensor& other) const;

  /// Typed pointer to the first element (after the storage offset). Checks the dtype.
  template <class T>
  T* data_ptr() const {
    EMBER_CHECK(dtype_of_v<T> == dtype(), "data_ptr: tensor has dtype {}, requested {}",
                dtype(), dtype_of_v<T>);
    const TensorImpl& me = plain_impl();
    return static_cast<T*>(me.storage->data()) + me.offset;
  }
  void* raw_data() const {
    const TensorImpl& me = plain_impl();
    return static_cast<char*>(me.storage->data()) + me.offset * itemsize(dtype());
  }

  // ---- opaque layouts (see OpaqueLayout) ----
  bool is_opaque() const { return opaque_layout() != nullptr; }
  /// The layout of an opaque tensor (null for a plain one).
  std::shared_ptr<const OpaqueLayout> opaque_layout() const;
  /// An opaque tensor's bytes as they are, without conversion. The buffer
  /// lives as long as a handle to it: hold the tensor, or detail::alias(t),
  /// while using it.
  void* opaque_data() const;
  /// Converts an opaque tensor to contiguous row-major in place (every handle
  /// sees the change; values and version stay); a no-op for plain tensors.
  void make_plain() const;

  /// The value of a one-element tensor, converted to T.
  template <class T>
  T item() const;
  /// The element at a full index, converted to T (negative indices count from the end).
  template <class T>
  T at(std::initializer_list<std::int64_t> index) const;
  /// Copies all elements (in logical row-major order) into a vector of T.
  template <class T>
  std::vector<T> to_vector() const;

  TensorImpl& impl() const {
    EMBER_CHECK(impl_ != nullptr, "tensor: operation on an undefined tensor");
    return *impl_;
  }
  /// impl() after make_plain(): what every accessor of strides, offset or data uses.
  TensorImpl& plain_impl() const {
    TensorImpl& me = impl();
    if (me.opaque_pending.load(std::memory_order_acquire)) make_plain();
    return me;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- views (ops/view.cpp); differentiable, share storage ----
  Tensor view(Shape shape) const;
  Tensor reshape(Shape shape) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  /// Transpose of a tensor of at most 2 dims.
  Tensor t() const;
  /// Transpose of the last two dims (PyTorch's `mT`).
  Tensor mT() const;
  Tensor permute(Shape dims) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor expand(Shape shape) const;
  Tensor expand_as(const Tensor& other) const;
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// Elements start, start+step, ... below end along dim (Python's t[start:end:step]).
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end,
               std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor operator[](std::int64_t index) const { return select(0, index); }
  /// This tensor if already contiguous, otherwise a contiguous copy.
  Tensor contiguous() const;

  // ---- copies and conversions (ops/) ----
  Tensor clone() const;
  Tensor to(DType dtype) const;
  /// The CPU, Ember's one device; to(device) returns this tensor (LibTorch's spelling).
  Device device() const { return Device(kCPU); }
  Tensor to(const Device&) const { return *this; }

  // ---- math (ops/); see ops/ops.h for the full list as free functions ----
  Tensor sum() const;
  Tensor sum(Shape dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(Shape dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  Tensor argmax(std::int64_t dim, bool keepdim = false) const;
  // LibTorch's method spellings of ops/ops.h's free functions (ops/tensor_methods.cpp).
  // (Templates, so that a braced list such as sum({0}) still means the Shape overload.)
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Tensor sum(I dim, bool keepdim = false) const { return sum(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Tensor mean(I dim, bool keepdim = false) const { return mean(Shape{static_cast<std::int64_t>(dim)}, keepdim); }
  /// (values, indices) along dim, as LibTorch's tuple: auto [v, i] = x.max(1), std::get<1>(x.max(1)).
  std::tuple<Tensor, Tensor> max(std::int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> min(std::int64_t dim, bool keepdim = false) const;
  Tensor argmin(std::int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> topk(std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true) const;
  /// Elementwise comparisons, bool results (broadcasting).
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor le(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor ge(const Tensor& other) const;
  Tensor eq(double other) const;
  Tensor ne(double other) const;
  Tensor lt(double other) const;
  Tensor le(double other) const;
  Tensor gt(double other) const;
  Tensor ge(double other) const;
  Tensor clamp(std::optional<double> min, std::optional<double> max = std::nullopt) const;
  Tensor masked_fill(const Tensor& mask, double value) const;
  Tensor masked_fill(const Tensor& mask, const Tensor& value) const;
  Tensor index_select(std::int64_t dim, const Tensor& index) const;
  /// 2-d matrix product (matmul without broadcasting).
  Tensor mm(const Tensor& other) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor neg() const;
  Tensor pow(double exponent) const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor matmul(const Tensor& other) const;
  Tensor gather(std::int64_t dim, const Tensor& index) const;
  Tensor softmax(std::int64_t dim) const;
  Tensor log_softmax(std::int64_t dim) const;

  // ---- in-place (ops/inplace.cpp); bump the version counter ----
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& div_(double value);
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);
  Tensor& uniform_(double from = 0.0, double to = 1.0);
  Tensor& normal_(double mean = 0.0, double std = 1.0);
  Tensor& masked_fill_(const Tensor& mask, double value);
  Tensor& clamp_(std::optional<double> min, std::optional<double> max = std::nullopt);

  // ---- autograd (autograd/) ----
  bool requires_grad() const;
  /// Marks a floating-point leaf as needing a gradient; returns *this.
  Tensor& requires_grad_(bool requires_grad = true);
  /// The gradient accumulated into this leaf by backward() (undefined before),
  /// or into a non-leaf that called retain_grad().
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  /// Makes backward() keep this non-leaf's gradient in grad() too, as leaves do
  /// (a no-op on leaves). Call it before backward.
  void retain_grad() const;
  bool retains_grad() const;
  /// The node that made this tensor (null for leaves and tensors without history).
  std::shared_ptr<autograd::Node> grad_fn() const;
  bool is_leaf() const;
  /// Index of this tensor among the outputs of grad_fn().
  std::uint32_t output_nr() const;
  /// A tensor sharing this one's data with no history and requires_grad false.
  Tensor detach() const;
  /// Runs reverse-mode autodiff from this tensor, accumulating into leaves' grad().
  /// `gradient` may be omitted for one-element tensors. retain_graph defaults to create_graph.
  void backward(const Tensor& gradient = {}, std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

namespace detail {
/// A new tensor on `base`'s storage (and version counter) with the given geometry;
/// no autograd history. Ops build differentiable views on top of this.
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);
/// Offset in elements of a full index (already wrapped) within the storage.
std::int64_t element_offset(const Tensor& t, const std::int64_t* index);
/// Reads the element at storage offset `off` of `t`, converted to T.
template <class T>
T read_as(const Tensor& t, std::int64_t off) {
  if (is_storage_only(t.dtype())) {
    const std::uint16_t bits = static_cast<const std::uint16_t*>(t.plain_impl().storage->data())[off];
    return static_cast<T>(t.dtype() == DType::Float16 ? half_to_float(Half{bits}) : bfloat16_to_float(BFloat16{bits}));
  }
  return dispatch(t.dtype(), [&](auto tag) {
    using S = typename decltype(tag)::type;
    return static_cast<T>(static_cast<const S*>(t.plain_impl().storage->data())[off]);
  });
}
/// A new handle to t's elements with its own autograd state (detach, saved
/// tensors); unlike a view it keeps an opaque tensor opaque.
Tensor alias(const Tensor& t);
/// Storage offsets of every element of `t`, in logical row-major order.
std::vector<std::int64_t> element_offsets(const Tensor& t);
}  // namespace detail

/// An uninitialised contiguous tensor.
Tensor empty(Shape shape, DType dtype = kDefaultDType);
/// A contiguous tensor over memory Ember does not own (PyTorch's from_blob):
/// `data` must hold numel(shape) elements, aligned for `dtype`, until
/// `release` runs, which happens when the last tensor viewing it is gone.
Tensor from_blob(void* data, Shape shape, DType dtype, std::function<void()> release = {});
/// A tensor of logical shape `sizes` whose `storage` holds its elements in `layout`.
Tensor make_opaque(Shape sizes, DType dtype, Storage storage, std::shared_ptr<const OpaqueLayout> layout);

// ---- template definitions ----
template <class T>
T Tensor::item() const {
  EMBER_CHECK(numel() == 1, "item: tensor with {} elements (shape {}) cannot be converted to a scalar",
              numel(), shape_str(sizes()));
  return detail::read_as<T>(*this, storage_offset());
}

template <class T>
T Tensor::at(std::initializer_list<std::int64_t> index) const {
  EMBER_CHECK(static_cast<std::int64_t>(index.size()) == dim(),
              "at: index of length {} for a tensor of shape {}", index.size(), shape_str(sizes()));
  std::vector<std::int64_t> idx(index);
  for (std::size_t d = 0; d < idx.size(); ++d) {
    const std::int64_t n = sizes()[d];
    EMBER_CHECK(idx[d] >= -n && idx[d] < n, "at: index {} out of range for dim {} of size {}",
                idx[d], d, n);
    if (idx[d] < 0) idx[d] += n;
  }
  return detail::read_as<T>(*this, detail::element_offset(*this, idx.data()));
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(numel()));
  for (auto off : detail::element_offsets(*this)) out.push_back(detail::read_as<T>(*this, off));
  return out;
}

}  // namespace ember
