#pragma once
/// Datasets in the style of torch.utils.data: a Dataset maps an index to an
/// Example (data, target); a DataLoader (dataloader.h) batches them. get() and
/// get_batch() are const and are called from the loader's worker thread, so a
/// Dataset must not change shared state in them.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::data {

/// One example or one batch: data [...] and target [...] (a batch adds a leading dim B).
struct Example {
  Tensor data;
  Tensor target;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of examples.
  virtual std::int64_t size() const = 0;
  /// Example i, 0 <= i < size().
  virtual Example get(std::int64_t i) const = 0;
  /// The examples at `indices` stacked along a new dim 0: data [B, ...], target [B, ...].
  /// The default calls get() per index and stacks; subclasses may override for speed.
  virtual Example get_batch(const std::vector<std::int64_t>& indices) const;
};

/// Examples are the rows of a data tensor [N, ...] and a target tensor [N, ...] (usually [N]).
class TensorDataset : public Dataset {
 public:
  /// data: [N, ...], targets: [N, ...]; throws unless both have the same N.
  TensorDataset(Tensor data, Tensor targets);
  /// N, the number of rows.
  std::int64_t size() const override { return data_.size(0); }
  /// data[i] and targets[i] (views sharing storage when no transform is set).
  Example get(std::int64_t i) const override;
  /// Gathers the rows with index_select: data [B, ...], target [B, ...] (new tensors).
  Example get_batch(const std::vector<std::int64_t>& indices) const override;
  /// Replaces the data tensor with transform(data) once, for all examples (e.g. Normalize),
  /// after applying the transforms added so far (which it then drops): `transform` sees
  /// what get() returns. The result must keep N rows. Not to be called while a DataLoader
  /// iterates this dataset.
  TensorDataset& map(const std::function<Tensor(const Tensor&)>& transform);
  /// Adds a transform that get() and get_batch() apply to the data they return,
  /// after the ones added before (torchvision's transforms, applied per batch):
  /// the stored data stays as it is, e.g. MNIST's bytes, a quarter of their
  /// float32 size. It must work on one example [...] and on a batch [B, ...].
  /// Not to be called while a DataLoader iterates this dataset.
  TensorDataset& transform(std::function<Tensor(const Tensor&)> transform);
  /// The whole data tensor [N, ...] and target tensor [N, ...].
  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor apply(Tensor data) const;
  Tensor data_;
  Tensor targets_;
  std::vector<std::function<Tensor(const Tensor&)>> transforms_;
};

/// x as float32 times `scale` (torchvision's ToTensor for bytes: scale 1/255).
struct ToFloat {
  double scale = 1.0 / 255.0;
  Tensor operator()(const Tensor& x) const;
};

/// (x * scale - mean) / std elementwise, as torchvision's Normalize with one channel
/// (scale 1/255 folds in ToTensor's conversion of bytes, so a batch of MNIST
/// bytes is normalised in one pass); x of any shape, integer inputs give
/// float32. Use it with TensorDataset::transform (per batch) or
/// TensorDataset::map (once, for all examples).
struct Normalize {
  double mean = 0.0;
  double std = 1.0;
  double scale = 1.0;
  /// (x * scale - mean) / std, of x's shape; throws if std is 0.
  Tensor operator()(const Tensor& x) const;
};

/// MNIST from the four original IDX files in `root` (train-images-idx3-ubyte, ... each raw or
/// with ".gz"): data() the pixels as bytes, uint8 [N, 1, 28, 28] (as torchvision's .data),
/// targets int64 [N] in 0..9; N = 60000 for train, 10000 for test. get() and get_batch()
/// return float32 scaled to [0, 1] (a ToFloat transform; add Normalize after it).
/// scripts/fetch_mnist.sh downloads the files.
class MNIST : public TensorDataset {
 public:
  /// Reads the training set (train = true) or the test set (train = false) from `root`.
  MNIST(const std::string& root, bool train = true);

 private:
  explicit MNIST(Example all);
  static Example load(const std::string& root, bool train);
};

}  // namespace ember::data
