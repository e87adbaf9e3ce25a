#pragma once
/// Printing tensors in the style of PyTorch's repr:
///   tensor([[1.0000, 2.5000],
///           [3.0000, 4.0000]], dtype=float64, grad_fn=<MulBackward>)
/// Large tensors are elided in the middle; `fmt::format("{}", t)` and `os << t` both work.
#include <ostream>
#include <string>

#include <fmt/format.h>

#include "ember/core/tensor.h"

namespace ember {

std::string to_string(const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace ember

template <>
struct fmt::formatter<ember::Tensor> : fmt::formatter<std::string> {
  auto format(const ember::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(ember::to_string(t), ctx);
  }
};
