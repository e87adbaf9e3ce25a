// The float32 oneDNN path against the float64 reference kernels on the same
// values: forward and every input's gradient, over random shapes with odd
// sizes, batch 1, stride/padding/dilation/groups combinations and
// non-contiguous inputs. Also the primitive cache, threads, dropout, and the
// nn ops' error messages.
#include <gtest/gtest.h>

#include "test_util.h"

#include <ember/ember.h>
#include <ember/ops/onednn/onednn.h>

namespace {
using namespace ember;

using Fn = std::function<Tensor(const TensorList&)>;

// Runs f on float32 inputs (oneDNN) and on the same values in float64
// (reference), and compares the outputs and the gradients of sum(out * G).
void expect_fast_matches_reference(const Fn& f, const TensorList& inputs32, const std::string& what,
                                   double tol = 2e-4) {
  TensorList in32, in64;
  for (const auto& t : inputs32) {
    in32.push_back(t.detach().requires_grad_());
    in64.push_back(t.detach().to(DType::Float64).requires_grad_());
  }
  // Keep the caller's layout (a transposed or sliced input stays so in float32).
  for (std::size_t i = 0; i < inputs32.size(); ++i)
    if (!inputs32[i].is_contiguous()) in32[i] = inputs32[i].detach().requires_grad_();
  Tensor y32 = f(in32), y64 = f(in64);
  ASSERT_EQ(y32.dtype(), DType::Float32) << what;
  ASSERT_EQ(y32.sizes(), y64.sizes()) << what;
  Tensor seed = randn(y32.sizes(), DType::Float64);
  auto g32 = autograd::grad({y32}, in32, autograd::GradOptions().grad_outputs({seed.to(DType::Float32)}).allow_unused(true));
  auto g64 = autograd::grad({y64}, in64, autograd::GradOptions().grad_outputs({seed}).allow_unused(true));
  auto close = [&](const Tensor& a, const Tensor& b, const std::string& part) {
    auto va = a.to_vector<double>(), vb = b.to_vector<double>();
    double scale = 1.0;
    for (double v : vb) scale = std::max(scale, std::abs(v));
    for (std::size_t i = 0; i < va.size(); ++i)
      ASSERT_NEAR(va[i], vb[i], tol * scale) << what << ": " << part << " element " << i;
  };
  close(y32, y64, "forward");
  for (std::size_t i = 0; i < in32.size(); ++i) {
    ASSERT_EQ(g32[i].defined(), g64[i].defined()) << what;
    if (g32[i].defined()) close(g32[i], g64[i], "gradient of input " + std::to_string(i));
  }
}

TEST(OneDnn, MatmulShapesAndLayouts) {
  manual_seed(3);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{64, 784}, {784, 512}}, {{1, 7}, {7, 3}}, {{5, 1}, {1, 4}}, {{3, 5, 7}, {3, 7, 2}},
      {{2, 1, 3, 4}, {3, 4, 5}}, {{4, 3}, {2, 3, 6}}, {{9}, {9, 4}}, {{2, 3, 4}, {4}}};
  auto mm = [](const TensorList& x) { return matmul(x[0], x[1]); };
  for (const auto& [a, b] : shapes) expect_fast_matches_reference(mm, {randn(a), randn(b)}, shape_str(a) + "@" + shape_str(b));
  // Transposed operands (read through strides) and a sliced one.
  expect_fast_matches_reference(mm, {randn({6, 5}).t(), randn({4, 6}).t()}, "transposed");
  expect_fast_matches_reference(mm, {randn({5, 12}).slice(1, 1, 12, 2), randn({6, 3})}, "sliced");
  expect_fast_matches_reference(mm, {randn({2, 7, 3}).mT(), randn({2, 7, 4})}, "batched transposed");
  expect_fast_matches_reference(mm, {randn({1, 4}).expand({3, 4}), randn({4, 2})}, "expanded");
}

