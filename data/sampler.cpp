// DistributedSampler follows torch/utils/data/distributed.py step by step:
// order (permuted by a generator seeded with seed + epoch), pad by repeating
// from the start or truncate to total = num_samples * replicas, then stride.
// The permutation is Ember's own (Fisher-Yates on a private mt19937_64), not
// PyTorch's bytes: what matters is that every rank draws the same one.
#include "ember/data/sampler.h"

#include <numeric>

#include "ember/core/error.h"
#include "ember/core/random.h"

namespace ember::data {

DistributedSampler::DistributedSampler(std::int64_t num_replicas, std::int64_t rank, bool shuffle,
                                       std::uint64_t seed, bool drop_last)
    : num_replicas_(num_replicas), rank_(rank), shuffle_(shuffle), seed_(seed), drop_last_(drop_last) {
  EMBER_CHECK(num_replicas >= 1, "DistributedSampler: num_replicas must be at least 1, got {}", num_replicas);
  EMBER_CHECK(rank >= 0 && rank < num_replicas, "DistributedSampler: invalid rank {}, rank should be in [0, {}]",
              rank, num_replicas - 1);
}

std::int64_t DistributedSampler::size(std::int64_t n) const {
  EMBER_CHECK(n >= 0, "DistributedSampler: negative dataset size {}", n);
  if (drop_last_ && n % num_replicas_ != 0) return n / num_replicas_;  // = ceil((n - R) / R)
  return (n + num_replicas_ - 1) / num_replicas_;
}

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t n) const {
  const std::int64_t per_rank = size(n);
  const std::int64_t total = per_rank * num_replicas_;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (shuffle_) {
    Generator g(seed_ + static_cast<std::uint64_t>(epoch_));
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[g.integer(0, i + 1)]);
  }
  if (n > 0) {
    // Pad with the order's start, repeated as often as needed (padding may exceed n).
    for (std::int64_t i = n; i < total; ++i) order.push_back(order[i % n]);
  }
  order.resize(static_cast<std::size_t>(total));  // drop_last truncates
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(per_rank));
  for (std::int64_t i = rank_; i < total; i += num_replicas_) mine.push_back(order[i]);
  return mine;
}

}  // namespace ember::data
