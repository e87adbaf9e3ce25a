#include "ember/log/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

namespace ember::logging {
namespace {

// Keras's formats: "1:02:03", "2:03", "7s".
std::string duration(double s) {
  const auto t = static_cast<long long>(std::llround(std::max(s, 0.0)));
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  if (t >= 60) return fmt::format("{}:{:02}", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::string per_step(double s) {
  if (s >= 1) return fmt::format("{:.0f}s/step", s);
  if (s >= 1e-3) return fmt::format("{:.0f}ms/step", s * 1e3);
  return fmt::format("{:.0f}us/step", s * 1e6);
}

std::string value(double v) {
  if (v != 0 && std::fabs(v) < 1e-3) return fmt::format("{:.4e}", v);
  return fmt::format("{:.4f}", v);
}

// The terminal's width now (it may have been resized since the last redraw):
// the stream's window size, else $COLUMNS, else 80.
int terminal_columns(std::FILE* f) {
  winsize ws{};
  if (f != nullptr && ::ioctl(::fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    const int n = std::atoi(c);
    if (n > 0) return n;
  }
  return 80;
}

// Cut to at most `n` bytes without splitting a UTF-8 sequence (titles may hold any text).
std::string cut_utf8(std::string s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

}  // namespace

Progress::Progress(std::int64_t total, ProgressOptions options)
    : total_(total), options_(std::move(options)), start_(Clock::now()) {
  tty_ = options_.tty() < 0 ? (options_.stream() != nullptr && ::isatty(::fileno(options_.stream())) == 1)
                            : options_.tty() == 1;
}

Progress::~Progress() {
  if (!finished_) finish();
}

void Progress::update(std::int64_t current, const Values& values, std::int64_t samples) {
  const auto now = Clock::now();
  if (first_step_ < 0) {
    first_step_ = current;
    first_time_ = now;
  }
  current_ = current;
  samples_ += samples;
  const double w = static_cast<double>(std::max<std::int64_t>(samples, 1));
  for (const auto& [name, v] : values) {
    auto it = sums_.begin();
    while (it != sums_.end() && it->first != name) ++it;
    if (it == sums_.end()) it = sums_.insert(sums_.end(), {name, {0.0, 0.0}});
    it->second.first += v * w;
    it->second.second += w;
  }
  if (!tty_) return;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const bool last = total_ > 0 && current >= total_;
  if (!last && last_draw_ >= 0 && elapsed - last_draw_ < options_.interval()) return;
  last_draw_ = elapsed;
  draw(false);
}

void Progress::finish(const Values& extra) {
  if (finished_) return;
  finished_ = true;
  draw(true, extra);
}

double Progress::average(const std::string& name) const {
  for (const auto& [n, s] : sums_)
    if (n == name) return s.first / s.second;
  return std::numeric_limits<double>::quiet_NaN();
}

std::string Progress::line(bool final, const Values& extra, int bar_width) const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string out = options_.title().empty() ? std::string() : fmt::format("{}  ", options_.title());
  if (total_ > 0) {
    const int digits = static_cast<int>(std::to_string(total_).size());
    const int width = bar_width < 0 ? options_.width() : bar_width;
    const auto filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(std::min(current_, total_)) /
                                         static_cast<double>(total_));
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (current_ < total_ && filled > 0) bar.back() = '>';
    bar.resize(static_cast<std::size_t>(width), '.');
    out += fmt::format("{:>{}}/{} [{}]", current_, digits, total_, bar);
  } else {
    out += fmt::format("{}", current_);
  }
  if (final) {
    out += fmt::format(" - {} {}", duration(elapsed), per_step(current_ > 0 ? elapsed / static_cast<double>(current_) : 0.0));
  } else if (total_ > 0) {
    // The first step (allocation, warm-up) is left out of the rate.
    const std::int64_t timed = current_ - first_step_;
    if (timed > 0) {
      const double rate = std::chrono::duration<double>(Clock::now() - first_time_).count() / static_cast<double>(timed);
      out += fmt::format(" - ETA: {}", duration(rate * static_cast<double>(total_ - current_)));
    } else {
      out += " - ETA: -";
    }
  }
  if (samples_ > 0 && elapsed > 0) out += fmt::format(" - {:.0f} samples/s", static_cast<double>(samples_) / elapsed);
  for (const auto& [name, s] : sums_) out += fmt::format(" - {}: {}", name, value(s.first / s.second));
  for (const auto& [name, v] : extra) out += fmt::format(" - {}: {}", name, value(v));
  return out;
}

std::string Progress::fitted_line(bool final, const Values& extra, int columns) const {
  const auto room = static_cast<std::size_t>(std::max(columns - 1, 1));
  std::string text = line(final, extra);
  if (text.size() <= room) return text;
  if (total_ > 0) {
    const int over = static_cast<int>(text.size() - room);
    text = line(final, extra, std::max(options_.width() - over, std::min(options_.width(), 10)));
  }
  return cut_utf8(std::move(text), room);
}

void Progress::draw(bool final, const Values& extra) {
  std::FILE* f = options_.stream();
  if (f == nullptr) return;
  if (tty_) {
    const int columns = terminal_columns(f);
    const std::string text = fitted_line(final, extra, columns);
    // Back to the line's start, and blank what a longer previous line left
    // (no further than the terminal's edge, which may have moved in).
    const std::size_t room = static_cast<std::size_t>(std::max(columns - 1, 1));
    const std::size_t pad = std::min(last_width_ > text.size() ? last_width_ - text.size() : 0, room - text.size());
    std::fprintf(f, "\r%s%*s", text.c_str(), static_cast<int>(pad), "");
    last_width_ = text.size();
  } else {
    if (!options_.lines_when_piped()) return;
    std::fputs(line(final, extra).c_str(), f);
  }
  if (final) std::fputc('\n', f);
  std::fflush(f);
}

}  // namespace ember::logging
