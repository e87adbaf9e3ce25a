#include "ember/core/parallel.h"

#include <omp.h>

#include <algorithm>

#include "ember/core/error.h"

namespace ember {

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, "set_num_threads: expected a positive thread count, got {}", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

namespace detail {

void parallel_for_impl(std::int64_t begin, std::int64_t end, std::int64_t grain,
                       void (*fn)(void*, std::int64_t, std::int64_t), void* ctx) {
  const std::int64_t n = end - begin;
  const int max_threads =
      static_cast<int>(std::min<std::int64_t>(omp_get_max_threads(), (n + grain - 1) / grain));
  if (max_threads <= 1 || omp_in_parallel()) {
    fn(ctx, begin, end);
    return;
  }
#pragma omp parallel num_threads(max_threads)
  {
    const std::int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const std::int64_t chunk = (n + nt - 1) / nt;
    const std::int64_t b = begin + tid * chunk, e = std::min(end, b + chunk);
    if (b < e) fn(ctx, b, e);
  }
}

}  // namespace detail
}  // namespace ember
