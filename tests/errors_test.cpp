// Bad input throws ember::Error naming the op and the shapes; never a crash.
#include <gtest/gtest.h>

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
