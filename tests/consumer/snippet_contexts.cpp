// What the README's code fragments assume is already declared, one context per
// fragment, keyed by the fragment's first line (readme_snippets.py reads this
// file; it is not compiled on its own). Lines before "// body" go at file
// scope, the rest into the function that holds the fragment.

// context: optim::save_checkpoint("run.safetensors", *model, optimizer, scheduler, {{"epoch", "3"}});
// body
  auto model = std::make_shared<nn::LinearImpl>(4, 2);
  optim::SGD optimizer(model->parameters(), optim::SGDOptions(0.1));
  optim::StepLR scheduler(optimizer, 10);

// context: namespace T = ember::data::transforms;
// body
  auto mnist = std::make_shared<data::MNIST>("build/mnist");

// context: nn::LSTM lstm(nn::LSTMOptions(28, 128).num_layers(2).bidirectional(true).batch_first(true));
// body
  Tensor x = randn({4, 5, 28});
  Tensor lengths = tensor({5, 4, 3, 2}, DType::Int64);

// context: auto t = data::read_csv("train.csv", data::CsvOptions().default_type(data::CsvType::Number));
// body

// context: logging::SummaryWriter writer("runs/adam_lr0.1");           // the folder, or an ember::Error naming it
struct NetImpl : nn::Module {
  NetImpl() { fc1 = register_module("fc1", nn::Linear(784, 10)); }
  nn::Linear fc1{nullptr};
};
EMBER_MODULE(Net);
// body
  Net net;
  double accuracy = 0.9;
  std::int64_t epoch = 1;
  Tensor wrong = rand({4, 1, 28, 28});

// context: dist::Init mpi(argc, argv);                         // MPI_Init ... MPI_Finalize
#include <ember/dist/dist.h>
struct NetImpl : nn::Module {
  NetImpl() { fc1 = register_module("fc1", nn::Linear(784, 10)); }
  Tensor forward(const Tensor& x) { return log_softmax(fc1(x.flatten(1)), 1); }
  nn::Linear fc1{nullptr};
};
EMBER_MODULE(Net);
// body
  auto train = std::make_shared<data::MNIST>("build/mnist");
  int epochs = 1;
