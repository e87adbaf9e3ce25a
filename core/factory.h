#pragma once
/// Tensor factories. All return new contiguous tensors without history; call
/// requires_grad_() on the result to make it a leaf of a graph.
#include <initializer_list>
#include <optional>
#include <type_traits>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

/// [shape] filled with 0.
Tensor zeros(Shape shape, DType dtype = kDefaultDType);
/// [shape] filled with 1.
Tensor ones(Shape shape, DType dtype = kDefaultDType);
/// [shape] filled with `value`.
Tensor full(Shape shape, double value, DType dtype = kDefaultDType);
/// [ceil((end-start)/step)]: start, start+step, ... (int64 by default, as PyTorch's arange(int)).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Int64);
Tensor arange(std::int64_t end, DType dtype = DType::Int64);
/// [steps] evenly spaced from start to end inclusive.
Tensor linspace(double start, double end, std::int64_t steps, DType dtype = kDefaultDType);
/// [n, m] identity (m = n when omitted).
Tensor eye(std::int64_t n, std::int64_t m = -1, DType dtype = kDefaultDType);
/// Uniform [0, 1) from the default generator.
Tensor rand(Shape shape, DType dtype = kDefaultDType);
/// Standard normal from the default generator.
Tensor randn(Shape shape, DType dtype = kDefaultDType);
/// Uniform integers in [low, high).
Tensor randint(std::int64_t low, std::int64_t high, Shape shape, DType dtype = DType::Int64);
/// A random permutation of 0..n-1 (int64).
Tensor randperm(std::int64_t n);

Tensor zeros_like(const Tensor& t, std::optional<DType> dtype = std::nullopt);
Tensor ones_like(const Tensor& t, std::optional<DType> dtype = std::nullopt);
Tensor full_like(const Tensor& t, double value, std::optional<DType> dtype = std::nullopt);
Tensor empty_like(const Tensor& t, std::optional<DType> dtype = std::nullopt);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);

/// A tensor of `shape` holding a copy of `values` (row-major); shape defaults to [values.size()].
template <class T>
Tensor from_vector(const std::vector<T>& values, std::optional<Shape> shape = std::nullopt) {
  Shape s = shape ? *shape : Shape{static_cast<std::int64_t>(values.size())};
  EMBER_CHECK(numel(s) == static_cast<std::int64_t>(values.size()),
              "from_vector: {} values cannot fill shape {}", values.size(), shape_str(s));
  Tensor t = empty(s, dtype_of_v<T>);
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

/// A number or a nested list of them, as tensor() takes it: 2.5, {1, 2, 3},
/// {{1, 2}, {3, 4}}, the column {{3}, {-2}}, {} (empty), any depth.
/// An integer literal is remembered as one, so tensor({2, 0}) is int64 as in PyTorch.
class NestedList {
 public:
  NestedList() = default;
  NestedList(double value) : value_(value), is_number_(true) {}  // NOLINT(google-explicit-constructor)
  NestedList(float value) : value_(value), is_number_(true) {}   // NOLINT(google-explicit-constructor)
  NestedList(bool value) : value_(value ? 1.0 : 0.0), is_number_(true), is_bool_(true) {}  // NOLINT
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  NestedList(I value)  // NOLINT(google-explicit-constructor)
      : value_(static_cast<double>(value)), is_number_(true), is_integer_(true) {}
  NestedList(std::initializer_list<NestedList> items) : items_(items) {}
  bool is_number() const { return is_number_; }
  /// An integer literal (tensor() infers int64 when every number is one).
  bool is_integer() const { return is_integer_; }
  /// A bool literal (tensor() infers bool when every number is one).
  bool is_bool() const { return is_bool_; }
  double value() const { return value_; }
  const std::vector<NestedList>& items() const { return items_; }

 private:
  std::vector<NestedList> items_;
  double value_ = 0;
  bool is_number_ = false;
  bool is_integer_ = false;
  bool is_bool_ = false;
};

/// A tensor from nested lists, shaped by their nesting: tensor({1.5, 2, 3}) is [3],
/// tensor({{1., 2.}, {3., 4.}}) [2, 2], tensor({{3.}, {-2.}}) [2, 1], tensor(2.5) 0-d.
/// Without a dtype, as in PyTorch: int64 when every number is an integer literal
/// (tensor({2, 0}) is an index tensor), bool when every one is true or false,
/// float32 otherwise (and for an empty list).
/// Lists at one depth must be equally long.
Tensor tensor(const NestedList& values, std::optional<DType> dtype = std::nullopt);
/// A 0-d tensor holding one value.
Tensor scalar_tensor(double value, DType dtype = kDefaultDType);

}  // namespace ember
