#pragma once
/// Layers without parameters: activations, pooling, dropout, flatten.
#include <fmt/ranges.h>

#include "ember/nn/functional.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

/// A module whose forward is one function of its input, printed as `type_name(repr)`.
class LambdaImpl : public Cloneable<LambdaImpl> {
 public:
  LambdaImpl(std::string type_name, std::function<Tensor(const Tensor&)> fn, std::string repr = "")
      : Cloneable(std::move(type_name)), fn_(std::move(fn)), repr_(std::move(repr)) {}
  Tensor forward(const Tensor& x) { return fn_(x); }
  std::string extra_repr() const override { return repr_; }

 private:
  std::function<Tensor(const Tensor&)> fn_;
  std::string repr_;
};
EMBER_MODULE(Lambda);

/// max(x, 0), elementwise.
class ReLUImpl : public Cloneable<ReLUImpl> {
 public:
  Tensor forward(const Tensor& x) { return F::relu(x); }
};
EMBER_MODULE(ReLU);

/// 1 / (1 + exp(-x)), elementwise.
class SigmoidImpl : public Cloneable<SigmoidImpl> {
 public:
  Tensor forward(const Tensor& x) { return F::sigmoid(x); }
};
EMBER_MODULE(Sigmoid);

/// tanh(x), elementwise.
class TanhImpl : public Cloneable<TanhImpl> {
 public:
  Tensor forward(const Tensor& x) { return F::tanh(x); }
};
EMBER_MODULE(Tanh);

/// x for x >= 0, negative_slope * x otherwise.
class LeakyReLUImpl : public Cloneable<LeakyReLUImpl> {
 public:
  explicit LeakyReLUImpl(double negative_slope = 0.01) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) { return F::leaky_relu(x, negative_slope); }
  std::string extra_repr() const override { return fmt::format("negative_slope={}", negative_slope); }
  double negative_slope;
};
EMBER_MODULE(LeakyReLU);

/// GELU, exact ("none") or with the "tanh" approximation.
class GELUImpl : public Cloneable<GELUImpl> {
 public:
  explicit GELUImpl(std::string approximate = "none") : approximate(std::move(approximate)) {}
  Tensor forward(const Tensor& x) { return F::gelu(x, approximate); }
  std::string extra_repr() const override { return fmt::format("approximate='{}'", approximate); }
  std::string approximate;
};
EMBER_MODULE(GELU);

// ---- issue 10 part A: more activations ----
/// x * sigmoid(x), elementwise.
class SiLUImpl : public Cloneable<SiLUImpl> {
 public:
  Tensor forward(const Tensor& x) { return F::silu(x); }
};
EMBER_MODULE(SiLU);

/// x * tanh(softplus(x)), elementwise.
class MishImpl : public Cloneable<MishImpl> {
 public:
  Tensor forward(const Tensor& x) { return F::mish(x); }
};
EMBER_MODULE(Mish);

/// x limited to [min_val, max_val].
class HardtanhImpl : public Cloneable<HardtanhImpl> {
 public:
  explicit HardtanhImpl(double min_val = -1.0, double max_val = 1.0) : min_val(min_val), max_val(max_val) {
    EMBER_CHECK(max_val > min_val, "Hardtanh: max_val ({}) must be greater than min_val ({})", max_val, min_val);
  }
  Tensor forward(const Tensor& x) { return F::hardtanh(x, min_val, max_val); }
  std::string extra_repr() const override { return fmt::format("min_val={}, max_val={}", min_val, max_val); }
  double min_val, max_val;
};
EMBER_MODULE(Hardtanh);

/// x for x > 0, alpha * (exp(x) - 1) otherwise.
class ELUImpl : public Cloneable<ELUImpl> {
 public:
  explicit ELUImpl(double alpha = 1.0) : alpha(alpha) {}
  Tensor forward(const Tensor& x) { return F::elu(x, alpha); }
  std::string extra_repr() const override { return fmt::format("alpha={}", alpha); }
  double alpha;
};
EMBER_MODULE(ELU);

/// log(1 + exp(beta x)) / beta, and x where beta x > threshold.
class SoftplusImpl : public Cloneable<SoftplusImpl> {
 public:
  explicit SoftplusImpl(double beta = 1.0, double threshold = 20.0) : beta(beta), threshold(threshold) {}
  Tensor forward(const Tensor& x) { return F::softplus(x, beta, threshold); }
  std::string extra_repr() const override { return fmt::format("beta={}, threshold={}", beta, threshold); }
  double beta, threshold;
};
EMBER_MODULE(Softplus);
// ---- end of issue 10 part A ----

/// softmax over `dim`.
class SoftmaxImpl : public Cloneable<SoftmaxImpl> {
 public:
  explicit SoftmaxImpl(std::int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) { return F::softmax(x, dim); }
  std::string extra_repr() const override { return fmt::format("dim={}", dim); }
  std::int64_t dim;
};
EMBER_MODULE(Softmax);

