// Forecasting a real time series with an LSTM, against two baselines on the
// same chronological split: persistence (the next value is the last one) and
// a least-squares linear autoregression AR(p) over the same window.
//
//   forecast --csv sunspots.csv --column SUNACTIVITY --time-column YEAR --window 12
//   forecast --csv co2.csv --column co2 --time-column date --window 52 --chart co2.svg
//
// Method: sliding windows of the last p values; normalisation (mean, std) fit on
// the training part only; the last 20% of the series held out. The model is
// AR(p) + LSTM: a linear "highway" over the window (LSTNet's autoregressive part),
// fit by least squares in closed form exactly as the AR(p) baseline and then
// fixed, plus an LSTM that learns the residual AR leaves. The LSTM sees each
// window normalised by itself (its values relative to the last one, in units of
// its own step size; its residual target is scaled the same way), so a trending series that
// leaves the training range stays in the range the LSTM was trained on. Its head
// starts at zero, so the model starts AT the AR fit. The number of epochs is
// chosen on a validation tail of the training part (the last 10%, at least 10
// windows, never the held-out part), with AR refit without that tail so that it
// is new to both; an epoch counts only if it beats AR there by --significance
// standard errors (Diebold-Mariano), else the LSTM's residual stays zero and the
// program says so. The model is then refit on all the training windows (AR as the
// baseline, the LSTM from the same initial weights for the chosen epochs).
// --highway false puts persistence in AR's place (the LSTM predicts the next change).
// Missing values are filled by linear interpolation between the nearest present
// neighbours (the nearest one at either end). One-step forecasts use the actual
// past values; the multi-step forecast is recursive: it feeds its own predictions
// back for --horizon steps. Errors name the file, line and column. The time column
// holds numbers, YYYYMMDD numbers or dates (YYYY-MM-DD, YYYY/MM/DD, YYYY-MM, with an
// optional time of day); any other cell is an error, and the chart's axis shows dates
// as dates.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include <ember/ember.h>
#include <ember/data/csv.h>
#include <ember/io/atomic_file.h>

#include "flags.h"

using namespace ember;
using examples::Check;

struct Args {
  std::string csv, column, time_column, chart = "forecast.svg";
  std::int64_t window = 12, hidden = 32, epochs = 150, batch_size = 32, horizon = 6, seed = 1;
  double lr = 3e-3, weight_decay = 0, significance = 2, test_fraction = 0.2;
  bool highway = true;
  int threads = 1;
};

struct Series {
  std::vector<double> y;
  std::vector<std::string> time;  // the chart's label per row: the date, the number or the row number ("" if missing)
  std::int64_t filled = 0;
};

bool valid_date(int y, int m, int d) {
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > days[m - 1]) return false;
  return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

