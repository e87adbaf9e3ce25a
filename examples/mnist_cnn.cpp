// MNIST with the PyTorch examples' convolutional net (pytorch/examples
// mnist/main.py): conv 1->32 3x3, ReLU, conv 32->64 3x3, ReLU, max-pool 2,
// dropout 0.25, linear 9216->128, ReLU, dropout 0.5, linear 128->10;
// Adadelta lr 1.0 with StepLR gamma 0.7. As in main.py, the model, train()
// and test() are in this file; flags.h parses the command line and
// logging::Progress (log/progress.h) draws the progress bar.
//
//   mnist_cnn [--epochs 3] [--lr 1.0] [--gamma 0.7] [--save mnist_cnn.safetensors]
//   mnist_cnn --help      # every flag, its default and what it does
//   mnist_cnn --logdir runs/cnn   # TensorBoard event files, metrics.csv, hparams.json (scripts/compare_runs)
//   mpirun -np 2 mnist_cnn --distributed   # data-parallel over 2 processes (distributed.h says what changes)
#include <ember/ember.h>

#include "distributed.h"  // examples::Distributed (--distributed)
#include "flags.h"
#include "progress.h"  // examples::Phases (--phases)

using namespace ember;
using examples::Check;

struct NetImpl : nn::Module {
  NetImpl()
      : conv1(register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(1)))),
        conv2(register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(1)))),
        dropout1(register_module("dropout1", nn::Dropout(0.25))),
        dropout2(register_module("dropout2", nn::Dropout(0.5))),
        fc1(register_module("fc1", nn::Linear(9216, 128))),
        fc2(register_module("fc2", nn::Linear(128, 10))) {}

  Tensor forward(const Tensor& input) {
    Tensor x = relu(conv1(input));
    x = relu(conv2(x));
    x = max_pool2d(x, {2, 2});
    x = dropout1(x).flatten(1);
    x = dropout2(relu(fc1(x)));
    return log_softmax(fc2(x), 1);
  }

  nn::Conv2d conv1, conv2;
  nn::Dropout dropout1, dropout2;
  nn::Linear fc1, fc2;
};
EMBER_MODULE(Net);

struct Args {
  std::int64_t epochs = 3, batch_size = 64, test_batch_size = 100, seed = 1, limit = 0;
  std::string data = "build/mnist", save, logdir;
  double lr = 1.0, gamma = 0.7, expect_accuracy = 0.0;
  int threads = get_num_threads();
  bool phases = false, distributed = false;
};

// One pass over the training set: forward, loss, zero_grad, backward, step.
// Returns the mean training loss (over all ranks under --distributed).
double train(examples::DataParallel<Net>& model, const data::DataLoader& loader, optim::Optimizer& optimizer, logging::Progress& progress,
             bool show_phases) {
  model->train();
  examples::Phases phases;
  double total_loss = 0.0;
  std::int64_t seen = 0, step = 0;
  for (const data::Example& batch : loader) {
    phases.lap(phases.Data);
    optimizer.zero_grad();
    Tensor output = model(batch.data);
    Tensor loss = nll_loss(output, batch.target);
    phases.lap(phases.Forward);
    loss.backward();
    phases.lap(phases.Backward);
    optimizer.step();
    phases.lap(phases.Step);

    const double l = loss.item<double>();
    const std::int64_t n = batch.data.size(0);
    const double correct = (argmax(output, 1) == batch.target).to(DType::Int64).sum().item<double>();
    total_loss += l * static_cast<double>(n);
    seen += n;
    progress.update(++step, {{"loss", l}, {"accuracy", correct / static_cast<double>(n)}}, n);
  }
  if (show_phases) fmt::print("  {}{}\n", phases.report(step), model.sync_report());
  return examples::all_sum(total_loss) / examples::all_sum(static_cast<double>(seen));
}

struct TestResult {
  double loss, accuracy;
  TensorList misclassified;  // the first 64 wrongly classified test images, as normalised
};

