#pragma once
/// Data-parallel training in the manner of PyTorch's DistributedDataParallel:
/// every rank holds the same model, trains on its own part of each batch, and
/// after backward() every rank holds the gradient averaged over all ranks, so
/// identical optimizer steps keep the replicas identical.
///
///   dist::Init mpi(argc, argv);
///   Net net;
///   dist::DistributedDataParallel ddp(net);      // rank 0's parameters everywhere
///   optim::SGD opt(net->parameters(), ...);
///   for (auto& batch : loader) {                  // a DistributedSampler shards the data
///     opt.zero_grad();
///     Tensor loss = nn::F::nll_loss(ddp(batch.data), batch.target);  // forward through ddp
///     loss.backward();                            // gradients averaged before it returns
///     opt.step();
///   }
///
/// How: the constructor broadcasts rank 0's parameters and buffers. The
/// parameters are packed, in reverse registration order (roughly the order
/// backward produces their gradients), into buckets of bucket_cap_mb (the
/// first of first_bucket_mb). A post-accumulate-grad hook on each parameter
/// (autograd/hooks.h) counts it ready; a bucket whose gradients are all ready
/// starts its all-reduce while backward continues, in bucket order on every
/// rank. When backward ends, the remaining buckets are reduced -- a parameter
/// that got no gradient on a rank counts as zeros there -- and the averages
/// are written into .grad (or .grad becomes a view of them, with
/// gradient_as_bucket_view). A parameter that no rank used keeps its .grad as
/// it was (undefined after zero_grad()). When all ranks share one machine the
/// buckets live in shared memory instead, and at the end of backward each rank
/// sums its share of every bucket straight from its peers' (shared_memory).
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "ember/core/options.h"
#include "ember/dist/collectives.h"
#include "ember/nn/module.h"

namespace ember::dist {

/// Options with chained setters: DistributedDataParallelOptions().bucket_cap_mb(25).
struct DistributedDataParallelOptions {
  /// Bucket size in MiB (default 25, as PyTorch's).
  EMBER_OPTION(DistributedDataParallelOptions, double, bucket_cap_mb, 25.0)
  /// The first bucket (the last layers' gradients, ready first) in MiB (default 1, as PyTorch's).
  EMBER_OPTION(DistributedDataParallelOptions, double, first_bucket_mb, 1.0)
  /// Broadcast rank 0's buffers (batch norm's running statistics) before each training forward (default true).
  EMBER_OPTION(DistributedDataParallelOptions, bool, broadcast_buffers, true)
  /// Start each bucket's all-reduce as soon as it is full (default true); off: all after backward.
  /// (Through shared memory the sum always runs after backward; buckets are packed as they fill.)
  EMBER_OPTION(DistributedDataParallelOptions, bool, overlap, true)
  /// After a synchronised backward each .grad is a view into its bucket (default false, as PyTorch's
  /// gradient_as_bucket_view): one copy a step instead of two, but the next backward overwrites it.
  EMBER_OPTION(DistributedDataParallelOptions, bool, gradient_as_bucket_view, false)
  /// When every rank is on this machine, reduce the buckets through memory all of them map
  /// (dist/shared_reduce.h) instead of MPI messages (default true). Falls back to MPI, with
  /// EMBER_DIST_VERBOSE saying why, when the shared memory cannot be had.
  EMBER_OPTION(DistributedDataParallelOptions, bool, shared_memory, true)
};

/// What the reducer did, summed over the backward passes it synchronised.
struct ReducerStats {
  std::int64_t steps = 0;            // backward passes synchronised
  double seconds = 0;                // time on the backward thread in the reducer (copies, all-reduce, waits)
  double wait_seconds = 0;           // of which: after backward ended, waiting for the all-reduces
                                     // (with shared memory: the whole reduction, which runs there)
  double copy_seconds = 0;           // of which: packing gradients into the buckets and the averages out
  std::int64_t bytes_per_step = 0;   // all-reduced per step (gradients and the used-flags)
  bool shared_memory = false;        // the buckets are reduced through shared memory, not MPI messages
};

/// The gradient synchronisation behind DistributedDataParallel, for any module.
class Reducer {
 public:
  /// Broadcasts rank 0's parameters and buffers and hooks every parameter
  /// that requires grad. Throws if the ranks' models differ (names, shapes, dtypes).
  Reducer(std::shared_ptr<nn::Module> module, DistributedDataParallelOptions options = {});
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  /// Before a forward with grad mode on: arms the next backward pass to average
  /// the gradients (unless sync is off) and, in training mode, broadcasts the buffers.
  void prepare_forward();
  /// Off: backward passes leave local gradients alone (gradient accumulation; PyTorch's no_sync).
  void set_sync(bool on);
  bool sync() const;

  /// Buckets, in the order they are reduced, and the parameters (indices into
  /// module->parameters()) each holds.
  std::vector<std::vector<std::size_t>> bucket_indices() const;
  const ReducerStats& stats() const;
  void reset_stats();

  struct State;

 private:
  std::shared_ptr<nn::Module> module_;
  std::shared_ptr<State> state_;
};

/// Wraps a model (an EMBER_MODULE holder such as `Net`, or a shared_ptr to a
/// module): call it as the model; backward() then averages the gradients.
template <class M>
class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(M module, DistributedDataParallelOptions options = {})
      : module_(std::move(module)), reducer_(std::make_shared<Reducer>(as_module(module_), options)) {}

  /// The model's forward, after Reducer::prepare_forward.
  template <class... Args>
  decltype(auto) operator()(Args&&... args) {
    reducer_->prepare_forward();
    if constexpr (nn::ModuleHolderType<M>) return module_(std::forward<Args>(args)...);
    else return nn::call(*module_, std::forward<Args>(args)...);
  }

  /// The wrapped model (`ddp.module()->fc1`; as PyTorch's ddp.module).
  M& module() { return module_; }
  auto operator->() const { return &*module_; }
  Reducer& reducer() { return *reducer_; }

  /// While alive, backward() keeps gradients local (PyTorch's `with ddp.no_sync():`);
  /// the first backward after it averages the accumulated gradients.
  class NoSync {
   public:
    explicit NoSync(Reducer& r) : r_(r), was_(r.sync()) { r_.set_sync(false); }
    ~NoSync() { r_.set_sync(was_); }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    Reducer& r_;
    bool was_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*reducer_); }

 private:
  static std::shared_ptr<nn::Module> as_module(const M& m) {
    if constexpr (nn::ModuleHolderType<M>) return m.ptr();
    else return m;
  }
  M module_;
  std::shared_ptr<Reducer> reducer_;
};

}  // namespace ember::dist