// 19580329 as "1958-03-29", if it is a date.
std::optional<std::string> yyyymmdd(double v) {
  if (!(v >= 1e7 && v < 1e8) || v != std::floor(v)) return std::nullopt;
  const long long n = static_cast<long long>(v);
  const int y = static_cast<int>(n / 10000), m = static_cast<int>(n / 100 % 100), d = static_cast<int>(n % 100);
  if (!valid_date(y, m, d)) return std::nullopt;
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

// "1958-03-29", "1958/03/29" or "1958-03", optionally followed by a time of day ("T12:00",
// " 12:00:30"), as the label "1958-03-29" (the time kept); nothing for any other text.
std::optional<std::string> parse_date(const std::string& s) {
  int y = 0, m = 0, d = 1, n = 0;
  char sep = 0;
  if (std::sscanf(s.c_str(), "%4d%c%2d%n", &y, &sep, &m, &n) != 3 || n != 7 || (sep != '-' && sep != '/')) return std::nullopt;
  std::size_t at = 7;
  bool day = false;
  if (at < s.size() && s[at] == sep) {
    int k = 0;
    if (std::sscanf(s.c_str() + at + 1, "%2d%n", &d, &k) != 1 || k != 2) return std::nullopt;
    at += 3;
    day = true;
  }
  if (!valid_date(y, m, d)) return std::nullopt;
  std::string label = day ? fmt::format("{:04d}-{:02d}-{:02d}", y, m, d) : fmt::format("{:04d}-{:02d}", y, m);
  if (at == s.size()) return label;
  if (!day || (s[at] != 'T' && s[at] != ' ')) return std::nullopt;
  int hh = 0, mm = 0, ss = 0, k = 0;
  const std::string rest = s.substr(at + 1);
  const bool hm = std::sscanf(rest.c_str(), "%2d:%2d%n", &hh, &mm, &k) == 2 && k == 5;
  if (!hm || hh > 23 || mm > 59) return std::nullopt;
  if (rest.size() > 5) {
    int k2 = 0;
    if (std::sscanf(rest.c_str() + 5, ":%2d%n", &ss, &k2) != 1 || k2 != 3 || ss > 60) return std::nullopt;
    // Fractions of a second or a zone (Z, +01:00) may follow.
    const std::string tail = rest.substr(8);
    if (!tail.empty() && tail != "Z" && tail[0] != '.' && tail[0] != '+' && tail[0] != '-') return std::nullopt;
  }
  return label + " " + rest.substr(0, 5);
}

// The labels of the time column: YYYYMMDD numbers as dates when every present value is
// one, other numbers as they are; text cells must all be dates. Errors name the line.
std::vector<std::string> time_labels(const data::CsvTable& t, const std::string& file, const std::string& name) {
  const data::CsvColumn& tc = t[name];
  const std::size_t n = static_cast<std::size_t>(t.rows());
  std::vector<std::string> out(n);
  if (tc.is_number()) {
    bool dates = true, any = false;
    for (double v : tc.numbers) {
      if (std::isnan(v)) continue;
      any = true;
      dates = dates && yyyymmdd(v).has_value();
    }
    for (std::size_t i = 0; i < n; ++i) {
      const double v = tc.numbers[i];
      if (!std::isnan(v)) out[i] = dates && any ? *yyyymmdd(v) : fmt::format("{:.10g}", v);
    }
    return out;
  }
  // Text: a column of numbers with a stray text cell (the reader names that cell), or dates.
  std::size_t first = 0;
  while (first < n && tc.missing[first]) ++first;
  auto is_number = [](const std::string& v) {
    double x = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    return ec == std::errc() && ptr == v.data() + v.size();
  };
  if (first < n && tc.text_line > 0 && is_number(tc.strings[first])) {
    throw Error(fmt::format("{}:{}: column \"{}\": '{}' is not a time (the column's other cells are numbers)", file,
                            tc.text_line, name, tc.text_value));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (tc.missing[i]) continue;
    const std::optional<std::string> d = parse_date(tc.strings[i]);
    if (!d) {
      throw Error(fmt::format("{}:{}: column \"{}\": '{}' is not a time: use numbers, YYYYMMDD, YYYY-MM-DD, YYYY/MM/DD "
                              "or YYYY-MM (a day.month.year or month/day/year date is ambiguous)",
                              file, t.line(static_cast<std::int64_t>(i)), name, tc.strings[i]));
    }
    out[i] = *d;
  }
  return out;
}

Series load(const Args& a) {
  const std::string header_line = fmt::format("{}:1", a.csv);
  data::CsvTable probe = data::read_csv(a.csv, data::CsvOptions().allow_empty(true));
  for (const std::string& name : {a.column, a.time_column}) {
    if (name.empty()) continue;
    std::string cols;
    for (const std::string& n : probe.names()) cols += (cols.empty() ? "\"" : ", \"") + n + "\"";
    EMBER_CHECK(probe.has(name), "{}: no column \"{}\" (the header has {})", header_line, name, cols);
  }
  // Read again with the value column declared a number: a cell that is not one is an
  // error naming its line and column.
  data::CsvOptions o;
  o.type(a.column, data::CsvType::Number).row_lines(true);
  data::CsvTable t = data::read_csv(a.csv, o);
  const data::CsvColumn& c = t[a.column];
  Series s;
  s.y = c.numbers;
  const std::int64_t n = t.rows();
  // Fill the gaps: linear between the nearest present values, the nearest one at the ends.
  std::int64_t prev = -1;
  for (std::int64_t i = 0; i <= n; ++i) {
    if (i < n && std::isnan(s.y[i])) continue;
    for (std::int64_t j = prev + 1; j < i; ++j) {
      s.y[j] = prev < 0 ? s.y[i] : i == n ? s.y[prev] : s.y[prev] + (s.y[i] - s.y[prev]) * double(j - prev) / double(i - prev);
      ++s.filled;
    }
    prev = i;
  }
  EMBER_CHECK(prev >= 0 && !std::isnan(s.y[0]), "{}: column \"{}\" has no values", a.csv, a.column);
  const std::int64_t n_test = std::max<std::int64_t>(1, std::llround(a.test_fraction * double(n)));
  const std::int64_t need = a.window + 10 + n_test;
  EMBER_CHECK(n >= need, "{}:{}: column \"{}\": {} rows are too few for a window of {} (at least {} needed: the window, 10 training targets and {} held out)",
              a.csv, n + 1, a.column, n, a.window, need, n_test);
  if (a.time_column.empty()) {
    for (std::int64_t i = 0; i < n; ++i) s.time.push_back(std::to_string(i));
  } else {
    s.time = time_labels(t, a.csv, a.time_column);
  }
  return s;
}

// Least squares AR(p) with intercept on windows x [m, p] -> targets y [m]: the normal
// equations solved by Gaussian elimination with partial pivoting (tiny ridge for safety).
std::vector<double> fit_ar(const std::vector<std::vector<double>>& x, const std::vector<double>& y) {
  const std::size_t p = x[0].size() + 1;
  std::vector<std::vector<double>> A(p, std::vector<double>(p + 1, 0.0));
  for (std::size_t r = 0; r < x.size(); ++r) {
    std::vector<double> row(x[r]);
    row.push_back(1.0);
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j < p; ++j) A[i][j] += row[i] * row[j];
      A[i][p] += row[i] * y[r];
    }
  }
  for (std::size_t i = 0; i < p; ++i) A[i][i] += 1e-8;
  for (std::size_t c = 0; c < p; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < p; ++r)
      if (std::abs(A[r][c]) > std::abs(A[piv][c])) piv = r;
    std::swap(A[c], A[piv]);
    for (std::size_t r = 0; r < p; ++r)
      if (r != c) {
        const double f = A[r][c] / A[c][c];
        for (std::size_t k = c; k <= p; ++k) A[r][k] -= f * A[c][k];
      }
  }
  std::vector<double> beta(p);
  for (std::size_t i = 0; i < p; ++i) beta[i] = A[i][p] / A[i][i];
  return beta;  // p weights (oldest first), then the intercept
}