/// log(softmax(x)) over `dim`, computed stably.
class LogSoftmaxImpl : public Cloneable<LogSoftmaxImpl> {
 public:
  explicit LogSoftmaxImpl(std::int64_t dim) : dim(dim) {}
  Tensor forward(const Tensor& x) { return F::log_softmax(x, dim); }
  std::string extra_repr() const override { return fmt::format("dim={}", dim); }
  std::int64_t dim;
};
EMBER_MODULE(LogSoftmax);

/// Flattens dims start_dim..end_dim (default: all but the batch dim).
class FlattenImpl : public Cloneable<FlattenImpl> {
 public:
  explicit FlattenImpl(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }
  std::string extra_repr() const override { return fmt::format("start_dim={}, end_dim={}", start_dim, end_dim); }
  std::int64_t start_dim, end_dim;
};
EMBER_MODULE(Flatten);

/// LibTorch's DropoutOptions(0.2): the probability of zeroing an element.
struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, so Dropout(0.2) reads as before
  EMBER_OPTION(DropoutOptions, double, p, 0.5)
};

/// Zeroes elements with probability p while training (inverted scaling); identity in eval().
class DropoutImpl : public Cloneable<DropoutImpl> {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x) { return F::dropout(x, options.p(), is_training()); }
  std::string extra_repr() const override { return fmt::format("p={}", options.p()); }
  DropoutOptions options;
};
EMBER_MODULE(Dropout);

/// Max over kernel_size windows of [N, C, H, W].
class MaxPool2dImpl : public Cloneable<MaxPool2dImpl> {
 public:
  explicit MaxPool2dImpl(const MaxPool2dOptions& options) : options(options) {}
  explicit MaxPool2dImpl(Size2 kernel_size) : options(kernel_size) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  MaxPool2dOptions options;
};
EMBER_MODULE(MaxPool2d);

/// Mean over kernel_size windows of [N, C, H, W].
class AvgPool2dImpl : public Cloneable<AvgPool2dImpl> {
 public:
  explicit AvgPool2dImpl(const AvgPool2dOptions& options) : options(options) {}
  explicit AvgPool2dImpl(Size2 kernel_size) : options(kernel_size) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  AvgPool2dOptions options;
};
EMBER_MODULE(AvgPool2d);

/// Mean over windows chosen so that [N, C, H, W] becomes [N, C, output_size].
class AdaptiveAvgPool2dImpl : public Cloneable<AdaptiveAvgPool2dImpl> {
 public:
  explicit AdaptiveAvgPool2dImpl(Size2 output_size) : output_size_(output_size) {}
  Tensor forward(const Tensor& x) { return F::adaptive_avg_pool2d(x, output_size_); }
  std::string extra_repr() const override {
    return fmt::format("output_size=({}, {})", output_size_.value[0], output_size_.value[1]);
  }

 private:
  Size2 output_size_;
};
EMBER_MODULE(AdaptiveAvgPool2d);

// ---- issue 10 part B: Identity, Dropout2d, Upsample ----
/// Returns its input unchanged (a placeholder, as torch.nn.Identity).
class IdentityImpl : public Cloneable<IdentityImpl> {
 public:
  Tensor forward(const Tensor& x) { return x; }
};
EMBER_MODULE(Identity);

/// Zeroes whole channels of [N, C, H, W] with probability p while training; identity in eval().
class Dropout2dImpl : public Cloneable<Dropout2dImpl> {
 public:
  explicit Dropout2dImpl(const DropoutOptions& options = {}) : options(options) {
    EMBER_CHECK(options.p() >= 0.0 && options.p() <= 1.0, "Dropout2d: probability has to be between 0 and 1, got {}",
                options.p());
  }
  Tensor forward(const Tensor& x) { return F::dropout2d(x, options.p(), is_training()); }
  std::string extra_repr() const override { return fmt::format("p={}", options.p()); }
  DropoutOptions options;
};
EMBER_MODULE(Dropout2d);

/// LibTorch's UpsampleOptions().scale_factor({2, 2}).mode("bilinear").align_corners(false).
using UpsampleOptions = InterpolateOptions;

/// Resizes [N, C, *spatial] by F::interpolate with its options.
class UpsampleImpl : public Cloneable<UpsampleImpl> {
 public:
  explicit UpsampleImpl(UpsampleOptions options = UpsampleOptions().scale_factor({2.0})) : options(std::move(options)) {}
  Tensor forward(const Tensor& x) { return F::interpolate(x, options); }
  std::string extra_repr() const override {
    std::string r = options.size().empty() ? fmt::format("scale_factor={}", fmt::join(options.scale_factor(), ", "))
                                           : fmt::format("size={}", fmt::join(options.size(), ", "));
    return r + fmt::format(", mode='{}'", options.mode());
  }
  UpsampleOptions options;
};
EMBER_MODULE(Upsample);
// ---- end issue 10 part B ----

}  // namespace ember::nn
