// MNIST with the PyTorch examples' convolutional net (pytorch/examples
// mnist/main.py): conv 1->32 3x3, ReLU, conv 32->64 3x3, ReLU, max-pool 2,
// dropout 0.25, linear 9216->128, ReLU, dropout 0.5, linear 128->10;
// Adadelta lr 1.0 with StepLR gamma 0.7.
//
//   mnist_cnn [--epochs 3] [--batch-size 64] [--test-batch-size 100] [--optimizer adadelta] [--lr 1.0] [--gamma 0.7]
//             [--seed 1] [--threads N] [--data build/mnist] [--save mnist_cnn.safetensors]
#include "common.h"

using namespace ember;
using namespace examples;

struct Net : nn::Module {
  Net() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(1)));
    dropout1 = register_module("dropout1", nn::Dropout(0.25));
    dropout2 = register_module("dropout2", nn::Dropout(0.5));
    fc1 = register_module("fc1", nn::Linear(9216, 128));
    fc2 = register_module("fc2", nn::Linear(128, 10));
  }
  Tensor forward(const Tensor& input) {
    Tensor x = relu(conv1(input));
    x = relu(conv2(x));
    x = max_pool2d(x, {2, 2});
    x = dropout1(x).flatten(1);
    x = dropout2(relu(fc1(x)));
    return log_softmax(fc2(x), 1);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Dropout dropout1{nullptr}, dropout2{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

int main(int argc, char** argv) try {
  Flags flags(argc, argv, {{"epochs", "3"}, {"batch-size", "64"}, {"test-batch-size", "100"}, {"optimizer", "adadelta"}, {"lr", "1.0"},
                           {"gamma", "0.7"}, {"seed", "1"}, {"threads", std::to_string(get_num_threads())},
                           {"data", "build/mnist"}, {"save", ""}, {"limit", "0"}, {"expect-accuracy", "0"}, {"phases", "0"}});
  manual_seed(static_cast<std::uint64_t>(flags.integer("seed")));
  set_num_threads(static_cast<int>(flags.integer("threads")));

  auto model = std::make_shared<Net>();
  auto opt = make_optimizer(flags.str("optimizer"), model->parameters(), flags.num("lr"));
  optim::StepLR scheduler(*opt, 1, flags.num("gamma"));
  auto loss_fn = [](const Tensor& out, const Tensor& target) { return nn::F::nll_loss(out, target); };

  auto train_set = mnist(flags.str("data"), true, true, flags.integer("limit"));
  auto test_set = mnist(flags.str("data"), false, true, 0);
  data::DataLoader train_loader(train_set, data::DataLoaderOptions().batch_size(flags.integer("batch-size")).shuffle(true));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(flags.integer("test-batch-size")));
  fmt::print("{}\n{} parameters, {} training samples, {} threads\n", model->to_string(), model->num_parameters(),
             train_set->size(), get_num_threads());

  const auto start = Clock::now();
  EvalResult test;
  const std::int64_t epochs = flags.integer("epochs");
  for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
    EpochResult tr = train_epoch(*model, *opt, train_loader, loss_fn);
    test = evaluate(*model, test_loader, loss_fn);
    fmt::print("epoch {:2d}/{}  train loss {:.4f}  test loss {:.4f}  accuracy {:.2f}%  {:.1f}s ({:.0f} samples/s)  eval {:.2f}s  lr {:.4g}\n",
               epoch, epochs, tr.loss, test.loss, 100.0 * test.accuracy, tr.seconds, tr.samples_per_second, test.seconds,
               scheduler.get_last_lr()[0]);
    if (flags.integer("phases") != 0) fmt::print("  {}\n", phases(tr, train_loader.size()));
    scheduler.step();
  }
  fmt::print("test accuracy {:.2f}% after {} epochs in {:.1f}s\n", 100.0 * test.accuracy, epochs, seconds_since(start));
  if (!flags.str("save").empty()) {
    model->save(flags.str("save"), {{"arch", "pytorch-examples mnist cnn"}, {"test_accuracy", fmt::format("{:.4f}", test.accuracy)}});
    fmt::print("saved {}\n", flags.str("save"));
  }
  return test.accuracy >= flags.num("expect-accuracy") ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "mnist_cnn: {}\n", e.what());
  return 2;
}
