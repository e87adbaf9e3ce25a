// The autograd engine: graph shapes, retain/create graph, grad(), the long
// chain, grad modes, detach, in-place versions, and the engine's own checks.
#include <gtest/gtest.h>

#include <ember/ember.h>

namespace {
using namespace ember;

Tensor f64(std::initializer_list<double> v) { return from_vector(std::vector<double>(v)).requires_grad_(); }

void expect_values(const Tensor& t, const std::vector<double>& expected) {
  ASSERT_TRUE(t.defined());
  auto v = t.to_vector<double>();
  ASSERT_EQ(v.size(), expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i], 1e-12) << "element " << i;
}

TEST(Engine, DiamondSumsBothPaths) {
  Tensor x = f64({1.0, 2.0});
  Tensor a = x * 2.0, b = x * 3.0;
  (a * b).sum().backward();  // d(6x^2)/dx = 12x
  expect_values(x.grad(), {12.0, 24.0});
}

TEST(Engine, TensorUsedTwice) {
  Tensor x = f64({3.0, -1.0});
  (x * x).sum().backward();
  expect_values(x.grad(), {6.0, -2.0});
}

TEST(Engine, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = f64({1.0});
  (x * 5.0).sum().backward();
  (x * 2.0).sum().backward();
  expect_values(x.grad(), {7.0});
}

TEST(Engine, RetainGraphAllowsASecondBackward) {
  Tensor x = f64({2.0});
  Tensor y = (x * x).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  expect_values(x.grad(), {8.0});
}

TEST(Engine, SecondBackwardThroughFreedGraphSaysSo) {
  Tensor x = f64({2.0});
  Tensor y = (x * x).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backward through the graph a second time"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("MulBackward"), std::string::npos) << e.what();
  }
}

TEST(Engine, CreateGraphGivesSecondDerivative) {
  Tensor x = f64({-1.0, 0.5, 2.0});
  Tensor dy = autograd::grad({x.pow(3).sum()}, {x}, autograd::GradOptions().create_graph(true))[0];
  expect_values(dy, {3.0, 0.75, 12.0});
  ASSERT_TRUE(dy.requires_grad());
  Tensor d2y = autograd::grad({dy.sum()}, {x})[0];
  expect_values(d2y, {-6.0, 3.0, 12.0});  // 6x
}

TEST(Engine, ThirdDerivative) {
  Tensor x = f64({1.5});
  Tensor g1 = autograd::grad({x.pow(4).sum()}, {x}, autograd::GradOptions().create_graph(true))[0];
  Tensor g2 = autograd::grad({g1.sum()}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];  // LibTorch's positional form
  Tensor g3 = autograd::grad({g2.sum()}, {x})[0];
  expect_values(g3, {36.0});  // 24x
}

TEST(Engine, BackwardWithCreateGraphBuildsGradHistory) {
  Tensor x = f64({2.0});
  x.pow(3).sum().backward({}, std::nullopt, /*create_graph=*/true);
  Tensor g = x.grad();  // 3x^2 with history
  ASSERT_TRUE(g.requires_grad());
  expect_values(autograd::grad({g.sum()}, {x})[0], {12.0});
}

TEST(Engine, GradDoesNotTouchLeafGrad) {
  Tensor x = f64({1.0, 2.0});
  Tensor g = autograd::grad({(x * x).sum()}, {x})[0];
  expect_values(g, {2.0, 4.0});
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, GradWithRespectToIntermediate) {
  Tensor x = f64({1.0, 2.0});
  Tensor h = x * 3.0;
  Tensor y = (h * h).sum();
  auto g = autograd::grad({y}, {h, x});
  expect_values(g[0], {6.0, 12.0});   // 2h
  expect_values(g[1], {18.0, 36.0});  // 18x
}

TEST(Engine, AllowUnused) {
  Tensor x = f64({1.0}), unused = f64({2.0});
  Tensor y = (x * 2.0).sum();
  EXPECT_THROW(autograd::grad({y}, {x, unused}, {}, true), Error);
  auto g = autograd::grad({y}, {x, unused}, autograd::GradOptions().allow_unused(true));
  expect_values(g[0], {2.0});
  EXPECT_FALSE(g[1].defined());
}

TEST(Engine, ChainOf100000OpsNeitherOverflowsNorLeaks) {
  Tensor x = f64({1.0});
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y + 1.0;
  y.sum().backward();
  expect_values(x.grad(), {1.0});
  // Dropping the last handle frees the whole chain without recursing.
  y = Tensor();
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z * 1.0;
  z = Tensor();
  SUCCEED();
}

