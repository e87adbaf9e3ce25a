#pragma once
/// LibTorch's names for Ember's data pipeline, so that a LibTorch program's
/// loader ports by changing the include and the namespace:
///
///   auto train = data::datasets::MNIST("build/mnist")
///                    .map(data::transforms::Normalize<>(0.1307, 0.3081))
///                    .map(data::transforms::Stack<>());
///   auto loader = data::make_data_loader(std::move(train), data::DataLoaderOptions().batch_size(64));
///   for (auto& batch : *loader) { /* batch.data [64, 1, 28, 28], batch.target [64] */ }
///
/// They are thin: the dataset is Ember's MNIST, Normalize is applied per batch
/// (the stored bytes stay bytes), and the loader is Ember's DataLoader.
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ember/data/dataloader.h"
#include "ember/data/dataset.h"
#include "ember/data/transforms.h"

namespace ember::data {

namespace transforms {
// LibTorch's Normalize<>(mean, std) is transforms::Normalize (transforms.h).
/// LibTorch's Stack<>: Ember's loader always stacks examples into a batch.
template <class Example = data::Example>
struct Stack {};
}  // namespace transforms

namespace datasets {
/// LibTorch's MNIST(root, Mode): Ember's MNIST, whose examples are float32 in [0, 1].
class MNIST : public data::MNIST {
 public:
  enum class Mode { kTrain, kTest };
  explicit MNIST(const std::string& root, Mode mode = Mode::kTrain) : data::MNIST(root, mode == Mode::kTrain) {}
  /// Adds Normalize as a per-batch transform (no float copy of the whole set); one channel.
  MNIST&& map(const transforms::Normalize<>& n) && { return std::move(map(n)); }
  MNIST& map(const transforms::Normalize<>& n) & {
    EMBER_CHECK(n.mean().size() == 1, "datasets::MNIST::map: MNIST has one channel, Normalize has {} means",
                n.mean().size());
    transform(data::Normalize{n.mean()[0], n.stddev()[0]});
    return *this;
  }
  MNIST&& map(const transforms::Stack<>&) && { return std::move(*this); }
  MNIST& map(const transforms::Stack<>&) & { return *this; }
  using data::MNIST::map;
};
}  // namespace datasets

namespace samplers {
/// LibTorch's samplers as make_data_loader's template argument: RandomSampler
/// (LibTorch's default) shuffles every epoch, SequentialSampler keeps 0, 1, 2, ...
struct RandomSampler {
  static constexpr bool kShuffle = true;
};
struct SequentialSampler {
  static constexpr bool kShuffle = false;
};
}  // namespace samplers

/// LibTorch's make_data_loader<Sampler>(dataset, options): an Ember DataLoader
/// that owns the dataset; Sampler decides the shuffling (options' is overridden).
template <class Sampler = samplers::RandomSampler, class D>
  requires std::derived_from<std::remove_cvref_t<D>, Dataset>
std::unique_ptr<DataLoader> make_data_loader(D&& dataset, DataLoaderOptions options = {}) {
  options.shuffle(Sampler::kShuffle);
  return std::make_unique<DataLoader>(std::forward<D>(dataset), options);
}
/// make_data_loader(dataset, batch_size), as LibTorch also allows.
template <class Sampler = samplers::RandomSampler, class D>
  requires std::derived_from<std::remove_cvref_t<D>, Dataset>
std::unique_ptr<DataLoader> make_data_loader(D&& dataset, std::int64_t batch_size) {
  return make_data_loader<Sampler>(std::forward<D>(dataset), DataLoaderOptions().batch_size(batch_size));
}

}  // namespace ember::data
