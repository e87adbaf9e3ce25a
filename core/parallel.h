#pragma once
/// Thread control and a parallel loop over an index range (OpenMP underneath,
/// the same runtime oneDNN uses, so both share one thread pool).
#include <cstdint>
#include <type_traits>

namespace ember {

/// Threads used by Ember's loops (default: the machine's cores).
void set_num_threads(int n);
int get_num_threads();

/// Ranges shorter than this run serially: below it, waking threads costs more than it saves.
constexpr std::int64_t kParallelGrain = 131072;

namespace detail {
void parallel_for_impl(std::int64_t begin, std::int64_t end, std::int64_t grain,
                       void (*fn)(void*, std::int64_t, std::int64_t), void* ctx);
}

/// Calls f(b, e) on disjoint chunks covering [begin, end), in parallel when the range
/// is at least `grain` long and we are not already inside a parallel region.
/// f must not throw (check inputs before the loop).
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, F&& f) {
  if (end <= begin) return;
  if (end - begin < grain) {
    f(begin, end);
    return;
  }
  detail::parallel_for_impl(
      begin, end, grain,
      [](void* ctx, std::int64_t b, std::int64_t e) { (*static_cast<std::remove_reference_t<F>*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace ember
