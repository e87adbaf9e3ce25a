// The Reducer: buckets, hooks and the end-of-backward step (see ddp.h).
// Why bucket order is fixed: MPI requires every rank to start collectives in
// the same order, but ranks finish gradients in different orders when some
// parameter is unused on one of them. So bucket k starts only after buckets
// 0..k-1 have started, on every rank; a bucket that cannot fill during
// backward (an unused parameter) starts at the end of it.
// Why a used-flag per parameter rides in each bucket: it tells, for free
// within the same all-reduce, whether any rank produced a gradient, so a
// parameter no rank used keeps an undefined .grad, as in PyTorch.
// Why shared memory when every rank is on one machine: the CNN's 4.8 MB of
// gradients went through MPI as pack, send, reduce, send back and unpack;
// with the buckets in memory all ranks map, a rank sums its slice from its
// peers' buckets in one pass (shared_reduce.h). Nothing then overlaps with
// backward, but on one machine nothing did: without a progress thread MPI
// moves data only inside the calls the backward thread makes.
#include "ember/dist/ddp.h"

#include <algorithm>
#include <chrono>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/hooks.h"
#include "ember/core/factory.h"
#include "ember/core/parallel.h"
#include "ember/dist/shared_reduce.h"
#include "ember/ops/ops.h"

namespace ember::dist {
namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// FNV-1a over the names, shapes and dtypes of the parameters and buffers.
std::int64_t signature(const NamedTensors& params, const NamedTensors& buffers) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (const NamedTensors* list : {&params, &buffers})
    for (const auto& [name, t] : *list) {
      for (char c : name) mix(static_cast<unsigned char>(c));
      if (!t.defined()) { mix(0xdead); continue; }
      mix(static_cast<std::uint64_t>(t.dtype()));
      for (std::int64_t d : t.sizes()) mix(static_cast<std::uint64_t>(d));
    }
  return static_cast<std::int64_t>(h >> 1);
}
}  // namespace

struct Bucket {
  DType dtype;
  std::vector<std::size_t> params;     // indices into State::params
  std::vector<std::int64_t> offsets;   // of each parameter's gradient in buffer
  std::int64_t grad_numel = 0;         // buffer: [grad_numel gradients | one used-flag per parameter]
  Tensor buffer;
  std::size_t pending = 0;             // parameters not yet ready this pass
  bool launched = false;
  Work work;
  std::int64_t numel() const { return grad_numel + static_cast<std::int64_t>(params.size()); }
};

struct Reducer::State {
  TensorList params;
  std::vector<std::string> names;
  std::vector<std::size_t> bucket_of;
  std::vector<char> ready;  // per parameter, this pass
  std::vector<char> used;   // per parameter: got a gradient since the last synchronised pass (no_sync passes too)
  std::vector<Bucket> buckets;
  std::vector<std::uint64_t> hook_ids;
  DistributedDataParallelOptions options;
  std::unique_ptr<detail::SharedReduce> shared;  // set: the buckets are its buffers
  bool sync = true;             // Reducer::set_sync
  bool armed = false;           // prepare_forward ran since the last pass
  bool in_pass = false;         // a hook has fired in the current backward pass
  std::size_t next_launch = 0;  // buckets are started in this order
  ReducerStats stats;

  void start_pass() {
    in_pass = true;
    next_launch = 0;
    std::fill(ready.begin(), ready.end(), 0);
    for (Bucket& b : buckets) {
      b.pending = b.params.size();
      b.launched = false;
    }
  }

  // Packs bucket b's gradients, divided by the world size (zeros and flag 0 where none arrived),
  // and starts its all-reduce. With shared memory: packs only; the sum divides.
  void launch(Bucket& b) {
    NoGradGuard no_grad;
    const double divisor = shared ? 1.0 : static_cast<double>(world_size());
    const auto t0 = Clock::now();
    for (std::size_t k = 0; k < b.params.size(); ++k) {
      const std::size_t i = b.params[k];
      const Tensor& p = params[i];
      Tensor slot = b.buffer.narrow(0, b.offsets[k], p.numel());
      Tensor flag = b.buffer.narrow(0, b.grad_numel + static_cast<std::int64_t>(k), 1);
      const Tensor g = p.grad();
      if (used[i] && g.defined()) {
        // Each rank sends gradient / world (as PyTorch's DDP divides before the all-reduce),
        // so the sum is the mean (the shared sum scales instead). A gradient that is the bucket's own view
        // (gradient_as_bucket_view, accumulated into) is already in place.
        if (!is_slot(g, slot)) divided_copy(slot, g, divisor);
        else if (divisor != 1.0) slot.div_(divisor);
        flag.fill_(1.0);
      } else {
        if (g.defined() && is_slot(g, slot)) p.set_grad(g.clone());  // kept as it was should no rank use it
        slot.zero_();
        flag.zero_();
      }
    }
    stats.copy_seconds += since(t0);
    if (!shared) b.work = all_reduce_async(b.buffer, ReduceOp::Sum);
    b.launched = true;
  }

