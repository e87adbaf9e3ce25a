#include "ember/core/factory.h"
#include "ember/core/half.h"

#include <cmath>
#include <numeric>
#include <string>

#include "ember/core/parallel.h"
#include "ember/core/random.h"

namespace ember {
namespace {

// Fills a new contiguous tensor with f(i) for its i-th element.
template <class F>
Tensor generate(Shape shape, DType dtype, F f) {
  Tensor t = empty(std::move(shape), dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data_ptr<T>();
    const std::int64_t n = t.numel();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(f(i));
  });
  return t;
}

// Random fills draw element i from a counter-based stream, in parallel; a seed
// gives the same tensor on any thread count.
template <class F>
Tensor generate_random(Shape shape, DType dtype, F draw) {
  const CounterStream stream = next_stream();
  Tensor t = empty(std::move(shape), dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data_ptr<T>();
    parallel_for(0, t.numel(), kParallelGrain / 8, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) p[i] = static_cast<T>(draw(stream, static_cast<std::uint64_t>(i)));
    });
  });
  return t;
}

}  // namespace

Tensor full(Shape shape, double value, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  if (is_storage_only(dtype)) {  // one 16-bit pattern, repeated
    const std::uint16_t bits = dtype == DType::Float16 ? float_to_half(static_cast<float>(value)).bits
                                                       : float_to_bfloat16(static_cast<float>(value)).bits;
    auto* p = static_cast<std::uint16_t*>(t.raw_data());
    std::fill(p, p + t.numel(), bits);
    return t;
  }
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = t.data_ptr<T>();
    const T v = static_cast<T>(value);
    parallel_for(0, t.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) {
      std::fill(p + b, p + e, v);
    });
  });
  return t;
}

Tensor zeros(Shape shape, DType dtype) { return full(std::move(shape), 0.0, dtype); }
Tensor ones(Shape shape, DType dtype) { return full(std::move(shape), 1.0, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  EMBER_CHECK(step != 0.0, "arange: step must be nonzero");
  EMBER_CHECK((end - start) / step >= 0.0 || start == end,
              "arange: upper bound {} and lower bound {} inconsistent with step sign {}", end,
              start, step);
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  return generate({std::max<std::int64_t>(n, 0)}, dtype,
                  [&](std::int64_t i) { return start + static_cast<double>(i) * step; });
}

Tensor arange(std::int64_t end, DType dtype) { return arange(0.0, static_cast<double>(end), 1.0, dtype); }

Tensor linspace(double start, double end, std::int64_t steps, DType dtype) {
  EMBER_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got {}", steps);
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  return generate({steps}, dtype, [&](std::int64_t i) {
    // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
    return i < steps / 2 ? start + step * static_cast<double>(i)
                         : end - step * static_cast<double>(steps - 1 - i);
  });
}

Tensor eye(std::int64_t n, std::int64_t m, DType dtype) {
  if (m < 0) m = n;
  EMBER_CHECK(n >= 0, "eye: n must be non-negative, got {}", n);
  return generate({n, m}, dtype, [&](std::int64_t i) { return i / m == i % m ? 1.0 : 0.0; });
}

Tensor rand(Shape shape, DType dtype) {
  dispatch_floating(dtype, "rand", [](auto) {});
  return generate_random(std::move(shape), dtype, [](const CounterStream& s, std::uint64_t i) { return s.uniform(i); });
}

Tensor randn(Shape shape, DType dtype) {
  dispatch_floating(dtype, "randn", [](auto) {});
  return generate_random(std::move(shape), dtype, [](const CounterStream& s, std::uint64_t i) { return s.normal(i); });
}

Tensor randint(std::int64_t low, std::int64_t high, Shape shape, DType dtype) {
  EMBER_CHECK(low < high, "randint: expected low < high, got low={} high={}", low, high);
  return generate_random(std::move(shape), dtype, [&](const CounterStream& s, std::uint64_t i) {
    return static_cast<double>(s.integer(i, low, high));
  });
}

Tensor randperm(std::int64_t n) {
  EMBER_CHECK(n >= 0, "randperm: n must be non-negative, got {}", n);
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  auto& g = default_generator();
  {
    std::lock_guard<std::mutex> lock(g.mutex());
    for (std::int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[g.integer(0, i + 1)]);  // Fisher-Yates
  }
  return from_vector(v);
}

Tensor zeros_like(const Tensor& t, std::optional<DType> dtype) { return zeros(t.sizes(), dtype.value_or(t.dtype())); }
Tensor ones_like(const Tensor& t, std::optional<DType> dtype) { return ones(t.sizes(), dtype.value_or(t.dtype())); }
Tensor full_like(const Tensor& t, double value, std::optional<DType> dtype) {
  return full(t.sizes(), value, dtype.value_or(t.dtype()));
}
Tensor empty_like(const Tensor& t, std::optional<DType> dtype) { return empty(t.sizes(), dtype.value_or(t.dtype())); }
Tensor rand_like(const Tensor& t) { return rand(t.sizes(), t.dtype()); }
Tensor randn_like(const Tensor& t) { return randn(t.sizes(), t.dtype()); }

namespace {
// Appends the numbers of `l` (at nesting `depth`, reached through `where`,
// e.g. "[1][0]") to `out`, checking that it has the shape the first entries set.
void flatten(const NestedList& l, std::size_t depth, const Shape& shape, std::string& where, std::vector<double>& out) {
  if (depth == shape.size()) {
    EMBER_CHECK(l.is_number(), "tensor: element {} is a list where a number was expected (lists at one depth "
                "must nest alike)", where);
    out.push_back(l.value());
    return;
  }
  EMBER_CHECK(!l.is_number(), "tensor: element {} is a number where a list of {} was expected", where, shape[depth]);
  EMBER_CHECK(static_cast<std::int64_t>(l.items().size()) == shape[depth],
              "tensor: ragged nested list: element {} has {} entries where the first at its depth has {}",
              where.empty() ? "(the outer list)" : where, l.items().size(), shape[depth]);
  for (std::size_t i = 0; i < l.items().size(); ++i) {
    const std::size_t mark = where.size();
    where += fmt::format("[{}]", i);
    flatten(l.items()[i], depth + 1, shape, where, out);
    where.resize(mark);
  }
}
}  // namespace

namespace {
// Every number in the list satisfies `is` (and there is at least one).
template <class Is>
bool all_numbers(const NestedList& l, Is is) {
  if (l.is_number()) return is(l);
  if (l.items().empty()) return false;
  for (const NestedList& item : l.items())
    if (!all_numbers(item, is)) return false;
  return true;
}
}  // namespace

Tensor tensor(const NestedList& values, std::optional<DType> dtype_or_inferred) {
  const DType dtype = dtype_or_inferred.value_or(
      all_numbers(values, [](const NestedList& n) { return n.is_integer(); })   ? DType::Int64
      : all_numbers(values, [](const NestedList& n) { return n.is_bool(); }) ? DType::Bool
                                                                               : kDefaultDType);
  Shape shape;  // from the first entry at each depth
  for (const NestedList* l = &values; !l->is_number(); l = &l->items().front()) {
    shape.push_back(static_cast<std::int64_t>(l->items().size()));
    if (l->items().empty()) break;
  }
  std::vector<double> v;
  std::string where;
  flatten(values, 0, shape, where, v);
  return generate(shape, dtype, [&](std::int64_t i) { return v[static_cast<std::size_t>(i)]; });
}

Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

}  // namespace ember
