#include "ember/data/subset.h"

#include <cmath>
#include <numeric>

#include "ember/core/error.h"
#include "ember/core/factory.h"

namespace ember::data {

Subset::Subset(std::shared_ptr<const Dataset> dataset, std::vector<std::int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  EMBER_CHECK(dataset_ != nullptr, "Subset: the dataset is null");
  const std::int64_t n = dataset_->size();
  for (std::int64_t i : indices_)
    EMBER_CHECK(i >= 0 && i < n, "Subset: index {} is out of range for a dataset of size {}", i, n);
}

Example Subset::get(std::int64_t i) const {
  EMBER_CHECK(i >= 0 && i < size(), "Subset: index {} is out of range for a subset of size {}", i, size());
  return dataset_->get(indices_[static_cast<std::size_t>(i)]);
}

Example Subset::get_batch(const std::vector<std::int64_t>& indices) const {
  std::vector<std::int64_t> mapped;
  mapped.reserve(indices.size());
  for (std::int64_t i : indices) {
    EMBER_CHECK(i >= 0 && i < size(), "Subset: index {} is out of range for a subset of size {}", i, size());
    mapped.push_back(indices_[static_cast<std::size_t>(i)]);
  }
  return dataset_->get_batch(mapped);
}

std::vector<std::vector<std::int64_t>> random_split_indices(std::int64_t n, const std::vector<double>& lengths) {
  EMBER_CHECK(!lengths.empty(), "random_split: no lengths given");
  std::vector<std::int64_t> counts;
  const double sum = std::accumulate(lengths.begin(), lengths.end(), 0.0);
  const bool all_whole =
      std::all_of(lengths.begin(), lengths.end(), [](double l) { return l >= 0 && l == std::floor(l); });
  if (all_whole && static_cast<std::int64_t>(sum) == n && !(sum == 1.0 && n != 1)) {
    for (double l : lengths) counts.push_back(static_cast<std::int64_t>(l));
  } else {
    EMBER_CHECK(std::abs(sum - 1.0) < 1e-9 && std::all_of(lengths.begin(), lengths.end(), [](double l) { return l >= 0 && l <= 1; }),
                "random_split: lengths must be counts summing to the dataset's size ({}) or fractions summing to 1; "
                "they sum to {}",
                n, sum);
    std::int64_t used = 0;
    for (double l : lengths) {
      counts.push_back(static_cast<std::int64_t>(std::floor(l * static_cast<double>(n))));
      used += counts.back();
    }
    for (std::size_t i = 0; used < n; i = (i + 1) % counts.size(), ++used) ++counts[i];
  }
  const Tensor perm = randperm(n);
  const std::int64_t* p = perm.data_ptr<std::int64_t>();
  std::vector<std::vector<std::int64_t>> out;
  std::int64_t at = 0;
  for (std::int64_t c : counts) {
    out.emplace_back(p + at, p + at + c);
    at += c;
  }
  return out;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& lengths) {
  EMBER_CHECK(dataset != nullptr, "random_split: the dataset is null");
  std::vector<std::shared_ptr<Subset>> out;
  for (auto& idx : random_split_indices(dataset->size(), lengths))
    out.push_back(std::make_shared<Subset>(dataset, std::move(idx)));
  return out;
}

}  // namespace ember::data
