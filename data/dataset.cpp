#include "ember/data/dataset.h"

#include <filesystem>

#include "ember/data/idx.h"
#include "ember/ops/ops.h"

namespace ember::data {
namespace {

void check_index(std::int64_t i, std::int64_t n, const char* op) {
  EMBER_CHECK(i >= 0 && i < n, "{}: index {} out of range for a dataset of {} examples", op, i, n);
}

// The path of `name` in `root`, raw or with ".gz" (raw preferred when both exist).
std::string find_file(const std::string& root, const std::string& name) {
  const std::filesystem::path raw = std::filesystem::path(root) / name;
  const std::filesystem::path gz = std::filesystem::path(root) / (name + ".gz");
  std::error_code ec;
  if (std::filesystem::is_regular_file(raw, ec)) return raw.string();
  if (std::filesystem::is_regular_file(gz, ec)) return gz.string();
  throw Error(fmt::format("MNIST: neither {} nor {} exists (scripts/fetch_mnist.sh downloads them)", raw.string(),
                          gz.string()));
}

}  // namespace

Example Dataset::get_batch(const std::vector<std::int64_t>& indices) const {
  EMBER_CHECK(!indices.empty(), "Dataset::get_batch: empty list of indices");
  TensorList data, targets;
  data.reserve(indices.size());
  targets.reserve(indices.size());
  for (std::int64_t i : indices) {
    Example e = get(i);
    data.push_back(std::move(e.data));
    targets.push_back(std::move(e.target));
  }
  return {stack(data), stack(targets)};
}

TensorDataset::TensorDataset(Tensor data, Tensor targets) : data_(std::move(data)), targets_(std::move(targets)) {
  EMBER_CHECK(data_.defined() && targets_.defined(), "TensorDataset: got an undefined tensor");
  EMBER_CHECK(data_.dim() >= 1 && targets_.dim() >= 1,
              "TensorDataset: data and targets need a leading example dim, got shapes {} and {}",
              shape_str(data_.sizes()), shape_str(targets_.sizes()));
  EMBER_CHECK(data_.size(0) == targets_.size(0),
              "TensorDataset: data has {} examples (shape {}) but targets has {} (shape {})", data_.size(0),
              shape_str(data_.sizes()), targets_.size(0), shape_str(targets_.sizes()));
}

Example TensorDataset::get(std::int64_t i) const {
  check_index(i, size(), "TensorDataset::get");
  return {apply(data_[i]), targets_[i]};
}

Tensor TensorDataset::apply(Tensor data) const {
  for (const auto& t : transforms_) data = t(data);
  return data;
}

TensorDataset& TensorDataset::transform(std::function<Tensor(const Tensor&)> transform) {
  EMBER_CHECK(static_cast<bool>(transform), "TensorDataset::transform: got an empty function");
  transforms_.push_back(std::move(transform));
  return *this;
}

Tensor ToFloat::operator()(const Tensor& x) const { return x.to(DType::Float32) * scale; }

Example TensorDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  EMBER_CHECK(!indices.empty(), "TensorDataset::get_batch: empty list of indices");
  for (std::int64_t i : indices) check_index(i, size(), "TensorDataset::get_batch");
  const Tensor index = from_vector(indices);
  return {apply(index_select(data_, 0, index)), index_select(targets_, 0, index)};
}

TensorDataset& TensorDataset::map(const std::function<Tensor(const Tensor&)>& transform) {
  // The transforms added so far run first, so `transform` sees what get()
  // returns (MNIST's floats, not its bytes); they are then part of the data.
  Tensor out = transform(apply(data_));
  EMBER_CHECK(out.defined() && out.dim() >= 1 && out.size(0) == data_.size(0),
              "TensorDataset::map: the transform turned data of shape {} into {}; it must keep the {} examples",
              shape_str(data_.sizes()), out.defined() ? shape_str(out.sizes()) : std::string("an undefined tensor"),
              data_.size(0));
  data_ = std::move(out);
  transforms_.clear();
  return *this;
}

Tensor Normalize::operator()(const Tensor& x) const {
  EMBER_CHECK(std != 0.0, "Normalize: std must be non-zero (mean {}, std {})", mean, std);
  EMBER_CHECK(x.defined(), "Normalize: got an undefined tensor");
  if (x.requires_grad()) return (x * scale - mean) / std;  // keeps the history
  // One pass, x * a + b (the loader's thread runs it for every batch).
  const Tensor in = x.contiguous();
  Tensor out = empty(x.sizes(), x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32);
  const double a = scale / std, b = -mean / std;
  dispatch(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = in.data_ptr<T>();
    dispatch_floating(out.dtype(), "Normalize", [&](auto otag) {
      using O = typename decltype(otag)::type;
      O* dst = out.data_ptr<O>();
      const O oa = static_cast<O>(a), ob = static_cast<O>(b);
      const std::int64_t n = in.numel();
      for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<O>(src[i]) * oa + ob;
    });
  });
  return out;
}

MNIST::MNIST(const std::string& root, bool train) : MNIST(load(root, train)) { transform(ToFloat{}); }

MNIST::MNIST(Example all) : TensorDataset(std::move(all.data), std::move(all.target)) {}

Example MNIST::load(const std::string& root, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = find_file(root, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_file(root, prefix + "-labels-idx1-ubyte");
  const Tensor images = read_mnist_images(images_path);
  const Tensor labels = read_mnist_labels(labels_path);
  EMBER_CHECK(images.size(0) == labels.size(0), "MNIST: {} has {} images but {} has {} labels", images_path,
              images.size(0), labels_path, labels.size(0));
  return {images.reshape({images.size(0), 1, 28, 28}), labels};
}

}  // namespace ember::data
