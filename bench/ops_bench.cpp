// Micro-benchmarks of the CPU reference kernels and of autograd overhead, so a
// regression shows. Run: build/release/bench/ember_ops_bench
#include <benchmark/benchmark.h>

#include <ember/ember.h>

namespace {
using namespace ember;

void BM_AddContiguous(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  Tensor a = randn({n}), b = randn({n});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
  state.SetBytesProcessed(state.iterations() * n * 3 * 4);
}
BENCHMARK(BM_AddContiguous)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

void BM_AddBroadcastBias(benchmark::State& state) {  // the MLP's bias add
  Tensor a = randn({64, 512}), b = randn({512});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
  state.SetItemsProcessed(state.iterations() * 64 * 512);
}
BENCHMARK(BM_AddBroadcastBias);

void BM_SumAll(benchmark::State& state) {
  Tensor a = randn({state.range(0)});
  for (auto _ : state) benchmark::DoNotOptimize(a.sum());
  state.SetBytesProcessed(state.iterations() * state.range(0) * 4);
}
BENCHMARK(BM_SumAll)->Arg(1 << 16)->Arg(1 << 20);

void BM_SumRows(benchmark::State& state) {  // bias gradient: reduce over the batch
  Tensor a = randn({64, 512});
  for (auto _ : state) benchmark::DoNotOptimize(a.sum({0}));
}
BENCHMARK(BM_SumRows);

void BM_LogSoftmax(benchmark::State& state) {
  Tensor a = randn({64, 10});
  for (auto _ : state) benchmark::DoNotOptimize(log_softmax(a, 1));
}
BENCHMARK(BM_LogSoftmax);

void BM_MatmulReference(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Tensor a = randn({m, k}), b = randn({k, n});
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * k * n * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MatmulReference)->Args({64, 784, 512})->Args({64, 512, 512});

// Autograd overhead: a small MLP step (forward + backward) on tiny tensors is
// dominated by graph recording and the engine.
void BM_TinyMlpForwardBackward(benchmark::State& state) {
  Tensor x = randn({4, 8});
  Tensor w1 = randn({16, 8}).requires_grad_(), w2 = randn({4, 16}).requires_grad_();
  for (auto _ : state) {
    Tensor loss = log_softmax(matmul(relu(matmul(x, w1.t())), w2.t()), 1).mean();
    loss.backward();
  }
}
BENCHMARK(BM_TinyMlpForwardBackward);

// The training-step pieces the performance work changed, so a regression shows.
void BM_AdamStep(benchmark::State& state) {  // the MLP's 669,706 parameters
  nn::LinearImpl l1(784, 512), l2(512, 512), l3(512, 10);
  TensorList params;
  for (auto* m : {&l1, &l2, &l3})
    for (auto& p : m->parameters()) params.push_back(p);
  for (auto& p : params) p.set_grad(randn(p.sizes()));
  optim::Adam opt(params, optim::AdamOptions(1e-3));
  for (auto _ : state) opt.step();
  state.SetItemsProcessed(state.iterations() * 669706);
}
BENCHMARK(BM_AdamStep)->UseRealTime();

void BM_DropoutMask(benchmark::State& state) {  // random fill + mask for [64, 512]
  Tensor x = randn({64, 512});
  for (auto _ : state) benchmark::DoNotOptimize(dropout(x, 0.2, true));
  state.SetItemsProcessed(state.iterations() * 64 * 512);
}
BENCHMARK(BM_DropoutMask)->UseRealTime();

void BM_AllocateActivation(benchmark::State& state) {  // the CNN's largest activation, allocated and freed
  for (auto _ : state) {
    Tensor t = empty({64, 64, 24, 24});
    static_cast<float*>(t.raw_data())[0] = 1.0f;  // touch it
    benchmark::DoNotOptimize(t.raw_data());
  }
}
BENCHMARK(BM_AllocateActivation)->UseRealTime();

void BM_ReluBackward(benchmark::State& state) {  // the CNN's second conv output, [64, 64, 24, 24]
  Tensor g = randn({64, 64, 24, 24}), y = relu(randn({64, 64, 24, 24}));
  for (auto _ : state) benchmark::DoNotOptimize(threshold_backward(g, y, 0.0));
  state.SetBytesProcessed(state.iterations() * g.numel() * 12);
}
BENCHMARK(BM_ReluBackward)->UseRealTime();

void BM_MnistBatch(benchmark::State& state) {  // a loader's batch: 64 rows of bytes gathered, to float, normalised
  data::TensorDataset ds(randint(0, 256, {60000, 1, 28, 28}).to(DType::UInt8), randint(0, 10, {60000}));
  ds.transform(data::Normalize{0.1307, 0.3081, 1.0 / 255});
  std::vector<std::int64_t> idx(64);
  std::int64_t next = 0;
  for (auto _ : state) {
    for (auto& i : idx) i = (next += 7919) % 60000;
    benchmark::DoNotOptimize(ds.get_batch(idx));
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_MnistBatch)->UseRealTime();

void BM_InPlaceAdd(benchmark::State& state) {
  Tensor a = randn({state.range(0)}), b = randn({state.range(0)});
  for (auto _ : state) a.add_(b, 0.5);
  state.SetBytesProcessed(state.iterations() * state.range(0) * 12);
}
BENCHMARK(BM_InPlaceAdd)->Arg(1 << 16)->Arg(1 << 20)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