// Mean loss and accuracy over the test set, without recording history (under
// --distributed each rank tests its shard and the sums are all-reduced).
TestResult test(Net& model, const data::DataLoader& loader) {
  model->eval();
  NoGradGuard no_grad;
  TestResult r{};
  double total_loss = 0.0;
  std::int64_t correct = 0, seen = 0;
  for (const data::Example& batch : loader) {
    Tensor output = model(batch.data);
    Tensor predicted = argmax(output, 1);
    total_loss += nll_loss(output, batch.target, {}, Reduction::Sum).item<double>();
    correct += (predicted == batch.target).to(DType::Int64).sum().item<std::int64_t>();
    seen += batch.data.size(0);
    const std::vector<std::int64_t> p = predicted.to_vector<std::int64_t>(), t = batch.target.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < p.size() && r.misclassified.size() < 64; ++i)
      if (p[i] != t[i]) r.misclassified.push_back(batch.data.narrow(0, static_cast<std::int64_t>(i), 1));
  }
  const double n = examples::all_sum(static_cast<double>(seen));
  r.loss = examples::all_sum(total_loss) / n;
  r.accuracy = examples::all_sum(static_cast<double>(correct)) / n;
  return r;
}

// MNIST as main.py loads it (ToTensor, then Normalize((0.1307,), (0.3081,))): the images stay bytes,
// and each batch is scaled and normalised in one pass as the loader gathers it.
std::shared_ptr<data::TensorDataset> mnist(const std::string& root, bool train, std::int64_t limit) {
  data::MNIST raw(root, train);
  const std::int64_t n = limit > 0 ? std::min(limit, raw.size()) : raw.size();
  auto set = std::make_shared<data::TensorDataset>(raw.data().narrow(0, 0, n), raw.targets().narrow(0, 0, n));
  set->transform(data::Normalize{0.1307, 0.3081, 1.0 / 255});
  return set;
}

