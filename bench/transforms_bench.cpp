// Samples/s of the augmentation pipeline alone (data/transforms.h), on one
// thread, for 28x28 MNIST-sized images: the fused affine+elastic pass, the same
// two maps sampled one after the other, and each part on its own.
//
//   build/release/bench/ember_transforms_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <ember/ember.h>

namespace {

using namespace ember;
namespace T = ember::data::transforms;

const T::RandomAffine kAffine(T::RandomAffineOptions(10).translate({0.1, 0.1}).scale({0.9, 1.1}).shear({8}));
const T::ElasticTransform kElastic(34.0, 4.0);
const T::Normalize<> kNormalize(0.1307, 0.3081);

void run(benchmark::State& state, const T::Transform& t) {
  manual_seed(0);
  const Tensor image = rand({1, 28, 28});
  std::int64_t i = 0;
  for (auto _ : state) {
    data::Example e{image, Tensor()};
    data::SampleRng rng(1, 0, i++);
    t.apply(e, rng);
    benchmark::DoNotOptimize(e.data.data_ptr<float>());
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_FusedAffineElasticNormalize(benchmark::State& state) {
  run(state, T::Compose({kAffine, kElastic, kNormalize}));
}
void BM_TwoPassAffineThenElastic(benchmark::State& state) {
  // The same maps through two separate Compose steps: two bilinear passes.
  run(state, T::Compose({T::Compose({kAffine}), T::Compose({kElastic}), kNormalize}));
}
void BM_AffineOnly(benchmark::State& state) { run(state, kAffine); }
void BM_ElasticOnly(benchmark::State& state) { run(state, kElastic); }
void BM_RandomCropPad2(benchmark::State& state) { run(state, T::RandomCrop(T::RandomCropOptions(28).padding({2}))); }
void BM_RandomErasing(benchmark::State& state) { run(state, T::RandomErasing(T::RandomErasingOptions().p(1.0))); }

// A whole batch of 128 through TransformDataset::get_batch (gather, convert, transform, stack).
void BM_TransformDatasetBatch128(benchmark::State& state) {
  manual_seed(0);
  auto base = std::make_shared<data::TensorDataset>(randint(0, 256, {1024, 1, 28, 28}).to(DType::UInt8),
                                                    randint(0, 10, {1024}));
  base->transform(data::ToFloat{});
  data::TransformDataset ds(base, T::Compose({kAffine, kElastic, kNormalize}), 1);
  std::vector<std::int64_t> idx(128);
  std::int64_t b = 0;
  for (auto _ : state) {
    for (std::int64_t k = 0; k < 128; ++k) idx[static_cast<std::size_t>(k)] = (b * 128 + k) % 1024;
    ++b;
    benchmark::DoNotOptimize(ds.get_batch(idx).data.data_ptr<float>());
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 128.0, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_FusedAffineElasticNormalize);
BENCHMARK(BM_TwoPassAffineThenElastic);
BENCHMARK(BM_AffineOnly);
BENCHMARK(BM_ElasticOnly);
BENCHMARK(BM_RandomCropPad2);
BENCHMARK(BM_RandomErasing);
BENCHMARK(BM_TransformDatasetBatch128);

}  // namespace

BENCHMARK_MAIN();
