#pragma once
/// The layers with parameters: Linear, Conv2d, BatchNorm1d/2d. Each forward
/// calls its functional op; initialisation follows PyTorch's defaults.
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct LinearOptions {
  LinearOptions(std::int64_t in_features, std::int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  EMBER_OPTION(LinearOptions, std::int64_t, in_features, 0)
  EMBER_OPTION(LinearOptions, std::int64_t, out_features, 0)
  EMBER_OPTION(LinearOptions, bool, bias, true)
};

/// y = x W^T + b. weight [out, in] ~ kaiming_uniform(a=sqrt(5)), bias ~ U(+-1/sqrt(in)).
class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Linear(std::int64_t in_features, std::int64_t out_features) : Linear(LinearOptions(in_features, out_features)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();

  LinearOptions options;
  Tensor weight, bias;
};

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
class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  void reset_parameters();

  Conv2dOptions options;
  Tensor weight, bias;
};

struct BatchNormOptions {
  explicit BatchNormOptions(std::int64_t num_features) : num_features_(num_features) {}
  EMBER_OPTION(BatchNormOptions, std::int64_t, num_features, 0)
  EMBER_OPTION(BatchNormOptions, double, eps, 1e-5)
  EMBER_OPTION(BatchNormOptions, double, momentum, 0.1)
  EMBER_OPTION(BatchNormOptions, bool, affine, true)
  EMBER_OPTION(BatchNormOptions, bool, track_running_stats, true)
};

/// Batch normalization over channel dim 1; `dims` are the accepted input ranks.
class BatchNorm : public Module {
 public:
  BatchNorm(const char* type_name, const BatchNormOptions& options, std::vector<std::int64_t> dims);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  std::vector<std::int64_t> dims_;
};

/// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNorm("BatchNorm1d", options, {2, 3}) {}
  explicit BatchNorm1d(std::int64_t num_features) : BatchNorm1d(BatchNormOptions(num_features)) {}
};

/// Over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm("BatchNorm2d", options, {4}) {}
  explicit BatchNorm2d(std::int64_t num_features) : BatchNorm2d(BatchNormOptions(num_features)) {}
};

}  // namespace ember::nn
