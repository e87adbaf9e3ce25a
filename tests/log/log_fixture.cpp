// Writes the runs the log/ tests read back:
//   log_fixture proof DIR     one run with every kind of summary, and DIR/expected.json
//                             listing what was written (check_events.py compares)
//   log_fixture runs DIR      four small runs with hparams.json, as the sweep makes them
//                             (for scripts/compare_runs and the browser test)
//   log_fixture progress N    N steps of the progress display (run under a terminal or not)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <tuple>

#include <ember/core/factory.h>
#include <ember/core/random.h>
#include <ember/ops/ops.h>
#include <ember/io/image.h>
#include <ember/log/log.h>

using namespace ember;
using namespace ember::logging;

namespace {

std::string num(double v) {
  if (std::isnan(v)) return "\"nan\"";
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  return fmt::format("{}", v);
}

std::string list(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? "," : "", num(v[i]));
  s += ']';
  return s;
}

int proof(const std::string& dir) {
  manual_seed(7);
  std::string scalars, histos, images, texts;
  {
    SummaryWriter w(dir, SummaryWriterOptions().max_queue(4));
    for (int step = 0; step < 20; ++step) {
      double loss = 2.0 / (1 + step) + 0.01 * step;
      if (step == 5) loss = NAN;
      if (step == 6) loss = INFINITY;
      if (step == 7) loss = -INFINITY;
      const double acc = 0.1 + 0.04 * step;
      w.add_scalar("loss/train", loss, step);
      w.add_scalar("accuracy/test", acc, step);
      for (auto [tag, v] : {std::pair<const char*, double>{"loss/train", loss}, {"accuracy/test", acc}})
        scalars += fmt::format("{}[\"{}\",{},{}]", scalars.empty() ? "" : ",", tag, step, num(static_cast<float>(v)));
    }
    for (int step = 0; step < 3; ++step) {
      Tensor weights = randn({40, 25}) * (1.0 + step);
      if (step == 2) weights.data_ptr<float>()[3] = NAN;  // left out of the histogram
      w.add_histogram("fc1/weight", weights, step);
      w.add_histogram("fc1/weight_uniform", weights, step, 12);
      const std::vector<double> v = weights.to_vector<double>();
      histos += fmt::format("{}{{\"tag\":\"fc1/weight\",\"step\":{},\"bins\":0,\"values\":{}}}", histos.empty() ? "" : ",", step, list(v));
      histos += fmt::format(",{{\"tag\":\"fc1/weight_uniform\",\"step\":{},\"bins\":12,\"values\":{}}}", step, list(v));
    }
    // Images: a uint8 grey grid of "digits" and a float RGB image in HWC, with values outside [0, 1].
    Tensor digits = randint(0, 256, {6, 1, 5, 4}).to(DType::UInt8);
    Tensor grid = io::make_grid(digits, 3, 1);
    w.add_image("digits", grid, 4);
    Tensor rgb = rand({3, 5, 3}) * 1.2 - 0.1;
    w.add_image("rgb", rgb, 5, "HWC");
    for (auto [tag, step, t, fmt] : {std::tuple<const char*, int, Tensor, const char*>{"digits", 4, grid, "CHW"}, {"rgb", 5, rgb, "HWC"}}) {
      const Pixels px = to_pixels(t, fmt);
      std::vector<double> pixels(px.data.begin(), px.data.end());
      images += fmt::format("{}{{\"tag\":\"{}\",\"step\":{},\"height\":{},\"width\":{},\"channels\":{},\"pixels\":{}}}",
                            images.empty() ? "" : ",", tag, step, px.height, px.width, px.channels, list(pixels));
    }
    // The float image's pixels, computed here independently of to_pixels: round(clamp(v, 0, 1) * 255), HWC.
    const std::vector<double> v = rgb.to_vector<double>();
    for (std::size_t i = 0; i < v.size(); ++i)
      if (static_cast<int>(std::lround(std::clamp(v[i], 0.0, 1.0) * 255)) != to_pixels(rgb, "HWC").data[i]) return 3;
    w.add_text("notes", "Adam, lr 0.1: *diverges*", 3);
    texts = "[\"notes/text_summary\",3,\"Adam, lr 0.1: *diverges*\"]";
    w.add_hparams({{"optimizer", "adam"}, {"lr", 0.1}, {"dropout", 0.2}, {"nesterov", true}}, {{"hparam/accuracy", 0.86}}, ".");
    scalars += fmt::format(",[\"hparam/accuracy\",0,{}]", num(0.86f));
  }
  std::FILE* f = std::fopen((dir + "/expected.json").c_str(), "w");
  if (f == nullptr) return 1;
  std::fprintf(f, "{\"scalars\":[%s],\n\"histograms\":[%s],\n\"images\":[%s],\n\"texts\":[%s],\n", scalars.c_str(),
               histos.c_str(), images.c_str(), texts.c_str());
  std::fprintf(f, "\"hparams\":{\"optimizer\":\"adam\",\"lr\":0.1,\"dropout\":0.2,\"nesterov\":true},\"metrics\":{\"hparam/accuracy\":0.86}}\n");
  std::fclose(f);
  return 0;
}

// Accuracy curves that level off at different heights; one run's loss goes
// non-finite for two epochs (a gap in the chart).
int runs(const std::string& dir) {
  struct Run {
    const char* name;
    const char* opt;
    double lr, dropout, top;
  };
  const Run all[] = {{"adam_lr0.001_do0.2", "adam", 1e-3, 0.2, 0.98},
                     {"adam_lr0.1_do0.2", "adam", 1e-1, 0.2, 0.94},
                     {"sgd_lr0.01_do0", "momentum", 1e-2, 0.0, 0.97},
                     {"rmsprop_lr0.01_do0", "rmsprop", 1e-2, 0.0, 0.955}};
  for (const Run& r : all) {
    SummaryWriter w(fmt::format("{}/{}", dir, r.name));
    double acc = 0;
    for (int epoch = 1; epoch <= 6; ++epoch) {
      acc = r.top - (r.top - 0.85) * std::exp(-0.8 * epoch);
      double test_loss = 0.5 * (1 - acc) / 0.1;
      if (r.lr == 1e-1 && (epoch == 3 || epoch == 4)) test_loss = epoch == 3 ? NAN : INFINITY;
      w.add_scalar("loss/train", 0.6 * std::exp(-0.4 * epoch) + 0.02, epoch);
      w.add_scalar("loss/test", test_loss, epoch);
      w.add_scalar("accuracy/test", acc, epoch);
    }
    w.add_hparams({{"optimizer", r.opt}, {"lr", r.lr}, {"dropout", r.dropout}}, {{"hparam/accuracy", acc}}, ".");
  }
  return 0;
}

int progress(int n) {
  for (int epoch = 1; epoch <= 2; ++epoch) {
    Progress p(n, ProgressOptions().title(fmt::format("Epoch {}/2", epoch)).interval(0.02));
    for (int i = 1; i <= n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
      p.update(i, {{"loss", 1.0 / i}, {"accuracy", 0.9}}, 32);
    }
    p.finish({{"test_accuracy", 0.95}});
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode == "proof") return proof(argv[2]);
  if (mode == "runs") return runs(argv[2]);
  if (mode == "progress") return progress(std::stoi(argv[2]));
  std::fprintf(stderr, "usage: log_fixture proof DIR | runs DIR | progress N\n");
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "log_fixture: %s\n", e.what());
  return 1;
}
