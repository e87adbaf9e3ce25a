#pragma once
// The model and optimizers behind the checkpoint target: make_seeds writes a
// checkpoint of each, fuzz_checkpoint loads arbitrary bytes into each.
#include <type_traits>

#include <ember/ember.h>

namespace ember::fuzz {

struct CheckpointNet : nn::Module {
  CheckpointNet() { fc = register_module("fc", nn::Linear(3, 2)); }
  Tensor forward(const Tensor& x) { return fc(x); }
  nn::Linear fc{nullptr};
};

/// Calls f(std::type_identity<Optimizer>{}, name, options) for each configuration.
template <class F>
void for_each_optimizer(F&& f) {
  f(std::type_identity<optim::Adam>{}, "adam", optim::AdamOptions(1e-3).amsgrad(true));
  f(std::type_identity<optim::SGD>{}, "sgd", optim::SGDOptions(0.1).momentum(0.9));
  f(std::type_identity<optim::Adagrad>{}, "adagrad", optim::AdagradOptions(0.1));
  f(std::type_identity<optim::RMSprop>{}, "rmsprop", optim::RMSpropOptions(0.01).momentum(0.5));
}

}  // namespace ember::fuzz
