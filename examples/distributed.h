#pragma once
// --distributed for the examples: data-parallel training over the processes
// of an MPI job, in the few lines PyTorch's DDP examples take. Start the same
// program on every rank:
//
//   mpirun -np 2 mnist_mlp --distributed          # as root add --allow-run-as-root
//
//   examples::Distributed cluster(args.distributed);   // MPI starts here (dist::Init), or nothing happens
//   data::DataLoader train_loader(train_set, cluster.train_options(args.batch_size, args.seed));
//   data::DataLoader test_loader(test_set, cluster.test_options(args.test_batch_size));
//   examples::DataParallel<MLP> net(model, cluster);    // DistributedDataParallel, or the model itself
//   for (epoch ...) { cluster.set_epoch(epoch); train(net, ...); test(model, ...); if (cluster.is_main()) print ... }
//
// What --distributed changes:
// - the global batch stays --batch-size: each of the W ranks computes
//   batch-size / W examples a step (a batch that W does not divide is refused),
//   and DistributedDataParallel averages the gradients, so a step is one step
//   of the global batch;
// - each epoch every rank takes its own shard of one shuffled order
//   (data::DistributedSampler, PyTorch's semantics: the last shard is padded
//   by repetition to equal size);
// - the test set is split without padding (rank r tests examples r, r + W,
//   ...), and the sums of loss and correct answers are all-reduced, so every
//   rank gets the metrics of the whole test set, each example counted once;
// - rank 0 alone prints, logs (--logdir) and saves (--save);
// - unless --threads or OMP_NUM_THREADS says otherwise, each rank uses its
//   share of the machine's cores.
// Without MPI in this build (no libopenmpi-dev when Ember was configured),
// --distributed stops with a message saying so.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ember/ember.h>

#if EMBER_EXAMPLES_WITH_DIST
#include <ember/dist/dist.h>
#endif

#include "flags.h"

namespace examples {

/// Rank r of W gets the indices r, r + W, r + 2W, ... below N: disjoint shards
/// covering the dataset exactly once (sizes differ by at most one). For
/// evaluation, where PyTorch's padding would count some examples twice.
class ShardSampler final : public ember::data::Sampler {
 public:
  ShardSampler(std::int64_t world, std::int64_t rank) : world_(world), rank_(rank) {}
  std::vector<std::int64_t> indices(std::int64_t n) const override {
    std::vector<std::int64_t> out;
    for (std::int64_t i = rank_; i < n; i += world_) out.push_back(i);
    return out;
  }
  std::int64_t size(std::int64_t n) const override { return n > rank_ ? (n - rank_ + world_ - 1) / world_ : 0; }

 private:
  std::int64_t world_, rank_;
};

/// This process's place in the job: rank 0 of 1 without --distributed.
class Distributed {
 public:
  /// With `on`, initialises MPI (one dist::Init for the process); without MPI
  /// in this build, a UsageError.
  explicit Distributed(bool on) {
    if (!on) {
      warn_if_under_mpirun();
      return;
    }
#if EMBER_EXAMPLES_WITH_DIST
    mpi().emplace();
    rank_ = ember::dist::rank();
    world_ = ember::dist::world_size();
#else
    throw UsageError(
        "--distributed: this build of Ember has no MPI (install libopenmpi-dev and openmpi-bin, then configure "
        "and build again; CMake then builds dist/)");
#endif
  }

  bool on() const { return mpi_started(); }
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  /// Rank 0: the one that prints, logs and saves.
  bool is_main() const { return rank_ == 0; }

  /// The threads to use: `requested` if the user chose it, else under
  /// --distributed this rank's share of the cores (dist::Init has set it).
  int threads(int requested, bool user_chose) const {
    return mpi_started() && !user_chose ? ember::get_num_threads() : requested;
  }

  /// Each rank's part of a global batch of `global` examples.
  std::int64_t local_batch(std::int64_t global) const {
    if (global % world_ != 0)
      throw UsageError(fmt::format("--batch-size {} does not divide among {} ranks (each rank takes an equal share "
                                   "of the global batch; use a multiple of {})",
                                   global, world_, world_));
    return global / world_;
  }

