// What logging costs the training loop (the caller's thread; the disk is the
// writer thread's): a logged step's scalars, a layer's histogram, a progress update.
//   build/release/bench/ember_log_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <ember/core/factory.h>
#include <ember/log/log.h>

using namespace ember;
using namespace ember::logging;

namespace {

std::string temp_run(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("ember_log_bench_{}_{}", name, ::getpid());
  std::filesystem::remove_all(dir);
  return dir.string();
}

// A training step that logs its loss and accuracy (two scalars, and two metrics.csv cells).
void BM_LoggedStep(benchmark::State& state) {
  const std::string dir = temp_run("step");
  {
    SummaryWriter w(dir);
    std::int64_t step = 0;
    for (auto _ : state) {
      w.add_scalar("loss/train", 0.25 + 1e-6 * static_cast<double>(step), step);
      w.add_scalar("accuracy/train", 0.9, step);
      ++step;
    }
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LoggedStep);

// One scalar.
void BM_AddScalar(benchmark::State& state) {
  const std::string dir = temp_run("scalar");
  {
    SummaryWriter w(dir);
    std::int64_t step = 0;
    for (auto _ : state) w.add_scalar("loss/train", 0.5, step++);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AddScalar);

// A histogram of a weight matrix, as the examples log once per epoch: [512, 784] is mnist_mlp's fc1.
void BM_AddHistogram(benchmark::State& state) {
  const std::string dir = temp_run("histo");
  Tensor weights = randn({state.range(0), state.range(1)});
  {
    SummaryWriter w(dir);
    std::int64_t step = 0;
    for (auto _ : state) w.add_histogram("fc1/weight", weights, step++);
    state.SetItemsProcessed(state.iterations() * weights.numel());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AddHistogram)->Args({512, 784})->Args({10, 512})->Unit(benchmark::kMillisecond);

// A progress update on a terminal-like stream (redrawn at most every 0.1 s).
void BM_ProgressUpdate(benchmark::State& state) {
  std::FILE* sink = std::fopen("/dev/null", "w");
  {
    Progress p(1 << 30, ProgressOptions().stream(sink).tty(1));
    std::int64_t i = 0;
    for (auto _ : state) p.update(++i, {{"loss", 0.3}, {"accuracy", 0.9}}, 64);
  }
  std::fclose(sink);
}
BENCHMARK(BM_ProgressUpdate);

}  // namespace

BENCHMARK_MAIN();
