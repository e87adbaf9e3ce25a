#include "ember/ops/onednn/context.h"

#include <iterator>
#include <list>
#include <mutex>
#include <utility>

#include <fmt/ranges.h>

#include "ember/core/parallel.h"

namespace ember::onednn {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// One per thread: oneDNN's streams are not meant to be shared by threads that
// execute at once (threads running one model call into oneDNN concurrently).
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

namespace {
dims to_dims(const Shape& s) { return dims(s.begin(), s.end()); }

// Least recently used first in `order`; each entry finds its place in it
// through `where`, so a hit moves it to the back in O(1).
struct Cache {
  std::mutex mu;
  std::list<std::string> order;
  struct Entry {
    std::shared_ptr<const Cached> value;
    std::list<std::string>::iterator where;
  };
  std::unordered_map<std::string, Entry> entries;
  std::size_t capacity = 1024;  // shapes seen by one program are few; this is a backstop
  std::size_t misses = 0;
};
Cache& the_cache() {
  static Cache c;
  return c;
}
}  // namespace

dnnl::memory::desc plain_desc(const Shape& sizes, const Shape& strides) {
  return dnnl::memory::desc(to_dims(sizes), dnnl::memory::data_type::f32, to_dims(strides));
}

dnnl::memory::desc plain_desc(const Tensor& t) { return plain_desc(t.sizes(), t.strides()); }

dnnl::memory::desc tagged_desc(const Shape& sizes, dnnl::memory::format_tag tag) {
  return dnnl::memory::desc(to_dims(sizes), dnnl::memory::data_type::f32, tag);
}

dnnl::memory wrap(const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, engine(), t.raw_data());
}

CachedRef cached(const std::string& key, const std::function<Cached()>& build) {
  Cache& c = the_cache();
  const std::string full = fmt::format("{}|threads={}", key, detail::threads_for_call());
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (auto it = c.entries.find(full); it != c.entries.end()) {
      c.order.splice(c.order.end(), c.order, it->second.where);
      return CachedRef(it->second.value);
    }
  }
  auto entry = std::make_shared<const Cached>(build());
  std::lock_guard<std::mutex> lock(c.mu);
  ++c.misses;
  if (auto it = c.entries.find(full); it != c.entries.end()) return CachedRef(it->second.value);  // built meanwhile
  // Evicting never invalidates a caller's CachedRef (it shares ownership).
  while (!c.entries.empty() && c.entries.size() >= c.capacity) {
    c.entries.erase(c.order.front());
    c.order.pop_front();
  }
  c.order.push_back(full);
  auto it = c.entries.emplace(full, Cache::Entry{std::move(entry), std::prev(c.order.end())}).first;
  return CachedRef(it->second.value);
}

void clear_cache() {
  std::lock_guard<std::mutex> lock(the_cache().mu);
  the_cache().entries.clear();
  the_cache().order.clear();
}

std::size_t cache_misses() {
  std::lock_guard<std::mutex> lock(the_cache().mu);
  return the_cache().misses;
}

std::size_t set_cache_capacity(std::size_t n) {
  EMBER_CHECK(n >= 1, "set_primitive_cache_capacity: expected at least 1 entry, got {}", n);
  std::lock_guard<std::mutex> lock(the_cache().mu);
  return std::exchange(the_cache().capacity, n);
}

std::size_t cache_size() {
  std::lock_guard<std::mutex> lock(the_cache().mu);
  return the_cache().entries.size();
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void execute(const Cached& c, std::unordered_map<int, dnnl::memory> args) {
  const dnnl::memory::desc sd = c.pd.query_md(dnnl::query::scratchpad_md);
  Tensor scratch;
  if (sd.get_size() > 0) {
    scratch = empty({static_cast<std::int64_t>(sd.get_size())}, DType::UInt8);
    args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(sd, engine(), scratch.raw_data()));
  }
  c.primitive.execute(stream(), args);
  stream().wait();
}

dnnl::memory to_layout(const dnnl::memory& from, const dnnl::memory::desc& to, Tensor& keep, const std::string& key) {
  if (from.get_desc() == to) return from;
  keep = empty({static_cast<std::int64_t>((to.get_size() + sizeof(float) - 1) / sizeof(float))}, DType::Float32);
  dnnl::memory out(to, engine(), keep.raw_data());
  reorder(from, out, key);
  return out;
}

