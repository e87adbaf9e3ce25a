// Kaggle's "Digit Recognizer" end to end: train the PyTorch examples' CNN on
// train.csv (label,pixel0,...,pixel783), predict test.csv (pixels only) and
// write the submission as Kaggle wants it (ImageId,Label with ids from 1).
// Training images are shifted by up to --shift pixels at random (augmentation;
// 0 turns it off). With --score LABELS.csv (ImageId,Label, as
// scripts/make_kaggle_digits.sh keeps them aside) it prints the accuracy after
// every epoch and at the end.
//
//   scripts/make_kaggle_digits.sh build/release/mnist build/kaggle_digits
//   kaggle_digits --train build/kaggle_digits/train.csv --test build/kaggle_digits/test.csv
//                 --out submission.csv --score build/kaggle_digits/test_labels.csv
#include <mutex>
#include <random>

#include <ember/ember.h>
#include <ember/io/atomic_file.h>

#include "flags.h"
#include "models.h"
#include "progress.h"

using namespace ember;
using examples::Check;

// The PyTorch examples' MNIST CNN, as mnist_cnn trains it (so predict_digit and digit_server load its checkpoints).
using Net = examples::MnistCNN;

// Digits as bytes [N, 28, 28] with labels (or -1 when unknown). A batch is
// float32 [B, 1, 28, 28], each image shifted by (dy, dx) in [-shift, shift]
// (zeros come in at the edges), then normalised as MNIST's mean and std.
class Digits : public data::Dataset {
 public:
  Digits(std::vector<std::uint8_t> pixels, std::vector<std::int64_t> labels, int shift, std::uint64_t seed)
      : pixels_(std::move(pixels)), labels_(std::move(labels)), shift_(shift), rng_(seed) {}
  std::int64_t size() const override { return static_cast<std::int64_t>(labels_.size()); }
  data::Example get(std::int64_t i) const override {
    data::Example b = get_batch({i});
    return {b.data[0], b.target[0]};
  }
  data::Example get_batch(const std::vector<std::int64_t>& indices) const override {
    const std::int64_t n = static_cast<std::int64_t>(indices.size());
    Tensor x = full({n, 1, 28, 28}, -0.1307 / 0.3081, DType::Float32);
    Tensor y = zeros({n}, DType::Int64);
    float* px = x.data_ptr<float>();
    std::int64_t* py = y.data_ptr<std::int64_t>();
    std::vector<int> shifts(2 * indices.size(), 0);
    if (shift_ > 0) {
      std::lock_guard<std::mutex> lock(mu_);  // the loader's worker and the main thread may both call
      std::uniform_int_distribution<int> d(-shift_, shift_);
      for (int& s : shifts) s = d(rng_);
    }
    for (std::int64_t b = 0; b < n; ++b) {
      const std::uint8_t* src = pixels_.data() + indices[static_cast<std::size_t>(b)] * 784;
      const int dy = shifts[2 * b], dx = shifts[2 * b + 1];
      for (int r = 0; r < 28; ++r) {
        const int sr = r - dy;
        if (sr < 0 || sr >= 28) continue;
        for (int c = 0; c < 28; ++c) {
          const int sc = c - dx;
          if (sc < 0 || sc >= 28) continue;
          px[b * 784 + r * 28 + c] = static_cast<float>((src[sr * 28 + sc] / 255.0 - 0.1307) / 0.3081);
        }
      }
      py[b] = labels_[static_cast<std::size_t>(indices[static_cast<std::size_t>(b)])];
    }
    return {x, y};
  }

 private:
  std::vector<std::uint8_t> pixels_;
  std::vector<std::int64_t> labels_;
  int shift_;
  mutable std::mutex mu_;
  mutable std::mt19937_64 rng_;
};

