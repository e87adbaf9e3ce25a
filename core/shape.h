#pragma once
/// Shapes and strides: plain vectors of int64, and the arithmetic on them.
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

using Shape = std::vector<std::int64_t>;

/// Number of elements of a tensor of this shape (1 for a 0-d shape).
std::int64_t numel(const Shape& shape);

/// Row-major (C-contiguous) strides, in elements.
Shape contiguous_strides(const Shape& shape);

/// "[3, 4]".
std::string shape_str(const Shape& shape);

/// Wraps a possibly negative dim into [0, ndim); `op` names the caller in errors.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);

/// NumPy broadcasting of two shapes; throws "<op>: shapes [a] and [b] cannot be broadcast".
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// True when `from` broadcasts to `to` (used to reduce gradients back).
bool is_expandable_to(const Shape& from, const Shape& to);

/// Strides that view a tensor of shape/strides `from` as the broadcast shape `to`
/// (stride 0 along broadcast dims). `from` must be expandable to `to`.
Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to);

}  // namespace ember
