// MNIST with a multi-layer perceptron: 784-512-512-10, ReLU, dropout 0.2, Adam.
// The C++ twin of the classic Keras/PyTorch MLP example.
//
//   mnist_mlp [--epochs 10] [--batch-size 64] [--test-batch-size 1000] [--optimizer adam] [--lr 1e-3] [--seed 1]
//             [--threads N] [--data build/mnist] [--save mnist_mlp.safetensors]
//   mnist_mlp --preset nielsen   # the seed's numpy network: 784-30-10 sigmoid,
//                                # quadratic cost, plain SGD lr 3.0, batch 10
#include "common.h"

using namespace ember;
using namespace examples;

struct MLP : nn::Module {
  MLP(std::int64_t hidden, int layers, double dropout_p, bool sigmoid_units) : p(dropout_p), sigmoid(sigmoid_units) {
    std::int64_t in = 784;
    for (int i = 0; i < layers; ++i) {
      hidden_layers.push_back(register_module("fc" + std::to_string(i + 1), nn::Linear(in, hidden)));
      in = hidden;
    }
    out = register_module("fc" + std::to_string(layers + 1), nn::Linear(in, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = x.flatten(1);
    for (auto& fc : hidden_layers) h = sigmoid ? ember::sigmoid(fc(h)) : dropout(relu(fc(h)), p, is_training());
    return sigmoid ? ember::sigmoid(out(h)) : log_softmax(out(h), 1);
  }
  std::vector<nn::Linear> hidden_layers;
  nn::Linear out{nullptr};
  double p;
  bool sigmoid;
};

int main(int argc, char** argv) try {
  Flags flags(argc, argv, {{"epochs", "10"}, {"batch-size", "64"}, {"test-batch-size", "1000"}, {"optimizer", "adam"}, {"lr", "1e-3"}, {"seed", "1"},
                           {"threads", std::to_string(get_num_threads())}, {"data", "build/mnist"}, {"save", ""},
                           {"preset", "default"}, {"limit", "0"}, {"expect-accuracy", "0"}, {"phases", "0"}});
  const bool nielsen = flags.str("preset") == "nielsen";
  EMBER_CHECK(nielsen || flags.str("preset") == "default", "unknown preset \"{}\" (default, nielsen)", flags.str("preset"));
  manual_seed(static_cast<std::uint64_t>(flags.integer("seed")));
  set_num_threads(static_cast<int>(flags.integer("threads")));

  // Nielsen's network.py: no normalisation, one hidden layer of 30 sigmoids,
  // quadratic cost, SGD with learning rate 3.0 on batches of 10.
  auto model = nielsen ? std::make_shared<MLP>(30, 1, 0.0, true) : std::make_shared<MLP>(512, 2, 0.2, false);
  const std::int64_t batch = nielsen ? 10 : flags.integer("batch-size");
  auto opt = nielsen ? make_optimizer("sgd", model->parameters(), 3.0)
                     : make_optimizer(flags.str("optimizer"), model->parameters(), flags.num("lr"));
  auto loss_fn = [nielsen](const Tensor& out, const Tensor& target) {
    if (!nielsen) return nn::F::nll_loss(out, target);
    // C = 1/2 ||a - y||^2 per example, averaged over the batch.
    return nn::F::mse_loss(out, one_hot(target, 10).to(out.dtype()), nn::Reduction::Sum) * (0.5 / static_cast<double>(out.size(0)));
  };

  auto train_set = mnist(flags.str("data"), true, !nielsen, flags.integer("limit"));
  auto test_set = mnist(flags.str("data"), false, !nielsen, 0);
  data::DataLoader train_loader(train_set, data::DataLoaderOptions().batch_size(batch).shuffle(true));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(flags.integer("test-batch-size")));
  fmt::print("{}\n{} parameters, {} training samples, {} threads\n", model->to_string(), model->num_parameters(),
             train_set->size(), get_num_threads());

  const auto start = Clock::now();
  EvalResult test;
  const std::int64_t epochs = nielsen && flags.str("epochs") == "10" ? 30 : flags.integer("epochs");
  for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
    EpochResult tr = train_epoch(*model, *opt, train_loader, loss_fn);
    test = evaluate(*model, test_loader, loss_fn);
    fmt::print("epoch {:2d}/{}  train loss {:.4f}  test loss {:.4f}  accuracy {:.2f}%  {:.1f}s ({:.0f} samples/s)  eval {:.2f}s\n", epoch,
               epochs, tr.loss, test.loss, 100.0 * test.accuracy, tr.seconds, tr.samples_per_second, test.seconds);
    if (flags.integer("phases") != 0) fmt::print("  {}\n", phases(tr, train_loader.size()));
  }
  fmt::print("test accuracy {:.2f}% after {} epochs in {:.1f}s\n", 100.0 * test.accuracy, epochs, seconds_since(start));
  if (!flags.str("save").empty()) {
    model->save(flags.str("save"), {{"arch", nielsen ? "mlp 784-30-10 sigmoid" : "mlp 784-512-512-10 relu dropout 0.2"},
                                    {"test_accuracy", fmt::format("{:.4f}", test.accuracy)}});
    fmt::print("saved {}\n", flags.str("save"));
  }
  return test.accuracy >= flags.num("expect-accuracy") ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "mnist_mlp: {}\n", e.what());
  return 2;
}