  // slot = g / divisor in one pass over both (slot: a contiguous narrow of a bucket).
  static void divided_copy(Tensor& slot, const Tensor& g, double divisor) {
    if (divisor == 1.0 || g.is_opaque() || !g.is_contiguous() || g.dtype() != slot.dtype()) {
      slot.view(g.sizes()).copy_(g);
      if (divisor != 1.0) slot.div_(divisor);
      return;
    }
    dispatch_floating(slot.dtype(), "DistributedDataParallel", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T w = static_cast<T>(divisor);
      T* out = slot.data_ptr<T>();
      const T* in = g.data_ptr<T>();
      parallel_for(0, slot.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t j = b; j < e; ++j) out[j] = in[j] / w;
      });
    });
  }

  static bool is_slot(const Tensor& g, const Tensor& slot) {
    return !g.is_opaque() && g.is_contiguous() && g.numel() == slot.numel() && g.shares_storage(slot) &&
           g.storage_offset() == slot.storage_offset();
  }

  // Starts every bucket that is full and whose predecessors have started.
  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      launch(buckets[next_launch]);
      ++next_launch;
    }
  }

  void mark_ready(std::size_t i) {
    used[i] = 1;
    if (!sync) return;
    EMBER_CHECK(armed || in_pass,
                "DistributedDataParallel: backward() reached parameter '{}' on rank {} without a forward through "
                "the wrapper since the last synchronised backward; call ddp(x), not the model, before each "
                "backward (for several backward passes per forward, use no_sync())",
                names[i], rank());
    const auto t0 = Clock::now();
    if (!in_pass) {
      start_pass();
      autograd::queue_callback([this] { finish_pass(); });
    }
    EMBER_CHECK(!ready[i],
                "DistributedDataParallel: parameter '{}' got a gradient twice in one backward pass on rank {}; "
                "accumulate gradients under no_sync() instead",
                names[i], rank());
    ready[i] = 1;
    Bucket& b = buckets[bucket_of[i]];
    --b.pending;
    if (options.overlap() || shared) {  // shared: packing early keeps the gradients in cache
      launch_ready();
      if (!shared)
        for (std::size_t k = 0; k < next_launch; ++k) buckets[k].work.is_completed();  // lets MPI progress
    }
    stats.seconds += since(t0);
  }

  // At the end of backward: start what is left, wait, write the averages into .grad.
  void finish_pass() {
    const auto t0 = Clock::now();
    in_pass = false;
    armed = false;
    while (next_launch < buckets.size()) launch(buckets[next_launch++]);
    const auto t_wait = Clock::now();
    if (shared) shared->sum(1.0 / static_cast<double>(world_size()));
    else
      for (Bucket& b : buckets) b.work.wait();
    stats.wait_seconds += since(t_wait);
    const auto t_copy = Clock::now();
    NoGradGuard no_grad;
    for (Bucket& b : buckets) {
      const std::vector<double> flags =
          b.buffer.narrow(0, b.grad_numel, static_cast<std::int64_t>(b.params.size())).to_vector<double>();
      for (std::size_t k = 0; k < b.params.size(); ++k) {
        if (flags[k] == 0.0) continue;  // no rank produced a gradient: leave .grad as it is
        const Tensor& p = params[b.params[k]];
        Tensor avg = b.buffer.narrow(0, b.offsets[k], p.numel()).view(p.sizes());
        Tensor g = p.grad();
        if (options.gradient_as_bucket_view()) {
          if (!(g.defined() && is_slot(g, avg))) p.set_grad(avg);
        } else if (g.defined() && g.sizes() == p.sizes() && !g.is_opaque()) {
          g.copy_(avg);
        } else {
          p.set_grad(avg.clone());
        }
      }
    }
    std::fill(used.begin(), used.end(), 0);
    stats.copy_seconds += since(t_copy);
    ++stats.steps;
    stats.seconds += since(t0);
  }
};

