#pragma once
/// Thread control and a parallel loop over an index range (OpenMP underneath,
/// the same runtime oneDNN uses, so both share one thread pool).
#include <cstdint>
#include <type_traits>

namespace ember {

/// Threads used by Ember's loops and oneDNN's kernels, on every calling thread
/// (default: OMP_NUM_THREADS if set, else the CPUs the process may use, capped
/// by a cgroup CPU quota). While other processes leave Ember's threads waiting
/// for a core, a calling thread falls back to one for a while (core/load_guard.h;
/// EMBER_LOAD_GUARD=0 turns that off).
void set_num_threads(int n);
int get_num_threads();

/// As torch.use_deterministic_algorithms: while on, the thread count stays what
/// set_num_threads() says (the load guard never lowers it), so a run repeats
/// bit for bit at a given thread count, loaded machine or not. Ember's own
/// reductions give the same bits at every thread count either way; oneDNN's
/// matmul and convolution kernels split their sums by thread count, so a
/// change of thread count (the guard's fall-back included) can change the last
/// bits of their results. Off by default: under a competing load the guard's
/// fall-back to one thread keeps a step from taking many times as long.
void use_deterministic_algorithms(bool on);
bool are_deterministic_algorithms_enabled();

/// Ranges shorter than this run serially: below it, waking threads costs more than it saves.
constexpr std::int64_t kParallelGrain = 131072;

namespace detail {
/// The threads a region started now on this thread uses (get_num_threads(), or
/// one while the load guard says so); also sets this thread's OpenMP count to it.
int threads_for_call();
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
