#pragma once
/// The seedable random generator behind rand, randn, randint, dropout and
/// shuffling: one global stream, so manual_seed(s) makes a run reproducible.
#include <cstdint>
#include <mutex>
#include <random>

namespace ember {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 67280421310721ULL) : engine_(seed) {}
  void seed(std::uint64_t s) { engine_.seed(s); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller on two uniforms).
  double normal();
  /// Uniform integer in [low, high).
  std::int64_t integer(std::int64_t low, std::int64_t high);
  std::uint64_t next_u64() { return engine_(); }
  std::mutex& mutex() { return mutex_; }

 private:
  std::mt19937_64 engine_;
  std::mutex mutex_;
};

/// The process-wide generator.
Generator& default_generator();

/// Reseeds the default generator.
void manual_seed(std::uint64_t seed);

}  // namespace ember
