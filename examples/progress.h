#pragma once
// --phases' account of where a step's time goes. (The progress bar itself is
// the library's: logging::Progress, log/progress.h.)
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace examples {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// Wall time per phase of the training steps (--phases): lap(phase) after each one.
class Phases {
 public:
  enum Phase { Data, Forward, Backward, Step };
  void lap(Phase p) {
    const auto now = Clock::now();
    seconds_[p] += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }
  /// The seconds spent in phase `p` so far.
  double seconds(Phase p) const { return seconds_[p]; }
  /// The share of all phases' time spent in `p` (0 before any lap).
  double share(Phase p) const {
    const double total = seconds_[Data] + seconds_[Forward] + seconds_[Backward] + seconds_[Step];
    return total > 0.0 ? seconds_[p] / total : 0.0;
  }
  /// "forward 0.25 s (0.267 ms/step)  backward ...  waiting for data ...".
  std::string report(std::int64_t steps) const {
    const double ms = 1000.0 / static_cast<double>(std::max<std::int64_t>(steps, 1));
    return fmt::format("forward {:.2f} s ({:.3f} ms/step)  backward {:.2f} s ({:.3f})  optimizer {:.2f} s ({:.3f})  "
                       "waiting for data {:.2f} s ({:.3f})",
                       seconds_[Forward], seconds_[Forward] * ms, seconds_[Backward], seconds_[Backward] * ms,
                       seconds_[Step], seconds_[Step] * ms, seconds_[Data], seconds_[Data] * ms);
  }

 private:
  Clock::time_point last_ = Clock::now();
  double seconds_[4] = {0, 0, 0, 0};
};

}  // namespace examples