TEST(OneDnn, Linear) {
  manual_seed(4);
  auto lin = [](const TensorList& x) { return linear(x[0], x[1], x[2]); };
  expect_fast_matches_reference(lin, {randn({64, 784}), randn({512, 784}), randn({512})}, "mlp layer");
  expect_fast_matches_reference(lin, {randn({2, 3, 5}), randn({4, 5}), randn({4})}, "batched");
  expect_fast_matches_reference(lin, {randn({5, 1}), randn({1, 1}), randn({1})}, "1x1");
  expect_fast_matches_reference([](const TensorList& x) { return linear(x[0], x[1]); }, {randn({7, 3}).t(), randn({2, 7})},
                                "no bias, transposed input");
}

struct ConvCase {
  Shape x, w;
  Int2 stride, padding, dilation;
  std::int64_t groups;
  bool bias;
};

TEST(OneDnn, Conv2dCombinations) {
  manual_seed(5);
  const std::vector<ConvCase> cases = {
      {{64, 1, 28, 28}, {32, 1, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 1, true},    // the CNN's first layer
      {{4, 32, 26, 26}, {64, 32, 3, 3}, {1, 1}, {0, 0}, {1, 1}, 1, true},   // its second (smaller batch)
      {{1, 3, 7, 5}, {4, 3, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, true},        // batch 1, odd sizes
      {{2, 2, 9, 8}, {3, 2, 3, 2}, {1, 2}, {2, 1}, {2, 3}, 1, false},       // dilation, asymmetric
      {{2, 4, 6, 6}, {6, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 2, true},        // groups
      {{1, 4, 5, 5}, {4, 1, 3, 3}, {2, 2}, {0, 0}, {1, 1}, 4, true},        // depthwise
      {{3, 5, 4, 4}, {2, 5, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, false},       // 1x1
      {{2, 3, 6, 6}, {2, 3, 6, 6}, {1, 1}, {0, 0}, {1, 1}, 1, true},        // kernel = input
  };
  for (const auto& c : cases) {
    auto f = [&](const TensorList& x) {
      return conv2d(x[0], x[1], c.bias ? x[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
    };
    const std::string what = "conv " + shape_str(c.x) + " * " + shape_str(c.w);
    expect_fast_matches_reference(f, {randn(c.x), randn(c.w), randn({c.w[0]})}, what);
  }
  // A non-contiguous (channels-last-like permuted) input.
  auto f = [](const TensorList& x) { return conv2d(x[0], x[1], x[2], {1, 1}, {1, 1}); };
  expect_fast_matches_reference(f, {randn({2, 5, 5, 3}).permute({0, 3, 1, 2}), randn({4, 3, 3, 3}), randn({4})},
                                "permuted input");
}

// 3x3 unit-stride convolutions with 16k channels run on Winograd by default;
// both algorithms must match the float64 reference, with and without padding.
TEST(OneDnn, Conv2dWinogradAndDirect) {
  manual_seed(15);
  const bool before = onednn::conv_winograd();
  for (bool winograd : {true, false}) {
    onednn::set_conv_winograd(winograd);
    EXPECT_EQ(onednn::conv_winograd(), winograd);
    for (std::int64_t pad : {0, 1}) {
      auto f = [pad](const TensorList& x) { return conv2d(x[0], x[1], x[2], {1, 1}, {pad, pad}); };
      const std::string what = fmt::format("{} conv, padding {}", winograd ? "winograd" : "direct", pad);
      expect_fast_matches_reference(f, {randn({3, 32, 13, 11}), randn({16, 32, 3, 3}), randn({16})}, what);
    }
  }
  onednn::set_conv_winograd(before);
}

// Convolution outputs stay in oneDNN's blocked layout through relu and max
// pooling (forward and backward); the whole chain, as the MNIST CNN runs it,
// against the float64 reference, and the layouts on the way.
TEST(OneDnn, BlockedActivationsBetweenConvReluPool) {
  manual_seed(16);
  auto net = [](const TensorList& x) {
    Tensor h = relu(conv2d(x[0], x[1], x[2]));
    h = relu(conv2d(h, x[3], x[4]));
    return max_pool2d(h, {2, 2}).flatten(1);
  };
  const TensorList in{randn({3, 1, 12, 12}), randn({16, 1, 3, 3}), randn({16}), randn({32, 16, 3, 3}), randn({32})};
  expect_fast_matches_reference(net, in, "conv-relu-conv-relu-pool");

  Tensor c = conv2d(in[0], in[1], in[2]);
  EXPECT_TRUE(c.is_opaque()) << "16 output channels: oneDNN's nChw16c";
  Tensor r = relu(c);
  EXPECT_TRUE(r.is_opaque());
  EXPECT_TRUE(c.is_opaque());  // relu read it as it is
  Tensor pooled = max_pool2d(relu(conv2d(r, in[3], in[4])), {2, 2});
  EXPECT_TRUE(pooled.is_opaque());
  const auto plain = relu(conv2d(in[0].contiguous(), in[1], in[2])).contiguous();
  EXPECT_EQ(r.to_vector<float>(), plain.to_vector<float>());  // same values once converted
  // Gradients flowing back through the blocked tensors, into a plain input.
  Tensor x = in[0].detach().requires_grad_();
  Tensor w = in[1].detach().requires_grad_();
  relu(conv2d(x, w, in[2])).sum().backward();
  EXPECT_FALSE(x.grad().is_opaque());
  EXPECT_FALSE(w.grad().is_opaque());
  EXPECT_EQ(x.grad().sizes(), x.sizes());
}

TEST(OneDnn, Pooling) {
  manual_seed(6);
  struct PoolCase {
    Shape x;
    Int2 k, s, p, d;
    bool ceil;
  };
  const std::vector<PoolCase> cases = {{{64, 64, 24, 24}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false},
                                       {{1, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false},
                                       {{2, 2, 7, 6}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, true},
                                       {{1, 2, 8, 9}, {3, 2}, {1, 2}, {1, 1}, {2, 1}, false},
                                       {{1, 1, 5, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true}};
  for (const auto& c : cases) {
    const std::string what = "pool " + shape_str(c.x);
    // Distinct values: a tie would let the two paths pick different winners.
    Tensor x = (randperm(numel(c.x)).to(DType::Float32) * 0.01f).reshape(c.x);
    expect_fast_matches_reference([&](const TensorList& t) { return max_pool2d(t[0], c.k, c.s, c.p, c.d, c.ceil); }, {x},
                                  "max " + what);
    for (bool include : {true, false}) {
      if (c.d != Int2{1, 1}) continue;
      expect_fast_matches_reference(
          [&](const TensorList& t) { return avg_pool2d(t[0], c.k, c.s, c.p, c.ceil, include); }, {randn(c.x)},
          "avg " + what + (include ? " include_pad" : " exclude_pad"));
    }
  }
  expect_fast_matches_reference([](const TensorList& t) { return adaptive_avg_pool2d(t[0], {1, 1}); },
                                {randn({2, 3, 5, 4})}, "adaptive 1x1");
}

TEST(OneDnn, MaxPoolDoubleBackwardInFloat32) {
  // With create_graph the float32 backward switches to a differentiable form.
  Tensor x = (randperm(16).to(DType::Float32)).reshape({1, 1, 4, 4}).requires_grad_();
  Tensor y = max_pool2d(x, {2, 2});
  Tensor g = autograd::grad({(y * y).sum()}, {x}, autograd::GradOptions().create_graph(true))[0];
  Tensor gg = autograd::grad({g.sum()}, {x})[0];
  // d/dx of 2*x at the winners is 2, elsewhere 0.
  EXPECT_EQ(gg.sum().item<float>(), 8.0f);
}

TEST(OneDnn, BatchNormTrainingAndEval) {
  manual_seed(7);
  for (const Shape& s : {Shape{8, 3, 5, 5}, Shape{16, 4}, Shape{4, 2, 7}, Shape{1, 3, 2, 2}}) {
    auto train = [](const TensorList& t) { return batch_norm(t[0], {}, {}, t[1], t[2], true); };
    const std::int64_t c = s[1];
    expect_fast_matches_reference(train, {randn(s) * 2.0 + 1.0, randn({c}), randn({c})}, "bn train " + shape_str(s));
    const Tensor rm = randn({c}), rv = rand({c}) + 0.5;
    auto eval = [rm, rv](const TensorList& t) {
      return batch_norm(t[0], rm.to(t[0].dtype()), rv.to(t[0].dtype()), t[1], t[2], false);
    };
    expect_fast_matches_reference(eval, {randn(s), randn({c}), randn({c})}, "bn eval " + shape_str(s));
  }
}

TEST(OneDnn, BatchNormUpdatesRunningStatsLikePyTorch) {
  Tensor x = tensor({{1.0, 2.0}, {3.0, 6.0}, {5.0, 10.0}});
  Tensor rm = zeros({2}), rv = ones({2});
  batch_norm(x, rm, rv, {}, {}, true, 0.1);
  // mean [3, 6]; unbiased var [4, 16]
  EXPECT_NEAR(rm.at<float>({0}), 0.3f, 1e-6);
  EXPECT_NEAR(rm.at<float>({1}), 0.6f, 1e-6);
  EXPECT_NEAR(rv.at<float>({0}), 0.9f + 0.4f, 1e-5);
  EXPECT_NEAR(rv.at<float>({1}), 0.9f + 1.6f, 1e-5);
}

TEST(Dropout, ScalesKeptElementsAndIsReproducible) {
  manual_seed(11);
  Tensor x = ones({100000});
  Tensor y = dropout(x, 0.2, true);
  const double zero_fraction = (y == 0.0).to(DType::Float64).mean().item<double>();
  EXPECT_NEAR(zero_fraction, 0.2, 0.01);
  EXPECT_NEAR(y.mean().item<double>(), 1.0, 0.02);  // inverted scaling keeps the expectation
  EXPECT_NEAR(y.max().item<double>(), 1.25, 1e-6);
  manual_seed(11);
  EXPECT_EQ(dropout(x, 0.2, true).to_vector<float>(), y.to_vector<float>());
  EXPECT_TRUE(dropout(x, 0.2, false).is_same(x));
  // gradcheck with the same mask on every evaluation (the seed is reset inside).
  Tensor xd = randn({3, 4}, DType::Float64).requires_grad_();
  EXPECT_TRUE(autograd::gradcheck(
      [](const TensorList& t) {
        manual_seed(5);
        return TensorList{dropout(t[0], 0.3, true)};
      },
      {xd}));
  EXPECT_THROW(dropout(x, 1.5), Error);
}

TEST(OneDnn, PrimitivesAreCachedNotRebuilt) {
  onednn::clear_primitive_cache();
  Tensor x = randn({8, 1, 12, 12}).requires_grad_(), w = randn({4, 1, 3, 3}).requires_grad_();
  conv2d(x, w).sum().backward();
  const std::size_t after_first = onednn::primitive_cache_size();
  EXPECT_GT(after_first, 0u);
  for (int i = 0; i < 5; ++i) conv2d(x, w).sum().backward();
  EXPECT_EQ(onednn::primitive_cache_size(), after_first);
  conv2d(randn({8, 1, 13, 12}), w);  // a new shape is a new entry
  EXPECT_GT(onednn::primitive_cache_size(), after_first);
  onednn::clear_primitive_cache();
  EXPECT_EQ(onednn::primitive_cache_size(), 0u);
}

// A full cache evicts its least recently used primitive, not everything.
TEST(OneDnn, PrimitiveCacheEvictsTheLeastRecentlyUsed) {
  onednn::clear_primitive_cache();
  const std::size_t old = onednn::set_primitive_cache_capacity(3);
  const Tensor b = randn({8, 4});
  auto use = [&](std::int64_t rows) { matmul(randn({rows, 8}), b); };
  const std::size_t m0 = onednn::primitive_cache_misses();
  use(1), use(2), use(3);
  EXPECT_EQ(onednn::primitive_cache_misses() - m0, 3u);
  use(1);  // a hit: 1 is now the most recent
  EXPECT_EQ(onednn::primitive_cache_misses() - m0, 3u);
  use(4);  // evicts 2
  EXPECT_EQ(onednn::primitive_cache_size(), 3u);
  use(1), use(3);
  EXPECT_EQ(onednn::primitive_cache_misses() - m0, 4u);
  use(2);
  EXPECT_EQ(onednn::primitive_cache_misses() - m0, 5u);
  onednn::set_primitive_cache_capacity(old);
  onednn::clear_primitive_cache();
}

TEST(OneDnn, ThreadCountGovernsBothPaths) {
  const int n = get_num_threads();
  Tensor a = randn({64, 128}), b = randn({128, 32});
  const auto reference = matmul(a, b).to_vector<float>();
  set_num_threads(1);
  const auto one = matmul(a, b).to_vector<float>();
  set_num_threads(n);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_NEAR(one[i], reference[i], 1e-4);
}

using ember::test_util::message_of;

TEST(NnOpErrors, NameTheOpAndShapes) {
  EXPECT_EQ(message_of([] { conv2d(ones({64, 3, 28, 28}), ones({32, 1, 3, 3})); }),
            "conv2d: input [64, 3, 28, 28] has 3 channels but weight [32, 1, 3, 3] expects 1");
  EXPECT_EQ(message_of([] { conv2d(ones({3, 28, 28}), ones({32, 3, 3, 3})); }),
            "conv2d: expected a 4-d input [N, C, H, W], got [3, 28, 28]");
  EXPECT_EQ(message_of([] { conv2d(ones({1, 1, 3, 3}), ones({1, 1, 5, 5})); }),
            "conv2d: kernel 5x5 (dilated extent 5) is larger than the padded input 3x3 (input [1, 1, 3, 3], padding [0, 0])");
  EXPECT_EQ(message_of([] { conv2d(ones({0, 1, 28, 28}), ones({4, 1, 3, 3})); }),
            "conv2d: input [0, 1, 28, 28] has a zero-size dimension");
  EXPECT_EQ(message_of([] { conv2d(ones({1, 1, 5, 5}), ones({1, 1, 3, 3}, DType::Float64)); }),
            "conv2d: input is float32 but weight is float64 (expected one floating dtype)");
  EXPECT_EQ(message_of([] { linear(ones({4, 3}), ones({5, 2})); }),
            "linear: input [4, 3] has 3 features but weight [5, 2] expects 2");
  EXPECT_EQ(message_of([] { max_pool2d(ones({1, 1, 2, 2}), {3, 3}); }),
            "max_pool2d: kernel 3x3 is larger than the padded input (input [1, 1, 2, 2], padding [0, 0])");
  EXPECT_EQ(message_of([] { batch_norm(ones({4, 3}), {}, {}, ones({2}), {}, true); }),
            "batch_norm: input [4, 3] has 3 channels but a parameter or running statistic is [2] (float32)");
  EXPECT_THROW(conv2d(ones({1, 4, 5, 5}), ones({3, 2, 3, 3}), {}, {1, 1}, {0, 0}, {1, 1}, 2), Error);  // 3 % 2
  EXPECT_THROW(conv2d(ones({1, 1, 5, 5}), ones({1, 1, 3, 3}), ones({2})), Error);
  EXPECT_THROW(conv2d(ones({1, 1, 5, 5}), ones({1, 1, 3, 3}), {}, {0, 1}), Error);
  EXPECT_THROW(max_pool2d(ones({1, 1, 4, 4}), {2, 2}, std::nullopt, {2, 2}), Error);  // padding > kernel/2
  EXPECT_THROW(avg_pool2d(ones({4, 4}), {2, 2}), Error);
  EXPECT_THROW(batch_norm(ones({1, 3}), {}, {}, {}, {}, true), Error);  // one value per channel
}

}  // namespace
