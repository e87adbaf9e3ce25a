// issue 10 part B: the new layers' shapes, defaults, training behaviour and
// identities (values against PyTorch are in the op table; these check the modules).
#include <gtest/gtest.h>

#include <cmath>

#include <ember/ember.h>

namespace {
using namespace ember;

double max_abs_diff(const Tensor& a, const Tensor& b) { return amax(abs(a - b), {}).item<double>(); }

TEST(Embedding, ShapesPaddingAndGradient) {
  manual_seed(1);
  nn::Embedding emb(nn::EmbeddingOptions(10, 4).padding_idx(-1));
  EXPECT_EQ(emb->options.padding_idx(), 9);
  EXPECT_EQ(emb->weight.sizes(), (Shape{10, 4}));
  EXPECT_EQ(max_abs_diff(emb->weight.select(0, 9), zeros({4})), 0.0);  // the padding row starts at zero
  const Tensor idx = tensor({{1.0, 9.0, 1.0}, {3.0, 0.0, 9.0}}, DType::Int64);
  Tensor y = emb(idx);
  EXPECT_EQ(y.sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(max_abs_diff(y.select(0, 1).select(0, 0), emb->weight.select(0, 3)), 0.0);
  y.sum().backward();
  const Tensor g = emb->weight.grad();
  EXPECT_EQ(g.select(0, 1).sum().item<double>(), 8.0);  // used twice, 4 columns
  EXPECT_EQ(g.select(0, 9).sum().item<double>(), 0.0);  // padding gets nothing
  EXPECT_EQ(g.select(0, 5).sum().item<double>(), 0.0);
  EXPECT_EQ(fmt::format("{}", *emb), "Embedding(10, 4, padding_idx=9)");
  EXPECT_EQ(emb->named_parameters().begin()->first, "weight");
}

TEST(Embedding, FromPretrained) {
  const Tensor table = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
  nn::Embedding frozen = nn::Embedding::from_pretrained(table);
  EXPECT_FALSE(frozen->weight.requires_grad());
  EXPECT_EQ(max_abs_diff(frozen(tensor({2.0}, DType::Int64)), tensor({{5.0, 6.0}})), 0.0);
  nn::Embedding trained = nn::Embedding::from_pretrained(table, nn::EmbeddingFromPretrainedOptions().freeze(false).padding_idx(0));
  EXPECT_TRUE(trained->weight.requires_grad());
  EXPECT_EQ(trained->options.num_embeddings(), 3);
  EXPECT_FALSE(trained->weight.shares_storage(table));  // a copy, as PyTorch's
  trained(tensor({0.0, 1.0}, DType::Int64)).sum().backward();
  EXPECT_EQ(trained->weight.grad().select(0, 0).sum().item<double>(), 0.0);
  EXPECT_EQ(trained->weight.grad().select(0, 1).sum().item<double>(), 2.0);
}

TEST(Normalization, LayerNormAndGroupNorm) {
  manual_seed(2);
  nn::LayerNorm ln(nn::LayerNormOptions({6}).eps(1e-6));
  const Tensor x = randn({4, 6}) * 5.0 + 3.0;
  const Tensor y = ln(x);
  EXPECT_LT(amax(abs(y.mean({1})), {}).item<double>(), 1e-5);
  EXPECT_LT(amax(abs(var(y, {1}, 0) - 1.0), {}).item<double>(), 1e-4);
  EXPECT_EQ(ln->weight.sizes(), (Shape{6}));
  EXPECT_EQ(fmt::format("{}", *ln), "LayerNorm((6), eps=1e-06, elementwise_affine=true)");
  EXPECT_EQ(nn::LayerNorm(nn::LayerNormOptions({2, 3}).elementwise_affine(false))->parameters().size(), 0u);

  nn::GroupNorm gn(2, 4);
  const Tensor z = randn({3, 4, 2, 5}, DType::Float64);
  gn->to(DType::Float64);
  const Tensor expect = layer_norm(z.reshape({3, 2, 20}), {20}).reshape({3, 4, 2, 5});
  EXPECT_LT(max_abs_diff(gn(z), expect), 1e-12);
  EXPECT_EQ(gn->weight.sizes(), (Shape{4}));
}

TEST(Conv, Conv1dMatchesConv2dAndShapes) {
  manual_seed(3);
  nn::Conv1d conv(nn::Conv1dOptions(4, 6, 3).stride(2).padding(1).groups(2));
  EXPECT_EQ(conv->weight.sizes(), (Shape{6, 2, 3}));
  const Tensor x = randn({2, 4, 9});
  const Tensor y = conv(x);
  EXPECT_EQ(y.sizes(), (Shape{2, 6, 5}));
  const Tensor ref = conv2d(x.unsqueeze(2), conv->weight.unsqueeze(2), conv->bias, {1, 2}, {0, 1}, {1, 1}, 2).squeeze(2);
  EXPECT_LT(max_abs_diff(y, ref), 1e-6);
  // PyTorch's default bound: 1/sqrt(fan_in) with fan_in = in/groups * k = 6.
  EXPECT_LE(amax(abs(conv->bias), {}).item<double>(), 1.0 / std::sqrt(6.0));
  EXPECT_EQ(conv(randn({4, 9})).sizes(), (Shape{6, 5}));  // unbatched
}

TEST(Conv, ConvTranspose2dShapesAndAdjoint) {
  manual_seed(4);
  nn::ConvTranspose2d up(nn::ConvTranspose2dOptions(4, 6, 3).stride(2).padding(1).output_padding(1).groups(2));
  EXPECT_EQ(up->weight.sizes(), (Shape{4, 3, 3, 3}));
  EXPECT_EQ(up(randn({2, 4, 5, 7})).sizes(), (Shape{2, 6, 10, 14}));
  EXPECT_EQ(fmt::format("{}", *up),
            "ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2)");
  // <conv_transpose2d(x, w), y> == <x, conv2d(y, w)>: the adjoint relation, in float64.
  const Tensor x = randn({1, 4, 5, 7}, DType::Float64), w = randn({4, 3, 3, 3}, DType::Float64);
  const Tensor y = randn({1, 6, 10, 14}, DType::Float64);
  const double lhs = (conv_transpose2d(x, w, {}, {2, 2}, {1, 1}, {1, 1}, 2) * y).sum().item<double>();
  const double rhs = (x * conv2d(y, w, {}, {2, 2}, {1, 1}, {1, 1}, 2)).sum().item<double>();
  EXPECT_NEAR(lhs, rhs, 1e-9 * std::abs(rhs));
}

TEST(Resampling, UpsampleDropout2dIdentity) {
  manual_seed(5);
  nn::Upsample up(nn::UpsampleOptions().scale_factor({2.0}).mode("bilinear").align_corners(true));
  const Tensor x = randn({1, 2, 3, 4});
  const Tensor y = up(x);
  EXPECT_EQ(y.sizes(), (Shape{1, 2, 6, 8}));
  // align_corners keeps the corners exactly.
  EXPECT_FLOAT_EQ(y.select(3, 7).select(2, 5).select(1, 1).item<float>(), x.select(3, 3).select(2, 2).select(1, 1).item<float>());
  EXPECT_EQ(nn::Upsample()(x).sizes(), (Shape{1, 2, 6, 8}));  // default: nearest, scale 2

  nn::Dropout2d drop(0.5);
  const Tensor ones_in = ones({8, 32, 3, 3});
  const Tensor d = drop(ones_in);
  // Whole channels are zero or 2: each [3, 3] plane has one value.
  const Tensor per_channel_max = amax(d, {2, 3}), per_channel_min = -amax(-d, {2, 3});
  EXPECT_EQ(max_abs_diff(per_channel_max, per_channel_min), 0.0);
  const double kept = (per_channel_max > 0.0).to(DType::Float32).mean().item<double>();
  EXPECT_GT(kept, 0.35);
  EXPECT_LT(kept, 0.65);
  EXPECT_EQ(amax(d, {}).item<double>(), 2.0);
  drop->eval();
  EXPECT_TRUE(drop(ones_in).is_same(ones_in));

  nn::Identity id;
  EXPECT_TRUE(id(x).is_same(x));
}

TEST(Losses, NewLossModulesFollowTheirOptions) {
  manual_seed(6);
  const Tensor a = randn({4, 5}), b = randn({4, 5});
  nn::HuberLoss huber(nn::HuberLossOptions().delta(0.5).reduction(nn::Reduction::Sum));
  EXPECT_FLOAT_EQ(huber(a, b).item<float>(), nn::F::huber_loss(a, b, nn::F::HuberLossFuncOptions().delta(0.5).reduction(nn::kSum)).item<float>());
  // huber(delta) = delta * smooth_l1(beta = delta).
  nn::SmoothL1Loss sl1(nn::SmoothL1LossOptions().beta(0.5).reduction(nn::kSum));
  EXPECT_NEAR(huber(a, b).item<double>(), 0.5 * sl1(a, b).item<double>(), 1e-5);
  const Tensor logp = log_softmax(a, 1), target = softmax(b, 1);
  nn::KLDivLoss kl(nn::KLDivLossOptions().reduction(nn::Reduction::BatchMean));
  EXPECT_NEAR(kl(logp, target).item<double>(), (target * (log(target) - logp)).sum().item<double>() / 4.0, 1e-5);
  nn::KLDivLoss kl_log(nn::KLDivLossOptions().reduction(nn::Reduction::BatchMean).log_target(true));
  EXPECT_NEAR(kl_log(logp, log(target)).item<double>(), kl(logp, target).item<double>(), 1e-5);
  // Soft labels that are one-hot give the index-target loss.
  const Tensor labels = tensor({1.0, 0.0, 4.0, 2.0}, DType::Int64);
  const Tensor onehot = one_hot(labels, 5).to(DType::Float32);
  nn::CrossEntropyLoss ce;
  EXPECT_NEAR(ce(a, onehot).item<double>(), ce(a, labels).item<double>(), 1e-6);
}

TEST(LinearAlgebra, EinsumAgreesWithMatmulAndTranspose) {
  manual_seed(7);
  const Tensor a = randn({2, 3, 4}, DType::Float64), b = randn({2, 4, 5}, DType::Float64);
  EXPECT_LT(max_abs_diff(einsum("bij,bjk->bik", {a, b}), matmul(a, b)), 1e-12);
  EXPECT_LT(max_abs_diff(einsum("bij->bji", {a}), a.transpose(1, 2)), 0.0 + 1e-15);
  EXPECT_LT(max_abs_diff(einsum("bij,bjk->", {a, b}), matmul(a, b).sum()), 1e-12);
  EXPECT_LT(max_abs_diff(einsum("...j,...j->...", {a, a}), (a * a).sum({2})), 1e-12);
  EXPECT_LT(max_abs_diff(einsum(" b i j , b j k -> b k i ", {a, b}), matmul(a, b).transpose(1, 2)), 1e-12);
  const Tensor sq = randn({3, 3}, DType::Float64);
  EXPECT_NEAR(einsum("ii", {sq}).item<double>(), (sq * eye(3, 3, DType::Float64)).sum().item<double>(), 1e-12);
  EXPECT_NEAR(norm(tensor({3.0, 4.0})).item<double>(), 5.0, 1e-6);
}

}  // namespace
