// Issue 10 part A: what the op table cannot hold (several outputs, dtypes,
// views, modules). The op table checks every op's values and gradients
// against PyTorch; this file checks the rest of their contract.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include <ember/ember.h>

namespace {
using namespace ember;

std::vector<std::int64_t> sizes_along(const TensorList& parts, std::int64_t dim) {
  std::vector<std::int64_t> s;
  for (const auto& p : parts) s.push_back(p.sizes()[static_cast<std::size_t>(dim)]);
  return s;
}

TEST(OpsExtra, ChunkAndSplitGiveViewsOfPyTorchsSizes) {
  Tensor x = arange(10).reshape({2, 5});
  EXPECT_EQ(sizes_along(chunk(x, 3, 1), 1), (std::vector<std::int64_t>{2, 2, 1}));
  EXPECT_EQ(sizes_along(chunk(ones({4}), 3), 0), (std::vector<std::int64_t>{2, 2}));  // fewer chunks, as PyTorch
  EXPECT_EQ(chunk(zeros({0}), 3).size(), 3u);
  EXPECT_EQ(sizes_along(split(x, 2, 1), 1), (std::vector<std::int64_t>{2, 2, 1}));
  TensorList parts = split(x, Shape{1, 4}, -1);
  EXPECT_TRUE(parts[1].shares_storage(x));
  EXPECT_EQ(parts[1].to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3, 4, 6, 7, 8, 9}));
  TensorList rows = unbind(x, 0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].sizes(), (Shape{5}));
}

TEST(OpsExtra, UniqueSortsAndCountsTiesEmptyAndIntegers) {
  UniqueResult u = unique(tensor({{3, 1, 3}, {2, 1, 3}}, DType::Int64), true, true, true);
  EXPECT_EQ(u.values.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(u.inverse.sizes(), (Shape{2, 3}));
  EXPECT_EQ(u.inverse.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 0, 2, 1, 0, 2}));
  EXPECT_EQ(u.counts.to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 1, 3}));
  UniqueResult e = unique(zeros({0, 4}), true, true, true);
  EXPECT_EQ(e.values.numel(), 0);
  EXPECT_EQ(e.inverse.sizes(), (Shape{0, 4}));
  EXPECT_EQ(e.counts.numel(), 0);
  EXPECT_FALSE(unique(ones({3})).inverse.defined());  // only when asked
  EXPECT_EQ(unique(tensor({NAN, 1.0, NAN})).values.numel(), 3);  // NaN != NaN
}

TEST(OpsExtra, IntegerAndBoolInputs) {
  Tensor i = tensor({3, -1, 2, 2}, DType::Int64);
  EXPECT_EQ(sort(i, 0, true).values.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 2, 2, -1}));
  EXPECT_EQ(sort(i).indices.dtype(), DType::Int64);
  EXPECT_EQ(topk(i, 2, 0, false).indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(cumsum(i, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 2, 4, 6}));
  EXPECT_EQ(cumsum(tensor({1, 0, 1}, DType::Bool), 0).dtype(), DType::Int64);
  EXPECT_EQ(cumprod(i, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, -3, -6, -12}));
  EXPECT_EQ(masked_fill(i, i < 0.0, 7.9).dtype(), DType::Int64);
  EXPECT_EQ(median(i).item<std::int64_t>(), 2);
  EXPECT_EQ(scatter_reduce(zeros({2}, DType::Int64), 0, tensor({0, 0, 1}, DType::Int64), tensor({5, 9, -4}, DType::Int64),
                           "amax", false)
                .to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{9, -4}));
  EXPECT_EQ(flip(i, {0}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 2, -1, 3}));
  EXPECT_EQ(isnan(i).to_vector<bool>(), (std::vector<bool>{false, false, false, false}));
}

TEST(OpsExtra, AnyAllNonzeroOnEdgeCases) {
  EXPECT_TRUE(all(zeros({0})).item<bool>());
  EXPECT_FALSE(any(zeros({0})).item<bool>());
  EXPECT_EQ(any(tensor({{0, 1}, {0, 0}}), {1}).to_vector<bool>(), (std::vector<bool>{true, false}));
  EXPECT_EQ(all(tensor({{1, 1}, {0, 1}}, DType::Bool), {0}, true).sizes(), (Shape{1, 2}));
  EXPECT_EQ(nonzero(zeros({3, 2})).sizes(), (Shape{0, 2}));
  EXPECT_EQ(nonzero(tensor({0, 2, 0, 3})).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 3}));
}

TEST(OpsExtra, NanToNumDefaultsAreTheDtypesLimits) {
  Tensor y = nan_to_num(tensor({NAN, INFINITY, -INFINITY}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0.0f, FLT_MAX, -FLT_MAX}));
  EXPECT_EQ(nan_to_num(tensor({INFINITY}, DType::Float64)).item<double>(), DBL_MAX);
}

TEST(OpsExtra, ActivationModulesCallTheirFunctions) {
  Tensor x = tensor({-2.0, -0.5, 0.0, 0.7, 3.0});
  auto same = [](const Tensor& a, const Tensor& b) { return a.to_vector<float>() == b.to_vector<float>(); };
  EXPECT_TRUE(same(nn::SiLU()(x), silu(x)));
  EXPECT_TRUE(same(nn::Mish()(x), mish(x)));
  EXPECT_TRUE(same(nn::Hardtanh(-0.5, 0.5)(x), hardtanh(x, -0.5, 0.5)));
  EXPECT_TRUE(same(nn::ELU(0.3)(x), elu(x, 0.3)));
  EXPECT_TRUE(same(nn::Softplus(2.0, 4.0)(x), softplus(x, 2.0, 4.0)));
  nn::Sequential seq(nn::Linear(5, 3), nn::SiLU(), nn::Linear(3, 1), nn::Softplus());
  EXPECT_EQ(seq->forward(x.unsqueeze(0)).sizes(), (Shape{1, 1}));
  EXPECT_EQ(nn::F::pad(x, nn::F::PadFuncOptions({1, 0}).mode("replicate")).to_vector<float>()[0], -2.0f);
}

TEST(OpsExtra, CumprodGradientWithZerosIsTwiceDifferentiable) {
  Tensor x = tensor({{0.5, 0.0, 2.0, 0.0, -1.5}}, DType::Float64).requires_grad_();
  auto f = [](const TensorList& in) { return TensorList{cumprod(in[0], 1)}; };
  EXPECT_NO_THROW(autograd::gradcheck(f, {x}));
  EXPECT_NO_THROW(autograd::gradgradcheck(f, {x}));
}

}  // namespace
