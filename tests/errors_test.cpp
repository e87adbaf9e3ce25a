// Bad input throws ember::Error naming the op and the shapes; never a crash.
#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "test_util.h"

#include <ember/ember.h>

namespace {
using namespace ember;

using ember::test_util::message_of;

TEST(Errors, MessagesNameTheOpAndShapes) {
  EXPECT_EQ(message_of([] { mul(ones({3, 4}), ones({5})); }), "mul: shapes [3, 4] and [5] cannot be broadcast");
  EXPECT_EQ(message_of([] { matmul(ones({2, 3}), ones({4, 5})); }),
            "matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)");
  EXPECT_EQ(message_of([] { sum(ones({2, 3}), {2}); }), "sum: dimension 2 out of range for a 2-d tensor (expected [-2, 1])");
  EXPECT_EQ(message_of([] { ones({2}, DType::Int64).requires_grad_(); }),
            "requires_grad_: only floating-point tensors can require gradients, got int64");
  EXPECT_EQ(message_of([] { ones({2, 3}).view({5}); }), "view: shape [5] is invalid for input of shape [2, 3] (6 elements)");
  EXPECT_EQ(message_of([] { matmul(ones({2, 2}), ones({2, 2}, DType::Float64)); }),
            "matmul: expected both operands to have the same dtype, got float32 and float64");
  EXPECT_EQ(message_of([] { index_select(ones({3, 2}), 0, tensor({5}, DType::Int64)); }),
            "index_select: index 5 out of range for a dimension of size 3");
  EXPECT_EQ(message_of([] { cat({ones({2, 3}), ones({2, 4})}, 0); }),
            "cat: sizes of tensors must match except in dimension 0: got [2, 3] and [2, 4]");
}

TEST(Errors, EveryBadInputThrowsEmberError) {
  const std::vector<std::function<void()>> bad = {
      [] { add(ones({2}), ones({3})); },
      [] { where(ones({2}), ones({2}), ones({2})); },            // condition not bool
      [] { matmul(ones({2}, DType::Int64), ones({2}, DType::Int64)); },  // not floating
      [] { matmul(scalar_tensor(1), ones({2})); },
      [] { ones({2, 3}).transpose(0, 2); },
      [] { ones({2, 3}).permute({0, 0}); },
      [] { ones({2, 3}).expand({3, 3}); },
      [] { ones({2, 3}).narrow(1, 2, 5); },
      [] { ones({2, 3}).select(0, 2); },
      [] { ones({2, 3}).reshape({-1, -1}); },
      [] { ones({2}).item<float>(); },
      [] { gather(ones({2, 2}), 1, tensor({{0, 2}}, DType::Int64)); },
      [] { gather(ones({2, 2}), 1, ones({1, 2})); },              // index not int64
      [] { one_hot(tensor({3}, DType::Int64), 2); },
      [] { stack({ones({2}), ones({3})}); },
      [] { cat({}, 0); },
      [] { softmax(ones({2}, DType::Int64), 0); },
      [] { mean(ones({2}, DType::Int64)); },
      [] { max(zeros({0})); },
      [] { gelu(ones({2}), "fast"); },
      [] { clamp(ones({2}), std::nullopt, std::nullopt); },
      [] { exp(Tensor()); },
      [] { Tensor().sizes(); },
      [] { arange(0.0, 1.0, 0.0); },
      [] { randint(3, 3, {2}); },
      [] { Tensor t = ones({2}, DType::Int64); t.add_(ones({2})); },  // float into int
      [] { Tensor t = ones({2}); t.add_(ones({3, 2})); },            // would need to grow
      [] { ones({2}).backward(); },
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_THROW(bad[i](), Error) << "case " << i;
  }
}

// ---- issue 10 part A ----
TEST(Errors, Issue10PartAMessages) {
  EXPECT_EQ(message_of([] { topk(ones({2, 3}), 4); }), "topk: k (4) is out of range for dim 1 of size 3 (input [2, 3])");
  EXPECT_EQ(message_of([] { pad(ones({3}), {1, 1, 2, 2}); }),
            "pad: padding [1, 1, 2, 2] pads 2 dims, longer than the 1 dims of the input [3]");
  EXPECT_EQ(message_of([] { pad(ones({1, 2, 3}), {3, 0}, "reflect"); }),
            "pad: reflect padding (3, 0) must be smaller than the size 3 of dim 2 of the input [1, 2, 3]");
  EXPECT_EQ(message_of([] { kthvalue(ones({4}), 5); }), "kthvalue: k (5) is out of range for dim 0 of size 4 (input [4])");
  EXPECT_EQ(message_of([] { split(ones({5, 2}), Shape{2, 2}, 0); }),
            "split: split sizes [2, 2] add up to 4, but dim 0 of the input [5, 2] has size 5");
  EXPECT_EQ(message_of([] { scatter(zeros({2, 3}), 1, tensor({{3}}, DType::Int64), ones({1, 1})); }),
            "scatter: index 3 out of range for dim 1 of size 3 (input [2, 3])");
  EXPECT_EQ(message_of([] { masked_fill(ones({2}), ones({2}), 0.0); }), "masked_fill: mask must be a bool tensor, got float32");
  EXPECT_EQ(message_of([] { repeat(ones({2, 3}), {2}); }),
            "repeat: number of repeats [2] can not be smaller than the number of dims of the input [2, 3]");
}

TEST(Errors, Issue10PartABadInputThrows) {
  const std::vector<std::function<void()>> bad = {
      [] { chunk(ones({3}), 0); },
      [] { chunk(scalar_tensor(1.0), 2); },
      [] { split(ones({3}), 0); },
      [] { flip(ones({2, 3}), {0, -2}); },  // dim twice
      [] { roll(ones({2, 3}), {1, 2}); },   // shifts without dims must be one
      [] { pad(ones({2, 3}), {1}); },       // odd length
      [] { pad(ones({2, 3}), {1, 1}, "mirror"); },
      [] { pad(ones({2, 3}), {-2, -2}); },  // negative size
      [] { pad(ones({2, 0}), {1, 1}, "replicate"); },
      [] { pad(ones({1, 2}), {3, 0}, "circular"); },
      [] { tril(ones({3})); },
      [] { diag(ones({2, 2, 2})); },
      [] { diagonal(ones({2, 2}), 0, 1, -1); },
      [] { masked_select(ones({2, 3}), ones({4}, DType::Bool)); },
      [] { masked_fill(ones({2}), ones({2}, DType::Bool), ones({2})); },  // value not 0-d
      [] { scatter(ones({2, 2}), 0, ones({2, 2}), ones({2, 2})); },       // index not int64
      [] { scatter(ones({2, 2}), 0, zeros({2, 3}, DType::Int64), ones({2, 3})); },  // index wider than input outside dim
      [] { scatter_reduce(ones({2}), 0, zeros({2}, DType::Int64), ones({2}), "prod_of_all"); },
      [] { scatter_reduce(ones({2}), 0, zeros({2}, DType::Int64), ones({2}, DType::Float64), "sum"); },
      [] { topk(ones({3}), -1); },
      [] { sort(ones({2, 3}), 2); },
      [] { median(zeros({2, 0}), 1); },
      [] { kthvalue(ones({3}), 0); },
      [] { cumsum(ones({2}), 1); },
      [] { hardtanh(ones({2}), 1.0, -1.0); },
  };
  for (std::size_t i = 0; i < bad.size(); ++i) EXPECT_THROW(bad[i](), Error) << "case " << i;
}

}  // namespace

