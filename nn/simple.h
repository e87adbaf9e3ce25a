#pragma once
/// Layers without parameters: activations, pooling, dropout, flatten.
#include "ember/nn/functional.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

/// A module whose forward is one function of its input.
class Lambda : public Module {
 public:
  Lambda(std::string type_name, std::function<Tensor(const Tensor&)> fn, std::string repr = "")
      : Module(std::move(type_name)), fn_(std::move(fn)), repr_(std::move(repr)) {}
  Tensor forward(const Tensor& x) override { return fn_(x); }
  std::string extra_repr() const override { return repr_; }

 private:
  std::function<Tensor(const Tensor&)> fn_;
  std::string repr_;
};

struct ReLU : Lambda {
  ReLU() : Lambda("ReLU", [](const Tensor& x) { return F::relu(x); }) {}
};
struct Sigmoid : Lambda {
  Sigmoid() : Lambda("Sigmoid", [](const Tensor& x) { return F::sigmoid(x); }) {}
};
struct Tanh : Lambda {
  Tanh() : Lambda("Tanh", [](const Tensor& x) { return F::tanh(x); }) {}
};
struct LeakyReLU : Lambda {
  explicit LeakyReLU(double negative_slope = 0.01)
      : Lambda("LeakyReLU", [negative_slope](const Tensor& x) { return F::leaky_relu(x, negative_slope); },
               fmt::format("negative_slope={}", negative_slope)) {}
};
struct GELU : Lambda {
  explicit GELU(std::string approximate = "none")
      : Lambda("GELU", [approximate](const Tensor& x) { return F::gelu(x, approximate); },
               fmt::format("approximate='{}'", approximate)) {}
};
struct Softmax : Lambda {
  explicit Softmax(std::int64_t dim)
      : Lambda("Softmax", [dim](const Tensor& x) { return F::softmax(x, dim); }, fmt::format("dim={}", dim)) {}
};
struct LogSoftmax : Lambda {
  explicit LogSoftmax(std::int64_t dim)
      : Lambda("LogSoftmax", [dim](const Tensor& x) { return F::log_softmax(x, dim); }, fmt::format("dim={}", dim)) {}
};
/// Flattens dims start_dim..end_dim (default: all but the batch dim).
struct Flatten : Lambda {
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1)
      : Lambda("Flatten", [start_dim, end_dim](const Tensor& x) { return x.flatten(start_dim, end_dim); },
               fmt::format("start_dim={}, end_dim={}", start_dim, end_dim)) {}
};

/// Zeroes elements with probability p while training (inverted scaling); identity in eval().
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override { return F::dropout(x, p_, is_training()); }
  std::string extra_repr() const override { return fmt::format("p={}", p_); }

 private:
  double p_;
};

struct MaxPool2dOptions {
  MaxPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_OPTION(MaxPool2dOptions, Size2, kernel_size, 1)
  EMBER_OPTION(MaxPool2dOptions, Size2, stride, 1)
  EMBER_OPTION(MaxPool2dOptions, Size2, padding, 0)
  EMBER_OPTION(MaxPool2dOptions, Size2, dilation, 1)
  EMBER_OPTION(MaxPool2dOptions, bool, ceil_mode, false)
};
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options) : Module("MaxPool2d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  MaxPool2dOptions options;
};

struct AvgPool2dOptions {
  AvgPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_OPTION(AvgPool2dOptions, Size2, kernel_size, 1)
  EMBER_OPTION(AvgPool2dOptions, Size2, stride, 1)
  EMBER_OPTION(AvgPool2dOptions, Size2, padding, 0)
  EMBER_OPTION(AvgPool2dOptions, bool, ceil_mode, false)
  EMBER_OPTION(AvgPool2dOptions, bool, count_include_pad, true)
};
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options) : Module("AvgPool2d"), options(options) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  AvgPool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : Module("AdaptiveAvgPool2d"), output_size_(output_size) {}
  Tensor forward(const Tensor& x) override { return F::adaptive_avg_pool2d(x, output_size_); }
  std::string extra_repr() const override {
    return fmt::format("output_size=({}, {})", output_size_.value[0], output_size_.value[1]);
  }

 private:
  Size2 output_size_;
};

}  // namespace ember::nn
