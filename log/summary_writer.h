#pragma once
/// SummaryWriter: torch.utils.tensorboard.SummaryWriter in C++. Writes
/// TensorBoard event files, and beside them metrics.csv and hparams.json for
/// readers without TensorBoard.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <variant>

#include "ember/core/options.h"
#include "ember/core/tensor.h"
#include "ember/log/event_file.h"
#include "ember/log/metrics_csv.h"
#include "ember/log/proto.h"

namespace ember::logging {

struct SummaryWriterOptions {
  /// Appended to the default folder name runs/<date>_<host> (PyTorch's comment).
  EMBER_OPTION(SummaryWriterOptions, std::string, comment, "")
  /// The writer thread wakes once this many events wait.
  EMBER_OPTION(SummaryWriterOptions, int, max_queue, 10)
  /// Events (and metrics.csv) reach the disk at least this often, in seconds.
  EMBER_OPTION(SummaryWriterOptions, double, flush_secs, 2.0)
  /// Appended to the event file's name.
  EMBER_OPTION(SummaryWriterOptions, std::string, filename_suffix, "")
  /// Keep metrics.csv beside the events.
  EMBER_OPTION(SummaryWriterOptions, bool, write_csv, true)
};

/// A hyperparameter's value: a number, a string or a bool (as the HParams plugin
/// takes them). Integers are stored as numbers.
class HParamValue {
 public:
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  HParamValue(T v) {  // NOLINT: implicit, so that {{"lr", 0.1}, {"epochs", 5}} reads well
    if constexpr (std::is_same_v<T, bool>) value_ = v;
    else value_ = static_cast<double>(v);
  }
  HParamValue(const char* s) : value_(std::string(s)) {}  // NOLINT
  HParamValue(std::string s) : value_(std::move(s)) {}    // NOLINT
  const std::variant<bool, double, std::string>& get() const { return value_; }

 private:
  std::variant<bool, double, std::string> value_;
};
using HParams = std::map<std::string, HParamValue>;

/// Writes one run's summaries into a folder, as torch.utils.tensorboard does:
///
///     logging::SummaryWriter w("runs/adam_lr0.1");
///     w.add_scalar("Accuracy/test", 0.97, epoch);
///
/// Construction creates the folder (and its parents) and the event file, or
/// throws an ember::Error naming the folder, so a run that cannot log refuses
/// to start. The add_* calls encode the event and queue it; the disk is
/// written by a thread of the writer's own (see EventFileWriter), so logging
/// stays off a training step's critical path. Safe to call from several threads.
class SummaryWriter {
 public:
  /// `log_dir` empty: runs/<Mon DD_HH-MM-SS>_<host><comment>, as PyTorch names it.
  explicit SummaryWriter(std::string log_dir = "", SummaryWriterOptions options = {});
  ~SummaryWriter();
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;

  /// One value of the series `tag` (a float32 simple_value; NaN and inf are kept as they are).
  void add_scalar(const std::string& tag, double value, std::int64_t step = 0);
  /// Several series drawn on one chart: each `main_tag`/`key` pair goes to the run
  /// `<log_dir>/<main_tag>_<key>` with tag `main_tag` (PyTorch's layout); metrics.csv
  /// gets the columns `<main_tag>/<key>`.
  void add_scalars(const std::string& main_tag, const std::map<std::string, double>& values, std::int64_t step = 0);
  /// A histogram of the elements of `values` (any shape and dtype) with TensorFlow's default
  /// buckets; `bins` > 0 gives that many equal-width buckets instead. Non-finite elements are left out.
  void add_histogram(const std::string& tag, const Tensor& values, std::int64_t step = 0, std::int64_t bins = 0);
  /// An image, PNG-encoded. `img` is uint8 (0-255) or floating (0-1, clamped), laid out as
  /// `dataformats` says: "CHW" (C = 1, 3 or 4), "HWC" or "HW".
  void add_image(const std::string& tag, const Tensor& img, std::int64_t step = 0, const std::string& dataformats = "CHW");
  /// A text summary (TensorBoard's Text dashboard; Markdown), tag "<tag>/text_summary".
  void add_text(const std::string& tag, const std::string& text, std::int64_t step = 0);
  /// The run's hyperparameters and final metrics for TensorBoard's HParams dashboard,
  /// and in hparams.json. As in PyTorch they go to the run `<log_dir>/<run_name>`
  /// (default: the current time); run_name "." puts them in this run itself, beside its scalars.
  void add_hparams(const HParams& hparams, const std::map<std::string, double>& metrics, const std::string& run_name = "");

  /// Returns once everything added so far is in the files.
  void flush();
  /// Flushes and closes the files; later add_* calls are ignored. Also done by the destructor.
  void close();

  const std::string& log_dir() const { return log_dir_; }
  /// The event file being written.
  const std::string& event_file() const { return events_->path(); }

 private:
  void add_summary(std::int64_t step, std::vector<proto::Message> values);
  SummaryWriter& child(const std::string& log_dir);

  std::string log_dir_;
  SummaryWriterOptions options_;
  std::unique_ptr<EventFileWriter> events_;
  std::unique_ptr<MetricsCsv> csv_;
  std::mutex children_mu_;
  std::map<std::string, std::unique_ptr<SummaryWriter>> children_;  // add_scalars' and add_hparams' runs
};

}  // namespace ember::logging
