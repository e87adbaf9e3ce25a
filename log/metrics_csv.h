#pragma once
/// metrics.csv: the scalars of a run as a table, for readers without TensorBoard.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ember::logging {

/// One row per step: `step,wall_time,<tag>,<tag>...`, tags in the order they
/// first appeared, empty cells where a tag has no value at that step. NaN and
/// infinities are written as `nan`, `inf`, `-inf` (Python's float() reads them).
/// add() is cheap (a map insert under a mutex); write() replaces the file
/// atomically, so a reader never sees half a table.
class MetricsCsv {
 public:
  explicit MetricsCsv(std::string path) : path_(std::move(path)) {}

  /// Records `value` for column `tag` at `step` (a later value at the same step replaces it).
  void add(const std::string& tag, double value, std::int64_t step, double wall_time);
  /// The table as CSV text.
  std::string render() const;
  /// Writes the file if anything changed since the last write; throws ember::Error naming the file.
  void write();

  const std::string& path() const { return path_; }

 private:
  struct Row {
    double wall_time = 0;
    std::map<std::size_t, double> cells;  // column index -> value
  };
  std::string render_locked() const;

  std::string path_;
  mutable std::mutex mu_;
  std::vector<std::string> columns_;
  std::map<std::string, std::size_t> column_index_;
  std::map<std::int64_t, Row> rows_;
  bool dirty_ = false;
};

}  // namespace ember::logging