TEST(Engine, NoGradRecordsNothing) {
  Tensor x = f64({1.0});
  {
    NoGradGuard no_grad;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    {
      EnableGradGuard enable;
      EXPECT_TRUE((x * 2.0).requires_grad());
    }
    EXPECT_FALSE((x * 2.0).requires_grad());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Engine, DetachCutsTheGraph) {
  Tensor x = f64({3.0});
  Tensor d = (x * x).detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.shares_storage(d));
  (d * x).sum().backward();
  expect_values(x.grad(), {9.0});  // d is a constant 9
}

TEST(Engine, InPlaceChangeOfSavedTensorIsCaught) {
  Tensor x = f64({1.0, 2.0});
  Tensor a = x * 2.0;
  Tensor b = a * a;  // saves a
  a.add_(tensor({1.0}, DType::Float64));
  try {
    b.sum().backward();
    FAIL() << "expected a version error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a tensor saved by MulBackward was modified in place"), std::string::npos)
        << e.what();
  }
}

TEST(Engine, InPlaceOnLeafThatRequiresGradThrows) {
  Tensor x = f64({1.0});
  EXPECT_THROW(x.add_(tensor({1.0}, DType::Float64)), Error);
  NoGradGuard no_grad;  // allowed without recording, as for optimizer steps
  x.mul_(2.0);
  expect_values(x.detach(), {2.0});
}

TEST(Engine, InPlaceWithHistoryIsDifferentiable) {
  Tensor x = f64({1.0, -2.0});
  Tensor a = x * 2.0;
  const auto v0 = a.version();
  a.mul_(3.0);
  EXPECT_GT(a.version(), v0);
  EXPECT_EQ(a.grad_fn()->name(), "MulBackward");
  a.sum().backward();
  expect_values(x.grad(), {6.0, 6.0});
}

TEST(Engine, CreateGraphStoresACopyOfTheFirstGradient) {
  Tensor x = f64({1.0, 2.0, 3.0});
  x.sum().backward({}, std::nullopt, /*create_graph=*/true);  // the incoming gradient is an expanded 1
  x.sum().backward();
  expect_values(x.grad(), {2.0, 2.0, 2.0});
  Tensor a = f64({1.0}), b = f64({1.0});
  (a + b).sum().backward({}, std::nullopt, true);  // AddBackward hands one tensor to both
  a.grad().add_(tensor({5.0}, DType::Float64));
  expect_values(b.grad(), {1.0});
}

// A first gradient nobody else holds becomes .grad without a copy; one that
// is shared (the same tensor for two inputs, the caller's grad_output, a view)
// is copied.
TEST(Engine, FirstGradientIsTakenOnlyWhenNobodyElseHoldsIt) {
  Tensor a = f64({1.0, 2.0}), b = f64({3.0, 4.0});
  (a + b).backward(f64({1.0, 1.0}).detach());  // AddBackward hands one tensor to both
  EXPECT_FALSE(a.grad().shares_storage(b.grad()));
  a.grad().add_(f64({5.0, 5.0}).detach());
  expect_values(b.grad(), {1.0, 1.0});

  Tensor x = f64({1.0, 2.0});
  Tensor seed = tensor({7.0, 8.0}, DType::Float64);
  (x + 0.0).backward(seed);  // the caller's tensor arrives untouched
  EXPECT_FALSE(x.grad().shares_storage(seed));
  seed.fill_(0.0);
  expect_values(x.grad(), {7.0, 8.0});

  Tensor w = f64({2.0, 3.0});
  (w * w).sum().backward();  // a fresh result: taken as it is
  expect_values(w.grad(), {4.0, 6.0});
  EXPECT_TRUE(w.grad().is_contiguous());
}

TEST(Engine, InPlaceCopyAndFillKeepGradients) {
  Tensor x = f64({1.0, 2.0}), w = f64({3.0, 4.0});
  Tensor y = x * 1.0;
  y.copy_(w);
  EXPECT_TRUE(y.requires_grad());
  (y * y).sum().backward();
  expect_values(w.grad(), {6.0, 8.0});
  Tensor z = x * 2.0;
  z.fill_(1.0);
  EXPECT_TRUE(z.requires_grad());  // as in PyTorch, with a zero gradient to x
  (z * x).sum().backward();
  expect_values(x.grad(), {1.0, 1.0});
}

