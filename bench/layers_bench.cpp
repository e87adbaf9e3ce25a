// issue 10 part B: embedding, layer_norm and conv_transpose2d, forward and
// forward+backward, at the shapes bench/compare_layers.py times in PyTorch
// (bench/README.md has both side by side). Run: build/release/bench/ember_layers_bench
#include <benchmark/benchmark.h>

#include <ember/ember.h>

namespace {
using namespace ember;

// A text model's lookup: batch 64 x 32 tokens from a 10,000 x 128 table.
void BM_EmbeddingForward(benchmark::State& state) {
  Tensor w = randn({10000, 128}), idx = randint(0, 10000, {64, 32});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(embedding(idx, w));
}
BENCHMARK(BM_EmbeddingForward)->Unit(benchmark::kMicrosecond);

void BM_EmbeddingForwardBackward(benchmark::State& state) {
  Tensor w = randn({10000, 128}).requires_grad_(), idx = randint(0, 10000, {64, 32});
  Tensor g = randn({64, 32, 128});
  for (auto _ : state) benchmark::DoNotOptimize(autograd::grad({embedding(idx, w, 0)}, {w}, autograd::GradOptions().grad_outputs({g})));
}
BENCHMARK(BM_EmbeddingForwardBackward)->Unit(benchmark::kMicrosecond);

// A transformer block's norm: 64 x 32 tokens of width 512.
void BM_LayerNormForward(benchmark::State& state) {
  Tensor x = randn({64, 32, 512}), w = randn({512}), b = randn({512});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(layer_norm(x, {512}, w, b));
}
BENCHMARK(BM_LayerNormForward)->Unit(benchmark::kMicrosecond);

void BM_LayerNormForwardBackward(benchmark::State& state) {
  Tensor x = randn({64, 32, 512}).requires_grad_(), w = randn({512}).requires_grad_(), b = randn({512}).requires_grad_();
  Tensor g = randn({64, 32, 512});
  for (auto _ : state)
    benchmark::DoNotOptimize(autograd::grad({layer_norm(x, {512}, w, b)}, {x, w, b}, autograd::GradOptions().grad_outputs({g})));
}
BENCHMARK(BM_LayerNormForwardBackward)->Unit(benchmark::kMicrosecond);

// A DCGAN generator's upsampling layer: [16, 64, 14, 14] -> [16, 32, 28, 28], kernel 4, stride 2, padding 1.
void BM_ConvTranspose2dForward(benchmark::State& state) {
  Tensor x = randn({16, 64, 14, 14}), w = randn({64, 32, 4, 4}), b = randn({32});
  NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor y = conv_transpose2d(x, w, b, {2, 2}, {1, 1});
    y.make_plain();  // count the reorder to NCHW, as a following non-oneDNN op would
    benchmark::DoNotOptimize(y);
  }
}
BENCHMARK(BM_ConvTranspose2dForward)->Unit(benchmark::kMicrosecond);

void BM_ConvTranspose2dForwardBackward(benchmark::State& state) {
  Tensor x = randn({16, 64, 14, 14}).requires_grad_(), w = randn({64, 32, 4, 4}).requires_grad_(),
         b = randn({32}).requires_grad_();
  Tensor g = randn({16, 32, 28, 28});
  for (auto _ : state) {
    auto grads = autograd::grad({conv_transpose2d(x, w, b, {2, 2}, {1, 1})}, {x, w, b}, autograd::GradOptions().grad_outputs({g}));
    for (auto& t : grads) t.make_plain();
    benchmark::DoNotOptimize(grads);
  }
}
BENCHMARK(BM_ConvTranspose2dForwardBackward)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
