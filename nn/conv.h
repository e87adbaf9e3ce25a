#pragma once
/// Conv1d and ConvTranspose2d (Conv2d is in layers.h); PyTorch's default initialisation.
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct Conv1dOptions {
  Conv1dOptions(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_OPTION(Conv1dOptions, std::int64_t, in_channels, 0)
  EMBER_OPTION(Conv1dOptions, std::int64_t, out_channels, 0)
  EMBER_OPTION(Conv1dOptions, std::int64_t, kernel_size, 1)
  EMBER_OPTION(Conv1dOptions, std::int64_t, stride, 1)
  EMBER_OPTION(Conv1dOptions, std::int64_t, padding, 0)
  EMBER_OPTION(Conv1dOptions, std::int64_t, dilation, 1)
  EMBER_OPTION(Conv1dOptions, std::int64_t, groups, 1)
  EMBER_OPTION(Conv1dOptions, bool, bias, true)
};

/// 1-d convolution over [N, C, L]; weight [out, in/groups, k].
class Conv1dImpl : public Cloneable<Conv1dImpl> {
 public:
  explicit Conv1dImpl(const Conv1dOptions& options);
  Conv1dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size)
      : Conv1dImpl(Conv1dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  void reset();
  void reset_parameters();

  Conv1dOptions options;
  Tensor weight, bias;
};
EMBER_MODULE(Conv1d);

struct ConvTranspose2dOptions {
  ConvTranspose2dOptions(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_OPTION(ConvTranspose2dOptions, std::int64_t, in_channels, 0)
  EMBER_OPTION(ConvTranspose2dOptions, std::int64_t, out_channels, 0)
  EMBER_OPTION(ConvTranspose2dOptions, Size2, kernel_size, 1)
  EMBER_OPTION(ConvTranspose2dOptions, Size2, stride, 1)
  EMBER_OPTION(ConvTranspose2dOptions, Size2, padding, 0)
  EMBER_OPTION(ConvTranspose2dOptions, Size2, output_padding, 0)
  EMBER_OPTION(ConvTranspose2dOptions, std::int64_t, groups, 1)
  EMBER_OPTION(ConvTranspose2dOptions, bool, bias, true)
  EMBER_OPTION(ConvTranspose2dOptions, Size2, dilation, 1)
};

/// Transposed 2-d convolution over [N, C_in, H, W]; weight [in, out/groups, kh, kw].
class ConvTranspose2dImpl : public Cloneable<ConvTranspose2dImpl> {
 public:
  explicit ConvTranspose2dImpl(const ConvTranspose2dOptions& options);
  ConvTranspose2dImpl(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  void reset();
  void reset_parameters();

  ConvTranspose2dOptions options;
  Tensor weight, bias;
};
EMBER_MODULE(ConvTranspose2d);

}  // namespace ember::nn
