#include "ember/core/load_guard.h"

#include <algorithm>

namespace ember::detail {

bool LoadGuard::throttled(std::int64_t now_ns) {
  if (until_ns_ == 0) return false;
  if (now_ns < until_ns_) return true;
  until_ns_ = 0;  // time to try all threads again
  retrying_ = true;
  regions_ = late_ = 0;
  return false;
}

void LoadGuard::report(std::int64_t now_ns, std::int64_t delay_ns) {
  if (until_ns_ != 0) return;  // regions run on one thread meanwhile
  ++regions_;
  if (delay_ns > kLateNs) ++late_;
  if (late_ >= kLateRegions) {
    // Still loaded right after a fall-back: wait longer before the next try.
    backoff_ns_ = retrying_ ? std::min(2 * backoff_ns_, kMaxBackoffNs) : kFirstBackoffNs;
    until_ns_ = now_ns + backoff_ns_;
    regions_ = late_ = 0;
    retrying_ = false;
  } else if (regions_ >= kWindow) {
    regions_ = late_ = 0;
    retrying_ = false;  // a clean window: the load has gone
  }
}

}  // namespace ember::detail