TEST(Engine, InPlaceOnViewsWithAutogradIsRefusedNotWrong) {
  Tensor w = f64({1.0, 2.0});
  Tensor buf = zeros({4}, DType::Float64);
  Tensor v = buf.narrow(0, 0, 2);
  EXPECT_THROW(v.add_(w), Error);  // would change buf without giving it history
  Tensor x = f64({1.0, 2.0});
  Tensor a = x * 1.0;
  Tensor first = a.select(0, 0);
  a.mul_(2.0);  // a's history is rewritten; `first` still points at the old one
  EXPECT_THROW((first * 1.0).backward(), Error);
  (a.select(0, 0) * 1.0).backward();  // a view taken afterwards is fine
  expect_values(x.grad(), {2.0, 0.0});
}

TEST(Engine, SecondBackwardWithoutSavedTensorsIsAllowed) {
  Tensor x = f64({1.0});
  Tensor y = (x + 1.0).sum();
  y.backward();
  y.backward();  // nothing was freed: as in PyTorch
  expect_values(x.grad(), {2.0});
}

TEST(Engine, BroadcastGradientIsReducedToInputShape) {
  Tensor a = randn({3, 1}, DType::Float64).requires_grad_();
  Tensor b = randn({4}, DType::Float64).requires_grad_();
  (a * b).sum().backward();
  EXPECT_EQ(a.grad().sizes(), (Shape{3, 1}));
  EXPECT_EQ(b.grad().sizes(), (Shape{4}));
  expect_values(a.grad(), std::vector<double>(3, b.sum().item<double>()));
}

TEST(Engine, GradientTakesTheInputsDtype) {
  Tensor a = ones({2}, DType::Float32).requires_grad_();
  Tensor b = full({2}, 3.0, DType::Float64);
  Tensor y = (a * b).sum();
  EXPECT_EQ(y.dtype(), DType::Float64);
  y.backward();
  EXPECT_EQ(a.grad().dtype(), DType::Float32);
  expect_values(a.grad(), {3.0, 3.0});
}

TEST(Engine, ChecksTheShapeABackwardReturns) {
  Tensor x = randn({3, 4}, DType::Float64).requires_grad_();
  Tensor y = x.detach().clone();
  autograd::record("BadBackward", {x}, {y}, {}, [](const BackwardCtx&, const TensorList& g) {
    return TensorList{g[0].t().contiguous()};  // wrong: [4, 3]
  });
  try {
    y.sum().backward();
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "BadBackward returned a gradient of shape [4, 3] for an input of shape [3, 4]");
  }
}

TEST(Engine, ImplicitGradOnlyForOneElementOutputs) {
  Tensor x = f64({1.0, 2.0});
  EXPECT_THROW((x * 2.0).backward(), Error);
  (x * 2.0).backward(tensor({1.0, 1.0}, DType::Float64));
  expect_values(x.grad(), {2.0, 2.0});
}

TEST(Engine, BackwardOnTensorWithoutGradThrows) {
  EXPECT_THROW(ones({1}).backward(), Error);
}

TEST(Engine, GradFnNamesAndLeaves) {
  Tensor x = f64({1.0});
  EXPECT_TRUE(x.is_leaf());
  Tensor y = x * x;
  EXPECT_FALSE(y.is_leaf());
  EXPECT_EQ(y.grad_fn()->name(), "MulBackward");
  EXPECT_EQ(matmul(x.reshape({1, 1}), x.reshape({1, 1})).grad_fn()->name(), "MmBackward");
  EXPECT_EQ(x.sum().grad_fn()->name(), "SumBackward");
}

// gradcheck is only worth something if it fails on a wrong gradient.
Tensor wrong_square(const Tensor& x) {
  Tensor y = x.detach() * x.detach();
  autograd::record("WrongSquareBackward", {x}, {y}, {x}, [](const BackwardCtx& c, const TensorList& g) {
    return TensorList{g[0] * c.saved(0) * 3.0};  // should be 2x
  });
  return y;
}

TEST(Gradcheck, CatchesAWrongGradientAndNamesIt) {
  Tensor x = f64({1.0, 2.0});
  auto f = [](const TensorList& in) { return TensorList{wrong_square(in[0])}; };
  try {
    autograd::gradcheck(f, {x});
    FAIL() << "gradcheck accepted a wrong gradient";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("output 0 with respect to input 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("numerical 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("analytical 3"), std::string::npos) << msg;
  }
  const auto fast = autograd::GradcheckOptions().fast_mode(true);
  EXPECT_THROW(autograd::gradcheck(f, {x}, fast), Error);
}