void reorder(const dnnl::memory& from, const dnnl::memory& to, const std::string& key) {
  const CachedRef c = cached("reorder|" + key, [&] {
    dnnl::reorder::primitive_desc pd(engine(), from.get_desc(), engine(), to.get_desc());
    return make_cached(pd);
  });
  c->primitive.execute(stream(), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
  stream().wait();
}

Output::Output(const dnnl::memory::desc& wanted, const dnnl::memory& user, std::string key)
    : user_(user), memory_(user), key_(std::move(key)) {
  if (wanted != user.get_desc()) {
    keep_ = empty({static_cast<std::int64_t>((wanted.get_size() + sizeof(float) - 1) / sizeof(float))}, DType::Float32);
    memory_ = dnnl::memory(wanted, engine(), keep_.raw_data());
  }
}

void Output::finish() const {
  if (memory_ != user_) reorder(memory_, user_, key_);
}

void DnnlLayout::to_plain(const void* src, void* dst) const {
  reorder(dnnl::memory(md_, engine(), const_cast<void*>(src)), dnnl::memory(plain_, engine(), dst),
          "to_plain|" + md_key(md_) + "|" + md_key(plain_));
}

bool DnnlLayout::same_as(const OpaqueLayout& other) const {
  const auto* o = dynamic_cast<const DnnlLayout*>(&other);
  return o != nullptr && o->md_ == md_;
}

std::string md_key(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  std::string k = fmt::format("dt{}|f{}|d[{}]", static_cast<int>(d.data_type), static_cast<int>(d.format_kind),
                              fmt::join(d.dims, d.dims + d.ndims, ","));
  if (d.format_kind == dnnl_blocked) {
    const auto& b = d.format_desc.blocking;
    k += fmt::format("|s[{}]|b[{}]|i[{}]", fmt::join(b.strides, b.strides + d.ndims, ","),
                     fmt::join(b.inner_blks, b.inner_blks + b.inner_nblks, ","),
                     fmt::join(b.inner_idxs, b.inner_idxs + b.inner_nblks, ","));
  }
  return k;
}

const DnnlLayout* dnnl_layout(const std::shared_ptr<const OpaqueLayout>& layout) {
  return dynamic_cast<const DnnlLayout*>(layout.get());
}

std::optional<dnnl::memory::desc> opaque_md(const Tensor& t) {
  if (!t.defined()) return std::nullopt;
  const auto layout = t.opaque_layout();
  const DnnlLayout* d = dnnl_layout(layout);
  return d ? std::optional<dnnl::memory::desc>(d->md()) : std::nullopt;
}

dnnl::memory input_as(const Tensor& t, const dnnl::memory::desc& plain_md, const dnnl::memory::desc& wanted,
                      Tensor& keep, const std::string& key) {
  if (const auto md = opaque_md(t); md && *md == wanted) {
    keep = detail::alias(t);  // holds the blocked buffer even if another handle converts t meanwhile
    return dnnl::memory(wanted, engine(), keep.opaque_data());
  }
  const Tensor plain = t.contiguous();  // converts an opaque tensor in another layout
  if (plain_md == wanted) {
    keep = plain;
    return wrap(wanted, plain);
  }
  return to_layout(wrap(plain_md, plain), wanted, keep, key);
}

OpaqueOutput::OpaqueOutput(const dnnl::memory::desc& wanted, const dnnl::memory::desc& plain_md, const Shape& sizes,
                           std::string key)
    : plain_md_(plain_md), key_(std::move(key)) {
  const std::size_t plain_bytes = static_cast<std::size_t>(numel(sizes)) * sizeof(float);
  if (wanted == plain_md) {
    tensor_ = empty(sizes, DType::Float32);
    memory_ = wrap(wanted, tensor_);
  } else if (wanted.get_size() == plain_bytes) {
    tensor_ = make_opaque(sizes, DType::Float32, make_storage(plain_bytes), std::make_shared<DnnlLayout>(wanted, plain_md));
    memory_ = dnnl::memory(wanted, engine(), tensor_.opaque_data());
  } else {  // a padded layout: write it aside and reorder
    tensor_ = empty(sizes, DType::Float32);
    temp_ = empty({static_cast<std::int64_t>((wanted.get_size() + sizeof(float) - 1) / sizeof(float))}, DType::Float32);
    memory_ = dnnl::memory(wanted, engine(), temp_.raw_data());
  }
}

Tensor OpaqueOutput::finish() const {
  if (temp_.defined()) reorder(memory_, wrap(plain_md_, tensor_), key_);
  return tensor_;
}

std::string key_of(const Tensor& t) {
  return fmt::format("[{}]/[{}]", fmt::join(t.sizes(), ","), fmt::join(t.strides(), ","));
}

}  // namespace ember::onednn
