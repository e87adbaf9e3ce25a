// Ember's thread-safety rules (README, "Threads"), each held by a test. CI
// also runs this suite under ThreadSanitizer (the tsan preset), where a data
// race fails it even when the values come out right.
//   - any number of threads may run inference on one model, grad mode on or off;
//   - threads training separate models do not interfere;
//   - concurrent backward() on a shared model adds every pass into .grad.
// EMBER_THREAD_TEST_SCALE (default 1) multiplies the passes, for long stress runs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include <ember/ember.h>

using namespace ember;

namespace {

int scale() {
  const char* s = std::getenv("EMBER_THREAD_TEST_SCALE");
  return s ? std::max(1, std::atoi(s)) : 1;
}

// Runs f(thread index) on n threads at once.
template <class F>
void on_threads(int n, F f) {
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back(f, i);
  for (auto& t : threads) t.join();
}

double max_diff(const Tensor& a, const Tensor& b) { return max(abs(a - b)).item<double>(); }

// Gives every parameter small integer values, so that sums of gradients are
// exact whatever order threads add them in.
void integer_weights(nn::Module& m) {
  NoGradGuard no_grad;
  std::int64_t k = 0;
  for (auto& p : m.parameters()) {
    std::vector<double> v(static_cast<std::size_t>(p.numel()));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((static_cast<std::int64_t>(i) + k) % 5 - 2);
    p.copy_(from_vector(v, p.sizes()).to(p.dtype()));
    k += 3;
  }
}

}  // namespace

// The probe's case: a shared Linear(4, 3), forward on two threads with grad mode
// on. Each pass records a graph whose leaves are the shared parameters.
TEST(Threads, SharedLinearInferenceWithGradMode) {
  nn::LinearImpl fc(4, 3);
  const Tensor x = randn({2, 4});
  const Tensor expected = fc.forward(x).detach();
  const int passes = 20000 * scale();
  std::vector<int> wrong(2, 0);
  on_threads(2, [&](int t) {
    for (int i = 0; i < passes; ++i) {
      Tensor y = fc.forward(x);
      if (!y.requires_grad() || max_diff(y.detach(), expected) != 0) ++wrong[t];
    }
  });
  EXPECT_EQ(wrong[0] + wrong[1], 0);
}

// A CNN shared by three threads: oneDNN primitives from one cache, run at once.
TEST(Threads, SharedCnnInference) {
  nn::SequentialImpl net;
  net.push_back(nn::make<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3).padding(1)));
  net.push_back(nn::make<nn::ReLU>());
  net.push_back(nn::make<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  net.push_back(nn::make<nn::Flatten>());
  net.push_back(nn::make<nn::Linear>(4 * 4 * 4, 10));
  net.eval();
  const Tensor x = randn({5, 1, 8, 8});
  const Tensor expected = net.forward(x).detach();
  const int passes = 300 * scale();
  std::vector<int> wrong(3, 0);
  on_threads(3, [&](int t) {
    for (int i = 0; i < passes; ++i) {
      const bool grad_on = i % 2 == 0;
      autograd::AutoGradMode mode(grad_on);
      if (max_diff(net.forward(x).detach(), expected) > 1e-6) ++wrong[t];
    }
  });
  EXPECT_EQ(wrong[0] + wrong[1] + wrong[2], 0);
}

// Concurrent backward on one model: every pass's gradient lands in .grad, as
// in PyTorch. Integer weights and inputs make the sum exact, so the result
// must equal passes x threads x one pass's gradient bit for bit.
TEST(Threads, ConcurrentBackwardOnSharedModelAccumulates) {
  nn::SequentialImpl net;
  net.push_back(nn::make<nn::Linear>(6, 5));
  net.push_back(nn::make<nn::ReLU>());
  net.push_back(nn::make<nn::Linear>(5, 2));
  net.to(DType::Float64);
  integer_weights(net);
  std::vector<double> xs(18);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<double>(i % 7) - 3;
  const Tensor x = from_vector(xs, Shape{3, 6});

  net.forward(x).sum().backward();
  std::vector<Tensor> one;
  for (auto& p : net.parameters()) one.push_back(p.grad().clone());
  net.zero_grad();

  const int threads = 4, passes = 500 * scale();
  on_threads(threads, [&](int) {
    for (int i = 0; i < passes; ++i) net.forward(x).sum().backward();
  });
  const auto params = net.parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(max_diff(params[i].grad(), one[i] * double(threads * passes)), 0) << "parameter " << i;
}

// Threads that each train their own model get exactly what a lone run gets.
TEST(Threads, SeparateModelsTrainIndependently) {
  auto make = [] {
    manual_seed(7);
    auto net = std::make_shared<nn::SequentialImpl>();
    net->push_back(nn::make<nn::Linear>(8, 16));
    net->push_back(nn::make<nn::Tanh>());
    net->push_back(nn::make<nn::Linear>(16, 3));
    return net;
  };
  manual_seed(11);
  const Tensor x = randn({32, 8});
  const Tensor target = randint(0, 3, {32});
  const int steps = 60 * scale();
  auto train = [&](nn::SequentialImpl& net) {
    optim::Adam opt(net.parameters(), optim::AdamOptions(1e-2));
    for (int s = 0; s < steps; ++s) {
      opt.zero_grad();
      nn::F::cross_entropy(net.forward(x), target).backward();
      opt.step();
    }
  };
  auto alone = make();
  train(*alone);

  std::vector<std::shared_ptr<nn::SequentialImpl>> nets;
  for (int i = 0; i < 3; ++i) nets.push_back(make());
  on_threads(3, [&](int t) { train(*nets[t]); });
  for (const auto& net : nets) {
    const auto got = net->parameters(), want = alone->parameters();
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(max_diff(got[i], want[i]), 0) << "parameter " << i;
  }
}
