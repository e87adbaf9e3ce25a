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
/// A shape as LibTorch prints sizes(): [2, 3].
std::ostream& operator<<(std::ostream& os, const Shape& shape);

}  // namespace ember

// std::cout << x.sizes() finds the shape's printer without `using namespace
// ember`, as LibTorch's IntArrayRef does by ADL (Shape is a std::vector).
using ember::operator<<;

template <>
struct fmt::formatter<ember::Tensor> : fmt::formatter<std::string> {
  auto format(const ember::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(ember::to_string(t), ctx);
  }
};