  /// The training loader's options: shuffled (PyTorch's DataLoader(shuffle=True)), or under
  /// --distributed a DistributedSampler's shard with batch_size / world examples a batch.
  ember::data::DataLoaderOptions train_options(std::int64_t batch_size, std::int64_t seed) {
    auto options = ember::data::DataLoaderOptions().batch_size(local_batch(batch_size));
    if (!mpi_started()) return options.shuffle(true);
    sampler_ = std::make_shared<ember::data::DistributedSampler>(world_, rank_, true, static_cast<std::uint64_t>(seed));
    return options.sampler(sampler_);
  }
  /// The test loader's options: the whole set, or under --distributed this rank's ShardSampler shard.
  ember::data::DataLoaderOptions test_options(std::int64_t batch_size) const {
    auto options = ember::data::DataLoaderOptions().batch_size(batch_size);
    if (mpi_started()) options.sampler(std::make_shared<ShardSampler>(world_, rank_));
    return options;
  }
  /// Before each epoch: the DistributedSampler's order for it (as PyTorch's sampler.set_epoch).
  void set_epoch(std::int64_t epoch) {
    if (sampler_) sampler_->set_epoch(epoch);
  }

 private:
  bool mpi_started() const {
#if EMBER_EXAMPLES_WITH_DIST
    return ember::dist::is_initialized();
#else
    return false;
#endif
  }

  // Started by mpirun with several ranks but without --distributed: each would train alone and print.
  static void warn_if_under_mpirun() {
    const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
    if (size == nullptr) size = std::getenv("PMI_SIZE");
    if (size != nullptr && std::atoi(size) > 1)
      std::fprintf(stderr, "note: started as one of %s MPI processes without --distributed: each trains alone\n",
                   size);
  }

#if EMBER_EXAMPLES_WITH_DIST
  // MPI lives until the program exits, not until main's try block unwinds: an
  // error on one rank is then printed by main's catch, which ends the job (end_job).
  static std::optional<ember::dist::Init>& mpi() {
    static std::optional<ember::dist::Init> instance;
    return instance;
  }
#endif
  int rank_ = 0, world_ = 1;
  std::shared_ptr<ember::data::DistributedSampler> sampler_;
};

/// For main's catch blocks, after printing the error: under --distributed with
/// several ranks, ends the whole job (MPI_Abort, naming this rank), since the
/// other ranks would wait for this one; otherwise returns.
inline void end_job([[maybe_unused]] int code) {
#if EMBER_EXAMPLES_WITH_DIST
  if (ember::dist::is_initialized() && ember::dist::world_size() > 1)
    ember::dist::abort("stopped by the error above; ending the job", code);
#endif
}

/// `v` summed over the ranks (all-reduce); `v` itself without --distributed.
inline double all_sum(double v) {
#if EMBER_EXAMPLES_WITH_DIST
  if (ember::dist::is_initialized() && ember::dist::world_size() > 1) {
    ember::Tensor t = ember::full({1}, v, ember::DType::Float64);
    ember::dist::all_reduce(t);
    return t.item<double>();
  }
#endif
  return v;
}

/// The model as train() calls it: through DistributedDataParallel under
/// --distributed (gradients averaged over the ranks in backward), else the
/// model itself. `net(x)` and `net->train()` read as with the model.
template <class M>
class DataParallel {
 public:
  DataParallel(M model, [[maybe_unused]] const Distributed& cluster) : model_(std::move(model)) {
#if EMBER_EXAMPLES_WITH_DIST
    // The gradients stay in the buckets they are averaged in: train() hands them to
    // the optimizer and drops them at zero_grad(), so the view costs nothing and
    // saves a copy of every gradient a step (issue 16).
    if (cluster.on())
      ddp_ = std::make_unique<ember::dist::DistributedDataParallel<M>>(
          model_, ember::dist::DistributedDataParallelOptions().gradient_as_bucket_view(true));
#endif
  }
  ember::Tensor operator()(const ember::Tensor& x) {
#if EMBER_EXAMPLES_WITH_DIST
    if (ddp_) return (*ddp_)(x);
#endif
    return model_(x);
  }
  auto operator->() const { return model_.operator->(); }
  M& module() { return model_; }

  /// Under --distributed, for --phases: the gradient synchronisation's time per
  /// step since the last call (copies, all-reduce, waiting) and the bytes
  /// all-reduced per step; "" otherwise.
  std::string sync_report() {
#if EMBER_EXAMPLES_WITH_DIST
    if (ddp_) {
      const ember::dist::ReducerStats st = ddp_->reducer().stats();
      ddp_->reducer().reset_stats();
      const double steps = static_cast<double>(std::max<std::int64_t>(st.steps, 1));
      return fmt::format("  gradient all-reduce {:.3f} ms/step (of which waiting after backward {:.3f}, copies {:.3f}), "
                         "{:.2f} MB a step",
                         st.seconds * 1e3 / steps, st.wait_seconds * 1e3 / steps, st.copy_seconds * 1e3 / steps,
                         static_cast<double>(st.bytes_per_step) / 1e6);
    }
#endif
    return "";
  }

 private:
  M model_;
#if EMBER_EXAMPLES_WITH_DIST
  std::unique_ptr<ember::dist::DistributedDataParallel<M>> ddp_;
#endif
};

}  // namespace examples
