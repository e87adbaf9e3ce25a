#include "ember/nn/layers.h"

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "ember/autograd/grad_mode.h"
#include "ember/nn/functional.h"
#include "ember/nn/init.h"
#include "ember/ops/ops.h"

namespace ember::nn {
namespace {
// PyTorch's default for Linear and Conv: weight kaiming_uniform(a = sqrt(5)),
// which is U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)).
void default_init(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}
}  // namespace

Linear::Linear(const LinearOptions& o) : Module("Linear"), options(o) {
  EMBER_CHECK(o.in_features() > 0 && o.out_features() > 0, "Linear: features must be positive, got {} and {}",
              o.in_features(), o.out_features());
  weight = register_parameter("weight", empty({o.out_features(), o.in_features()}));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_features()}));
  reset_parameters();
}

void Linear::reset_parameters() { default_init(weight, bias); }
Tensor Linear::forward(const Tensor& x) { return F::linear(x, weight, bias); }
std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", options.in_features(), options.out_features(),
                     options.bias());
}

Conv2d::Conv2d(const Conv2dOptions& o) : Module("Conv2d"), options(o) {
  EMBER_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.groups() > 0 && o.in_channels() % o.groups() == 0 &&
                  o.out_channels() % o.groups() == 0,
              "Conv2d: channels {} -> {} must be positive and divisible by groups {}", o.in_channels(), o.out_channels(),
              o.groups());
  const Int2 k = o.kernel_size();
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(), k[0], k[1]}));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_channels()}));
  reset_parameters();
}

void Conv2d::reset_parameters() { default_init(weight, bias); }
Tensor Conv2d::forward(const Tensor& x) {
  return F::conv2d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups());
}
std::string Conv2d::extra_repr() const {
  const Int2 k = options.kernel_size(), s = options.stride(), p = options.padding(), d = options.dilation();
  std::string r = fmt::format("{}, {}, kernel_size=({}, {}), stride=({}, {})", options.in_channels(),
                              options.out_channels(), k[0], k[1], s[0], s[1]);
  if (p != Int2{0, 0}) r += fmt::format(", padding=({}, {})", p[0], p[1]);
  if (d != Int2{1, 1}) r += fmt::format(", dilation=({}, {})", d[0], d[1]);
  if (options.groups() != 1) r += fmt::format(", groups={}", options.groups());
  if (!options.bias()) r += ", bias=False";
  return r;
}

BatchNorm::BatchNorm(const char* type_name, const BatchNormOptions& o, std::vector<std::int64_t> dims)
    : Module(type_name), options(o), dims_(std::move(dims)) {
  const std::int64_t c = o.num_features();
  EMBER_CHECK(c > 0, "{}: num_features must be positive, got {}", type_name, c);
  if (o.affine()) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (o.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  EMBER_CHECK(x.defined() && std::find(dims_.begin(), dims_.end(), x.dim()) != dims_.end(),
              "{}: expected an input with {} dims, got {}", type_name(), fmt::join(dims_, " or "),
              x.defined() ? shape_str(x.sizes()) : "undefined");
  if (is_training() && num_batches_tracked.defined()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(ones({}, DType::Int64));
  }
  return F::batch_norm(x, running_mean, running_var, weight, bias, is_training() || !running_mean.defined(),
                       options.momentum(), options.eps());
}

std::string BatchNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", options.num_features(), options.eps(),
                     options.momentum(), options.affine(), options.track_running_stats());
}

}  // namespace ember::nn