// The recurrent part: an LSTM over the window's features [N, p, channels] whose last
// hidden state a Linear turns into the scaled residual over the base forecast.
struct ForecasterImpl : nn::Module {
  ForecasterImpl(std::int64_t channels, std::int64_t hidden)
      : lstm(register_module("lstm", nn::LSTM(nn::LSTMOptions(channels, hidden).batch_first(true)))),
        head(register_module("head", nn::Linear(hidden, 1))) {}
  Tensor forward(const Tensor& x) {
    auto [out, state] = lstm(x);
    return head(std::get<0>(state).select(0, 0)).squeeze(1);
  }
  nn::LSTM lstm;
  nn::Linear head;
};
EMBER_MODULE(Forecaster);

struct Metrics {
  double rmse = 0, mae = 0;
};
Metrics metrics(const std::vector<double>& pred, const std::vector<double>& actual) {
  Metrics m;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const double e = pred[i] - actual[i];
    m.rmse += e * e;
    m.mae += std::abs(e);
  }
  m.rmse = std::sqrt(m.rmse / double(pred.size()));
  m.mae /= double(pred.size());
  return m;
}

// Diebold and Mariano's statistic for one-step forecasts: the mean difference of squared
// errors (a minus b) over its standard error; below -2 a is better than b beyond chance.
double dm_statistic(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& actual) {
  const std::size_t n = actual.size();
  std::vector<double> d(n);
  double mean = 0, var = 0;
  for (std::size_t i = 0; i < n; ++i) {
    d[i] = (a[i] - actual[i]) * (a[i] - actual[i]) - (b[i] - actual[i]) * (b[i] - actual[i]);
    mean += d[i];
  }
  mean /= double(n);
  for (double x : d) var += (x - mean) * (x - mean);
  const double se = std::sqrt(var / double(std::max<std::size_t>(1, n - 1)) / double(n));
  return se > 0 ? mean / se : 0.0;
}

