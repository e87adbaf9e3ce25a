#include "ember/core/random.h"

#include <cmath>

namespace ember {

double Generator::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();  // log(0) is -inf
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::int64_t Generator::integer(std::int64_t low, std::int64_t high) {
  const auto range = static_cast<std::uint64_t>(high - low);
  // Rejection sampling keeps the distribution exactly uniform.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t x;
  do x = engine_();
  while (x >= limit);
  return low + static_cast<std::int64_t>(x % range);
}

double CounterStream::normal(std::uint64_t i) const {
  double u1 = uniform(2 * i);
  if (u1 <= 0.0) u1 = 0x1.0p-53;  // log(0) is -inf
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * uniform(2 * i + 1));
}

CounterStream next_stream() {
  auto& g = default_generator();
  std::lock_guard<std::mutex> lock(g.mutex());
  return CounterStream{g.next_u64()};
}

Generator& default_generator() {
  static Generator g;
  return g;
}

void manual_seed(std::uint64_t seed) {
  auto& g = default_generator();
  std::lock_guard<std::mutex> lock(g.mutex());
  g.seed(seed);
}

}  // namespace ember
