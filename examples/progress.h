#pragma once
// The examples' progress display: a Keras-like line redrawn in place on a
// terminal (silent otherwise), and --phases' account of where a step's time goes.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace examples {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// "  312/938 [=========.....] loss 0.2411  41234 samples/s  ETA 4s", at most every 0.1 s, on stderr if a terminal.
class Progress {
 public:
  explicit Progress(std::int64_t total) : total_(total), start_(Clock::now()), tty_(isatty(fileno(stderr))) {}
  void update(std::int64_t done, double loss, std::int64_t samples) {
    if (!tty_) return;
    const double elapsed = seconds_since(start_);
    if (done < total_ && elapsed - last_draw_ < 0.1) return;
    last_draw_ = elapsed;
    const int width = 30, filled = static_cast<int>(width * done / total_);
    const double rate = static_cast<double>(samples) / std::max(elapsed, 1e-9);
    const double eta = done > 1 ? elapsed / static_cast<double>(done - 1) * static_cast<double>(total_ - done) : 0.0;
    std::fprintf(stderr, "\r%5lld/%lld [%s%s] loss %.4f  %.0f samples/s  ETA %.0fs ", static_cast<long long>(done),
                 static_cast<long long>(total_), std::string(static_cast<std::size_t>(filled), '=').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), loss, rate, eta);
    if (done == total_) std::fprintf(stderr, "\r%*s\r", 100, "");
  }

 private:
  std::int64_t total_;
  Clock::time_point start_;
  bool tty_;
  double last_draw_ = -1.0;
};

/// Wall time per phase of the training steps (--phases): lap(phase) after each one.
class Phases {
 public:
  enum Phase { Data, Forward, Backward, Step };
  void lap(Phase p) {
    const auto now = Clock::now();
    seconds_[p] += std::chrono::duration<double>(now - last_).count();
    last_ = now;
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
