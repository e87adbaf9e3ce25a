#include "ember/log/metrics_csv.h"

#include <cmath>

#include <fmt/format.h>

#include "ember/log/atomic_write.h"

namespace ember::logging {
namespace {

// RFC 4180: quote a field holding a comma, quote or line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out(1, '"');
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);  // shortest text that reads back as the same double
}

}  // namespace

void MetricsCsv::add(const std::string& tag, double value, std::int64_t step, double wall_time) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, added] = column_index_.try_emplace(tag, columns_.size());
  if (added) columns_.push_back(tag);
  auto [row, fresh] = rows_.try_emplace(step);
  if (fresh) row->second.wall_time = wall_time;
  row->second.cells[it->second] = value;
  dirty_ = true;
}

std::string MetricsCsv::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  return render_locked();
}

std::string MetricsCsv::render_locked() const {
  std::string out = "step,wall_time";
  for (const std::string& c : columns_) {
    out += ',';
    out += csv_field(c);
  }
  out += '\n';
  for (const auto& [step, row] : rows_) {
    out += fmt::format("{},{:.3f}", step, row.wall_time);
    auto cell = row.cells.begin();
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      out += ',';
      if (cell != row.cells.end() && cell->first == c) {
        out += number(cell->second);
        ++cell;
      }
    }
    out += '\n';
  }
  return out;
}

void MetricsCsv::write() {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirty_) return;
    text = render_locked();
    dirty_ = false;
  }
  try {
    atomic_write(path_, text, "SummaryWriter");
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;  // try again at the next flush
    throw;
  }
}

}  // namespace ember::logging
