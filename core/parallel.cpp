// Thread control: one process-wide thread count, applied to each calling
// thread's OpenMP settings before it runs a region (OpenMP keeps the count per
// thread), and lowered to one while that thread's LoadGuard sees the machine
// oversubscribed.
#include "ember/core/parallel.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "ember/core/error.h"
#include "ember/core/load_guard.h"

namespace ember {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The CPU bandwidth a cgroup v2 quota grants ("150000 100000" in cpu.max is
// 1.5 CPUs), rounded up; 0 when there is no quota or no cgroup v2.
int cgroup_cpus() {
  std::ifstream self("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(self, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  std::ifstream max("/sys/fs/cgroup" + path + "/cpu.max");
  std::string quota;
  double period = 0;
  if (!(max >> quota >> period) || quota == "max" || period <= 0) return 0;
  const double cpus = std::atof(quota.c_str()) / period;
  return cpus > 0 ? static_cast<int>(std::ceil(cpus)) : 0;
}

// OMP_NUM_THREADS if the user set it; otherwise the CPUs this process may run
// on (OpenMP counts the affinity mask), capped by a container's CPU quota.
int default_threads() {
  const int omp = omp_get_max_threads();
  if (std::getenv("OMP_NUM_THREADS")) return omp;
  const int quota = cgroup_cpus();
  return quota > 0 ? std::min(omp, quota) : omp;
}

std::atomic<int>& wanted_threads() {
  static std::atomic<int> n{default_threads()};
  return n;
}

std::atomic<bool>& deterministic() {
  static std::atomic<bool> on{false};
  return on;
}

// EMBER_LOAD_GUARD=0 turns the fall-back off (to measure what it saves), and so
// does use_deterministic_algorithms(true).
bool guard_enabled() {
  static const bool on = [] {
    const char* env = std::getenv("EMBER_LOAD_GUARD");
    return !(env && std::string(env) == "0");
  }();
  return on && !deterministic().load(std::memory_order_relaxed);
}

detail::LoadGuard& guard() {
  thread_local detail::LoadGuard g;
  return g;
}

}  // namespace

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, "set_num_threads: expected a positive thread count, got {}", n);
  wanted_threads() = n;
}

int get_num_threads() { return wanted_threads(); }

void use_deterministic_algorithms(bool on) { deterministic() = on; }
bool are_deterministic_algorithms_enabled() { return deterministic(); }

namespace detail {

int threads_for_call() {
  thread_local int applied = 0;
  const bool one = guard_enabled() && guard().may_be_throttled() && guard().throttled(now_ns());
  const int n = one ? 1 : wanted_threads().load();
  if (n != applied) {
    omp_set_num_threads(n);  // this thread's count; oneDNN reads it too
    applied = n;
  }
  return n;
}

void parallel_for_impl(std::int64_t begin, std::int64_t end, std::int64_t grain,
                       void (*fn)(void*, std::int64_t, std::int64_t), void* ctx) {
  if (omp_in_parallel()) {
    fn(ctx, begin, end);
    return;
  }
  const std::int64_t n = end - begin;
  const int max_threads = static_cast<int>(std::min<std::int64_t>(threads_for_call(), (n + grain - 1) / grain));
  if (max_threads <= 1) {
    fn(ctx, begin, end);
    return;
  }
  // How late the last thread to start began (see LoadGuard).
  const std::int64_t start = now_ns();
  std::atomic<std::int64_t> latest{0};
#pragma omp parallel num_threads(max_threads)
  {
    const std::int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    if (tid != 0) {
      const std::int64_t late = now_ns() - start;
      std::int64_t seen = latest.load(std::memory_order_relaxed);
      while (late > seen && !latest.compare_exchange_weak(seen, late, std::memory_order_relaxed)) {
      }
    }
    const std::int64_t chunk = (n + nt - 1) / nt;
    const std::int64_t b = begin + tid * chunk, e = std::min(end, b + chunk);
    if (b < e) fn(ctx, b, e);
  }
  if (guard_enabled()) guard().report(now_ns(), latest.load(std::memory_order_relaxed));
}

}  // namespace detail
}  // namespace ember