// How the model sees one window w (p values, oldest first, in the training part's
// normalised units). The base forecast is AR(p)'s (or, with --highway false, the last
// value); the LSTM predicts the residual over it in units of the window's own scale s_w,
// the RMS of its one-step changes (at least 1% of the training part's, and the training
// part's when the window has fewer than two changes). Its input is normalised per window
// too: (w_i - w_last) / s_w, the window's shape relative to its last value, which stays
// in the trained range when the series trends out of the training range (the level
// itself, tried as a second channel, made the trending series worse).
struct Prepared {
  std::vector<float> features;  // [p, kChannels]
  double base = 0, scale = 1;
};
constexpr std::int64_t kChannels = 1;

struct Windows {
  std::vector<Prepared> w;
  Tensor tensor() const {
    std::vector<float> flat;
    for (const Prepared& r : w) flat.insert(flat.end(), r.features.begin(), r.features.end());
    const std::int64_t p = static_cast<std::int64_t>(w[0].features.size()) / kChannels;
    return from_vector(flat, Shape{static_cast<std::int64_t>(w.size()), p, kChannels});
  }
};

// Predictions in normalised units: base + the LSTM's residual times the window's scale.
std::vector<double> predict(Forecaster& model, const Windows& w) {
  NoGradGuard no_grad;
  model->eval();
  const std::vector<double> r = model(w.tensor()).to(DType::Float64).to_vector<double>();
  std::vector<double> y(r.size());
  for (std::size_t i = 0; i < r.size(); ++i) y[i] = w.w[i].base + r[i] * w.w[i].scale;
  return y;
}

void write_chart(const std::string& path, const std::string& title, const std::vector<std::string>& t,
                 const std::vector<std::pair<std::string, std::vector<double>>>& lines) {
  const double W = 960, H = 420, L = 60, R = 20, T = 40, B = 40;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [name, v] : lines)
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  const double pad = 0.05 * (hi - lo + 1e-9);
  lo -= pad, hi += pad;
  auto X = [&](std::size_t i) { return L + (W - L - R) * double(i) / double(std::max<std::size_t>(1, t.size() - 1)); };
  auto Y = [&](double v) { return T + (H - T - B) * (hi - v) / (hi - lo); };
  const char* colors[] = {"#222222", "#d62728", "#1f77b4", "#2ca02c"};
  const char* dashes[] = {"", "", "6,4", "2,3"};
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\">{}</text>\n",
      W, H, L, title);
  for (int k = 0; k <= 4; ++k) {  // horizontal grid with values
    const double v = lo + (hi - lo) * k / 4.0;
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{:.1f}\">{:.4g}</text>\n", L,
                       W - R, Y(v), Y(v), Y(v) + 4, v);
  }
  for (int k = 0; k <= 5; ++k) {  // time ticks: the first label starts at its tick, the last ends at it
    const std::size_t i = (t.size() - 1) * static_cast<std::size_t>(k) / 5;
    const char* anchor = k == 0 ? "start" : k == 5 ? "end" : "middle";
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke=\"#999\"/>", X(i), X(i), H - B, H - B + 5);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"{}\">{}</text>\n", X(i), H - 14, anchor, t[i]);
  }
  for (std::size_t l = 0; l < lines.size(); ++l) {
    std::string pts;
    for (std::size_t i = 0; i < lines[l].second.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", X(i), Y(lines[l].second[i]));
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-dasharray=\"{}\" points=\"{}\"/>\n",
                       colors[l % 4], l == 0 ? 2 : 1.5, dashes[l % 4], pts);
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/>"
                       "<text x=\"{}\" y=\"{}\">{}</text>\n",
                       W - 230, W - 200, 24 + 16 * l, 24 + 16 * l, colors[l % 4], dashes[l % 4], W - 195, 28 + 16 * l,
                       lines[l].first);
  }
  svg += "</svg>\n";
  AtomicFile f(path, "forecast chart");
  f.write(svg.data(), svg.size());
  f.commit();
}

