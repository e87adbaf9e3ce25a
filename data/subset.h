#pragma once
/// Subset and random_split, as torch.utils.data has them: a Subset is a view of
/// a dataset through a list of indices; random_split cuts a dataset into
/// non-overlapping random Subsets of given lengths (or fractions summing to 1).
#include <cstdint>
#include <memory>
#include <vector>

#include "ember/data/dataset.h"

namespace ember::data {

/// The examples of `dataset` at `indices`, in that order (each 0 <= i < dataset->size()).
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> indices);
  /// indices.size().
  std::int64_t size() const override { return static_cast<std::int64_t>(indices_.size()); }
  /// dataset[indices[i]].
  Example get(std::int64_t i) const override;
  /// The dataset's batch at the mapped indices.
  Example get_batch(const std::vector<std::int64_t>& indices) const override;
  /// The indices into the underlying dataset.
  const std::vector<std::int64_t>& indices() const { return indices_; }
  /// The underlying dataset.
  const std::shared_ptr<const Dataset>& dataset() const { return dataset_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::vector<std::int64_t> indices_;
};

/// Splits `dataset` into random, non-overlapping Subsets. `lengths` are either
/// counts summing to dataset->size(), or fractions summing to 1 (each
/// floor(f * N), the remainder dealt one by one to the first splits, as
/// PyTorch does). The order comes from randperm on the default generator, so
/// manual_seed makes it reproducible.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& lengths);

/// The index lists random_split would use for a dataset of n examples.
std::vector<std::vector<std::int64_t>> random_split_indices(std::int64_t n, const std::vector<double>& lengths);

}  // namespace ember::data
