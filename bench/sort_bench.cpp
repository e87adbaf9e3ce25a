// Issue 10 part A: sort and topk on the shapes bench/compare_sort.py times in
// PyTorch (float32, 2 threads). Run: build/release/bench/ember_sort_bench
#include <benchmark/benchmark.h>

#include <ember/ember.h>

namespace {
using namespace ember;

// rows x cols, sorted along the last dim (rows = 1: one long vector).
void BM_Sort(benchmark::State& state) {
  Tensor x = randn({state.range(0), state.range(1)});
  for (auto _ : state) benchmark::DoNotOptimize(sort(x, -1));
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1));
}
BENCHMARK(BM_Sort)->Args({256, 1000})->Args({1, 1 << 20})->Unit(benchmark::kMicrosecond);

void BM_SortDescendingDim0(benchmark::State& state) {  // a strided dim: rows gathered first
  Tensor x = randn({1000, 256});
  for (auto _ : state) benchmark::DoNotOptimize(sort(x, 0, true));
}
BENCHMARK(BM_SortDescendingDim0)->Unit(benchmark::kMicrosecond);

// rows x cols, top k along the last dim.
void BM_Topk(benchmark::State& state) {
  Tensor x = randn({state.range(0), state.range(1)});
  const std::int64_t k = state.range(2);
  for (auto _ : state) benchmark::DoNotOptimize(topk(x, k));
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1));
}
BENCHMARK(BM_Topk)->Args({256, 1000, 5})->Args({1, 1 << 20, 100})->Unit(benchmark::kMicrosecond);

void BM_TopkBackward(benchmark::State& state) {  // the gradient scatters into the chosen positions
  Tensor x = randn({256, 1000}).requires_grad_();
  for (auto _ : state) {
    Tensor v = topk(x, 5).values.sum();
    benchmark::DoNotOptimize(autograd::grad({v}, {x}));
  }
}
BENCHMARK(BM_TopkBackward)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