int main(int argc, char** argv) try {
  Args a;
  examples::Flags flags("forecast", "An LSTM forecast of one CSV column against persistence and AR(p).");
  flags.add("csv", a.csv, "the CSV file (a header row; quoted names and missing values allowed)")
      .add("column", a.column, "the column to forecast")
      .add("time-column", a.time_column, "the column with the time (numbers, YYYYMMDD or YYYY-MM-DD dates); optional")
      .add("window", a.window, "past values the models see (AR's order p)", Check::Positive)
      .add("horizon", a.horizon, "steps of the multi-step forecast", Check::Positive)
      .add("hidden", a.hidden, "the LSTM's hidden size", Check::Positive)
      .add("epochs", a.epochs, "passes over the training windows", Check::Positive)
      .add("batch-size", a.batch_size, "windows per step", Check::Positive)
      .add("lr", a.lr, "Adam's learning rate", Check::Positive)
      .add("significance", a.significance, "an epoch is kept only if it beats the base on validation by this many standard errors (Diebold-Mariano)", Check::NonNegative)
      .add("weight-decay", a.weight_decay, "Adam's L2 penalty on the LSTM's weights", Check::NonNegative)
      .add("highway", a.highway, "the LSTM learns the residual over the AR(p) least-squares fit (false: over the last value)")
      .add("chart", a.chart, "write actual vs forecast for the held-out part to this SVG file")
      .add("seed", a.seed, "random seed", Check::NonNegative)
      .add("threads", a.threads, "compute threads", Check::Positive);
  flags.parse(argc, argv);
  if (a.csv.empty() || a.column.empty()) throw examples::UsageError("--csv and --column are required");
  manual_seed(static_cast<std::uint64_t>(a.seed));
  set_num_threads(a.threads);

  const Series s = load(a);
  const std::int64_t n = static_cast<std::int64_t>(s.y.size()), p = a.window;
  const std::int64_t n_test = std::max<std::int64_t>(1, std::llround(a.test_fraction * double(n))), n_train = n - n_test;
  // Normalisation from the training part only.
  const double mean = std::accumulate(s.y.begin(), s.y.begin() + n_train, 0.0) / double(n_train);
  double var = 0;
  for (std::int64_t i = 0; i < n_train; ++i) var += (s.y[i] - mean) * (s.y[i] - mean);
  const double sd = std::sqrt(var / double(n_train)) + 1e-12;
  std::vector<double> z(s.y.size());
  for (std::int64_t i = 0; i < n; ++i) z[i] = (s.y[i] - mean) / sd;
  auto window_at = [&](const std::vector<double>& v, std::int64_t target) {  // the p values before `target`
    return std::vector<double>(v.begin() + (target - p), v.begin() + target);
  };
  std::vector<std::vector<double>> train_x, test_x;
  std::vector<double> train_y, test_actual;
  for (std::int64_t t = p; t < n_train; ++t) train_x.push_back(window_at(z, t)), train_y.push_back(z[t]);
  for (std::int64_t t = n_train; t < n; ++t) test_x.push_back(window_at(z, t)), test_actual.push_back(s.y[t]);
  const std::int64_t m = static_cast<std::int64_t>(train_x.size()), n_val = std::max<std::int64_t>(m / 10, std::min<std::int64_t>(m / 3, 10));
  fmt::print("{} \"{}\": {} rows ({} missing, filled by linear interpolation), train {} / test {}, window {}\n", a.csv,
             a.column, n, s.filled, n_train, n_test, p);

  // AR(p) by least squares on all the training windows: the baseline, and (with the
  // highway) the model's linear part, exact and fixed; the LSTM learns what it leaves.
  auto ar_with = [&](const std::vector<double>& b, const std::vector<double>& w) {
    double v = b[static_cast<std::size_t>(p)];
    for (std::int64_t i = 0; i < p; ++i) v += b[i] * w[i];
    return v;
  };
  const std::vector<double> beta = fit_ar(train_x, train_y);
  auto ar = [&](const std::vector<double>& w) { return ar_with(beta, w); };
  double ms_step = 0;  // mean square one-step change of the training part (normalised)
  for (std::int64_t i = 1; i < n_train; ++i) ms_step += (z[i] - z[i - 1]) * (z[i] - z[i - 1]);
  const double step_scale = std::sqrt(ms_step / double(n_train - 1)) + 1e-12;
  auto prepare = [&](const std::vector<double>& b, const std::vector<double>& w) {
    Prepared r;
    r.base = a.highway ? ar_with(b, w) : w.back();
    r.scale = step_scale;
    if (p >= 3) {
      double ms = 0;
      for (std::int64_t i = 1; i < p; ++i) ms += (w[i] - w[i - 1]) * (w[i] - w[i - 1]);
      r.scale = std::max(std::sqrt(ms / double(p - 1)), 0.01 * step_scale);
    }
    r.features.resize(static_cast<std::size_t>(p * kChannels));
    for (std::int64_t i = 0; i < p; ++i) r.features[i] = static_cast<float>((w[i] - w.back()) / r.scale);
    return r;
  };
  auto prepare_all = [&](const std::vector<double>& b, const std::vector<std::vector<double>>& ws) {
    Windows out;
    for (const auto& w : ws) out.w.push_back(prepare(b, w));
    return out;
  };
  // The scaled residuals the LSTM learns: (target - base) / scale.
  auto residuals = [&](const Windows& w, const std::vector<double>& y) {
    std::vector<float> r;
    for (std::size_t i = 0; i < y.size(); ++i) r.push_back(static_cast<float>((y[i] - w.w[i].base) / w.w[i].scale));
    return from_vector(r);
  };
  auto make_model = [&] {
    manual_seed(static_cast<std::uint64_t>(a.seed));
    Forecaster m(kChannels, a.hidden);
    NoGradGuard no_grad;  // the residual starts at zero: epoch 0 is the base forecast itself
    m->head->weight.zero_();
    m->head->bias.zero_();
    return m;
  };
  auto train_epoch = [&](Forecaster& m, optim::Adam& opt, const Tensor& X, const Tensor& Y) {
    m->train();
    const Tensor order = randperm(X.size(0));
    for (std::int64_t b = 0; b < X.size(0); b += a.batch_size) {
      const Tensor idx = order.narrow(0, b, std::min(a.batch_size, X.size(0) - b));
      opt.zero_grad();
      Tensor loss = mse_loss(m(index_select(X, 0, idx)), index_select(Y, 0, idx));
      loss.backward();
      nn::utils::clip_grad_norm_(m->parameters(), 1.0);
      opt.step();
    }
  };
  const auto start = std::chrono::steady_clock::now();
  // 1. Choosing the number of epochs: AR and the LSTM fit on all but a validation tail of
  // the training windows (the held-out part is never seen), so that the tail is new to
  // both; the epoch count kept is the one with the lowest validation RMSE (0: AR alone).
  const std::vector<std::vector<double>> fit_x(train_x.begin(), train_x.end() - n_val), val_x(train_x.end() - n_val, train_x.end());
  const std::vector<double> fit_y(train_y.begin(), train_y.end() - n_val), val_y(train_y.end() - n_val, train_y.end());
  const std::vector<double> beta_fit = fit_ar(fit_x, fit_y);
  const Windows fit_w = prepare_all(beta_fit, fit_x), val_w = prepare_all(beta_fit, val_x);
  std::int64_t best_epoch = 0;
  double base_val = 0, best = 0, best_t = 0;
  {
    Forecaster m = make_model();
    const Tensor X = fit_w.tensor(), Y = residuals(fit_w, fit_y);
    optim::Adam opt(m->parameters(), optim::AdamOptions(a.lr).weight_decay(a.weight_decay));
    const std::vector<double> base_pred = predict(m, val_w);
    base_val = best = metrics(base_pred, val_y).rmse;
    for (std::int64_t epoch = 1; epoch <= a.epochs; ++epoch) {
      train_epoch(m, opt, X, Y);
      const std::vector<double> pred = predict(m, val_w);
      const double v = metrics(pred, val_y).rmse, t = dm_statistic(pred, base_pred, val_y);
      if (v < best && t < -a.significance) best = v, best_epoch = epoch, best_t = t;
    }
  }
  // 2. The model: AR refit on all the training windows (the baseline's fit) and the LSTM,
  // from the same initial weights, trained for the chosen number of epochs on all of them.
  Forecaster model = make_model();
  {
    const Windows all_w = prepare_all(beta, train_x);
    const Tensor X = all_w.tensor(), Y = residuals(all_w, train_y);
    optim::Adam opt(model->parameters(), optim::AdamOptions(a.lr).weight_decay(a.weight_decay));
    for (std::int64_t epoch = 1; epoch <= best_epoch; ++epoch) train_epoch(model, opt, X, Y);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string base_name = a.highway ? fmt::format("AR({})", p) : "persistence";
  fmt::print("LSTM (hidden {}) on the residual over {}: {} epochs in {:.1f}s; validation RMSE {:.4f} for {} alone (normalised)\n", a.hidden,
             base_name, a.epochs, seconds, base_val, base_name);
  if (best_epoch > 0)
    fmt::print("  kept {} epochs: validation RMSE {:.4f}, better than {} by {:.1f} standard errors\n", best_epoch, best, base_name, -best_t);
  else
    fmt::print("  no epoch beat {} on validation by {} standard errors: the LSTM's residual stays zero, so its forecasts are {}'s\n", base_name,
               a.significance, base_name);

  // One-step forecasts on the held-out part, in the original units.
  std::vector<double> lstm1 = predict(model, prepare_all(beta, test_x)), ar1, pers1;
  for (double& v : lstm1) v = v * sd + mean;
  for (std::int64_t t = n_train; t < n; ++t) {
    ar1.push_back(ar(window_at(z, t)) * sd + mean);
    pers1.push_back(s.y[t - 1]);
  }
  // Multi-step (recursive): from each origin, feed the forecasts back for `horizon` steps.
  const std::int64_t h = a.horizon;
  std::vector<double> lstmh, arh, persh, actualh;
  std::vector<std::vector<double>> wl, wa;
  for (std::int64_t t = n_train; t + h - 1 < n; ++t) wl.push_back(window_at(z, t)), actualh.push_back(s.y[t + h - 1]), persh.push_back(s.y[t - 1]);
  wa = wl;
  for (std::int64_t k = 0; k < h; ++k) {
    const std::vector<double> nl = predict(model, prepare_all(beta, wl));
    for (std::size_t i = 0; i < wl.size(); ++i) {
      const double na = ar(wa[i]);
      wl[i].erase(wl[i].begin()), wl[i].push_back(nl[i]);
      wa[i].erase(wa[i].begin()), wa[i].push_back(na);
    }
  }
  for (std::size_t i = 0; i < wl.size(); ++i) lstmh.push_back(wl[i].back() * sd + mean), arh.push_back(wa[i].back() * sd + mean);

  fmt::print("held-out {} values       one-step RMSE     MAE   |  {}-step RMSE     MAE\n", n_test, h);
  const std::vector<std::pair<std::string, std::pair<Metrics, Metrics>>> rows = {
      {"LSTM", {metrics(lstm1, test_actual), metrics(lstmh, actualh)}},
      {"persistence", {metrics(pers1, test_actual), metrics(persh, actualh)}},
      {fmt::format("AR({})", p), {metrics(ar1, test_actual), metrics(arh, actualh)}}};
  for (const auto& [name, mm] : rows)
    fmt::print("  {:<12}           {:10.4f} {:9.4f}   |  {:10.4f} {:9.4f}\n", name, mm.first.rmse, mm.first.mae,
               mm.second.rmse, mm.second.mae);
  if (!a.chart.empty()) {
    write_chart(a.chart, fmt::format("{}: held-out part, one-step forecasts", a.column),
                std::vector<std::string>(s.time.begin() + n_train, s.time.end()),
                {{"actual", test_actual}, {"LSTM", lstm1}, {fmt::format("AR({})", p), ar1}});
    fmt::print("chart: {}\n", a.chart);
  }
  return 0;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "forecast: {} (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "forecast: {}\n", e.what());
  return 2;
}