// ---- issue 10 part B: the new ops' messages ----
namespace {
using namespace ember;
using ember::test_util::message_of;

TEST(Errors, Issue10PartBMessages) {
  EXPECT_EQ(message_of([] { embedding(tensor({1, 7}, DType::Int64), ones({5, 3})); }),
            "embedding: index 7 (at position 1) is out of range for a table of 5 rows");
  EXPECT_EQ(message_of([] { embedding(tensor({-1}, DType::Int64), ones({5, 3})); }),
            "embedding: index -1 (at position 0) is out of range for a table of 5 rows");
  EXPECT_EQ(message_of([] { einsum("ij,jk->ik->", {ones({2, 3}), ones({3, 2})}); }),
            "einsum: malformed equation 'ij,jk->ik->': more than one '->'");
  EXPECT_EQ(message_of([] { einsum("i.j", {ones({2, 3})}); }),
            "einsum: malformed equation 'i.j': a '.' that is not part of '...'");
  EXPECT_EQ(message_of([] { einsum("ij,j1->i", {ones({2, 3}), ones({3, 1})}); }),
            "einsum: malformed equation 'ij,j1->i': invalid subscript '1'");
  EXPECT_EQ(message_of([] { einsum("ij->k", {ones({2, 3})}); }),
            "einsum: malformed equation 'ij->k': an output subscript that no operand has");
  EXPECT_EQ(message_of([] { einsum("ij,jk->ik", {ones({2, 3})}); }),
            "einsum: equation 'ij,jk->ik' has 2 operand subscripts but 1 operands were given");
  EXPECT_EQ(message_of([] { einsum("ijk->i", {ones({2, 3})}); }),
            "einsum: equation 'ijk->i': the subscripts 'ijk' give 3 dims but the operand has 2 (no '...')");
  EXPECT_EQ(message_of([] { einsum("ij,jk->ik", {ones({2, 3}), ones({4, 2})}); }),
            "einsum: equation 'ij,jk->ik': subscript of operand 1 has size 4 but 3 elsewhere");
  EXPECT_EQ(message_of([] { bmm(ones({2, 3, 4}), ones({3, 4, 2})); }),
            "bmm: shapes [2, 3, 4] and [3, 4, 2] cannot be multiplied (batch 2 vs 3, inner 4 vs 4)");
  EXPECT_EQ(message_of([] { layer_norm(ones({2, 3}), {4}); }),
            "layer_norm: input [2, 3] does not end with normalized_shape [4]");
  EXPECT_EQ(message_of([] { group_norm(ones({2, 6, 3}), 4); }),
            "group_norm: expected the 6 channels of input [2, 6, 3] to divide into num_groups=4");
  EXPECT_EQ(message_of([] { conv_transpose2d(ones({1, 3, 4, 4}), ones({2, 2, 3, 3})); }),
            "conv_transpose2d: input [1, 3, 4, 4] has 3 channels but weight [2, 2, 3, 3] expects 2");
  EXPECT_EQ(message_of([] { conv_transpose2d(ones({1, 2, 4, 4}), ones({2, 2, 3, 3}), {}, {2, 2}, {1, 1}, {2, 0}); }),
            "conv_transpose2d: output_padding (2, 0) must be smaller than the stride (2, 2)");
  EXPECT_EQ(message_of([] { interpolate(ones({1, 1, 4, 4}), InterpolateOptions().size({8, 8}).mode("linear")); }),
            "interpolate: mode 'linear' expects 1 spatial dims, got input [1, 1, 4, 4]");
  EXPECT_EQ(message_of([] { interpolate(ones({1, 1, 4, 4}), InterpolateOptions().size({8, 8}).align_corners(true)); }),
            "interpolate: align_corners can only be set with the interpolating modes (linear, bilinear, trilinear)");
  EXPECT_EQ(message_of([] { grid_sample(ones({1, 1, 4, 4}), ones({1, 2, 2, 2}), "bicubic"); }),
            "grid_sample: unknown mode 'bicubic' (bilinear, nearest)");
  EXPECT_EQ(message_of([] { grid_sample(ones({1, 1, 4, 4}), ones({1, 2, 2, 3})); }),
            "grid_sample: expected input [N, C, H, W] and grid [N, H_out, W_out, 2], got [1, 1, 4, 4] and [1, 2, 2, 3]");
  EXPECT_EQ(message_of([] { nn::F::cross_entropy(ones({2, 3}), ones({2, 4})); }),
            "cross_entropy: probability targets must match the input [2, 3] (float32), got [2, 4] (float32)");
  EXPECT_EQ(message_of([] { nn::F::mse_loss(ones({2}), ones({2}), nn::Reduction::BatchMean); }),
            "reduction BatchMean is only valid for kl_div");
}

TEST(Errors, Issue10PartBBadInputsThrowEmberError) {
  const std::vector<std::function<void()>> bad = {
      [] { bmm(ones({2, 3}), ones({2, 3, 4})); },
      [] { addmm(ones({3, 3}), ones({2, 3}), ones({3, 2})); },  // input does not broadcast to [2, 2]
      [] { baddbmm(ones({2, 2, 2}), ones({2, 2, 3}), ones({3, 3, 2})); },
      [] { outer(ones({2, 2}), ones({2})); },
      [] { dot(ones({2}), ones({3})); },
      [] { einsum("", {}); },
      [] { einsum("i...j...", {ones({2, 3, 4})}); },
      [] { einsum("ii", {ones({2, 3})}); },
      [] { einsum("i->ii", {ones({2})}); },
      [] { einsum("...i->i", {ones({2, 3})}); },
      [] { einsum("i-j", {ones({2})}); },
      [] { linalg::vector_norm(ones({2}, DType::Int64)); },
      [] { linalg::vector_norm(ones({2}), -1.0); },
      [] { linalg::vector_norm(ones({2, 0}), std::numeric_limits<double>::infinity(), {1}); },
      [] { embedding(ones({2}), ones({5, 3})); },  // float indices
      [] { embedding(tensor({1}, DType::Int64), ones({5})); },
      [] { embedding(tensor({1}, DType::Int64), ones({5, 3}), 5); },
      [] { layer_norm(ones({2, 3}), {3}, ones({4})); },
      [] { group_norm(ones({2}), 1); },
      [] { conv1d(ones({1, 2, 3}), ones({2, 2, 5})); },
      [] { conv1d(ones({2, 3}), ones({2, 2})); },
      [] { conv_transpose2d(ones({1, 2, 3}), ones({2, 2, 3, 3})); },
      [] { conv_transpose2d(ones({1, 2, 3, 3}), ones({2, 2, 3, 3}), ones({3})); },
      [] { conv_transpose2d(ones({1, 2, 1, 1}), ones({2, 2, 1, 1}), {}, {1, 1}, {1, 1}); },  // empty output
      [] { interpolate(ones({1, 4, 4}), InterpolateOptions().size({8}).scale_factor({2.0})); },
      [] { interpolate(ones({1, 1, 4, 4}), InterpolateOptions().scale_factor({-1.0})); },
      [] { interpolate(ones({1, 1, 4, 4}), InterpolateOptions().size({2, 2, 2})); },
      [] { interpolate(ones({4, 4}), InterpolateOptions().size({2})); },
      [] { dropout2d(ones({2, 2, 2, 2}), 1.5); },
      [] { affine_grid(ones({1, 2, 3}), {2, 1, 3, 3}); },
      [] { affine_grid(ones({1, 3, 3}), {1, 1, 3, 3}); },
      [] { grid_sample(ones({1, 1, 3, 3}), ones({1, 2, 2, 2}), "bilinear", "wrap"); },
      [] { grid_sample(ones({1, 1, 3, 3}), ones({2, 2, 2, 2})); },
      [] { nn::F::smooth_l1_loss(ones({2}), ones({3})); },
      [] { nn::F::huber_loss(ones({2}), ones({2}), nn::F::HuberLossFuncOptions().delta(0.0)); },
      [] { nn::F::kl_div(ones({2, 2}), ones({3})); },
      [] { nn::Embedding(0, 3); },
      [] { nn::Embedding(nn::EmbeddingOptions(4, 3).padding_idx(4)); },
      [] { nn::LayerNorm(nn::LayerNormOptions({0})); },
      [] { nn::GroupNorm(3, 4); },
      [] { nn::ConvTranspose2d(nn::ConvTranspose2dOptions(3, 4, 3).groups(2)); },
      [] { nn::Conv1d(2, 3, 0); },
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    try {
      bad[i]();
      ADD_FAILURE() << "case " << i << " did not throw";
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "case " << i << " threw a non-ember error: " << e.what();
    }
  }
}

}  // namespace
