// MNIST past 99.6%: a VGG-style net trained on augmented digits.
//
// Net: two blocks of (conv 3x3 + batch norm + ReLU) x 2 + max-pool 2
// (32 then 64 channels), then linear 3136->256 + batch norm + ReLU + dropout 0.4,
// linear 256->10. Adam with OneCycleLR (max lr 3e-3), batch 128.
// Augmentation (torchvision's names, data/transforms.h): RandomAffine
// (rotation +-10 degrees, translation +-10%, scale 0.9-1.1, shear +-8 degrees)
// then ElasticTransform (alpha 34, sigma 4), fused into one bilinear pass per
// image, then Normalize. The loader prepares batches on --workers threads,
// each example's draws keyed by (seed, epoch, index).
//
//   mnist_cnn_aug [--epochs 8] [--augment 1] [--workers 1] [--batch-size 128] [--lr 3e-3] [--seed 1]
//                 [--threads N] [--data build/mnist] [--limit 0] [--phases 0] [--show-augment FILE.png]
//                 [--expect-accuracy 0] [--eval-every 0 (the test set after the last epoch only)]
//
// bench/compare_mnist_aug.py trains the same net and recipe in PyTorch.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <ember/ember.h>

using namespace ember;
namespace T = ember::data::transforms;

namespace {

// --name value flags with defaults (kept minimal until examples/flags.h lands).
std::map<std::string, std::string> parse_flags(int argc, char** argv, std::map<std::string, std::string> flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--help" || key == "-h") {
      std::printf("options (default):\n");
      for (const auto& [k, v] : flags) std::printf("  --%s %s\n", k.c_str(), v.c_str());
      std::exit(0);
    }
    EMBER_CHECK(key.rfind("--", 0) == 0 && flags.count(key.substr(2)) && i + 1 < argc,
                "unknown flag or missing value: {} (see --help)", key);
    flags[key.substr(2)] = argv[++i];
  }
  return flags;
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct NetImpl : nn::Module {
  NetImpl() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1).bias(false)));
    bn1 = register_module("bn1", nn::BatchNorm2d(32));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 32, 3).padding(1).bias(false)));
    bn2 = register_module("bn2", nn::BatchNorm2d(32));
    conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1).bias(false)));
    bn3 = register_module("bn3", nn::BatchNorm2d(64));
    conv4 = register_module("conv4", nn::Conv2d(nn::Conv2dOptions(64, 64, 3).padding(1).bias(false)));
    bn4 = register_module("bn4", nn::BatchNorm2d(64));
    fc1 = register_module("fc1", nn::Linear(nn::LinearOptions(64 * 7 * 7, 256).bias(false)));
    bn5 = register_module("bn5", nn::BatchNorm1d(256));
    dropout = register_module("dropout", nn::Dropout(0.4));
    fc2 = register_module("fc2", nn::Linear(256, 10));
  }
  Tensor forward(const Tensor& input) {
    Tensor x = relu(bn1(conv1(input)));
    x = max_pool2d(relu(bn2(conv2(x))), {2, 2});
    x = relu(bn3(conv3(x)));
    x = max_pool2d(relu(bn4(conv4(x))), {2, 2});
    x = dropout(relu(bn5(fc1(x.flatten(1)))));
    return log_softmax(fc2(x), 1);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, bn4{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::BatchNorm1d bn5{nullptr};
  nn::Dropout dropout{nullptr};
};
EMBER_MODULE(Net);

// MNIST's bytes [N, 1, 28, 28] (the first `limit`), returned as float32 in [0, 1].
std::shared_ptr<data::TensorDataset> mnist_01(const std::string& root, bool train, std::int64_t limit) {
  data::MNIST full(root, train);
  Tensor x = full.data(), y = full.targets();
  if (limit > 0 && limit < x.size(0)) {
    x = x.narrow(0, 0, limit).contiguous();
    y = y.narrow(0, 0, limit).contiguous();
  }
  auto ds = std::make_shared<data::TensorDataset>(x, y);
  ds->transform(data::ToFloat{});
  return ds;
}

// The training recipe's augmentation, then Normalize (the mean and std of MNIST's pixels).
T::Compose augmentation(bool augment) {
  std::vector<T::AnyTransform> steps;
  if (augment) {
    steps.push_back(T::RandomAffine(T::RandomAffineOptions(10).translate({0.1, 0.1}).scale({0.9, 1.1}).shear({8})));
    steps.push_back(T::ElasticTransform(34.0, 4.0));
  }
  steps.push_back(T::Normalize<>(0.1307, 0.3081));
  return T::Compose(steps);
}

void show_augment(const data::TransformDataset& augmented, const std::string& path);

struct Phases {
  double wait = 0, forward = 0, backward = 0, step = 0;
  double total() const { return wait + forward + backward + step; }
};

}  // namespace

