#pragma once
/// LayerNorm and GroupNorm (BatchNorm is in layers.h). Each forward calls its functional op.
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct LayerNormOptions {
  /// LibTorch's spelling: LayerNormOptions({512}).eps(1e-6).elementwise_affine(false).
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  EMBER_OPTION(LayerNormOptions, Shape, normalized_shape, {})
  EMBER_OPTION(LayerNormOptions, double, eps, 1e-5)
  EMBER_OPTION(LayerNormOptions, bool, elementwise_affine, true)
};

/// Normalizes over the trailing normalized_shape dims; weight (ones) and bias (zeros) of that shape.
class LayerNormImpl : public Cloneable<LayerNormImpl> {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  /// Registers weight and bias (clone() calls it too).
  void reset();
  void reset_parameters();

  LayerNormOptions options;
  Tensor weight, bias;
};
EMBER_MODULE(LayerNorm);

struct GroupNormOptions {
  GroupNormOptions(std::int64_t num_groups, std::int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  EMBER_OPTION(GroupNormOptions, std::int64_t, num_groups, 1)
  EMBER_OPTION(GroupNormOptions, std::int64_t, num_channels, 0)
  EMBER_OPTION(GroupNormOptions, double, eps, 1e-5)
  EMBER_OPTION(GroupNormOptions, bool, affine, true)
};

/// Normalizes [N, C, *] over groups of C / num_groups channels; per-channel weight and bias [C].
class GroupNormImpl : public Cloneable<GroupNormImpl> {
 public:
  explicit GroupNormImpl(const GroupNormOptions& options);
  GroupNormImpl(std::int64_t num_groups, std::int64_t num_channels)
      : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  void reset();
  void reset_parameters();

  GroupNormOptions options;
  Tensor weight, bias;
};
EMBER_MODULE(GroupNorm);

}  // namespace ember::nn
