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

}  // namespace
