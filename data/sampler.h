#pragma once
/// Samplers: the order in which a DataLoader visits a dataset's indices, drawn
/// anew for every epoch (torch.utils.data.Sampler). Give one to a DataLoader
/// with DataLoaderOptions().sampler(s) instead of shuffle(true).
#include <cstdint>
#include <vector>

namespace ember::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The indices of one epoch, in order; called at the start of each epoch.
  virtual std::vector<std::int64_t> indices(std::int64_t dataset_size) const = 0;
  /// How many indices indices() returns for a dataset of this size.
  virtual std::int64_t size(std::int64_t dataset_size) const = 0;
};

/// PyTorch's DistributedSampler: every replica (rank) draws the same order --
/// a permutation seeded with seed + epoch when shuffling -- pads it by
/// repeating its start (or, with drop_last, truncates it) to a multiple of
/// num_replicas, and keeps the positions rank, rank + num_replicas, ...
/// So the shards are disjoint (without padding), of equal size, and together
/// hold the whole order. Call set_epoch(e) before each epoch, as in PyTorch,
/// or every epoch repeats the same order.
///
///   auto sampler = std::make_shared<data::DistributedSampler>(dist::world_size(), dist::rank());
///   data::DataLoader loader(train, data::DataLoaderOptions().batch_size(32).sampler(sampler));
///   for (int epoch = 0; ...) { sampler->set_epoch(epoch); for (auto& batch : loader) ... }
class DistributedSampler final : public Sampler {
 public:
  /// rank in [0, num_replicas). The order does not depend on Ember's global generator.
  DistributedSampler(std::int64_t num_replicas, std::int64_t rank, bool shuffle = true, std::uint64_t seed = 0,
                     bool drop_last = false);
  /// Chooses the epoch's order (seed + epoch); every rank must set the same epoch.
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  std::int64_t epoch() const { return epoch_; }
  std::int64_t num_replicas() const { return num_replicas_; }
  std::int64_t rank() const { return rank_; }

  /// This rank's indices for the current epoch: size(dataset_size) of them.
  std::vector<std::int64_t> indices(std::int64_t dataset_size) const override;
  /// ceil(N / replicas); with drop_last and N not a multiple, floor(N / replicas).
  std::int64_t size(std::int64_t dataset_size) const override;

 private:
  std::int64_t num_replicas_, rank_;
  bool shuffle_;
  std::uint64_t seed_;
  bool drop_last_;
  std::int64_t epoch_ = 0;
};

}  // namespace ember::data
