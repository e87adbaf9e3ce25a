#pragma once
/// A Keras-style progress display for a training loop:
///
///     Epoch 3/10  197/469 [============>.................] - ETA: 2s - 15021 samples/s - loss: 0.2310 - accuracy: 0.9312
///     Epoch 3/10  469/469 [==============================] - 3s 6ms/step - 15107 samples/s - loss: 0.2291 - accuracy: 0.9320 - test_accuracy: 0.9601
///
/// On a terminal the line is redrawn in place (at most every `interval`
/// seconds, and at the last step), fitted to the terminal's width as it is at
/// each redraw: the bar shrinks first, then the line is cut, so it never wraps.
/// Otherwise only the final line of each epoch is written, or nothing with
/// lines_when_piped(false) (for a program that prints its own summary). The
/// ETA leaves the first step (warm-up) out.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/options.h"

namespace ember::logging {

struct ProgressOptions {
  using Stream = std::FILE*;
  /// Where to draw (stderr, as Keras and tqdm do).
  EMBER_OPTION(ProgressOptions, Stream, stream, stderr)
  /// Shown before the counter, e.g. "Epoch 3/10".
  EMBER_OPTION(ProgressOptions, std::string, title, "")
  /// Characters in the bar (fewer where the terminal is too narrow for the line).
  EMBER_OPTION(ProgressOptions, int, width, 30)
  /// -1: redraw in place when the stream is a terminal (isatty); 0: never; 1: always.
  EMBER_OPTION(ProgressOptions, int, tty, -1)
  /// Least seconds between redraws on a terminal.
  EMBER_OPTION(ProgressOptions, double, interval, 0.1)
  /// When the stream is not a terminal: write the final line of each epoch (true) or nothing (false).
  EMBER_OPTION(ProgressOptions, bool, lines_when_piped, true)
};

/// One epoch's progress: call update() after each step and finish() at the end.
class Progress {
 public:
  /// (name, value) pairs, drawn in this order.
  using Values = std::vector<std::pair<std::string, double>>;

  /// `total` steps in the epoch (0 or less: unknown; no bar and no ETA).
  explicit Progress(std::int64_t total, ProgressOptions options = {});
  /// finish() unless it was called.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `current` steps are done; `values` are this step's (loss, accuracy...) and are shown
  /// as averages over the epoch weighted by `samples`, the step's batch size.
  void update(std::int64_t current, const Values& values = {}, std::int64_t samples = 1);
  /// Draws the final line (on a terminal, or in a pipe unless lines_when_piped(false)) and ends it with a newline.
  /// `extra` values (test loss, accuracy) are appended as given.
  void finish(const Values& extra = {});

  /// The epoch's average of `name` so far (NaN if never given).
  double average(const std::string& name) const;
  /// Whether lines are redrawn in place.
  bool redraws() const { return tty_; }
  /// The text of the line as it would be drawn now, with a bar of `bar_width`
  /// characters (-1: the options' width).
  std::string line(bool final, const Values& extra = {}, int bar_width = -1) const;
  /// The line fitted into `columns` characters (less one, so the cursor does
  /// not wrap): a shorter bar (10 at least), then a cut.
  std::string fitted_line(bool final, const Values& extra, int columns) const;

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool final, const Values& extra = {});

  std::int64_t total_;
  ProgressOptions options_;
  bool tty_;
  Clock::time_point start_;
  std::int64_t current_ = 0, samples_ = 0;
  std::int64_t first_step_ = -1;  // the step count at the first update, and its time
  Clock::time_point first_time_;
  double last_draw_ = -1.0;
  std::size_t last_width_ = 0;
  bool finished_ = false;
  std::vector<std::pair<std::string, std::pair<double, double>>> sums_;  // name -> (sum of value*samples, samples)
};

}  // namespace ember::logging