int main(int argc, char** argv) try {
  auto flags = parse_flags(argc, argv,
                           {{"epochs", "8"}, {"augment", "1"}, {"workers", "1"}, {"batch-size", "128"}, {"lr", "3e-3"},
                            {"seed", "1"}, {"threads", std::to_string(get_num_threads())}, {"data", "build/mnist"},
                            {"limit", "0"}, {"phases", "0"}, {"show-augment", ""}, {"expect-accuracy", "0"},
                            {"test-limit", "0"}, {"eval-every", "0"}, {"test-batch-size", "100"}});
  const std::uint64_t seed = std::stoull(flags["seed"]);
  const bool augment = flags["augment"] != "0";
  const std::int64_t epochs = std::stoll(flags["epochs"]);
  manual_seed(seed);
  set_num_threads(std::stoi(flags["threads"]));

  auto base = mnist_01(flags["data"], true, std::stoll(flags["limit"]));
  auto train_set = std::make_shared<data::TransformDataset>(base, augmentation(augment), seed);
  auto test_set = std::make_shared<data::TransformDataset>(mnist_01(flags["data"], false, std::stoll(flags["test-limit"])),
                                                           augmentation(false), seed);
  if (!flags["show-augment"].empty()) {
    show_augment(*std::make_shared<data::TransformDataset>(base, augmentation(true), seed), flags["show-augment"]);
  }
  data::DataLoader train_loader(
      train_set,
      data::DataLoaderOptions().batch_size(std::stoll(flags["batch-size"])).shuffle(true).num_workers(std::stoi(flags["workers"])));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(std::stoll(flags["test-batch-size"])).num_workers(std::stoi(flags["workers"])));

  Net model;
  optim::Adam opt(model->parameters(), optim::AdamOptions(std::stod(flags["lr"])));
  optim::OneCycleLR schedule(opt, std::stod(flags["lr"]), epochs * train_loader.size());
  fmt::print("{} parameters, {} training samples, augment {}, {} workers, {} threads\n", model->num_parameters(),
             train_set->size(), augment ? "on" : "off", flags["workers"], get_num_threads());

  const auto start = Clock::now();
  double accuracy = 0.0;
  for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
    model->train();
    Phases ph;
    double loss_sum = 0.0;
    std::int64_t seen = 0;
    const auto epoch_start = Clock::now();
    auto last = Clock::now();
    auto lap = [&](double& into) {
      const auto now = Clock::now();
      into += std::chrono::duration<double>(now - last).count();
      last = now;
    };
    for (const data::Example& batch : train_loader) {
      lap(ph.wait);
      opt.zero_grad();
      Tensor loss = nn::F::nll_loss(model(batch.data), batch.target);
      lap(ph.forward);
      loss.backward();
      lap(ph.backward);
      opt.step();
      schedule.step();
      const std::int64_t n = batch.data.size(0);
      loss_sum += loss.item<double>() * static_cast<double>(n);
      seen += n;
      lap(ph.step);
    }
    const double train_s = since(epoch_start);

    const std::int64_t every = std::stoll(flags["eval-every"]);
    std::string test_note;
    if (epoch == epochs || (every > 0 && epoch % every == 0)) {
      const auto eval_start = Clock::now();
      model->eval();
      NoGradGuard no_grad;
      std::int64_t correct = 0, total = 0;
      for (const data::Example& batch : test_loader) {
        correct += (argmax(model(batch.data), 1) == batch.target).to(DType::Int64).sum().item<std::int64_t>();
        total += batch.data.size(0);
      }
      accuracy = static_cast<double>(correct) / static_cast<double>(total);
      test_note = fmt::format("  test accuracy {:.2f}% (eval {:.1f}s)", 100.0 * accuracy, since(eval_start));
    }
    fmt::print("epoch {:2d}/{}  train loss {:.4f}  {:.1f}s ({:.0f} samples/s){}\n", epoch, epochs,
               loss_sum / static_cast<double>(seen), train_s, static_cast<double>(seen) / train_s, test_note);
    if (flags["phases"] != "0") {
      const double ms = 1000.0 / static_cast<double>(train_loader.size());
      fmt::print("  forward {:.3f} ms/step  backward {:.3f}  optimizer {:.3f}  waiting for data {:.3f} ({:.1f}% of the step)\n",
                 ph.forward * ms, ph.backward * ms, ph.step * ms, ph.wait * ms, 100.0 * ph.wait / ph.total());
    }
    std::fflush(stdout);
  }
  fmt::print("test accuracy {:.2f}% after {} epochs in {:.1f}s\n", 100.0 * accuracy, epochs, since(start));
  return accuracy >= std::stod(flags["expect-accuracy"]) ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "mnist_cnn_aug: {}\n", e.what());
  return 2;
}

namespace {
// The --show-augment picture: written once io/image.h's PNG writer is in main.
void show_augment(const data::TransformDataset&, const std::string& path) {
  throw Error(fmt::format("--show-augment {}: no PNG writer yet", path));
}
}  // namespace
