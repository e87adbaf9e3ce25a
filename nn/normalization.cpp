#include "ember/nn/normalization.h"

#include <fmt/ranges.h>

#include "ember/autograd/grad_mode.h"
#include "ember/nn/init.h"
#include "ember/ops/nn_ops.h"

namespace ember::nn {

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : options(o) {
  EMBER_CHECK(!o.normalized_shape().empty() && numel(o.normalized_shape()) > 0,
              "LayerNorm: normalized_shape must be non-empty with positive sizes, got {}",
              shape_str(o.normalized_shape()));
  reset();
}

void LayerNormImpl::reset() {
  weight = bias = Tensor();
  if (options.elementwise_affine()) {
    weight = register_parameter("weight", empty(options.normalized_shape()));
    bias = register_parameter("bias", empty(options.normalized_shape()));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& x) { return layer_norm(x, options.normalized_shape(), weight, bias, options.eps()); }

std::string LayerNormImpl::extra_repr() const {
  return fmt::format("({}), eps={}, elementwise_affine={}", fmt::join(options.normalized_shape(), ", "), options.eps(),
                     options.elementwise_affine());
}

GroupNormImpl::GroupNormImpl(const GroupNormOptions& o) : options(o) {
  EMBER_CHECK(o.num_groups() > 0 && o.num_channels() > 0 && o.num_channels() % o.num_groups() == 0,
              "GroupNorm: num_channels {} must be positive and divisible by num_groups {}", o.num_channels(),
              o.num_groups());
  reset();
}

void GroupNormImpl::reset() {
  weight = bias = Tensor();
  if (options.affine()) {
    weight = register_parameter("weight", empty({options.num_channels()}));
    bias = register_parameter("bias", empty({options.num_channels()}));
  }
  reset_parameters();
}

void GroupNormImpl::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  EMBER_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == options.num_channels(),
              "GroupNorm: expected an input [N, {}, *], got {}", options.num_channels(),
              x.defined() ? shape_str(x.sizes()) : "undefined");
  return group_norm(x, options.num_groups(), weight, bias, options.eps());
}

std::string GroupNormImpl::extra_repr() const {
  return fmt::format("{}, {}, eps={}, affine={}", options.num_groups(), options.num_channels(), options.eps(),
                     options.affine());
}

}  // namespace ember::nn
