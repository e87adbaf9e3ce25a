// The recurrent layers' training step at sequential MNIST's shapes (seq 28,
// batch 64, input 28, hidden 128, one layer): forward, then backward from a
// fixed output gradient, with the fused float32 path (arg 1) and with the
// reference composition (arg 0). bench/compare_rnn.py runs the LSTM case
// beside PyTorch's nn.LSTM.
#include <benchmark/benchmark.h>

#include <ember/ember.h>

using namespace ember;

namespace {

template <class M>
void train_step(benchmark::State& state, M m) {
  const bool before = set_rnn_fused(state.range(0) == 1);
  state.SetLabel(state.range(0) == 1 ? "fused" : "reference");
  const Tensor x = randn({28, 64, 28}), g = randn({28, 64, 128});
  for (auto _ : state) {
    m->zero_grad();
    auto result = m(x);
    std::get<0>(result).backward(g);
  }
  set_rnn_fused(before);
}

void BM_LstmTrainStep(benchmark::State& state) { train_step(state, nn::LSTM(28, 128)); }
void BM_GruTrainStep(benchmark::State& state) { train_step(state, nn::GRU(28, 128)); }
void BM_RnnTanhTrainStep(benchmark::State& state) { train_step(state, nn::RNN(28, 128)); }

}  // namespace

BENCHMARK(BM_LstmTrainStep)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GruTrainStep)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RnnTanhTrainStep)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
