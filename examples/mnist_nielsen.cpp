// The classic first network, Michael Nielsen's network.py ("Neural Networks
// and Deep Learning", chapter 1), in Ember: 784-30-10 with sigmoid units, the
// quadratic cost C = 1/2 ||a - y||^2, plain SGD with learning rate 3.0 on
// mini-batches of 10, 30 epochs, pixels in [0, 1] without normalisation.
// About 95% on MNIST, as the numpy original gets, in a fraction of its time.
//
//   mnist_nielsen [--epochs 30] [--hidden 30] [--lr 3.0] [--batch-size 10]
//   mnist_nielsen --help
#include <ember/ember.h>

#include "flags.h"
#include "progress.h"

using namespace ember;
using examples::Check;

struct NielsenNetImpl : nn::Module {
  explicit NielsenNetImpl(std::int64_t hidden)
      : fc1(register_module("fc1", nn::Linear(784, hidden))), fc2(register_module("fc2", nn::Linear(hidden, 10))) {}

  Tensor forward(const Tensor& input) { return sigmoid(fc2(sigmoid(fc1(input.flatten(1))))); }

  nn::Linear fc1, fc2;
};
EMBER_MODULE(NielsenNet);

struct Args {
  std::int64_t epochs = 30, batch_size = 10, hidden = 30, seed = 1, limit = 0;
  std::string data = "build/mnist", save;
  double lr = 3.0, expect_accuracy = 0.0;
  int threads = get_num_threads();
};

// The quadratic cost per example, averaged over the batch: 1/2 sum_j (a_j - y_j)^2 with y one-hot.
Tensor quadratic_cost(const Tensor& output, const Tensor& target) {
  const Tensor y = one_hot(target, 10).to(output.dtype());
  return mse_loss(output, y, Reduction::Sum) * (0.5 / static_cast<double>(output.size(0)));
}

// One pass over the training set: forward, cost, zero_grad, backward, step.
double train(NielsenNet& model, const data::DataLoader& loader, optim::Optimizer& optimizer) {
  model->train();
  // Its line ends when train() returns; in a pipe it stays silent, as the epoch line says it all.
  logging::Progress progress(loader.size(), logging::ProgressOptions().lines_when_piped(false));
  double total = 0.0;
  std::int64_t seen = 0, step = 0;
  for (const data::Example& batch : loader) {
    optimizer.zero_grad();
    Tensor cost = quadratic_cost(model(batch.data), batch.target);
    cost.backward();
    optimizer.step();
    const double c = cost.item<double>();
    total += c * static_cast<double>(batch.data.size(0));
    seen += batch.data.size(0);
    progress.update(++step, {{"cost", c}}, batch.data.size(0));
  }
  return total / static_cast<double>(seen);
}

// The share of test images whose largest output is the right digit (network.py's evaluate()).
double test(NielsenNet& model, const data::DataLoader& loader) {
  model->eval();
  NoGradGuard no_grad;
  std::int64_t correct = 0, seen = 0;
  for (const data::Example& batch : loader) {
    correct += (argmax(model(batch.data), 1) == batch.target).to(DType::Int64).sum().item<std::int64_t>();
    seen += batch.data.size(0);
  }
  return static_cast<double>(correct) / static_cast<double>(seen);
}

// MNIST's pixels scaled to [0, 1], as network.py's mnist_loader gives them; the first `limit` examples if set.
std::shared_ptr<data::TensorDataset> mnist(const std::string& root, bool train, std::int64_t limit) {
  data::MNIST raw(root, train);
  const std::int64_t n = limit > 0 ? std::min(limit, raw.size()) : raw.size();
  auto set = std::make_shared<data::TensorDataset>(raw.data().narrow(0, 0, n), raw.targets().narrow(0, 0, n));
  set->transform(data::ToFloat{1.0 / 255});
  return set;
}

int main(int argc, char** argv) try {
  Args args;
  examples::Flags flags("mnist_nielsen", "Nielsen's network.py: 784-30-10 sigmoid, quadratic cost, SGD.");
  flags.add("epochs", args.epochs, "passes over the training set", Check::Positive)
      .add("batch-size", args.batch_size, "training examples per step", Check::Positive)
      .add("hidden", args.hidden, "sigmoid units in the hidden layer", Check::Positive)
      .add("lr", args.lr, "SGD's learning rate (network.py's eta)", Check::Positive)
      .add("seed", args.seed, "random seed for the initial weights and shuffling", Check::NonNegative)
      .add("threads", args.threads, "compute threads", Check::Positive)
      .add("data", args.data, "folder with the four MNIST IDX files (scripts/fetch_mnist.sh)")
      .add("limit", args.limit, "train on the first N examples only (0: all)", Check::NonNegative)
      .add("save", args.save, "write the trained model to this safetensors file")
      .add("expect-accuracy", args.expect_accuracy, "exit 1 if the final test accuracy is below this", Check::Probability);
  flags.parse(argc, argv);
  manual_seed(static_cast<std::uint64_t>(args.seed));
  set_num_threads(args.threads);

  auto train_set = mnist(args.data, true, args.limit);
  auto test_set = mnist(args.data, false, 0);
  data::DataLoader train_loader(train_set, data::DataLoaderOptions().batch_size(args.batch_size).shuffle(true));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(1000));

  NielsenNet model(args.hidden);
  optim::SGD optimizer(model->parameters(), optim::SGDOptions(args.lr));
  fmt::print("{}\n{} parameters, {} training samples, {} threads\n", model, model->num_parameters(), train_set->size(),
             get_num_threads());

  const auto start = examples::Clock::now();
  double accuracy = 0.0;
  for (std::int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    const auto epoch_start = examples::Clock::now();
    const double cost = train(model, train_loader, optimizer);
    const double seconds = examples::seconds_since(epoch_start);
    accuracy = test(model, test_loader);
    fmt::print("epoch {:2d}/{}  train cost {:.4f}  accuracy {:.2f}% ({} / {})  {:.1f}s\n", epoch, args.epochs, cost,
               100.0 * accuracy, static_cast<std::int64_t>(accuracy * static_cast<double>(test_set->size()) + 0.5),
               test_set->size(), seconds);
  }
  fmt::print("test accuracy {:.2f}% after {} epochs in {:.1f}s\n", 100.0 * accuracy, args.epochs,
             examples::seconds_since(start));
  if (!args.save.empty()) {
    model->save(args.save, {{"arch", fmt::format("mlp 784-{}-10 sigmoid", args.hidden)},
                            {"test_accuracy", fmt::format("{:.4f}", accuracy)}});
    fmt::print("saved {}\n", args.save);
  }
  return accuracy >= args.expect_accuracy ? 0 : 1;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "mnist_nielsen: {} (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "mnist_nielsen: {}\n", e.what());
  return 2;
}
