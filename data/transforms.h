#pragma once
/// Data augmentation with torchvision's names and parameters: RandomAffine,
/// ElasticTransform, RandomCrop, RandomErasing, Normalize, Lambda and Compose,
/// applied per example by a TransformDataset wrapped around any Dataset.
///
///   auto train = std::make_shared<data::MNIST>("build/mnist");
///   namespace T = data::transforms;
///   data::TransformDataset aug(train, T::Compose({T::RandomAffine(T::RandomAffineOptions(10).scale({0.9, 1.1})),
///                                                 T::ElasticTransform(34, 4), T::Normalize<>(0.1307, 0.3081)}));
///   data::DataLoader loader(aug, data::DataLoaderOptions().batch_size(128).shuffle(true).num_workers(2));
///
/// Reproducible: example i's random draws in epoch e come only from (seed, e, i)
/// (SampleRng), so the batches are the same whatever the number of loader
/// workers and however their threads interleave. Images are [C, H, W] or [H, W]
/// (any dtype in, float32 out), in pixel coordinates with pixel centres at
/// integers. Consecutive RandomAffine and ElasticTransform steps of a Compose
/// are fused: their coordinate maps are chained and the image is sampled once.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ember/core/options.h"
#include "ember/data/dataset.h"

namespace ember::data {

/// The random numbers of one example: a counter-based stream keyed by
/// (seed, epoch, index), independent of threads and of draw order elsewhere.
class SampleRng {
 public:
  SampleRng(std::uint64_t seed, std::int64_t epoch, std::int64_t index);
  /// 64 random bits (the next counter).
  std::uint64_t bits();
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi) (lo when lo == hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi); needs lo < hi.
  std::int64_t integer(std::int64_t lo, std::int64_t hi);
  /// Standard normal.
  double normal();

 private:
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

/// The epoch whose batches this thread is preparing: set by the DataLoader's
/// workers (EpochScope), 0 elsewhere. TransformDataset keys its draws with it.
std::int64_t current_epoch();

/// Sets current_epoch() on this thread until destroyed (restores the old value).
class EpochScope {
 public:
  explicit EpochScope(std::int64_t epoch);
  ~EpochScope();
  EpochScope(const EpochScope&) = delete;
  EpochScope& operator=(const EpochScope&) = delete;

 private:
  std::int64_t saved_;
};

namespace transforms {

/// One step of an augmentation pipeline: sees (and may replace) both the data
/// and the target of one example, drawing its randomness from `rng`.
class Transform {
 public:
  virtual ~Transform() = default;
  /// The torchvision name ("RandomAffine"), used in messages.
  virtual std::string name() const = 0;
  /// Transforms one example in place: example.data [C, H, W] or [H, W], example.target as stored.
  virtual void apply(Example& example, SampleRng& rng) const = 0;
};

/// A coordinate map drawn for one image of H x W pixels: output pixel (x, y)
/// reads the input at affine (m * (x, y, 1)) or at (x, y) + (dx, dy)(x, y).
struct WarpStage {
  bool is_affine = true;
  double m[6] = {1, 0, 0, 0, 1, 0};
  std::vector<float> dx, dy;  // [H * W] displacements in pixels (when !is_affine); reused between draws
  double fill = 0.0;          // value of pixels mapped outside this stage's input
};

/// A geometric transform (RandomAffine, ElasticTransform): draws a WarpStage;
/// Compose chains consecutive ones and samples the image once (bilinear).
class WarpTransform : public Transform {
 public:
  /// Draws this example's map for an H x W image into `stage`.
  virtual void draw(WarpStage& stage, std::int64_t height, std::int64_t width, SampleRng& rng) const = 0;
  /// Samples the image once through the drawn map.
  void apply(Example& example, SampleRng& rng) const override;
};

/// Options of RandomAffine, torchvision's parameters: degrees (d gives
/// [-d, d]), translate (fractions of width and height; shifts are whole
/// pixels, as torchvision rounds them), scale range, shear (s: x in [-s, s];
/// {a, b}: x in [a, b]; {a, b, c, d}: x in [a, b] and y in [c, d]), fill.
class RandomAffineOptions {
 public:
  /// Rotation uniform in [-degrees, degrees]; degrees >= 0.
  RandomAffineOptions(double degrees) : degrees_({-degrees, degrees}), single_(degrees) {}  // NOLINT: implicit
  /// Rotation uniform in [degrees[0], degrees[1]].
  RandomAffineOptions(std::vector<double> degrees) : degrees_(std::move(degrees)) {}  // NOLINT
  /// The rotation range in degrees (positive is clockwise on screen, y pointing down, as torchvision).
  const std::vector<double>& degrees() const { return degrees_; }
  EMBER_OPTION(RandomAffineOptions, std::vector<double>, translate, {})
  EMBER_OPTION(RandomAffineOptions, std::vector<double>, scale, {})
  EMBER_OPTION(RandomAffineOptions, std::vector<double>, shear, {})
  EMBER_OPTION(RandomAffineOptions, double, fill, 0.0)

