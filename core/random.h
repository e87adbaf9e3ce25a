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

/// Counter-based random streams for filling tensors: element i's value depends
/// only on (key, i), so a fill can run in parallel and still give the same
/// tensor for a given seed on any number of threads. The key is drawn from the
/// default generator, so manual_seed makes fills reproducible.
struct CounterStream {
  std::uint64_t key;
  /// 64 random bits for counter i (splitmix64 of key + i * golden ratio).
  std::uint64_t bits(std::uint64_t i) const {
    std::uint64_t x = key + (i + 1) * 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  /// Uniform in [0, 1) for counter i.
  double uniform(std::uint64_t i) const { return static_cast<double>(bits(i) >> 11) * 0x1.0p-53; }
  /// Standard normal for counter i (Box-Muller on counters 2i and 2i + 1).
  double normal(std::uint64_t i) const;
  /// Uniform integer in [low, high) for counter i (multiply-shift; bias below 2^-40 for ranges under 2^24).
  std::int64_t integer(std::uint64_t i, std::int64_t low, std::int64_t high) const {
    const auto range = static_cast<unsigned __int128>(high - low);
    return low + static_cast<std::int64_t>((static_cast<unsigned __int128>(bits(i)) * range) >> 64);
  }
};

/// A new stream keyed by the default generator's next number.
CounterStream next_stream();

/// The process-wide generator.
Generator& default_generator();

/// Reseeds the default generator.
void manual_seed(std::uint64_t seed);

}  // namespace ember
