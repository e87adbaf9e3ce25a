// oneDNN kernels: matmul at the MLP's shapes and a square 1024, and conv2d
// forward / training step (forward + backward) at the CNN's two layers, batch
// 64. "Warm" reuses cached primitives; "Cold" clears the cache every
// iteration, so it includes building the descriptors and JIT kernels.
// Run: build/release/bench/ember_dnnl_bench
#include <benchmark/benchmark.h>

#include <ember/ember.h>
#include <ember/ops/dnnl/onednn.h>

namespace {
using namespace ember;

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_Matmul(benchmark::State& state, bool cold) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  Tensor a = randn({m, k}), b = randn({k, n});
  for (auto _ : state) {
    if (cold) onednn::clear_primitive_cache();
    benchmark::DoNotOptimize(matmul(a, b));
  }
  set_flops(state, 2.0 * m * k * n);
}
BENCHMARK_CAPTURE(BM_Matmul, warm, false)->Args({64, 784, 512})->Args({64, 512, 512})->Args({1024, 1024, 1024})->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, cold, true)->Args({64, 784, 512})->Args({64, 512, 512})->UseRealTime();

// Layer 1: [64, 1, 28, 28] * [32, 1, 3, 3]; layer 2: [64, 32, 26, 26] * [64, 32, 3, 3].
struct ConvLayer {
  Shape x, w;
};
const ConvLayer kLayers[] = {{{64, 1, 28, 28}, {32, 1, 3, 3}}, {{64, 32, 26, 26}, {64, 32, 3, 3}}};

double conv_flops(const ConvLayer& l) {
  const double oh = static_cast<double>(l.x[2] - l.w[2] + 1), ow = static_cast<double>(l.x[3] - l.w[3] + 1);
  return 2.0 * static_cast<double>(l.x[0] * l.w[0] * l.w[1] * l.w[2] * l.w[3]) * oh * ow;
}

void BM_Conv2dForward(benchmark::State& state, bool cold) {
  const ConvLayer& l = kLayers[state.range(0)];
  Tensor x = randn(l.x), w = randn(l.w), b = randn({l.w[0]});
  for (auto _ : state) {
    if (cold) onednn::clear_primitive_cache();
    benchmark::DoNotOptimize(conv2d(x, w, b));
  }
  set_flops(state, conv_flops(l));
}
BENCHMARK_CAPTURE(BM_Conv2dForward, warm, false)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv2dForward, cold, true)->Arg(0)->Arg(1)->UseRealTime();

// What training does per layer: forward, then the weight and bias gradients,
// and the input gradient where the input needs one (layer 2's input is layer 1's output).
void BM_Conv2dTrainStep(benchmark::State& state, bool cold) {
  const ConvLayer& l = kLayers[state.range(0)];
  const bool input_grad = state.range(0) == 1;
  Tensor x = randn(l.x), w = randn(l.w).requires_grad_(), b = randn({l.w[0]}).requires_grad_();
  if (input_grad) x.requires_grad_();
  Tensor g;
  for (auto _ : state) {
    if (cold) onednn::clear_primitive_cache();
    Tensor y = conv2d(x, w, b);
    if (!g.defined()) g = randn(y.sizes());
    y.backward(g);
  }
  set_flops(state, conv_flops(l) * (input_grad ? 3.0 : 2.0));
}
BENCHMARK_CAPTURE(BM_Conv2dTrainStep, warm, false)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Conv2dTrainStep, cold, true)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