 private:
  std::vector<double> degrees_;
  double single_ = 0.0;  // the single number given, if any (checked non-negative)
  friend class RandomAffine;
};

/// The parameters RandomAffine drew for one image (torchvision's get_params).
struct AffineParams {
  double angle = 0.0;                 // degrees
  double translate_x = 0.0, translate_y = 0.0;  // whole pixels
  double scale = 1.0;
  double shear_x = 0.0, shear_y = 0.0;  // degrees
};

/// torchvision.transforms.RandomAffine with bilinear sampling: a random
/// rotation, translation, scale and shear about the image centre.
class RandomAffine : public WarpTransform {
 public:
  /// Throws on a negative single degrees value, a range upside down, translate
  /// outside [0, 1], a non-positive scale, or a shear list not of 1, 2 or 4 values.
  explicit RandomAffine(RandomAffineOptions options);
  std::string name() const override { return "RandomAffine"; }
  /// Draws angle, translation, scale and shear in torchvision's order, for an H x W image.
  AffineParams get_params(std::int64_t height, std::int64_t width, SampleRng& rng) const;
  /// The inverse map torchvision uses (output pixel -> input pixel), about the centre of an H x W image.
  static void inverse_matrix(const AffineParams& p, std::int64_t height, std::int64_t width, double m[6]);
  void draw(WarpStage& stage, std::int64_t height, std::int64_t width, SampleRng& rng) const override;
  const RandomAffineOptions& options() const { return options_; }

 private:
  RandomAffineOptions options_;
};

/// torchvision.transforms.ElasticTransform (Simard et al. 2003): displacement
/// fields uniform in [-1, 1] per pixel, smoothed by a Gaussian of std `sigma`
/// (kernel 8 sigma + 1, reflected borders), scaled by alpha as torchvision
/// does (alpha / H of the normalised extent: about alpha / 2 pixels per unit).
class ElasticTransform : public WarpTransform {
 public:
  /// Throws on a negative alpha or sigma. torchvision's defaults: alpha 50, sigma 5.
  explicit ElasticTransform(double alpha = 50.0, double sigma = 5.0, double fill = 0.0);
  std::string name() const override { return "ElasticTransform"; }
  void draw(WarpStage& stage, std::int64_t height, std::int64_t width, SampleRng& rng) const override;
  double alpha() const { return alpha_; }
  double sigma() const { return sigma_; }

 private:
  double alpha_, sigma_, fill_;
  std::vector<float> kernel_;  // the 1-D Gaussian, normalised
};

/// Options of RandomCrop: output size (h, w); padding added first (one value for
/// all sides, {left/right, top/bottom} or {left, top, right, bottom}), filled with `fill`.
class RandomCropOptions {
 public:
  /// A square crop of size x size.
  RandomCropOptions(std::int64_t size) : size_({size, size}) {}  // NOLINT: implicit, as torchvision's int
  /// A crop of {height, width}.
  RandomCropOptions(std::vector<std::int64_t> size) : size_(std::move(size)) {}  // NOLINT
  const std::vector<std::int64_t>& size() const { return size_; }
  EMBER_OPTION(RandomCropOptions, std::vector<std::int64_t>, padding, {})
  EMBER_OPTION(RandomCropOptions, bool, pad_if_needed, false)
  EMBER_OPTION(RandomCropOptions, double, fill, 0.0)

 private:
  std::vector<std::int64_t> size_;
};

/// torchvision.transforms.RandomCrop: pads, then cuts a random size[0] x size[1]
/// window (top-left uniform over the positions that fit).
class RandomCrop : public Transform {
 public:
  /// Throws on a non-positive size or negative padding; a crop larger than the
  /// padded image throws when applied, naming both sizes.
  explicit RandomCrop(RandomCropOptions options);
  std::string name() const override { return "RandomCrop"; }
  void apply(Example& example, SampleRng& rng) const override;

 private:
  RandomCropOptions options_;
  std::int64_t pad_[4] = {0, 0, 0, 0};  // left, top, right, bottom
};

/// Options of RandomErasing (torchvision's): probability p, the erased area as a
/// fraction of the image (scale range), its aspect ratio range (log-uniform),
/// and the value written (one per channel, or random normal values).
struct RandomErasingOptions {
  EMBER_OPTION(RandomErasingOptions, double, p, 0.5)
  EMBER_OPTION(RandomErasingOptions, std::vector<double>, scale, (std::vector<double>{0.02, 0.33}))
  EMBER_OPTION(RandomErasingOptions, std::vector<double>, ratio, (std::vector<double>{0.3, 3.3}))
  EMBER_OPTION(RandomErasingOptions, std::vector<double>, value, {0.0})
  EMBER_OPTION(RandomErasingOptions, bool, random_value, false)
};

/// torchvision.transforms.RandomErasing (Zhong et al. 2017): with probability p,
/// overwrites a random rectangle (up to 10 tries to fit one; else no change).
class RandomErasing : public Transform {
 public:
  /// Throws on p outside [0, 1], a range upside down, scale outside [0, 1] or a non-positive ratio.
  explicit RandomErasing(RandomErasingOptions options = {});
  std::string name() const override { return "RandomErasing"; }
  void apply(Example& example, SampleRng& rng) const override;

