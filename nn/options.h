#pragma once
/// Sizes in modules' options given as one number or a pair, and the options
/// that a module and its nn::functional form share (MaxPool2d and F::max_pool2d).
#include "ember/core/options.h"
#include "ember/ops/nn_ops.h"

namespace ember::nn {

/// A 2-d size: 3 means {3, 3}; {3, 2} is height 3, width 2.
struct Size2 {
  Size2(std::int64_t v) : value{v, v} {}  // NOLINT: implicit on purpose
  Size2(Int2 v) : value(v) {}             // NOLINT
  operator Int2() const { return value; }  // NOLINT
  Int2 value;
};

/// MaxPool2d's options, and F::max_pool2d's (MaxPool2dFuncOptions).
struct MaxPool2dOptions {
  MaxPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_OPTION(MaxPool2dOptions, Size2, kernel_size, 1)
  EMBER_OPTION(MaxPool2dOptions, Size2, stride, 1)
  EMBER_OPTION(MaxPool2dOptions, Size2, padding, 0)
  EMBER_OPTION(MaxPool2dOptions, Size2, dilation, 1)
  EMBER_OPTION(MaxPool2dOptions, bool, ceil_mode, false)
};
/// AvgPool2d's options, and F::avg_pool2d's (AvgPool2dFuncOptions).
struct AvgPool2dOptions {
  AvgPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT
  EMBER_OPTION(AvgPool2dOptions, Size2, kernel_size, 1)
  EMBER_OPTION(AvgPool2dOptions, Size2, stride, 1)
  EMBER_OPTION(AvgPool2dOptions, Size2, padding, 0)
  EMBER_OPTION(AvgPool2dOptions, bool, ceil_mode, false)
  EMBER_OPTION(AvgPool2dOptions, bool, count_include_pad, true)
};
}  // namespace ember::nn
