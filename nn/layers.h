#pragma once
/// The layers with parameters: Linear, Conv2d, BatchNorm1d/2d. Each forward
/// calls its functional op; initialisation follows PyTorch's defaults.
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct LinearOptions {
  /// LibTorch's spelling: LinearOptions(784, 128).bias(false).
  LinearOptions(std::int64_t in_features, std::int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  EMBER_OPTION(LinearOptions, std::int64_t, in_features, 0)
  EMBER_OPTION(LinearOptions, std::int64_t, out_features, 0)
  EMBER_OPTION(LinearOptions, bool, bias, true)
};

/// y = x W^T + b. x [*, in] -> [*, out]; weight [out, in] ~ kaiming_uniform(a=sqrt(5)), bias ~ U(+-1/sqrt(in)).
class LinearImpl : public Cloneable<LinearImpl> {
 public:
  explicit LinearImpl(const LinearOptions& options);
  LinearImpl(std::int64_t in_features, std::int64_t out_features) : LinearImpl(LinearOptions(in_features, out_features)) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  /// Registers weight and bias and initialises them (clone() calls it too).
  void reset();
  void reset_parameters();

  LinearOptions options;
  Tensor weight, bias;
};
EMBER_MODULE(Linear);

struct Conv2dOptions {
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_OPTION(Conv2dOptions, std::int64_t, in_channels, 0)
  EMBER_OPTION(Conv2dOptions, std::int64_t, out_channels, 0)
  EMBER_OPTION(Conv2dOptions, Size2, kernel_size, 1)
  EMBER_OPTION(Conv2dOptions, Size2, stride, 1)
  EMBER_OPTION(Conv2dOptions, Size2, padding, 0)
  EMBER_OPTION(Conv2dOptions, Size2, dilation, 1)
  EMBER_OPTION(Conv2dOptions, std::int64_t, groups, 1)
  EMBER_OPTION(Conv2dOptions, bool, bias, true)
};

/// 2-d convolution over [N, C, H, W]; weight [out, in/groups, kh, kw].
class Conv2dImpl : public Cloneable<Conv2dImpl> {
 public:
  explicit Conv2dImpl(const Conv2dOptions& options);
  Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  /// Registers weight and bias and initialises them (clone() calls it too).
  void reset();
  void reset_parameters();

  Conv2dOptions options;
  Tensor weight, bias;
};
EMBER_MODULE(Conv2d);

struct BatchNormOptions {
  explicit BatchNormOptions(std::int64_t num_features) : num_features_(num_features) {}
  EMBER_OPTION(BatchNormOptions, std::int64_t, num_features, 0)
  EMBER_OPTION(BatchNormOptions, double, eps, 1e-5)
  EMBER_OPTION(BatchNormOptions, double, momentum, 0.1)
  EMBER_OPTION(BatchNormOptions, bool, affine, true)
  EMBER_OPTION(BatchNormOptions, bool, track_running_stats, true)
};

/// Batch normalization over channel dim 1, shared by BatchNorm1d and BatchNorm2d;
/// `dims` are the accepted input ranks.
template <class Derived>
class BatchNormImplBase : public Cloneable<Derived> {
 public:
  BatchNormImplBase(const BatchNormOptions& options, std::vector<std::int64_t> dims);
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  /// Registers weight, bias and the running statistics (clone() calls it too).
  void reset();

  BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  std::vector<std::int64_t> dims_;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1dImpl : public BatchNormImplBase<BatchNorm1dImpl> {
 public:
  explicit BatchNorm1dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, {2, 3}) {}
  explicit BatchNorm1dImpl(std::int64_t num_features) : BatchNorm1dImpl(BatchNormOptions(num_features)) {}
};
EMBER_MODULE(BatchNorm1d);

/// Over [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImplBase<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, {4}) {}
  explicit BatchNorm2dImpl(std::int64_t num_features) : BatchNorm2dImpl(BatchNormOptions(num_features)) {}
};
EMBER_MODULE(BatchNorm2d);

extern template class BatchNormImplBase<BatchNorm1dImpl>;
extern template class BatchNormImplBase<BatchNorm2dImpl>;

}  // namespace ember::nn
