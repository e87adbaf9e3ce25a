#pragma once
/// Sizes in modules' options given as one number or a pair.
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

}  // namespace ember::nn