TEST(Gradcheck, PassesCorrectGradientsInBothModes) {
  Tensor a = randn({3, 4}, DType::Float64).requires_grad_();
  Tensor b = randn({4, 2}, DType::Float64).requires_grad_();
  auto f = [](const TensorList& in) { return TensorList{tanh(matmul(in[0], in[1])), sigmoid(in[0]).sum()}; };
  EXPECT_TRUE(autograd::gradcheck(f, {a, b}));
  const auto fast = autograd::GradcheckOptions().fast_mode(true);
  EXPECT_TRUE(autograd::gradcheck(f, {a, b}, fast));
  EXPECT_TRUE(autograd::gradgradcheck(f, {a, b}));
}

TEST(Gradcheck, GradgradcheckCatchesAWrongSecondDerivative) {
  // The first derivative is right, but its backward is not differentiable
  // correctly: it treats the saved input as a constant.
  auto f = [](const TensorList& in) {
    const Tensor& x = in[0];
    Tensor y = x.detach().pow(3);
    autograd::record("CubeBackward", {x}, {y}, {x}, [](const BackwardCtx& c, const TensorList& g) {
      return TensorList{g[0] * 3.0 * c.saved(0).detach().pow(2)};
    });
    return TensorList{y};
  };
  Tensor x = f64({0.5, 1.5});
  EXPECT_TRUE(autograd::gradcheck(f, {x}));
  EXPECT_THROW(autograd::gradgradcheck(f, {x}), Error);
}

TEST(Gradcheck, RejectsFloat32Inputs) {
  Tensor x = ones({2}).requires_grad_();
  EXPECT_THROW(autograd::gradcheck([](const TensorList& in) { return TensorList{in[0] * 2.0}; }, {x}), Error);
}

}  // namespace

// retain_grad: a non-leaf keeps the gradient backward summed for it, as PyTorch's does.
TEST(RetainGrad, NonLeafKeepsItsGradient) {
  Tensor x = tensor({1.0, 2.0, 3.0}, DType::Float64).requires_grad_();
  Tensor h = x * 2.0;  // used twice below: its gradient is the sum of both paths
  h.retain_grad();
  EXPECT_TRUE(h.retains_grad());
  Tensor y = (h * h).sum() + h.sum();
  y.backward({}, /*retain_graph=*/true);
  // dy/dh = 2h + 1
  const auto g = h.grad().to_vector<double>();
  EXPECT_EQ(g, (std::vector<double>{5.0, 9.0, 13.0}));
  EXPECT_FALSE(x.retains_grad());  // leaves keep theirs anyway
  const auto gx = x.grad().to_vector<double>();
  EXPECT_EQ(gx, (std::vector<double>{10.0, 18.0, 26.0}));
  // A second backward adds, as for leaves.
  y.backward();
  EXPECT_EQ(h.grad().to_vector<double>(), (std::vector<double>{10.0, 18.0, 26.0}));
  Tensor plain = x * 3.0;
  plain.sum().backward();
  EXPECT_FALSE(plain.grad().defined());  // only if asked
  EXPECT_THROW(tensor({1.0}).retain_grad(), Error);
}

TEST(GradOptions, NamedChoicesMatchThePositionalForm) {
  Tensor x = tensor({2.0}, DType::Float64).requires_grad_();
  Tensor dy = autograd::grad({x.pow(3).sum()}, {x}, autograd::GradOptions().create_graph(true))[0];
  EXPECT_TRUE(dy.requires_grad());
  EXPECT_DOUBLE_EQ(autograd::grad({dy.sum()}, {x})[0].item<double>(), 12.0);
  Tensor unused = tensor({1.0}, DType::Float64).requires_grad_();
  auto g = autograd::grad({(x * 3.0).sum()}, {x, unused}, autograd::GradOptions().allow_unused(true));
  EXPECT_FALSE(g[1].defined());
  Tensor w = tensor({1.0, 1.0}, DType::Float64).requires_grad_();
  Tensor v = w * 5.0;
  auto gw = autograd::grad({v}, {w}, autograd::GradOptions().grad_outputs({tensor({1.0, 2.0}, DType::Float64)}));
  EXPECT_EQ(gw[0].to_vector<double>(), (std::vector<double>{5.0, 10.0}));
}
