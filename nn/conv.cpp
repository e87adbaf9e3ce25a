#include "ember/nn/conv.h"

#include <cmath>

#include "ember/nn/init.h"
#include "ember/ops/nn_ops.h"

namespace ember::nn {
namespace {
// PyTorch's _ConvNd.reset_parameters: weight kaiming_uniform(a = sqrt(5)), bias U(+-1/sqrt(fan_in)),
// fan_in from the weight's dim 1 (for a transposed convolution: out_channels / groups).
void conv_init(Tensor& weight, Tensor& bias) {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto fan_in = init::calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

void check_channels(const char* name, std::int64_t in, std::int64_t out, std::int64_t groups) {
  EMBER_CHECK(in > 0 && out > 0 && groups > 0 && in % groups == 0 && out % groups == 0,
              "{}: channels {} -> {} must be positive and divisible by groups {}", name, in, out, groups);
}
}  // namespace

Conv1dImpl::Conv1dImpl(const Conv1dOptions& o) : options(o) {
  check_channels("Conv1d", o.in_channels(), o.out_channels(), o.groups());
  EMBER_CHECK(o.kernel_size() > 0, "Conv1d: kernel_size must be positive, got {}", o.kernel_size());
  reset();
}

void Conv1dImpl::reset() {
  const Conv1dOptions& o = options;
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size()}));
  bias = o.bias() ? register_parameter("bias", empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

void Conv1dImpl::reset_parameters() { conv_init(weight, bias); }

Tensor Conv1dImpl::forward(const Tensor& x) {
  return conv1d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups());
}

std::string Conv1dImpl::extra_repr() const {
  std::string r = fmt::format("{}, {}, kernel_size=({},), stride=({},)", options.in_channels(), options.out_channels(),
                              options.kernel_size(), options.stride());
  if (options.padding() != 0) r += fmt::format(", padding=({},)", options.padding());
  if (options.dilation() != 1) r += fmt::format(", dilation=({},)", options.dilation());
  if (options.groups() != 1) r += fmt::format(", groups={}", options.groups());
  if (!options.bias()) r += ", bias=False";
  return r;
}

ConvTranspose2dImpl::ConvTranspose2dImpl(const ConvTranspose2dOptions& o) : options(o) {
  check_channels("ConvTranspose2d", o.in_channels(), o.out_channels(), o.groups());
  reset();
}

void ConvTranspose2dImpl::reset() {
  const ConvTranspose2dOptions& o = options;
  const Int2 k = o.kernel_size();
  weight = register_parameter("weight", empty({o.in_channels(), o.out_channels() / o.groups(), k[0], k[1]}));
  bias = o.bias() ? register_parameter("bias", empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

void ConvTranspose2dImpl::reset_parameters() { conv_init(weight, bias); }

Tensor ConvTranspose2dImpl::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, options.stride(), options.padding(), options.output_padding(),
                          options.groups(), options.dilation());
}

std::string ConvTranspose2dImpl::extra_repr() const {
  const Int2 k = options.kernel_size(), s = options.stride(), p = options.padding(), op = options.output_padding(),
             d = options.dilation();
  std::string r = fmt::format("{}, {}, kernel_size=({}, {}), stride=({}, {})", options.in_channels(),
                              options.out_channels(), k[0], k[1], s[0], s[1]);
  if (p != Int2{0, 0}) r += fmt::format(", padding=({}, {})", p[0], p[1]);
  if (op != Int2{0, 0}) r += fmt::format(", output_padding=({}, {})", op[0], op[1]);
  if (d != Int2{1, 1}) r += fmt::format(", dilation=({}, {})", d[0], d[1]);
  if (options.groups() != 1) r += fmt::format(", groups={}", options.groups());
  if (!options.bias()) r += ", bias=False";
  return r;
}

}  // namespace ember::nn
