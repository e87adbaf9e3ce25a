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

LinearImpl::LinearImpl(const LinearOptions& o) : options(o) {
  EMBER_CHECK(o.in_features() > 0 && o.out_features() > 0, "Linear: features must be positive, got {} and {}",
              o.in_features(), o.out_features());
  reset();
}

void LinearImpl::reset() {
  weight = register_parameter("weight", empty({options.out_features(), options.in_features()}));
  bias = options.bias() ? register_parameter("bias", empty({options.out_features()})) : Tensor();
  reset_parameters();
}

void LinearImpl::reset_parameters() { default_init(weight, bias); }
Tensor LinearImpl::forward(const Tensor& x) { return F::linear(x, weight, bias); }
std::string LinearImpl::extra_repr() const {
  // PyTorch's repr, Python's bool spelling included (Conv2d's says bias=False the same way).
  return fmt::format("in_features={}, out_features={}, bias={}", options.in_features(), options.out_features(),
                     options.bias() ? "True" : "False");
}

Conv2dImpl::Conv2dImpl(const Conv2dOptions& o) : options(o) {
  EMBER_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.groups() > 0 && o.in_channels() % o.groups() == 0 &&
                  o.out_channels() % o.groups() == 0,
              "Conv2d: channels {} -> {} must be positive and divisible by groups {}", o.in_channels(), o.out_channels(),
              o.groups());
  reset();
}

void Conv2dImpl::reset() {
  const Conv2dOptions& o = options;
  const Int2 k = o.kernel_size();
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(), k[0], k[1]}));
  bias = o.bias() ? register_parameter("bias", empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

void Conv2dImpl::reset_parameters() { default_init(weight, bias); }
Tensor Conv2dImpl::forward(const Tensor& x) {
  return F::conv2d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups());
}
std::string Conv2dImpl::extra_repr() const {
  const Int2 k = options.kernel_size(), s = options.stride(), p = options.padding(), d = options.dilation();
  std::string r = fmt::format("{}, {}, kernel_size=({}, {}), stride=({}, {})", options.in_channels(),
                              options.out_channels(), k[0], k[1], s[0], s[1]);
  if (p != Int2{0, 0}) r += fmt::format(", padding=({}, {})", p[0], p[1]);
  if (d != Int2{1, 1}) r += fmt::format(", dilation=({}, {})", d[0], d[1]);
  if (options.groups() != 1) r += fmt::format(", groups={}", options.groups());
  if (!options.bias()) r += ", bias=False";
  return r;
}

template <class Derived>
BatchNormImplBase<Derived>::BatchNormImplBase(const BatchNormOptions& o, std::vector<std::int64_t> dims)
    : options(o), dims_(std::move(dims)) {
  EMBER_CHECK(o.num_features() > 0, "{}: num_features must be positive, got {}", detail::class_name(typeid(Derived)),
              o.num_features());
  reset();
}

template <class Derived>
void BatchNormImplBase<Derived>::reset() {
  const std::int64_t c = options.num_features();
  weight = bias = running_mean = running_var = num_batches_tracked = Tensor();
  if (options.affine()) {
    weight = this->register_parameter("weight", ones({c}));
    bias = this->register_parameter("bias", zeros({c}));
  }
  if (options.track_running_stats()) {
    running_mean = this->register_buffer("running_mean", zeros({c}));
    running_var = this->register_buffer("running_var", ones({c}));
    num_batches_tracked = this->register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  }
}

template <class Derived>
Tensor BatchNormImplBase<Derived>::forward(const Tensor& x) {
  EMBER_CHECK(x.defined() && std::find(dims_.begin(), dims_.end(), x.dim()) != dims_.end(),
              "{}: expected an input with {} dims, got {}", this->type_name(), fmt::join(dims_, " or "),
              x.defined() ? shape_str(x.sizes()) : "undefined");
  const bool training = this->is_training();
  if (training && num_batches_tracked.defined()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(ones({}, DType::Int64));
  }
  return F::batch_norm(x, running_mean, running_var, weight, bias, training || !running_mean.defined(),
                       options.momentum(), options.eps());
}

template <class Derived>
std::string BatchNormImplBase<Derived>::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", options.num_features(), options.eps(),
                     options.momentum(), options.affine(), options.track_running_stats());
}

template class BatchNormImplBase<BatchNorm1dImpl>;
template class BatchNormImplBase<BatchNorm2dImpl>;

}  // namespace ember::nn
