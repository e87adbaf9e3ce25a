// Sequential MNIST: each image is read as a sequence of 28 rows of 28 pixels
// by an LSTM of 128 units; its final hidden state feeds a Linear 128->10.
// Adam (lr 2e-3, StepLR 0.7 per epoch), gradients clipped to norm 1.
// As in the other examples, the model, train() and test() are in this file.
//
//   mnist_lstm [--epochs 5] [--lr 0.002] [--hidden 128] [--save mnist_lstm.safetensors]
//   mnist_lstm --help      # every flag, its default and what it does
#include <ember/ember.h>

#include "flags.h"
#include "progress.h"

using namespace ember;
using examples::Check;

struct NetImpl : nn::Module {
  explicit NetImpl(std::int64_t hidden)
      : lstm(register_module("lstm", nn::LSTM(nn::LSTMOptions(28, hidden).batch_first(true)))),
        fc(register_module("fc", nn::Linear(hidden, 10))) {}

  Tensor forward(const Tensor& images) {
    Tensor rows = images.view({images.size(0), 28, 28});  // [N, 1, 28, 28] -> N sequences of 28 rows
    auto [output, state] = lstm(rows);
    Tensor last = std::get<0>(state).select(0, 0);  // h_n of the one layer: [N, hidden]
    return log_softmax(fc(last), 1);
  }

  nn::LSTM lstm;
  nn::Linear fc;
};
EMBER_MODULE(Net);

struct Args {
  std::int64_t epochs = 5, batch_size = 64, test_batch_size = 1000, hidden = 128, seed = 1, limit = 0;
  std::string data = "build/mnist", save;
  double lr = 2e-3, gamma = 0.7, clip = 1.0, expect_accuracy = 0.0;
  int threads = get_num_threads();
};

// One pass over the training set: forward, loss, zero_grad, backward, clip, step.
double train(Net& model, const data::DataLoader& loader, optim::Optimizer& optimizer, double clip) {
  model->train();
  // Its line ends when train() returns; in a pipe it stays silent, as the epoch line says it all.
  logging::Progress progress(loader.size(), logging::ProgressOptions().lines_when_piped(false));
  double total_loss = 0.0;
  std::int64_t seen = 0, step = 0;
  for (const data::Example& batch : loader) {
    optimizer.zero_grad();
    Tensor loss = nll_loss(model(batch.data), batch.target);
    loss.backward();
    if (clip > 0) nn::utils::clip_grad_norm_(model->parameters(), clip);
    optimizer.step();
    const double l = loss.item<double>();
    total_loss += l * static_cast<double>(batch.data.size(0));
    seen += batch.data.size(0);
    progress.update(++step, {{"loss", l}}, batch.data.size(0));
  }
  return total_loss / static_cast<double>(seen);
}

struct TestResult {
  double loss, accuracy;
};

// Mean loss and accuracy over the test set, without recording history.
TestResult test(Net& model, const data::DataLoader& loader) {
  model->eval();
  NoGradGuard no_grad;
  double total_loss = 0.0;
  std::int64_t correct = 0, seen = 0;
  for (const data::Example& batch : loader) {
    Tensor output = model(batch.data);
    total_loss += nll_loss(output, batch.target, {}, Reduction::Sum).item<double>();
    correct += (argmax(output, 1) == batch.target).to(DType::Int64).sum().item<std::int64_t>();
    seen += batch.data.size(0);
  }
  return {total_loss / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen)};
}

// MNIST scaled to [0, 1] and normalised as the other examples do it.
std::shared_ptr<data::TensorDataset> mnist(const std::string& root, bool train, std::int64_t limit) {
  data::MNIST raw(root, train);
  const std::int64_t n = limit > 0 ? std::min(limit, raw.size()) : raw.size();
  auto set = std::make_shared<data::TensorDataset>(raw.data().narrow(0, 0, n), raw.targets().narrow(0, 0, n));
  set->transform(data::Normalize{0.1307, 0.3081, 1.0 / 255});
  return set;
}

int main(int argc, char** argv) try {
  Args args;
  examples::Flags flags("mnist_lstm", "Sequential MNIST: an LSTM reads each image row by row, a Linear classifies.");
  flags.add("epochs", args.epochs, "passes over the training set", Check::Positive)
      .add("batch-size", args.batch_size, "training examples per step", Check::Positive)
      .add("test-batch-size", args.test_batch_size, "examples per batch when testing", Check::Positive)
      .add("hidden", args.hidden, "the LSTM's hidden size", Check::Positive)
      .add("lr", args.lr, "Adam's learning rate", Check::Positive)
      .add("gamma", args.gamma, "StepLR: the learning rate's factor after each epoch", Check::Positive)
      .add("clip", args.clip, "clip the gradients' global norm to this (0: off)", Check::NonNegative)
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
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(args.test_batch_size));

  Net model(args.hidden);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(args.lr));
  optim::StepLR scheduler(optimizer, 1, args.gamma);
  fmt::print("{}\n{} parameters, {} training samples, {} threads\n", model, model->num_parameters(), train_set->size(),
             get_num_threads());

  const auto start = examples::Clock::now();
  TestResult result{};
  for (std::int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    const auto epoch_start = examples::Clock::now();
    const double train_loss = train(model, train_loader, optimizer, args.clip);
    const double seconds = examples::seconds_since(epoch_start);
    result = test(model, test_loader);
    fmt::print("epoch {:2d}/{}  train loss {:.4f}  test loss {:.4f}  accuracy {:.2f}%  {:.1f}s  lr {:.4g}\n", epoch,
               args.epochs, train_loss, result.loss, 100.0 * result.accuracy, seconds, scheduler.get_last_lr()[0]);
    scheduler.step();
  }
  fmt::print("test accuracy {:.2f}% after {} epochs in {:.1f}s\n", 100.0 * result.accuracy, args.epochs,
             examples::seconds_since(start));
  if (!args.save.empty()) {
    model->save(args.save, {{"arch", fmt::format("mnist lstm {}", args.hidden)},
                            {"test_accuracy", fmt::format("{:.4f}", result.accuracy)}});
    fmt::print("saved {}\n", args.save);
  }
  return result.accuracy >= args.expect_accuracy ? 0 : 1;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "mnist_lstm: {} (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "mnist_lstm: {}\n", e.what());
  return 2;
}
