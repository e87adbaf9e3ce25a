#pragma once
/// Falling back to one thread while the machine is oversubscribed.
///
/// An OpenMP region ends at a barrier: every thread waits for the slowest.
/// When another process takes one of the cores, a thread Ember wakes may not
/// run for a whole scheduler time slice (milliseconds) while the others spin
/// at the barrier for it, and a 2-thread MLP epoch took 24x as long as one
/// thread's (issue 17). A LoadGuard watches how late the threads of a
/// region start; after a few late starts it says "one thread" for a while,
/// then lets the caller try again, backing off while the load lasts.
#include <cstdint>

namespace ember::detail {

class LoadGuard {
 public:
  /// A thread that starts later than this was not on a core when woken
  /// (waking an idle OpenMP thread takes tens of microseconds).
  static constexpr std::int64_t kLateNs = 1'000'000;
  /// This many late regions among kWindow in a row mean the machine is oversubscribed.
  static constexpr int kLateRegions = 2;
  static constexpr int kWindow = 16;
  /// The first fall-back lasts kFirstBackoffNs; each one that follows a failed
  /// retry lasts twice the last, up to kMaxBackoffNs.
  static constexpr std::int64_t kFirstBackoffNs = 500'000'000;
  static constexpr std::int64_t kMaxBackoffNs = 8'000'000'000;

  /// Whether regions should run on one thread at time `now_ns`.
  bool throttled(std::int64_t now_ns);
  /// Whether a fall-back is in force (ending at some time); no clock needed.
  bool may_be_throttled() const { return until_ns_ != 0; }
  /// Records a region that ended at `now_ns`, whose latest thread started
  /// `delay_ns` after the region began.
  void report(std::int64_t now_ns, std::int64_t delay_ns);
  /// How long the current (or last) fall-back lasts.
  std::int64_t backoff_ns() const { return backoff_ns_; }

 private:
  std::int64_t until_ns_ = 0;  // 0: not throttled
  std::int64_t backoff_ns_ = 0;
  int regions_ = 0, late_ = 0;  // in the current window
  bool retrying_ = false;       // a fall-back just ended; its first window decides the next backoff
};

}  // namespace ember::detail
