#include "ember/log/summary_writer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>

#include "ember/core/error.h"
#include "ember/core/warning.h"
#include "ember/log/atomic_write.h"
#include "ember/log/event_proto.h"
#include "ember/io/image.h"
#include "ember/log/histogram.h"
#include "ember/log/image_grid.h"

namespace ember::logging {
namespace {

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string default_log_dir(const std::string& comment) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%b%d_%H-%M-%S", &tm);
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return fmt::format("runs/{}_{}{}", date, host, comment);
}

std::string json_string(const std::string& s) {
  std::string out(1, '"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

// JSON has no NaN or infinity: those become null.
std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

// The elements as doubles; the common float32 contiguous case without a per-element dispatch.
std::vector<double> values_of(const Tensor& t) {
  if (t.dtype() == DType::Float32 && t.is_contiguous()) {
    const float* p = t.data_ptr<float>();
    return std::vector<double>(p, p + t.numel());
  }
  return t.to_vector<double>();
}

}  // namespace

SummaryWriter::SummaryWriter(std::string log_dir, SummaryWriterOptions options)
    : log_dir_(log_dir.empty() ? default_log_dir(options.comment()) : std::move(log_dir)), options_(std::move(options)) {
  while (log_dir_.size() > 1 && log_dir_.back() == '/') log_dir_.pop_back();
  events_ = std::make_unique<EventFileWriter>(
      log_dir_, EventFileOptions().max_queue(options_.max_queue()).flush_secs(options_.flush_secs()).filename_suffix(options_.filename_suffix()));
  if (options_.write_csv()) {
    csv_ = std::make_unique<MetricsCsv>(log_dir_ + "/metrics.csv");
    events_->set_flush_hook([csv = csv_.get()] { csv->write(); });
  }
}

SummaryWriter::~SummaryWriter() { close(); }

void SummaryWriter::add_summary(std::int64_t step, std::vector<proto::Message> values) {
  events_->add_event(event_proto::summary_event(wall_seconds(), step, values));
}

void SummaryWriter::add_scalar(const std::string& tag, double value, std::int64_t step) {
  const double now = wall_seconds();
  events_->add_event(event_proto::summary_event(now, step, {event_proto::scalar_value(tag, static_cast<float>(value))}));
  if (csv_) csv_->add(tag, value, step, now);
}

SummaryWriter& SummaryWriter::child(const std::string& dir) {
  std::lock_guard<std::mutex> lock(children_mu_);
  auto& w = children_[dir];
  if (!w) w = std::make_unique<SummaryWriter>(dir, SummaryWriterOptions(options_).write_csv(false));
  return *w;
}

void SummaryWriter::add_scalars(const std::string& main_tag, const std::map<std::string, double>& values, std::int64_t step) {
  std::string base = main_tag;
  for (char& c : base)
    if (c == '/') c = '_';
  const double now = wall_seconds();
  for (const auto& [key, value] : values) {
    child(log_dir_ + "/" + base + "_" + key).add_scalar(main_tag, value, step);
    if (csv_) csv_->add(main_tag + "/" + key, value, step, now);
  }
}

void SummaryWriter::add_histogram(const std::string& tag, const Tensor& values, std::int64_t step, std::int64_t bins) {
  const std::vector<double> v = values_of(values);
  const Histogram h = bins > 0 ? histogram_uniform(v, bins) : histogram_tensorflow(v);
  add_summary(step, {event_proto::histogram_value(tag, h)});
}

void SummaryWriter::add_image(const std::string& tag, const Tensor& img, std::int64_t step, const std::string& dataformats) {
  const Pixels px = to_pixels(img, dataformats);
  Tensor chw = empty({px.channels, px.height, px.width}, DType::UInt8);  // io::encode_png's layout
  std::uint8_t* out = chw.data_ptr<std::uint8_t>();
  const std::size_t plane = static_cast<std::size_t>(px.height) * static_cast<std::size_t>(px.width);
  for (std::size_t i = 0; i < plane; ++i)
    for (std::size_t c = 0; c < static_cast<std::size_t>(px.channels); ++c)
      out[c * plane + i] = px.data[i * static_cast<std::size_t>(px.channels) + c];
  // Summary.Image.colorspace: 1 grey, 3 RGB, 4 RGBA (the channel count for these three).
  add_summary(step, {event_proto::image_value(tag, px.height, px.width, px.channels, io::encode_png(chw))});
}

void SummaryWriter::add_text(const std::string& tag, const std::string& text, std::int64_t step) {
  add_summary(step, {event_proto::text_value(tag, text)});
}

void SummaryWriter::add_hparams(const HParams& hparams, const std::map<std::string, double>& metrics,
                                const std::string& run_name) {
  std::map<std::string, event_proto::HParam> hp;
  for (const auto& [k, v] : hparams) hp.emplace(k, v.get());
  std::vector<std::string> metric_tags;
  for (const auto& [k, v] : metrics) metric_tags.push_back(k);
  SummaryWriter& w = run_name == "." ? *this : child(log_dir_ + "/" + (run_name.empty() ? fmt::format("{:.6f}", wall_seconds()) : run_name));
  const double now = wall_seconds();
  w.add_summary(0, {event_proto::hparams_experiment_value(hp, metric_tags)});
  w.add_summary(0, {event_proto::hparams_session_start_value(hp, now)});
  w.add_summary(0, {event_proto::hparams_session_end_value(now)});
  for (const auto& [k, v] : metrics) w.add_scalar(k, v, 0);

  // hparams.json, for readers without TensorBoard (scripts/compare_runs names the runs by it).
  std::string json = "{\n  \"hparams\": {";
  const char* sep = "";
  for (const auto& [k, v] : hparams) {
    json += sep;
    json += "\n    ";
    json += json_string(k);
    json += ": ";
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, bool>) json += x ? "true" : "false";
          else if constexpr (std::is_same_v<T, double>) json += json_number(x);
          else json += json_string(x);
        },
        v.get());
    sep = ",";
  }
  json += "\n  },\n  \"metrics\": {";
  sep = "";
  for (const auto& [k, v] : metrics) {
    json += sep;
    json += "\n    ";
    json += json_string(k);
    json += ": ";
    json += json_number(v);
    sep = ",";
  }
  json += "\n  }\n}\n";
  try {
    atomic_write(log_dir_ + "/hparams.json", json, "SummaryWriter");
  } catch (const Error& e) {
    warn_once(fmt::format("{} (the run goes on; the events hold the hyperparameters)", e.what()));
  }
}

void SummaryWriter::flush() {
  events_->flush();
  std::lock_guard<std::mutex> lock(children_mu_);
  for (auto& [dir, w] : children_) w->flush();
}

void SummaryWriter::close() {
  {
    std::lock_guard<std::mutex> lock(children_mu_);
    for (auto& [dir, w] : children_) w->close();
  }
  if (events_) events_->close();  // its last flush runs the metrics.csv hook
}

}  // namespace ember::logging
