#pragma once
/// DataLoader: iterates a Dataset in batches, optionally shuffled, with batches
/// prepared ahead on worker threads (num_workers) so loading overlaps compute.
///
///   auto train = std::make_shared<data::MNIST>("build/mnist", true);
///   data::DataLoader loader(train, data::DataLoaderOptions().batch_size(64).shuffle(true));
///   for (const data::Example& batch : loader) { /* batch.data [64, 1, 28, 28], batch.target [64] */ }
///
/// Each begin() starts an epoch (numbered 0, 1, ...; set_epoch changes the next one):
/// the order (randperm when shuffling) is drawn on the calling thread, so
/// manual_seed makes epochs reproducible. Workers take batches in order, each
/// calling Dataset::get_batch (under NoGradGuard, with current_epoch() set to the
/// epoch's number, which TransformDataset keys its random draws with); batches are
/// delivered in order whatever the number of workers, and an exception in a worker
/// is rethrown by the iterator, in order, after the batches before it. Destroying
/// the iterator stops the workers (after the batches they are preparing) and joins them.
#include <concepts>
#include <cstdint>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

#include "ember/core/options.h"
#include "ember/data/dataset.h"
#include "ember/data/sampler.h"

namespace ember::data {

/// Options with chained setters: DataLoaderOptions().batch_size(64).shuffle(true).
struct DataLoaderOptions {
  /// Examples per batch (at least 1; default 64).
  EMBER_OPTION(DataLoaderOptions, std::int64_t, batch_size, 64)
  /// Draw a new random order every epoch (default false: 0, 1, 2, ...).
  EMBER_OPTION(DataLoaderOptions, bool, shuffle, false)
  /// Drop the last batch when it has fewer than batch_size examples (default false).
  EMBER_OPTION(DataLoaderOptions, bool, drop_last, false)
  /// Batches prepared ahead per worker (default 2, PyTorch's prefetch_factor); 0 loads on the calling thread.
  EMBER_OPTION(DataLoaderOptions, int, prefetch, 2)
  /// Visit the indices `s` gives each epoch (e.g. a DistributedSampler), which
  /// the loader shares with the caller; excludes shuffle(true), as in PyTorch.
  EMBER_OPTION(DataLoaderOptions, std::shared_ptr<const Sampler>, sampler, nullptr)

  /// Worker threads preparing batches (default 1); 0 loads on the calling thread, as in PyTorch.
  EMBER_OPTION(DataLoaderOptions, int, num_workers, 1)
};

class DataLoader {
 public:
  class Epoch;  // one pass: the order, the worker and its queue (dataloader.cpp)

  /// An input iterator over one epoch's batches; copies share the same position.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    using pointer = const Example*;
    using reference = const Example&;

    Iterator() = default;  // the end
    /// The current batch: data [B, ...], target [B, ...].
    const Example& operator*() const;
    /// Member access on the current batch.
    const Example* operator->() const { return &**this; }
    /// Moves to the next batch; rethrows an exception raised while preparing it.
    Iterator& operator++();
    /// True when both are at the end (or are the same live iterator).
    bool operator==(const Iterator& other) const { return epoch_ == other.epoch_; }

   private:
    friend class DataLoader;
    explicit Iterator(std::shared_ptr<Epoch> epoch);
    std::shared_ptr<Epoch> epoch_;  // null at the end
  };

  /// Batches of `dataset`, which the loader (and any running epoch) keeps alive.
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  /// Batches of a copy of `dataset` (cheap for TensorDataset and MNIST: tensors are handles).
  template <class D>
    requires std::derived_from<std::remove_cvref_t<D>, Dataset>
  explicit DataLoader(D&& dataset, DataLoaderOptions options = {})
      : DataLoader(std::make_shared<const std::remove_cvref_t<D>>(std::forward<D>(dataset)), options) {}

  /// Starts an epoch (draws the order, starts the workers) and returns its first batch.
  Iterator begin() const;
  /// The number the next begin() gives its epoch (0 at first, then one more each begin()).
  std::int64_t epoch() const { return epoch_; }
  /// Makes the next begin() epoch number `epoch` (e.g. when resuming a run).
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  /// The end of every epoch.
  Iterator end() const { return {}; }
  /// Batches per epoch: ceil(N / batch_size), or floor with drop_last (N: the
  /// dataset's size, or the sampler's count for it).
  std::int64_t size() const;
  /// The dataset and the options this loader was made with.
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  mutable std::int64_t epoch_ = 0;  // begin() counts epochs (called on the consumer's thread)
};

}  // namespace ember::data