// Reads a Digit Recognizer CSV: 784 pixel columns pixel0..pixel783 (0-255), and a
// label column (0-9) when `with_label`. Every value is checked; errors name file:line.
std::shared_ptr<Digits> read_digits(const std::string& path, bool with_label, int shift, std::uint64_t seed,
                                    std::int64_t limit) {
  const data::CsvTable t = data::read_csv(path, data::CsvOptions().default_type(data::CsvType::Number));
  std::vector<std::string> pixel_names;
  for (int k = 0; k < 784; ++k) pixel_names.push_back(fmt::format("pixel{}", k));
  const std::int64_t expected = 784 + (with_label ? 1 : 0);
  EMBER_CHECK(t.cols() == expected, "{}: {} columns where the Digit Recognizer layout has {} ({}pixel0..pixel783)", path,
              t.cols(), expected, with_label ? "label, " : "");
  const std::int64_t n = limit > 0 ? std::min(limit, t.rows()) : t.rows();
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(n) * 784);
  for (int k = 0; k < 784; ++k) {
    const data::NumberColumn& col = t[pixel_names[static_cast<std::size_t>(k)]].numbers;
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = col[static_cast<std::size_t>(i)];
      // The header is line 1 and rows are one line each in this layout.
      EMBER_CHECK(v >= 0 && v <= 255 && v == std::floor(v), "{}:{}: column pixel{}: {} is not a pixel value 0-255", path,
                  i + 2, k, v);
      pixels[static_cast<std::size_t>(i * 784 + k)] = static_cast<std::uint8_t>(v);
    }
  }
  std::vector<std::int64_t> labels(static_cast<std::size_t>(n), -1);
  if (with_label) {
    const data::NumberColumn& col = t["label"].numbers;
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = col[static_cast<std::size_t>(i)];
      EMBER_CHECK(v >= 0 && v <= 9 && v == std::floor(v), "{}:{}: column label: {} is not a digit 0-9", path, i + 2, v);
      labels[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(v);
    }
  }
  return std::make_shared<Digits>(std::move(pixels), std::move(labels), shift, seed);
}

// The labels by ImageId from a submission-layout file (ImageId,Label; ids 1..N, each once).
std::vector<std::int64_t> read_labels(const std::string& path) {
  const data::CsvTable t = data::read_csv(path, data::CsvOptions().default_type(data::CsvType::Number));
  const auto& ids = t["ImageId"].numbers;
  const auto& labels = t["Label"].numbers;
  std::vector<std::int64_t> out(ids.size(), -1);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const double id = ids[i];
    EMBER_CHECK(id >= 1 && id <= static_cast<double>(ids.size()) && id == std::floor(id) &&
                    out[static_cast<std::size_t>(id) - 1] < 0,
                "{}:{}: ImageId {} is not a new id in 1..{}", path, i + 2, id, ids.size());
    EMBER_CHECK(labels[i] >= 0 && labels[i] <= 9 && labels[i] == std::floor(labels[i]), "{}:{}: Label {} is not 0-9", path,
                i + 2, labels[i]);
    out[static_cast<std::size_t>(id) - 1] = static_cast<std::int64_t>(labels[i]);
  }
  return out;
}

// One pass over the training set: forward, loss, zero_grad, backward, step.
double train(Net& model, const data::DataLoader& loader, optim::Optimizer& optimizer) {
  model->train();
  // Its line ends when train() returns; in a pipe it stays silent, as the epoch line says it all.
  logging::Progress progress(loader.size(), logging::ProgressOptions().lines_when_piped(false));
  double total_loss = 0.0;
  std::int64_t seen = 0, step = 0;
  for (const data::Example& batch : loader) {
    optimizer.zero_grad();
    Tensor loss = nll_loss(model(batch.data), batch.target);
    loss.backward();
    optimizer.step();
    const double l = loss.item<double>();
    total_loss += l * static_cast<double>(batch.data.size(0));
    seen += batch.data.size(0);
    progress.update(++step, {{"loss", l}}, batch.data.size(0));
  }
  return total_loss / static_cast<double>(seen);
}

// The predicted digit of every test image, in file order.
std::vector<std::int64_t> predict(Net& model, const data::DataLoader& loader) {
  model->eval();
  NoGradGuard no_grad;
  std::vector<std::int64_t> out;
  for (const data::Example& batch : loader) {
    const Tensor pred = argmax(model(batch.data), 1).contiguous();
    const std::int64_t* p = pred.data_ptr<std::int64_t>();
    out.insert(out.end(), p, p + pred.size(0));
  }
  return out;
}

double accuracy(const std::vector<std::int64_t>& pred, const std::vector<std::int64_t>& truth) {
  EMBER_CHECK(pred.size() == truth.size(), "--score: {} predictions for {} labels", pred.size(), truth.size());
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
  return static_cast<double>(correct) / static_cast<double>(std::max<std::size_t>(pred.size(), 1));
}