 private:
  RandomErasingOptions options_;
};

/// (x - mean[c]) / std[c] per channel c of example.data (float32 out); the body of Normalize.
void normalize_image(Example& example, const std::vector<double>& mean, const std::vector<double>& std);
/// Throws unless mean and std are non-empty lists of one length with non-zero, finite std.
void check_normalize(const std::vector<double>& mean, const std::vector<double>& std);

/// torchvision.transforms.Normalize: (x - mean[c]) / std[c] per channel c of
/// [C, H, W] (one value applies to every channel). A template only so that
/// LibTorch's spelling Normalize<>(0.1307, 0.3081) works too (`Target` is unused).
template <class Target = Tensor>
class Normalize : public Transform {
 public:
  /// Throws on empty lists, lists of different lengths, or a zero std.
  Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
    check_normalize(mean_, std_);
  }
  /// One mean and std for every channel (LibTorch's Normalize<>(mean, stddev)).
  Normalize(double mean, double stddev) : Normalize(std::vector<double>{mean}, std::vector<double>{stddev}) {}
  std::string name() const override { return "Normalize"; }
  void apply(Example& example, SampleRng&) const override { normalize_image(example, mean_, std_); }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return std_; }

 private:
  std::vector<double> mean_, std_;
};

/// A transform from a function that sees data, target and the example's SampleRng.
class Lambda : public Transform {
 public:
  /// `fn(example, rng)` changes the example in place; `name` appears in messages.
  explicit Lambda(std::function<void(Example&, SampleRng&)> fn, std::string name = "Lambda");
  std::string name() const override { return name_; }
  void apply(Example& example, SampleRng& rng) const override;

 private:
  std::function<void(Example&, SampleRng&)> fn_;
  std::string name_;
};

/// A shared, immutable transform: built from any Transform value or shared_ptr.
class AnyTransform {
 public:
  template <class T>
    requires std::derived_from<std::remove_cvref_t<T>, Transform>
  AnyTransform(T&& t) : ptr_(std::make_shared<const std::remove_cvref_t<T>>(std::forward<T>(t))) {}  // NOLINT
  AnyTransform(std::shared_ptr<const Transform> t);  // NOLINT: implicit, throws if null
  const Transform& operator*() const { return *ptr_; }
  const Transform* operator->() const { return ptr_.get(); }
  const std::shared_ptr<const Transform>& ptr() const { return ptr_; }

 private:
  std::shared_ptr<const Transform> ptr_;
};

/// torchvision.transforms.Compose: the transforms in order. Runs of consecutive
/// WarpTransforms are fused into one sampling pass (their draws are made in the
/// same order as unfused, and their coordinate maps chained).
class Compose : public Transform {
 public:
  Compose(std::vector<AnyTransform> transforms);  // NOLINT: implicit, as torchvision's list
  std::string name() const override { return "Compose"; }
  void apply(Example& example, SampleRng& rng) const override;
  const std::vector<AnyTransform>& transforms() const { return transforms_; }

 private:
  std::vector<AnyTransform> transforms_;
};

/// Samples `image` ([C, H, W] or [H, W], any dtype) once through `stages`
/// (applied as if in order: stage 0 first), bilinear; returns float32 of the same shape.
Tensor warp(const Tensor& image, const WarpStage* stages, std::size_t count);
/// warp() through all of `stages`.
inline Tensor warp(const Tensor& image, const std::vector<WarpStage>& stages) {
  return warp(image, stages.data(), stages.size());
}

}  // namespace transforms

/// Any Dataset with a transform applied to each example it returns, keyed by
/// (seed, current_epoch(), index): the loader's workers set the epoch.
class TransformDataset : public Dataset {
 public:
  /// Wraps `base`; `seed` defaults to a number drawn from the default generator
  /// (so manual_seed makes runs reproducible).
  TransformDataset(std::shared_ptr<const Dataset> base, transforms::AnyTransform transform);
  TransformDataset(std::shared_ptr<const Dataset> base, transforms::AnyTransform transform, std::uint64_t seed);
  std::int64_t size() const override { return base_->size(); }
  /// base.get(i), transformed with SampleRng(seed, current_epoch(), i).
  Example get(std::int64_t i) const override;
  /// base.get_batch(indices), each row transformed as get() would, then stacked.
  Example get_batch(const std::vector<std::int64_t>& indices) const override;
  /// Example i as epoch `epoch` gives it.
  Example get(std::int64_t i, std::int64_t epoch) const;
  std::uint64_t seed() const { return seed_; }
  const Dataset& base() const { return *base_; }

 private:
  std::shared_ptr<const Dataset> base_;
  transforms::AnyTransform transform_;
  std::uint64_t seed_;
};

}  // namespace ember::data
