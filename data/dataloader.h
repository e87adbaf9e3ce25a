#pragma once
/// DataLoader: iterates a Dataset in batches, optionally shuffled, with batches
/// prepared ahead on a worker thread so loading overlaps compute.
///
///   auto train = std::make_shared<data::MNIST>("build/mnist", true);
///   data::DataLoader loader(train, data::DataLoaderOptions().batch_size(64).shuffle(true));
///   for (const data::Example& batch : loader) { /* batch.data [64, 1, 28, 28], batch.target [64] */ }
///
/// Each begin() starts an epoch: the order (randperm when shuffling) is drawn on the
/// calling thread, so manual_seed makes epochs reproducible. The worker only calls
/// Dataset::get_batch (under NoGradGuard); an exception there is rethrown by the
/// iterator, in order, after the batches before it. Destroying the iterator stops the
/// worker (after the batch it is preparing) and joins it.
#include <concepts>
#include <cstdint>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

#include "ember/core/options.h"
#include "ember/data/dataset.h"

namespace ember::data {

/// Options with chained setters: DataLoaderOptions().batch_size(64).shuffle(true).
struct DataLoaderOptions {
  /// Examples per batch (at least 1; default 64).
  EMBER_OPTION(DataLoaderOptions, std::int64_t, batch_size, 64)
  /// Draw a new random order every epoch (default false: 0, 1, 2, ...).
  EMBER_OPTION(DataLoaderOptions, bool, shuffle, false)
  /// Drop the last batch when it has fewer than batch_size examples (default false).
  EMBER_OPTION(DataLoaderOptions, bool, drop_last, false)
  /// Batches prepared ahead on a worker thread (default 2); 0 loads on the calling thread.
  EMBER_OPTION(DataLoaderOptions, int, prefetch, 2)
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

  /// Starts an epoch (draws the order, starts the worker) and returns its first batch.
  Iterator begin() const;
  /// The end of every epoch.
  Iterator end() const { return {}; }
  /// Batches per epoch: ceil(N / batch_size), or floor with drop_last.
  std::int64_t size() const;
  /// The dataset and the options this loader was made with.
  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
};

}  // namespace ember::data
