// Forecasting a real time series with an LSTM, against two baselines on the
// same chronological split: persistence (the next value is the last one) and
// a least-squares linear autoregression AR(p) over the same window.
//
//   forecast --csv sunspots.csv --column SUNACTIVITY --time-column YEAR --window 12
//   forecast --csv co2.csv --column co2 --time-column date --window 52 --chart co2.svg
//
// Method: sliding windows of the last p values; normalisation (mean, std) fit on
// the training part only; the last 20% of the series held out. The model is an
// LSTM over the window plus a linear "highway" over the same window (LSTNet's
// autoregressive component): the highway starts at the AR(p) fit and the LSTM's
// head at zero, and the epoch kept is the one with the lowest error on the last
// 10% of the training part (epoch 0 is the AR fit itself). --highway false trains
// the plain LSTM instead. Missing values are filled by linear interpolation
// between the nearest present neighbours (the nearest one at either end).
// One-step forecasts use the actual past values; the multi-step forecast feeds
// its own predictions back for --horizon steps. Errors name the file, line and column.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <ember/ember.h>
#include <ember/data/csv.h>
#include <ember/io/atomic_file.h>

#include "flags.h"

using namespace ember;
using examples::Check;

struct Args {
  std::string csv, column, time_column, chart = "forecast.svg";
  std::int64_t window = 12, hidden = 32, epochs = 150, batch_size = 32, horizon = 6, seed = 1;
  double lr = 3e-3, test_fraction = 0.2;
  bool highway = true;
  int threads = 1;
};

struct Series {
  std::vector<double> y, time;  // time: a number per row (a fractional year for dates), or the row index
  std::int64_t filled = 0;
};

