#pragma once
// The oneDNN layer's shared machinery (internal to ops/onednn/): one engine per process and one
// stream per thread, Ember's own primitive cache, memory descriptors for
// Ember tensors, and the boundary that turns dnnl::error into ember::Error.
#include <oneapi/dnnl/dnnl.hpp>

#include <any>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "ember/core/tensor.h"

namespace ember::onednn {

dnnl::engine& engine();
dnnl::stream& stream();

using dims = dnnl::memory::dims;

template <class PD> struct PrimitiveOf;
#define EMBER_DNNL_PRIMITIVE(P) \
  template <> struct PrimitiveOf<P::primitive_desc> { using type = P; };
EMBER_DNNL_PRIMITIVE(dnnl::matmul)
EMBER_DNNL_PRIMITIVE(dnnl::reorder)
EMBER_DNNL_PRIMITIVE(dnnl::convolution_forward)
EMBER_DNNL_PRIMITIVE(dnnl::convolution_backward_data)
EMBER_DNNL_PRIMITIVE(dnnl::convolution_backward_weights)
EMBER_DNNL_PRIMITIVE(dnnl::pooling_v2_forward)
EMBER_DNNL_PRIMITIVE(dnnl::pooling_v2_backward)
EMBER_DNNL_PRIMITIVE(dnnl::batch_normalization_forward)
EMBER_DNNL_PRIMITIVE(dnnl::batch_normalization_backward)
#undef EMBER_DNNL_PRIMITIVE

/// A plain (strided) f32 descriptor with t's dims and strides.
dnnl::memory::desc plain_desc(const Tensor& t);
dnnl::memory::desc plain_desc(const Shape& sizes, const Shape& strides);
/// A descriptor with the given dims in a named plain layout (nchw, oihw, ...).
dnnl::memory::desc tagged_desc(const Shape& sizes, dnnl::memory::format_tag tag);
/// A oneDNN memory over t's data (no copy).
dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t);

/// One cached primitive with its descriptor (also kept with its own type, for queries).
struct Cached {
  dnnl::primitive primitive;
  dnnl::primitive_desc_base pd;
  std::any typed_pd;
};

template <class PD>
Cached make_cached(const PD& pd) {
  return Cached{typename PrimitiveOf<PD>::type(pd), pd, pd};
}

/// The cached descriptor as its own type.
template <class PD>
const PD& pd_as(const Cached& c) {
  return std::any_cast<const PD&>(c.typed_pd);
}

/// A cached primitive, kept alive by whoever uses it even if the cache drops it meanwhile.
class CachedRef {
 public:
  explicit CachedRef(std::shared_ptr<const Cached> p) : p_(std::move(p)) {}
  operator const Cached&() const { return *p_; }
  const Cached* operator->() const { return p_.get(); }

 private:
  std::shared_ptr<const Cached> p_;
};

/// The primitive stored under `key`, built by `build` on a miss. The key must
/// say everything the primitive depends on: op kind, dims, strides, dtype,
/// propagation kind, attributes (and the thread count, which oneDNN fixes at
/// creation). oneDNN 2.6 would otherwise rebuild the descriptor on every call.
CachedRef cached(const std::string& key, const std::function<Cached()>& build);

/// Drops every cached primitive (benchmarks measure the cold path with it).
void clear_cache();
std::size_t cache_size();
std::size_t cache_misses();
std::size_t set_cache_capacity(std::size_t n);

/// Attributes every primitive is created with: user scratchpad mode, so
/// execute() supplies the scratchpad from Ember's allocator.
dnnl::primitive_attr user_scratchpad();

/// Runs `p` with `args` plus a scratchpad allocated through Ember's allocator
/// (user scratchpad mode: a cached primitive may then run on any thread).
void execute(const Cached& c, std::unordered_map<int, dnnl::memory> args);

/// `from` in layout `to`: itself when the layouts agree, else reordered into a
/// new buffer that `keep` holds alive. `key` names the reorder in the cache.
dnnl::memory to_layout(const dnnl::memory& from, const dnnl::memory::desc& to, Tensor& keep, const std::string& key);
/// Where a primitive writes an output whose user-facing tensor is in `user`'s
/// layout: `user` itself when the primitive wants that layout, otherwise a
/// temporary in the primitive's layout that finish() reorders into `user`.
class Output {
 public:
  Output(const dnnl::memory::desc& wanted, const dnnl::memory& user, std::string key);
  const dnnl::memory& memory() const { return memory_; }
  /// Copies the result into the user's tensor if it was written elsewhere.
  void finish() const;

 private:
  dnnl::memory user_, memory_;
  Tensor keep_;
  std::string key_;
};

/// A oneDNN blocked arrangement as an Ember OpaqueLayout: convolution and
/// max-pooling outputs stay in it (no reorder back to NCHW), the next oneDNN
/// op reads them as they are, and any other op gets NCHW by a reorder on
/// first touch (Tensor::make_plain).
class DnnlLayout final : public OpaqueLayout {
 public:
  DnnlLayout(dnnl::memory::desc blocked, dnnl::memory::desc plain) : md_(std::move(blocked)), plain_(std::move(plain)) {}
  const dnnl::memory::desc& md() const { return md_; }
  void to_plain(const void* src, void* dst) const override;
  bool same_as(const OpaqueLayout& other) const override;

 private:
  dnnl::memory::desc md_, plain_;
};

/// A cache-key fragment naming md's arrangement (dims, strides, blocking).
std::string md_key(const dnnl::memory::desc& md);
/// `layout` as a DnnlLayout, or null when it is none (or another kind).
const DnnlLayout* dnnl_layout(const std::shared_ptr<const OpaqueLayout>& layout);
/// t's oneDNN descriptor when t is an opaque tensor in a DnnlLayout.
std::optional<dnnl::memory::desc> opaque_md(const Tensor& t);

/// t as a primitive input in layout `wanted`: t's own buffer when it already
/// is in that layout (opaque, or plain with plain_md == wanted), else a
/// reordered copy that `keep` holds alive. `plain_md` describes t's plain form.
dnnl::memory input_as(const Tensor& t, const dnnl::memory::desc& plain_md, const dnnl::memory::desc& wanted,
                      Tensor& keep, const std::string& key);

/// An output tensor of shape `sizes` that a primitive writes in layout
/// `wanted`: plain when `wanted` is `plain_md`, opaque when it is another
/// layout of the same size (no padding), else plain written through a
/// temporary and a reorder in finish().
class OpaqueOutput {
 public:
  OpaqueOutput(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain_md, const Shape& sizes, std::string key);
  const dnnl::memory& memory() const { return memory_; }
  Tensor finish() const;

 private:
  Tensor tensor_, temp_;
  dnnl::memory memory_;
  dnnl::memory::desc plain_md_;
  std::string key_;
};

/// Copies `from` into `to` across layouts (a cached reorder primitive).
void reorder(const dnnl::memory& from, const dnnl::memory& to, const std::string& key);

/// Calls f, rethrowing a dnnl::error as ember::Error naming `op` and `what`
/// (the shapes): oneDNN's errors never reach a user as they are.
template <class F>
decltype(auto) guarded(const char* op, const std::string& what, F&& f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw Error(fmt::format("{}: oneDNN failed for {}: {}", op, what, e.what()));
  }
}

/// "[2, 3] strides [3, 1]": the part of a cache key that describes a tensor.
std::string key_of(const Tensor& t);

}  // namespace ember::onednn
