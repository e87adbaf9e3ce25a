#include "ember/nn/simple.h"

namespace ember::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& o) : options(o) {
  EMBER_CHECK(o.p() >= 0.0 && o.p() <= 1.0, "Dropout: probability has to be between 0 and 1, got {}", o.p());
}

Tensor MaxPool2dImpl::forward(const Tensor& x) {
  return F::max_pool2d(x, options.kernel_size(), Int2(options.stride()), options.padding(), options.dilation(),
                       options.ceil_mode());
}

std::string MaxPool2dImpl::extra_repr() const {
  const Int2 k = options.kernel_size(), s = options.stride(), p = options.padding();
  return fmt::format("kernel_size=({}, {}), stride=({}, {}), padding=({}, {}), ceil_mode={}", k[0], k[1], s[0], s[1],
                     p[0], p[1], options.ceil_mode());
}

Tensor AvgPool2dImpl::forward(const Tensor& x) {
  return F::avg_pool2d(x, options.kernel_size(), Int2(options.stride()), options.padding(), options.ceil_mode(),
                       options.count_include_pad());
}

std::string AvgPool2dImpl::extra_repr() const {
  const Int2 k = options.kernel_size(), s = options.stride(), p = options.padding();
  return fmt::format("kernel_size=({}, {}), stride=({}, {}), padding=({}, {})", k[0], k[1], s[0], s[1], p[0], p[1]);
}

}  // namespace ember::nn
