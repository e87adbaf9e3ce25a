// Loading a training checkpoint (a model's state_dict and an optimizer's
// state in one safetensors file) from arbitrary bytes into a small model and
// each optimizer, then taking a step: whatever load accepts must be state the
// optimizer can use without undefined behaviour.
#include <ember/ember.h>

#include "checkpoint_net.h"
#include "fuzz_util.h"

namespace {
using namespace ember;

template <class Opt, class Options>
void load_and_step(const std::string& path, const Options& options) {
  fuzz::CheckpointNet net;
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
  fuzz::for_each_optimizer([&](auto opt, const char*, const auto& options) {
    fuzz::expect_ember_errors_only([&] { load_and_step<typename decltype(opt)::type>(path, options); });
  });
  return 0;
}
