// Loading a training checkpoint (a model's state_dict and an optimizer's
// state in one safetensors file) from arbitrary bytes into a small model and
// each optimizer, then taking a step: whatever load accepts must be state the
// optimizer can use without undefined behaviour.
#include <ember/ember.h>

#include "fuzz_util.h"

namespace {
using namespace ember;

struct Net : nn::Module {
  Net() : nn::Module("Net") {
    fc = register_module("fc", nn::make<nn::Linear>(3, 2));
  }
  Tensor forward(const Tensor& x) override { return fc->forward(x); }
  std::shared_ptr<nn::Linear> fc;
};

template <class Opt, class Options>
void load_and_step(const std::string& path, const Options& options) {
  Net net;
  Opt opt(net.parameters(), options);
  optim::load_checkpoint(path, net, opt);
  opt.zero_grad();
  net.forward(ones({4, 3})).sum().backward();
  opt.step();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::MemFile file(data, size);
  const std::string path = file.path();
  fuzz::expect_ember_errors_only([&] { load_and_step<optim::Adam>(path, optim::AdamOptions(1e-3).amsgrad(true)); });
  fuzz::expect_ember_errors_only([&] { load_and_step<optim::SGD>(path, optim::SGDOptions(0.1).momentum(0.9)); });
  fuzz::expect_ember_errors_only([&] { load_and_step<optim::Adagrad>(path, optim::AdagradOptions(0.1)); });
  fuzz::expect_ember_errors_only([&] { load_and_step<optim::RMSprop>(path, optim::RMSpropOptions(0.01).momentum(0.5)); });
  return 0;
}
