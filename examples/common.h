#pragma once
// What the MNIST examples share: flags, a progress line, training and
// evaluation loops. Kept here so each example reads like its PyTorch twin.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <ember/ember.h>

namespace examples {
using namespace ember;

/// --name value flags with defaults; --help lists them.
class Flags {
 public:
  Flags(int argc, char** argv, std::map<std::string, std::string> defaults) : values_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      std::string key = argv[i];
      if (key == "--help" || key == "-h") {
        std::printf("options (default):\n");
        for (const auto& [k, v] : values_) std::printf("  --%s %s\n", k.c_str(), v.c_str());
        std::exit(0);
      }
      EMBER_CHECK(key.rfind("--", 0) == 0 && values_.count(key.substr(2)) && i + 1 < argc,
                  "unknown flag or missing value: {} (see --help)", key);
      values_[key.substr(2)] = argv[++i];
    }
  }
  std::string str(const std::string& k) const { return values_.at(k); }
  double num(const std::string& k) const { return std::stod(values_.at(k)); }
  std::int64_t integer(const std::string& k) const { return std::stoll(values_.at(k)); }

 private:
  std::map<std::string, std::string> values_;
};

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// Keras-like progress: redrawn in place (at most every 0.1 s) on a terminal,
/// silent otherwise; the epoch's summary line is printed by the caller.
class Progress {
 public:
  explicit Progress(std::int64_t total) : total_(total), start_(Clock::now()), tty_(isatty(fileno(stderr))) {}
  void update(std::int64_t done, double loss, std::int64_t samples) {
    if (!tty_) return;
    const double elapsed = seconds_since(start_);
    if (done < total_ && elapsed - last_draw_ < 0.1) return;
    last_draw_ = elapsed;
    const int width = 30, filled = static_cast<int>(width * done / total_);
    const double rate = samples / std::max(elapsed, 1e-9);
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

struct EpochResult {
  double loss = 0.0, seconds = 0.0, samples_per_second = 0.0;
  // Where the epoch's wall time went: waiting for the loader's next batch,
  // forward (with zero_grad and the loss), backward, optimizer step.
  double wait_s = 0.0, forward_s = 0.0, backward_s = 0.0, step_s = 0.0;
};

/// "forward 0.25 s  backward 0.30 s  optimizer 0.07 s  waiting for data 0.03 s" (per epoch, and per step).
inline std::string phases(const EpochResult& r, std::int64_t steps) {
  const double ms = 1000.0 / static_cast<double>(std::max<std::int64_t>(steps, 1));
  return fmt::format("forward {:.2f} s ({:.3f} ms/step)  backward {:.2f} s ({:.3f})  optimizer {:.2f} s ({:.3f})  "
                     "waiting for data {:.2f} s ({:.3f})",
                     r.forward_s, r.forward_s * ms, r.backward_s, r.backward_s * ms, r.step_s, r.step_s * ms, r.wait_s,
                     r.wait_s * ms);
}

/// One training epoch. `loss_fn(output, target)` gives the batch's mean loss.
template <class Model, class LossFn>
EpochResult train_epoch(Model& model, optim::Optimizer& opt, const data::DataLoader& loader, LossFn loss_fn) {
  model.train();
  Progress progress(loader.size());
  const auto start = Clock::now();
  double total = 0.0;
  std::int64_t seen = 0, batches = 0;
  EpochResult r;
  auto lap = [last = Clock::now()](double& into) mutable {
    const auto now = Clock::now();
    into += std::chrono::duration<double>(now - last).count();
    last = now;
  };
  for (const data::Example& batch : loader) {
    lap(r.wait_s);
    opt.zero_grad();
    Tensor loss = loss_fn(model.forward(batch.data), batch.target);
    lap(r.forward_s);
    loss.backward();
    lap(r.backward_s);
    opt.step();
    lap(r.step_s);
    const double l = loss.item<double>();
    const std::int64_t n = batch.data.size(0);
    total += l * static_cast<double>(n);
    seen += n;
    progress.update(++batches, l, seen);
  }
  r.seconds = seconds_since(start);
  r.loss = total / static_cast<double>(seen);
  r.samples_per_second = static_cast<double>(seen) / r.seconds;
  return r;
}

struct EvalResult {
  double loss = 0.0, accuracy = 0.0, seconds = 0.0;
};

/// Loss and accuracy over a dataset, without recording history.
template <class Model, class LossFn>
EvalResult evaluate(Model& model, const data::DataLoader& loader, LossFn loss_fn) {
  model.eval();
  NoGradGuard no_grad;
  const auto start = Clock::now();
  double total = 0.0;
  std::int64_t correct = 0, seen = 0;
  for (const data::Example& batch : loader) {
    Tensor out = model.forward(batch.data);
    const std::int64_t n = batch.data.size(0);
    total += loss_fn(out, batch.target).template item<double>() * static_cast<double>(n);
    correct += (argmax(out, 1) == batch.target).to(DType::Int64).sum().template item<std::int64_t>();
    seen += n;
  }
  return {total / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen), seconds_since(start)};
}

/// The optimizer named by --optimizer with learning rate --lr.
inline std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, const TensorList& params, double lr) {
  if (name == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions(lr));
  if (name == "adamw") return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(lr));
  if (name == "sgd") return std::make_unique<optim::SGD>(params, optim::SGDOptions(lr));
  if (name == "momentum") return std::make_unique<optim::SGD>(params, optim::SGDOptions(lr).momentum(0.9));
  if (name == "rmsprop") return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions(lr));
  if (name == "adagrad") return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions(lr));
  if (name == "adadelta") return std::make_unique<optim::Adadelta>(params, optim::AdadeltaOptions(lr));
  throw Error(fmt::format("unknown optimizer \"{}\" (adam, adamw, sgd, momentum, rmsprop, adagrad, adadelta)", name));
}

/// MNIST normalised as the PyTorch example does (or left in [0, 1]), optionally the first `limit` samples.
/// The images stay bytes (47 MB for the training set, not 188 MB as float32);
/// each batch is converted and normalised as the loader gathers it.
inline std::shared_ptr<data::TensorDataset> mnist(const std::string& root, bool train, bool normalize, std::int64_t limit) {
  data::MNIST full(root, train);
  Tensor x = full.data(), y = full.targets();
  if (limit > 0 && limit < x.size(0)) {
    x = x.narrow(0, 0, limit).contiguous();
    y = y.narrow(0, 0, limit).contiguous();
  }
  auto ds = std::make_shared<data::TensorDataset>(x, y);
  if (normalize) ds->transform(data::Normalize{0.1307, 0.3081, 1.0 / 255});  // ToTensor and Normalize in one pass
  else ds->transform(data::ToFloat{});
  return ds;
}

}  // namespace examples