// "1958-03-29", "1958/03/29" or 19580329 as a fractional year; plain numbers stay.
double time_value(double v) {
  if (v >= 1e7 && v < 1e8) {
    const double year = std::floor(v / 1e4), month = std::floor(std::fmod(v, 1e4) / 100), day = std::fmod(v, 100);
    return year + (month - 1) / 12.0 + (day - 1) / 365.25;
  }
  return v;
}
double parse_date(const std::string& s, double fallback) {
  int y = 0, m = 1, d = 1;
  if (std::sscanf(s.c_str(), "%d-%d-%d", &y, &m, &d) >= 1 || std::sscanf(s.c_str(), "%d/%d/%d", &y, &m, &d) >= 1)
    return y + (m - 1) / 12.0 + (d - 1) / 365.25;
  return fallback;
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
  o.type(a.column, data::CsvType::Number);
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
  s.time.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double v = double(i);
    if (!a.time_column.empty()) {
      const data::CsvColumn& tc = t[a.time_column];
      v = tc.is_number() ? (std::isnan(tc.numbers[i]) ? double(i) : time_value(tc.numbers[i])) : parse_date(tc.strings[i], double(i));
    }
    s.time[i] = v;
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

struct ForecasterImpl : nn::Module {
  ForecasterImpl(std::int64_t window, std::int64_t hidden, bool with_highway)
      : lstm(register_module("lstm", nn::LSTM(nn::LSTMOptions(1, hidden).batch_first(true)))),
        head(register_module("head", nn::Linear(hidden, 1))),
        highway(with_highway ? register_module("highway", nn::Linear(window, 1)) : nn::Linear(nullptr)) {}
  // x: [N, window] normalised values, oldest first -> [N] the next value.
  Tensor forward(const Tensor& x) {
    auto [out, state] = lstm(x.unsqueeze(2));
    Tensor y = head(std::get<0>(state).select(0, 0)).squeeze(1);
    return highway ? y + highway(x).squeeze(1) : y;
  }
  nn::LSTM lstm;
  nn::Linear head, highway;
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

Tensor windows_tensor(const std::vector<std::vector<double>>& w) {
  std::vector<float> flat;
  for (const auto& r : w) flat.insert(flat.end(), r.begin(), r.end());
  return from_vector(flat, Shape{static_cast<std::int64_t>(w.size()), static_cast<std::int64_t>(w[0].size())});
}

std::vector<double> predict(Forecaster& model, const std::vector<std::vector<double>>& w) {
  NoGradGuard no_grad;
  model->eval();
  Tensor y = model(windows_tensor(w)).to(DType::Float64);
  return y.to_vector<double>();
}

void write_chart(const std::string& path, const std::string& title, const std::vector<double>& t,
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
  for (int k = 0; k <= 5; ++k) {  // time ticks
    const std::size_t i = (t.size() - 1) * static_cast<std::size_t>(k) / 5;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.6g}</text>\n", X(i), H - 14, t[i]);
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
      .add("highway", a.highway, "add a linear path over the window, started at the AR fit (LSTNet)")
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
  const std::int64_t m = static_cast<std::int64_t>(train_x.size()), n_val = std::max<std::int64_t>(1, m / 10);
  fmt::print("{} \"{}\": {} rows ({} missing, filled by linear interpolation), train {} / test {}, window {}\n", a.csv,
             a.column, n, s.filled, n_train, n_test, p);

  // AR(p) by least squares on the training windows.
  const std::vector<double> beta = fit_ar(train_x, train_y);
  auto ar = [&](const std::vector<double>& w) {
    double v = beta[static_cast<std::size_t>(p)];
    for (std::int64_t i = 0; i < p; ++i) v += beta[i] * w[i];
    return v;
  };

  Forecaster model(p, a.hidden, a.highway);
  {
    NoGradGuard no_grad;
    model->head->weight.zero_();
    model->head->bias.zero_();
    if (a.highway) {
      for (std::int64_t i = 0; i < p; ++i) model->highway->weight.narrow(1, i, 1).fill_(beta[i]);
      model->highway->bias.fill_(beta[static_cast<std::size_t>(p)]);
    }
  }
  // Train on all but the last 10% of the training windows; keep the epoch best on those.
  const std::vector<std::vector<double>> fit_x(train_x.begin(), train_x.end() - n_val), val_x(train_x.end() - n_val, train_x.end());
  const std::vector<double> fit_y(train_y.begin(), train_y.end() - n_val), val_y(train_y.end() - n_val, train_y.end());
  const Tensor X = windows_tensor(fit_x), Y = from_vector(std::vector<float>(fit_y.begin(), fit_y.end()));
  optim::Adam opt(model->parameters(), optim::AdamOptions(a.lr));
  auto val_rmse = [&] { return metrics(predict(model, val_x), val_y).rmse; };
  double best = val_rmse();
  std::int64_t best_epoch = 0;
  NamedTensors best_state;
  for (const auto& [k, v] : model->state_dict()) best_state.emplace_back(k, v.clone());
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t epoch = 1; epoch <= a.epochs; ++epoch) {
    model->train();
    const Tensor order = randperm(X.size(0));
    for (std::int64_t b = 0; b < X.size(0); b += a.batch_size) {
      const Tensor idx = order.narrow(0, b, std::min(a.batch_size, X.size(0) - b));
      opt.zero_grad();
      Tensor loss = mse_loss(model(index_select(X, 0, idx)), index_select(Y, 0, idx));
      loss.backward();
      optim::clip_grad_norm_(model->parameters(), 1.0);
      opt.step();
    }
    const double v = val_rmse();
    if (v < best) {
      best = v, best_epoch = epoch;
      best_state.clear();
      for (const auto& [k, t] : model->state_dict()) best_state.emplace_back(k, t.clone());
    }
  }
  model->load_state_dict(best_state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("LSTM {} (hidden {}{}): {} epochs in {:.1f}s, kept epoch {} (validation RMSE {:.4f}, normalised)\n", a.highway ? "+ AR highway" : "alone",
             a.hidden, "", a.epochs, seconds, best_epoch, best);

  // One-step forecasts on the held-out part, in the original units.
  std::vector<double> lstm1 = predict(model, test_x), ar1, pers1;
  for (double& v : lstm1) v = v * sd + mean;
  for (std::int64_t t = n_train; t < n; ++t) {
    ar1.push_back(ar(window_at(z, t)) * sd + mean);
    pers1.push_back(s.y[t - 1]);
  }
  // Multi-step: from each origin, feed the forecasts back for `horizon` steps.
  const std::int64_t h = a.horizon;
  std::vector<double> lstmh, arh, persh, actualh;
  std::vector<std::vector<double>> wl, wa;
  for (std::int64_t t = n_train; t + h - 1 < n; ++t) wl.push_back(window_at(z, t)), actualh.push_back(s.y[t + h - 1]), persh.push_back(s.y[t - 1]);
  wa = wl;
  for (std::int64_t k = 0; k < h; ++k) {
    const std::vector<double> nl = predict(model, wl);
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
                std::vector<double>(s.time.begin() + n_train, s.time.end()),
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