Reducer::Reducer(std::shared_ptr<nn::Module> module, DistributedDataParallelOptions options)
    : module_(std::move(module)), state_(std::make_shared<State>()) {
  EMBER_CHECK(module_ != nullptr, "DistributedDataParallel: got a null module");
  EMBER_CHECK(is_initialized(), "DistributedDataParallel: create dist::Init first");
  EMBER_CHECK(options.bucket_cap_mb() > 0 && options.first_bucket_mb() > 0,
              "DistributedDataParallel: bucket sizes must be positive, got {} and {} MiB", options.bucket_cap_mb(),
              options.first_bucket_mb());
  State& s = *state_;
  s.options = options;
  const NamedTensors params = module_->named_parameters();
  const NamedTensors buffers = module_->named_buffers();

  // Same model everywhere? Compare each rank's signature with rank 0's.
  Tensor sig = full({1}, 0.0, DType::Int64);
  sig.data_ptr<std::int64_t>()[0] = signature(params, buffers);
  const TensorList sigs = all_gather(sig);
  for (int r = 1; r < world_size(); ++r)
    EMBER_CHECK(sigs[static_cast<std::size_t>(r)].item<std::int64_t>() == sigs[0].item<std::int64_t>(),
                "DistributedDataParallel: the model on rank {} differs from rank 0's (parameter or buffer names, "
                "shapes or dtypes; {} parameters and {} buffers here on rank {})",
                r, params.size(), buffers.size(), rank());

  {
    NoGradGuard no_grad;
    for (const auto& [name, t] : params) {
      Tensor p = t;
      broadcast(p, 0);
    }
    for (const auto& [name, t] : buffers) {
      if (!t.defined()) continue;
      Tensor b = t;
      broadcast(b, 0);
    }
  }

  for (const auto& [name, t] : params) {
    if (!t.requires_grad()) continue;
    EMBER_CHECK(t.is_floating_point(), "DistributedDataParallel: parameter '{}' is {}, not floating point", name,
                t.dtype());
    s.params.push_back(t);
    s.names.push_back(name);
  }
  // Buckets over the parameters in reverse order, one dtype each.
  const double mib = 1024.0 * 1024.0;
  s.bucket_of.resize(s.params.size());
  std::size_t bytes = 0;
  for (std::size_t j = s.params.size(); j-- > 0;) {
    const Tensor& p = s.params[j];
    // Bucket 0 (filled first, with the last layers) is small so its all-reduce can start early.
    const double cap_mb = s.buckets.size() == 1 ? options.first_bucket_mb() : options.bucket_cap_mb();
    const bool full = !s.buckets.empty() && static_cast<double>(bytes) >= cap_mb * mib;
    if (s.buckets.empty() || full || s.buckets.back().dtype != p.dtype()) {
      s.buckets.push_back(Bucket{p.dtype(), {}, {}, 0, Tensor(), 0, false, Work()});
      bytes = 0;
    }
    Bucket& b = s.buckets.back();
    b.params.push_back(j);
    b.offsets.push_back(b.grad_numel);
    b.grad_numel += p.numel();
    bytes += static_cast<std::size_t>(p.numel()) * itemsize(p.dtype());
    s.bucket_of[j] = s.buckets.size() - 1;
  }
  // Shared memory if wanted and possible; the same decision on every rank
  // (the models match, and SharedReduce throws on all ranks alike, for a
  // dtype it cannot sum too).
  if (options.shared_memory() && !s.buckets.empty() && detail::SharedReduce::possible()) {
    std::vector<detail::SharedReduce::Spec> specs;
    for (const Bucket& b : s.buckets) specs.push_back({b.numel(), b.dtype});
    try {
      s.shared = std::make_unique<detail::SharedReduce>(specs);
    } catch (const Error& e) {
      if (detail::verbose() && rank() == 0) fmt::print(stderr, "ember.dist: DistributedDataParallel uses MPI messages: {}\n", e.what());
    }
  }
  for (std::size_t k = 0; k < s.buckets.size(); ++k) {
    Bucket& b = s.buckets[k];
    b.buffer = s.shared ? s.shared->buffer(k) : empty({b.numel()}, b.dtype);
    b.buffer.zero_();
    s.stats.bytes_per_step += b.numel() * static_cast<std::int64_t>(itemsize(b.dtype));
  }
  s.stats.shared_memory = s.shared != nullptr;
  s.ready.assign(s.params.size(), 0);
  s.used.assign(s.params.size(), 0);

  std::weak_ptr<State> weak = state_;
  for (std::size_t i = 0; i < s.params.size(); ++i)
    s.hook_ids.push_back(autograd::register_post_accumulate_grad_hook(s.params[i], [weak, i](const Tensor&) {
      if (auto st = weak.lock()) st->mark_ready(i);
    }));
}

Reducer::~Reducer() {
  for (std::size_t i = 0; i < state_->params.size(); ++i)
    autograd::remove_post_accumulate_grad_hook(state_->params[i], state_->hook_ids[i]);
}

void Reducer::prepare_forward() {
  State& s = *state_;
  EMBER_CHECK(!s.in_pass,
              "DistributedDataParallel: the previous backward pass stopped part-way (an exception on rank {}), so the "
              "replicas are out of step; start again from a checkpoint",
              rank());
  if (!autograd::GradMode::is_enabled()) return;
  s.armed = true;
  // Only in training: evaluation may run a different number of forwards on each rank.
  if (s.options.broadcast_buffers() && module_->is_training()) {
    NoGradGuard no_grad;
    for (const auto& [name, t] : module_->named_buffers()) {
      if (!t.defined()) continue;
      Tensor b = t;
      broadcast(b, 0);
    }
  }
}

void Reducer::set_sync(bool on) { state_->sync = on; }
bool Reducer::sync() const { return state_->sync; }

std::vector<std::vector<std::size_t>> Reducer::bucket_indices() const {
  std::vector<std::vector<std::size_t>> out;
  for (const Bucket& b : state_->buckets) out.push_back(b.params);
  return out;
}

const ReducerStats& Reducer::stats() const { return state_->stats; }
void Reducer::reset_stats() {
  ReducerStats fresh;
  fresh.bytes_per_step = state_->stats.bytes_per_step;
  fresh.shared_memory = state_->stats.shared_memory;
  state_->stats = fresh;
}

}  // namespace ember::dist