int main(int argc, char** argv) try {
  Args args;
  examples::Flags flags("mnist_cnn", "MNIST with the PyTorch examples' convolutional net, Adadelta and StepLR.");
  flags.add("epochs", args.epochs, "passes over the training set", Check::Positive)
      .add("batch-size", args.batch_size, "training examples per step", Check::Positive)
      .add("test-batch-size", args.test_batch_size, "examples per batch when testing", Check::Positive)
      .add("lr", args.lr, "Adadelta's learning rate", Check::Positive)
      .add("gamma", args.gamma, "StepLR: the learning rate's factor after each epoch", Check::Positive)
      .add("seed", args.seed, "random seed for the initial weights, shuffling and dropout", Check::NonNegative)
      .add("threads", args.threads, "compute threads", Check::Positive)
      .add("data", args.data, "folder with the four MNIST IDX files (scripts/fetch_mnist.sh)")
      .add("limit", args.limit, "train on the first N examples only (0: all)", Check::NonNegative)
      .add("save", args.save, "write the trained model to this safetensors file")
      .add("expect-accuracy", args.expect_accuracy, "exit 1 if the final test accuracy is below this", Check::Probability)
      .add("phases", args.phases, "print where each epoch's time went: forward, backward, optimizer, data")
      .add("logdir", args.logdir, "log the run here for TensorBoard and scripts/compare_runs (events, metrics.csv, hparams.json)")
      .add("distributed", args.distributed, "data-parallel training over the ranks of mpirun (global batch --batch-size; rank 0 prints, logs, saves)");
  flags.parse(argc, argv);
  examples::Distributed cluster(args.distributed);  // --distributed: MPI starts here
  manual_seed(static_cast<std::uint64_t>(args.seed));
  set_num_threads(cluster.threads(args.threads, flags.given("threads")));

  auto train_set = mnist(args.data, true, args.limit);
  auto test_set = mnist(args.data, false, 0);
  data::DataLoader train_loader(train_set, cluster.train_options(args.batch_size, args.seed));  // shuffled (a shard a rank)
  data::DataLoader test_loader(test_set, cluster.test_options(args.test_batch_size));

  // --logdir: made before any training, so a folder that cannot be written stops the run here, saying so.
  std::unique_ptr<logging::SummaryWriter> writer;
  if (!args.logdir.empty() && cluster.is_main()) writer = std::make_unique<logging::SummaryWriter>(args.logdir);

  Net model;
  examples::DataParallel<Net> net(model, cluster);  // --distributed: DistributedDataParallel (rank 0's weights)
  optim::Adadelta optimizer(model->parameters(), optim::AdadeltaOptions(args.lr));
  optim::StepLR scheduler(optimizer, 1, args.gamma);
  if (cluster.is_main())
    fmt::print("{}\n{} parameters, {} training samples, {} threads x {} ranks\n", model, model->num_parameters(),
               train_set->size(), get_num_threads(), cluster.world_size());

  const auto start = examples::Clock::now();
  TestResult result{};
  for (std::int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    const auto epoch_start = examples::Clock::now();
    cluster.set_epoch(epoch);
    logging::Progress progress(train_loader.size(), logging::ProgressOptions()
                                                        .lines_when_piped(false)  // the epoch line below says it all
                                                        .title(fmt::format("Epoch {}/{}", epoch, args.epochs))
                                                        .stream(cluster.is_main() ? stderr : nullptr));
    const double train_loss = train(net, train_loader, optimizer, progress, args.phases && cluster.is_main());
    const double seconds = examples::seconds_since(epoch_start);
    const auto test_start = examples::Clock::now();
    result = test(model, test_loader);
    progress.finish({{"test_loss", result.loss}, {"test_accuracy", result.accuracy}});
    if (writer) {  // what TensorBoard shows per epoch: the curves, and each layer's weights and gradients
      writer->add_scalar("loss/train", train_loss, epoch);
      writer->add_scalar("loss/test", result.loss, epoch);
      writer->add_scalar("accuracy/train", progress.average("accuracy"), epoch);
      writer->add_scalar("accuracy/test", result.accuracy, epoch);
      writer->add_scalar("lr", scheduler.get_last_lr()[0], epoch);
      for (const auto& [name, param] : model->named_parameters()) {
        writer->add_histogram(name, param, epoch);
        if (param.grad().defined()) writer->add_histogram(name + ".grad", param.grad(), epoch);
      }
    }
    if (cluster.is_main())
      fmt::print("epoch {:2d}/{}  train loss {:.4f}  test loss {:.4f}  accuracy {:.2f}%  {:.1f}s ({:.0f} samples/s)  eval {:.2f}s  lr {:.4g}\n",
                 epoch, args.epochs, train_loss, result.loss, 100.0 * result.accuracy, seconds,
                 static_cast<double>(train_set->size()) / seconds, examples::seconds_since(test_start),
                 scheduler.get_last_lr()[0]);
    scheduler.step();
  }
  if (!cluster.is_main()) return result.accuracy >= args.expect_accuracy ? 0 : 1;  // rank 0 alone logs and saves
  fmt::print("test accuracy {:.2f}% after {} epochs in {:.1f}s\n", 100.0 * result.accuracy, args.epochs,
             examples::seconds_since(start));
  if (writer) {
    if (!result.misclassified.empty())  // back from Normalize to [0, 1], 8 digits a row
      writer->add_image("misclassified", io::make_grid(cat(result.misclassified) * 0.3081 + 0.1307), args.epochs);
    writer->add_hparams({{"optimizer", "adadelta"}, {"lr", args.lr}, {"gamma", args.gamma},
                         {"batch_size", args.batch_size}, {"epochs", args.epochs}},
                        {{"hparam/accuracy", result.accuracy}, {"hparam/loss", result.loss}}, ".");
    writer->close();
    fmt::print("logged to {} (scripts/compare_runs {} charts it)\n", args.logdir, args.logdir);
  }
  if (!args.save.empty()) {
    model->save(args.save, {{"arch", "pytorch-examples mnist cnn"}, {"test_accuracy", fmt::format("{:.4f}", result.accuracy)}});
    fmt::print("saved {}\n", args.save);
  }
  return result.accuracy >= args.expect_accuracy ? 0 : 1;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "mnist_cnn: {} (see --help)\n", e.what());
  examples::end_job(2);  // --distributed: the other ranks stop too
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "mnist_cnn: {}\n", e.what());
  examples::end_job(2);
  return 2;
}
