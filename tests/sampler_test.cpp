// data/sampler.h: DistributedSampler against PyTorch's rules (the shards of
// one order, padding by repetition, drop_last truncation, set_epoch), and the
// DataLoader driven by a sampler.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <ember/ember.h>

namespace {
using namespace ember;
using Ix = std::vector<std::int64_t>;

TEST(DistributedSampler, UnshuffledShardsAreStridedWithPadding) {
  // PyTorch: list(DistributedSampler(range(10), num_replicas=4, rank=r, shuffle=False))
  const std::vector<Ix> expected = {{0, 4, 8}, {1, 5, 9}, {2, 6, 0}, {3, 7, 1}};
  for (int r = 0; r < 4; ++r) {
    data::DistributedSampler s(4, r, /*shuffle=*/false);
    EXPECT_EQ(s.size(10), 3);
    EXPECT_EQ(s.indices(10), expected[static_cast<std::size_t>(r)]) << "rank " << r;
  }
  // drop_last=True: 10 // 4 = 2 each, the last two dropped.
  const std::vector<Ix> dropped = {{0, 4}, {1, 5}, {2, 6}, {3, 7}};
  for (int r = 0; r < 4; ++r) {
    data::DistributedSampler s(4, r, false, 0, /*drop_last=*/true);
    EXPECT_EQ(s.size(10), 2);
    EXPECT_EQ(s.indices(10), dropped[static_cast<std::size_t>(r)]);
  }
  // Padding longer than the dataset repeats it: 2 examples over 5 replicas.
  std::vector<std::int64_t> all;
  for (int r = 0; r < 5; ++r) {
    Ix ix = data::DistributedSampler(5, r, false).indices(2);
    ASSERT_EQ(ix.size(), 1u);
    all.push_back(ix[0]);
  }
  EXPECT_EQ(all, (Ix{0, 1, 0, 1, 0}));
  EXPECT_TRUE(data::DistributedSampler(3, 1, true).indices(0).empty());
  EXPECT_EQ(data::DistributedSampler(3, 1, true, 0, true).size(2), 0);
}

TEST(DistributedSampler, ShuffledShardsPartitionOneOrderPerEpoch) {
  for (std::int64_t n : {1, 7, 64, 101}) {
    for (std::int64_t w : {1, 2, 3, 8}) {
      std::vector<Ix> shards;
      for (std::int64_t r = 0; r < w; ++r) {
        data::DistributedSampler s(w, r, true, /*seed=*/42);
        s.set_epoch(3);
        shards.push_back(s.indices(n));
        EXPECT_EQ(static_cast<std::int64_t>(shards.back().size()), (n + w - 1) / w);
      }
      // Interleaving the shards gives back one permutation (of n, then its padding).
      Ix order;
      for (std::size_t i = 0; i < shards[0].size(); ++i)
        for (const Ix& s : shards) order.push_back(s[i]);
      Ix head(order.begin(), order.begin() + n);
      Ix sorted = head;
      std::sort(sorted.begin(), sorted.end());
      for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i) << n << " " << w;
      for (std::size_t i = static_cast<std::size_t>(n); i < order.size(); ++i)
        EXPECT_EQ(order[i], order[i - static_cast<std::size_t>(n)]);
      // The order does not depend on the world size: world 1 sees the same head.
      data::DistributedSampler one(1, 0, true, 42);
      one.set_epoch(3);
      EXPECT_EQ(one.indices(n), head);
    }
  }
  data::DistributedSampler s(2, 0, true, 7);
  const Ix e0 = s.indices(50);
  EXPECT_EQ(s.indices(50), e0);  // same epoch, same order
  s.set_epoch(1);
  EXPECT_NE(s.indices(50), e0);
  manual_seed(1);
  const Ix a = s.indices(50);
  manual_seed(2);
  EXPECT_EQ(s.indices(50), a);  // independent of the global generator
  EXPECT_NE(data::DistributedSampler(2, 0, true, 8).indices(50), e0);  // the seed matters
}

TEST(DistributedSampler, DataLoaderUsesTheSampler) {
  Tensor x = arange(10, DType::Float32).reshape({10, 1});
  Tensor y = arange(10, DType::Int64);
  auto sampler = std::make_shared<data::DistributedSampler>(3, 2, false);
  data::DataLoader loader(data::TensorDataset(x, y), data::DataLoaderOptions().batch_size(3).sampler(sampler));
  EXPECT_EQ(loader.size(), 2);  // 4 indices: 2, 5, 8, 1 (padding)
  Ix seen;
  for (const data::Example& b : loader)
    for (std::int64_t v : b.target.to_vector<std::int64_t>()) seen.push_back(v);
  EXPECT_EQ(seen, (Ix{2, 5, 8, 1}));
  auto shuffled = std::make_shared<data::DistributedSampler>(3, 0, true, 5);
  data::DataLoader l2(data::TensorDataset(x, y), data::DataLoaderOptions().batch_size(2).sampler(shuffled));
  Ix first;
  for (const data::Example& b : l2)
    for (std::int64_t v : b.target.to_vector<std::int64_t>()) first.push_back(v);
  EXPECT_EQ(first, shuffled->indices(10));
  EXPECT_THROW(data::DataLoader(data::TensorDataset(x, y), data::DataLoaderOptions().shuffle(true).sampler(sampler)),
               Error);
  EXPECT_THROW(data::DistributedSampler(2, 2), Error);
  EXPECT_THROW(data::DistributedSampler(0, 0), Error);
  EXPECT_THROW(data::DistributedSampler(2, -1), Error);
}

}  // namespace