// ImageId,Label with ids from 1, written atomically.
void write_submission(const std::string& path, const std::vector<std::int64_t>& pred) {
  std::string text = "ImageId,Label\n";
  for (std::size_t i = 0; i < pred.size(); ++i) text += fmt::format("{},{}\n", i + 1, pred[i]);
  AtomicFile file(path, "kaggle_digits");
  file.write(text.data(), text.size());
  file.commit();
}

struct Args {
  std::string train, test, out = "submission.csv", score, save;
  std::int64_t epochs = 8, batch_size = 64, seed = 1, limit = 0, shift = 2;
  double lr = 1.0, gamma = 0.8, expect_accuracy = 0.0;
  int threads = get_num_threads();
};

int main(int argc, char** argv) try {
  Args args;
  examples::Flags flags("kaggle_digits", "Kaggle's Digit Recognizer: a CNN trained on train.csv, predictions for test.csv.");
  flags.add("train", args.train, "train.csv: label,pixel0,...,pixel783")
      .add("test", args.test, "test.csv: pixel0,...,pixel783")
      .add("out", args.out, "the submission to write: ImageId,Label")
      .add("score", args.score, "the true labels (ImageId,Label): print the accuracy")
      .add("epochs", args.epochs, "passes over the training set", Check::Positive)
      .add("batch-size", args.batch_size, "training examples per step", Check::Positive)
      .add("lr", args.lr, "Adadelta's learning rate", Check::Positive)
      .add("gamma", args.gamma, "StepLR: the learning rate's factor after each epoch", Check::Positive)
      .add("shift", args.shift, "augmentation: shift training images by up to this many pixels", Check::NonNegative)
      .add("seed", args.seed, "random seed for the weights, shuffling, dropout and shifts", Check::NonNegative)
      .add("threads", args.threads, "compute threads", Check::Positive)
      .add("limit", args.limit, "train on the first N rows only (0: all)", Check::NonNegative)
      .add("save", args.save, "write the trained model to this safetensors file")
      .add("expect-accuracy", args.expect_accuracy, "with --score: exit 1 if the accuracy is below this", Check::Probability);
  flags.parse(argc, argv);
  if (args.train.empty() || args.test.empty()) throw examples::UsageError("--train and --test are required");
  manual_seed(static_cast<std::uint64_t>(args.seed));
  set_num_threads(args.threads);

  auto start = examples::Clock::now();
  auto train_set = read_digits(args.train, true, static_cast<int>(args.shift), static_cast<std::uint64_t>(args.seed), args.limit);
  auto test_set = read_digits(args.test, false, 0, 0, 0);
  std::vector<std::int64_t> truth;
  if (!args.score.empty()) truth = read_labels(args.score);
  fmt::print("read {} training and {} test images in {:.2f}s\n", train_set->size(), test_set->size(),
             examples::seconds_since(start));
  data::DataLoader train_loader(train_set, data::DataLoaderOptions().batch_size(args.batch_size).shuffle(true));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(500));

  Net model;
  optim::Adadelta optimizer(model->parameters(), optim::AdadeltaOptions(args.lr));
  optim::StepLR scheduler(optimizer, 1, args.gamma);
  std::vector<std::int64_t> pred;
  start = examples::Clock::now();
  for (std::int64_t epoch = 1; epoch <= args.epochs; ++epoch) {
    const auto epoch_start = examples::Clock::now();
    const double loss = train(model, train_loader, optimizer);
    std::string acc;
    if (!truth.empty()) acc = fmt::format("  test accuracy {:.2f}%", 100.0 * accuracy(predict(model, test_loader), truth));
    fmt::print("epoch {:2d}/{}  train loss {:.4f}{}  {:.1f}s  lr {:.4g}\n", epoch, args.epochs, loss, acc,
               examples::seconds_since(epoch_start), scheduler.get_last_lr()[0]);
    scheduler.step();
  }
  pred = predict(model, test_loader);
  write_submission(args.out, pred);
  fmt::print("wrote {} ({} rows) after {} epochs in {:.1f}s\n", args.out, pred.size(), args.epochs,
             examples::seconds_since(start));
  if (!args.save.empty()) model->save(args.save, {{"arch", "pytorch-examples mnist cnn"}});
  if (truth.empty()) return 0;
  const double acc = accuracy(pred, truth);
  fmt::print("submission accuracy {:.2f}% ({} images)\n", 100.0 * acc, pred.size());
  return acc >= args.expect_accuracy ? 0 : 1;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "kaggle_digits: {} (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "kaggle_digits: {}\n", e.what());
  return 2;
}
