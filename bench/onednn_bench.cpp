// oneDNN kernels: matmul at the MLP's shapes and a square 1024, and conv2d
// forward / training step (forward + backward) at the CNN's two layers, batch
// 64. "Warm" reuses cached primitives; "Cold" clears the cache every
// iteration, so it includes building the descriptors and JIT kernels.
// Run: build/release/bench/ember_onednn_bench
#include <benchmark/benchmark.h>

#include <ember/ember.h>
#include <ember/ops/onednn/onednn.h>

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

// Layer 2's training step with Winograd (the default for 3x3 unit-stride
// convolutions) and with direct convolution: a regression in either shows.
void BM_Conv2dTrainStepAlgorithm(benchmark::State& state) {
  const bool before = onednn::conv_winograd();
  onednn::set_conv_winograd(state.range(0) == 1);
  state.SetLabel(state.range(0) == 1 ? "winograd" : "direct");
  const ConvLayer& l = kLayers[1];
  Tensor x = randn(l.x).requires_grad_(), w = randn(l.w).requires_grad_(), b = randn({l.w[0]}).requires_grad_();
  Tensor g = randn({64, 64, 24, 24});
  for (auto _ : state) conv2d(x, w, b).backward(g);
  set_flops(state, conv_flops(l) * 3.0);
  onednn::set_conv_winograd(before);
}
BENCHMARK(BM_Conv2dTrainStepAlgorithm)->Arg(1)->Arg(0)->UseRealTime();

// The CNN's convolutional block as training runs it: conv1, relu, conv2, relu,
// max-pool, forward and backward. Activations stay in oneDNN's blocked layout
// from conv1's output to the pooled output and back (a regression to
// per-op reorders shows here, not in the single-layer cases).
void BM_CnnConvBlockTrainStep(benchmark::State& state) {
  Tensor x = randn({64, 1, 28, 28});
  Tensor w1 = randn({32, 1, 3, 3}).requires_grad_(), b1 = randn({32}).requires_grad_();
  Tensor w2 = (randn({64, 32, 3, 3}) * 0.1).requires_grad_(), b2 = randn({64}).requires_grad_();
  Tensor g = randn({64, 64, 12, 12});
  for (auto _ : state) max_pool2d(relu(conv2d(relu(conv2d(x, w1, b1)), w2, b2)), {2, 2}).backward(g);
  set_flops(state, conv_flops(kLayers[0]) * 2.0 + conv_flops(kLayers[1]) * 3.0);
}
BENCHMARK(BM_CnnConvBlockTrainStep)->UseRealTime();

// The MNIST CNN (PyTorch's example net, examples/mnist_cnn.cpp) on one image
// in eval mode without history: the latency a user's own drawn digit sees.
// Goal: under 1 ms. Arg = batch size (1 image, and 100 per call for throughput).
void BM_CnnInference(benchmark::State& state) {
  auto conv1 = nn::make<nn::Conv2d>(nn::Conv2dOptions(1, 32, 3));
  auto conv2 = nn::make<nn::Conv2d>(nn::Conv2dOptions(32, 64, 3));
  auto fc1 = nn::make<nn::Linear>(9216, 128);
  auto fc2 = nn::make<nn::Linear>(128, 10);
  const Tensor x = randn({state.range(0), 1, 28, 28});
  NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor h = relu(conv2->forward(relu(conv1->forward(x))));
    h = max_pool2d(h, {2, 2}).flatten(1);
    benchmark::DoNotOptimize(argmax(log_softmax(fc2->forward(relu(fc1->forward(h))), 1), 1));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CnnInference)->Arg(1)->Arg(100)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
