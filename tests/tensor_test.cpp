// core/: factories, views and storage sharing, element access, dtypes,
// random reproducibility, allocator, printing, threads.
#include <gtest/gtest.h>

#include "test_util.h"

#include <atomic>
#include <sstream>
#include <cmath>
#include <thread>

#include <ember/ember.h>
#include <ember/core/load_guard.h>

namespace {
using namespace ember;

TEST(Factory, FillsAndShapes) {
  EXPECT_EQ(zeros({2, 3}).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({4}, DType::Int64).to_vector<std::int64_t>(), std::vector<std::int64_t>(4, 1));
  EXPECT_EQ(full({2}, 2.5, DType::Float64).to_vector<double>(), (std::vector<double>{2.5, 2.5}));
  EXPECT_EQ(arange(5).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(5).dtype(), DType::Int64);
  EXPECT_EQ(arange(1.0, 2.0, 0.25, DType::Float32).to_vector<float>(), (std::vector<float>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(linspace(0, 1, 5).to_vector<float>(), (std::vector<float>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(eye(2, 3).to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(tensor({{1, 2}, {3, 4}}).sizes(), (Shape{2, 2}));
  EXPECT_EQ(from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, Shape{2, 3}).at<double>({1, 0}), 4.0);
  EXPECT_EQ(zeros_like(ones({2, 2}, DType::Float64)).dtype(), DType::Float64);
  EXPECT_EQ(scalar_tensor(3.0).dim(), 0);
  EXPECT_THROW(from_vector(std::vector<float>{1, 2, 3}, Shape{2, 2}), Error);
  EXPECT_THROW(zeros({-1}), Error);
}

TEST(Factory, StorageIs64ByteAligned) {
  for (std::int64_t n : {1, 3, 17, 1000}) {
    Tensor t = empty({n}, DType::UInt8);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u);
  }
}

TEST(Random, ManualSeedMakesRunsReproducible) {
  manual_seed(42);
  auto a = randn({100}).to_vector<float>();
  auto i = randint(0, 10, {50}).to_vector<std::int64_t>();
  manual_seed(42);
  EXPECT_EQ(randn({100}).to_vector<float>(), a);
  EXPECT_EQ(randint(0, 10, {50}).to_vector<std::int64_t>(), i);
  for (auto v : i) EXPECT_TRUE(v >= 0 && v < 10);
}

TEST(Random, DistributionsLookRight) {
  manual_seed(1);
  Tensor n = randn({100000}, DType::Float64);
  EXPECT_NEAR(n.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(ember::std(n).item<double>(), 1.0, 0.02);
  Tensor u = rand({100000}, DType::Float64);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.01);
  EXPECT_GE(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  Tensor w = zeros({1000});
  w.uniform_(-2, 2);
  EXPECT_GE(w.min().item<double>(), -2.0);
  EXPECT_LT(w.max().item<double>(), 2.0);
  auto p = randperm(10).to_vector<std::int64_t>();
  std::sort(p.begin(), p.end());
  EXPECT_EQ(p, arange(10).to_vector<std::int64_t>());
}

TEST(Views, ShareStorageAndVersion) {
  Tensor x = arange(0.0, 6.0, 1.0, DType::Float32).reshape({2, 3});
  Tensor t = x.t();
  EXPECT_TRUE(t.shares_storage(x));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.strides(), (Shape{1, 3}));
  EXPECT_EQ(t.at<float>({2, 1}), 5.0f);
  const auto v = x.version();
  t.select(0, 0).fill_(-1);  // writes through the view
  EXPECT_EQ(x.at<float>({1, 0}), -1.0f);
  EXPECT_GT(x.version(), v);  // views share the counter
}

TEST(Views, ContiguousCopiesOnlyWhenNeeded) {
  Tensor x = zeros({3, 4});
  EXPECT_TRUE(x.contiguous().is_same(x));
  Tensor c = x.t().contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(x));
}

TEST(Views, Geometry) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(x.permute({2, 0, 1}).sizes(), (Shape{4, 2, 3}));
  EXPECT_EQ(x.unsqueeze(0).sizes(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(x.unsqueeze(-1).sizes(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(zeros({1, 3, 1}).squeeze().sizes(), (Shape{3}));
  EXPECT_EQ(zeros({1, 3, 1}).squeeze(0).sizes(), (Shape{3, 1}));
  EXPECT_EQ(zeros({3, 1}).expand({2, 3, 5}).strides(), (Shape{0, 1, 0}));
  EXPECT_EQ(x.narrow(2, 1, 2).sizes(), (Shape{2, 3, 2}));
  EXPECT_EQ(x.narrow(2, 1, 2).storage_offset(), 1);
  EXPECT_EQ(x.select(1, -1).sizes(), (Shape{2, 4}));
  EXPECT_EQ(x.slice(2, 0, 4, 3).sizes(), (Shape{2, 3, 2}));
  EXPECT_EQ(x.view({6, -1}).sizes(), (Shape{6, 4}));
  EXPECT_EQ(x.flatten().sizes(), (Shape{24}));
  EXPECT_EQ(x[1].sizes(), (Shape{3, 4}));
  // A transposed tensor cannot be viewed flat, but reshape copies.
  EXPECT_THROW(x.transpose(0, 2).view({24}), Error);
  Tensor r = x.transpose(0, 2).reshape({24});
  EXPECT_FALSE(r.shares_storage(x));
  // Views across a split dim keep sharing.
  EXPECT_TRUE(x.view({2, 12}).shares_storage(x));
}

// A test layout: the elements stored in reverse order.
struct ReversedLayout final : OpaqueLayout {
  void to_plain(const void* src, void* dst) const override {
    const auto* s = static_cast<const float*>(src);
    auto* d = static_cast<float*>(dst);
    for (std::int64_t i = 0; i < n; ++i) d[i] = s[n - 1 - i];
  }
  bool same_as(const OpaqueLayout& o) const override { return dynamic_cast<const ReversedLayout*>(&o) != nullptr; }
  std::int64_t n = 0;
};

Tensor reversed_opaque(std::vector<float> plain, Shape shape) {
  auto layout = std::make_shared<ReversedLayout>();
  layout->n = static_cast<std::int64_t>(plain.size());
  Storage st = make_storage(plain.size() * sizeof(float));
  for (std::size_t i = 0; i < plain.size(); ++i) static_cast<float*>(st->data())[plain.size() - 1 - i] = plain[i];
  return make_opaque(std::move(shape), DType::Float32, std::move(st), layout);
}

TEST(Opaque, AccessorsSeeThePlainElements) {
  Tensor t = reversed_opaque({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_TRUE(t.is_opaque());
  EXPECT_EQ(t.sizes(), (Shape{2, 3}));  // metadata does not convert
  EXPECT_TRUE(t.is_opaque());
  EXPECT_EQ(static_cast<const float*>(t.opaque_data())[0], 6.0f);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));  // converted on first touch
  EXPECT_FALSE(t.is_opaque());
  EXPECT_EQ(t.strides(), (Shape{3, 1}));
  EXPECT_EQ(test_util::message_of([&] { t.opaque_data(); }), "opaque_data: the tensor is not in an opaque layout");
}

TEST(Opaque, ViewsAndOpsConvertFirst) {
  Tensor t = reversed_opaque({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.t().to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_FALSE(t.is_opaque());
  Tensor u = reversed_opaque({1, 2, 3, 4}, {4});
  EXPECT_EQ((u * 2.0).to_vector<float>(), (std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ(reversed_opaque({1, 2, 3}, {3}).sum().item<float>(), 6.0f);
  EXPECT_EQ(reversed_opaque({1, 2, 3}, {3}).at<float>({0}), 1.0f);
  EXPECT_EQ(reversed_opaque({5}, {}).item<float>(), 5.0f);
}

TEST(Opaque, AliasesShareOneConversion) {
  Tensor t = reversed_opaque({1, 2, 3}, {3});
  Tensor a = t.detach();  // an alias: still opaque, same buffer
  EXPECT_TRUE(a.is_opaque());
  EXPECT_EQ(a.opaque_data(), t.opaque_data());
  Tensor b = reversed_opaque({1, 2}, {2});
  Tensor b2 = b.detach();
  (void)b.strides();  // converts b; b2 still holds the blocked buffer but will read b's plain one
  EXPECT_TRUE(b2.shares_storage(b));
  EXPECT_TRUE(b.shares_storage(b2));
  b.copy_(b2 * 2.0);  // in-place ops see the sharing
  EXPECT_EQ(b2.to_vector<float>(), (std::vector<float>{2, 4}));
  t.add_(ones({3}));  // converts t, then writes into the plain elements
  EXPECT_FALSE(a.is_opaque());  // the alias adopts the converted storage
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{2, 3, 4}));
  EXPECT_TRUE(a.shares_storage(t));
  EXPECT_EQ(a.version(), t.version());
}

TEST(Opaque, ConcurrentReadersConvertOnce) {
  for (int round = 0; round < 50; ++round) {
    std::vector<float> v(4096);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
    Tensor t = reversed_opaque(v, {64, 64});
    Tensor a = t.detach();
    std::vector<float> seen_t, seen_a;
    std::thread reader([&] { seen_t = t.to_vector<float>(); });
    seen_a = a.to_vector<float>();
    reader.join();
    EXPECT_EQ(seen_t, v);
    EXPECT_EQ(seen_a, v);
    EXPECT_TRUE(a.shares_storage(t));
  }
}

TEST(Opaque, SetDataReplacesAnOpaqueTensor) {
  Tensor t = reversed_opaque({1, 2}, {2});
  t.set_data(tensor({7.0f, 8.0f}));
  EXPECT_FALSE(t.is_opaque());
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{7, 8}));
  Tensor p = zeros({2});
  p.set_data(reversed_opaque({3, 4}, {2}));
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{3, 4}));
}

TEST(Access, ItemAtToVectorAndConversions) {
  Tensor x = tensor({1.5, -2.25, 3.0});
  EXPECT_EQ(x.sum().item<float>(), 2.25f);
  EXPECT_EQ(x.at<double>({-1}), 3.0);
  EXPECT_THROW(x.item<float>(), Error);
  EXPECT_THROW(x.at<float>({3}), Error);
  EXPECT_EQ(x.to(DType::Int64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_EQ(x.to(DType::Bool).to_vector<bool>(), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(x.to(DType::Float64).dtype(), DType::Float64);
  Tensor c = x.clone();
  c.fill_(0);
  EXPECT_EQ(x.at<float>({0}), 1.5f);
  EXPECT_THROW(x.data_ptr<double>(), Error);
  Tensor big = tensor({0}, DType::Int64);
  big.fill_(9007199254740993.0);  // int64 item keeps integers exactly
  EXPECT_EQ(from_vector(std::vector<std::int64_t>{(1LL << 62) + 1}).item<std::int64_t>(), (1LL << 62) + 1);
}

TEST(Ops, TypePromotionAndScalars) {
  Tensor i = arange(3);
  EXPECT_EQ((i + i).dtype(), DType::Int64);
  EXPECT_EQ((i * 2.0).dtype(), DType::Int64);  // integral scalar keeps int64
  EXPECT_EQ((i * 0.5).dtype(), DType::Float32);
  EXPECT_EQ((i / 2.0).dtype(), DType::Float32);  // true division
  EXPECT_EQ((ones({2}) + ones({2}, DType::Float64)).dtype(), DType::Float64);
  EXPECT_EQ((ones({2}) > 0.5).dtype(), DType::Bool);
  EXPECT_EQ((-i).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, -1, -2}));
}

TEST(Ops, ZeroDimOperandsDoNotWiden) {
  EXPECT_EQ((ones({2}) + scalar_tensor(1.0, DType::Float64)).dtype(), DType::Float32);
  EXPECT_EQ((ones({2}, DType::UInt8) + 2.0).dtype(), DType::UInt8);
  EXPECT_EQ((ones({2}, DType::Int64) + scalar_tensor(0.5, DType::Float64)).dtype(), DType::Float64);
  EXPECT_EQ((ones({2}, DType::UInt8) / 255.0).dtype(), DType::Float32);
}

TEST(Ops, InPlaceAliasingAndOverlap) {
  Tensor x = tensor({{1., 2.}, {3., 4.}});
  x.copy_(x.t());
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1, 3, 2, 4}));
  Tensor e = zeros({1}).expand({4});
  EXPECT_THROW(e.add_(ones({4})), Error);
  EXPECT_THROW(scalar_tensor(1).size(0), Error);
}

TEST(Ops, InPlaceArithmeticWithoutHistory) {
  Tensor x = tensor({{1., 2.}, {3., 4.}});
  const auto v = x.version();
  x.add_(tensor({10., 20.}), 2.0);  // broadcast, written straight into x
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{21, 42, 23, 44}));
  EXPECT_GT(x.version(), v);
  x.mul_(x);  // aliasing: computed into a temporary first
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{441, 1764, 529, 1936}));
  x.sub_(ones({2}, DType::Int64)).div_(tensor({2.0}, DType::Float64));  // other dtypes
  EXPECT_EQ(x.dtype(), DType::Float32);
  EXPECT_EQ(x.at<float>({0, 0}), 220.0f);
  Tensor t = x.t();
  t.mul_(0.5);  // a strided self
  EXPECT_EQ(x.at<float>({0, 0}), 110.0f);
  Tensor i = arange(3);
  i *= 2.0;
  EXPECT_EQ(i.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 2, 4}));
}

TEST(Ops, AScalarOperandOnEitherSide) {
  // x op c and c op x take the loop that hoists the constant (loops.h); a
  // broadcast row along the inner segment takes it too. Checked element by
  // element against the same ops on a transposed copy, which takes the strided loop.
  Tensor x = arange(0, 40, 1, DType::Float64).view({5, 8}) - 17.0;
  Tensor xt = x.t().contiguous().t();  // same values, column-major
  const Tensor c = scalar_tensor(3.0, DType::Float64), col = arange(5, DType::Float64).view({5, 1}) + 1.0;
  for (const Tensor& k : {c, col}) {
    EXPECT_EQ((x - k).to_vector<double>(), (xt - k).to_vector<double>());
    EXPECT_EQ((k - x).to_vector<double>(), (k - xt).to_vector<double>());
    EXPECT_EQ((k / x).to_vector<double>(), (k / xt).to_vector<double>());
  }
  const std::vector<double> v = x.to_vector<double>();
  Tensor y = x.clone();
  y.div_(4.0);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(y.to_vector<double>()[i], v[i] / 4.0);
  y = x.to(DType::Float32);
  y -= 2.0;
  const std::vector<float> yf = y.to_vector<float>();
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(yf[i], static_cast<float>(v[i]) - 2.0f);
}

TEST(Ops, ScatterAddGradientWithLargerSource) {
  Tensor src = randn({3, 4}, DType::Float64).requires_grad_();
  Tensor idx = tensor({{0, 1, 2, 0}}, DType::Int64);
  scatter_add(zeros({3, 4}, DType::Float64), 0, idx, src).sum().backward();
  EXPECT_EQ(src.grad().sizes(), (Shape{3, 4}));
  EXPECT_EQ(src.grad().sum().item<double>(), 4.0);  // only the first row was scattered
}

TEST(Ops, ReductionsWithIndices) {
  Tensor x = tensor({{1., 5., 5.}, {7., 0., 2.}});
  auto [values, indices] = max(x, 1);
  EXPECT_EQ(values.to_vector<float>(), (std::vector<float>{5, 7}));
  EXPECT_EQ(indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));  // first of ties
  EXPECT_EQ(argmin(x, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 1}));
  EXPECT_EQ(argmax(x, 1, true).sizes(), (Shape{2, 1}));
  EXPECT_EQ(sum(x, {0, 1}).item<float>(), 20.0f);
  EXPECT_EQ(sum(x, {1}, true).sizes(), (Shape{2, 1}));
  EXPECT_EQ(one_hot(tensor({2, 0}, DType::Int64), 3).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(sum(zeros({0, 3})).item<float>(), 0.0f);
}

TEST(Ops, NumericallyStableSoftmax) {
  Tensor x = tensor({{10000., 0., -10000.}});
  auto ls = log_softmax(x, 1).to_vector<float>();
  EXPECT_EQ(ls[0], 0.0f);
  EXPECT_EQ(ls[1], -10000.0f);
  EXPECT_TRUE(std::isfinite(ls[2]));
  auto s = softmax(tensor({{1000., 1000.}}), 1).to_vector<float>();
  EXPECT_FLOAT_EQ(s[0], 0.5f);
}

TEST(Ops, LargeTensorsUseTheParallelPathCorrectly) {
  const std::int64_t n = 1 << 20;
  Tensor x = arange(0.0, static_cast<double>(n), 1.0, DType::Float64);
  EXPECT_DOUBLE_EQ(x.sum().item<double>(), static_cast<double>(n) * (n - 1) / 2);
  Tensor m = x.reshape({1024, 1024});
  Tensor y = m.t() * 2.0 + m;  // strided operands
  EXPECT_DOUBLE_EQ(y.at<double>({3, 5}), 2.0 * m.at<double>({5, 3}) + m.at<double>({3, 5}));
  EXPECT_DOUBLE_EQ(m.sum({0}).at<double>({7}), 1024.0 * 7 + 1024.0 * 1023 / 2 * 1024);
  // Leading-dim sums add whole rows, split over columns: every column, float32, 3-d.
  Tensor f = m.to(DType::Float32).reshape({4, 256, 1024});
  const auto cols = f.sum({0, 1}).to_vector<float>();
  ASSERT_EQ(cols.size(), 1024u);
  for (std::size_t c = 0; c < cols.size(); c += 97)
    EXPECT_FLOAT_EQ(cols[c], static_cast<float>(1024.0 * static_cast<double>(c) + 1024.0 * 1023 / 2 * 1024)) << c;
  EXPECT_EQ(f.sum({0}, true).sizes(), (Shape{1, 256, 1024}));
  EXPECT_FLOAT_EQ(f.sum({0}, true).at<float>({0, 1, 2}), m.to(DType::Float32).reshape({4, 256, 1024}).select(1, 1).select(1, 2).sum().item<float>());
  EXPECT_EQ(argmax(m, 1).at<std::int64_t>({9}), 1023);
}

class CountingAllocator : public Allocator {
 public:
  void* allocate(std::size_t n) override {
    ++count;
    return default_->allocate(n);
  }
  void deallocate(void* p, std::size_t n) noexcept override { default_->deallocate(p, n); }
  std::atomic<int> count{0};
  Allocator* default_ = default_allocator();
};

TEST(Allocator, StoragesGoThroughTheDefaultAllocator) {
  CountingAllocator counting;
  Allocator* old = set_default_allocator(&counting);
  {
    Tensor a = zeros({10});
    Tensor b = a + 1.0;
  }
  set_default_allocator(old);
  EXPECT_GE(counting.count.load(), 2);
}

TEST(Allocator, CachingReusesFreedBlocks) {
  empty_cache();
  void* first = nullptr;
  {
    Tensor a = empty({1 << 20});
    first = a.raw_data();
  }
  Tensor b = empty({1 << 20});
  if (default_allocator_caches()) {
    EXPECT_EQ(b.raw_data(), first);  // the same block came back
  }
  b = Tensor();
  empty_cache();
  EXPECT_EQ(cached_bytes(), 0u);
}

// Under AddressSanitizer (g++'s or clang's) every free must reach it.
TEST(Allocator, OffUnderAddressSanitizer) {
  if (EMBER_ASAN) {
    EXPECT_FALSE(default_allocator_caches());
  } else if (!std::getenv("EMBER_CACHING_ALLOCATOR")) {
    EXPECT_TRUE(default_allocator_caches());
  }
}

// tensor() takes nested lists of any depth; a column vector is no longer ambiguous.
TEST(Factory, NestedListLiterals) {
  EXPECT_EQ(tensor({{3.0}, {-2.0}}).sizes(), (Shape{2, 1}));
  EXPECT_EQ(tensor({{3.0}, {-2.0}}).to_vector<float>(), (std::vector<float>{3, -2}));
  EXPECT_EQ(tensor({1, 2, 3}).sizes(), (Shape{3}));
  EXPECT_EQ(tensor({{1., 2.}, {3., 4.}}).to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  // As PyTorch: integer literals alone give int64 (an index tensor), any other number float32.
  EXPECT_EQ(tensor({2, 0}).dtype(), DType::Int64);
  EXPECT_EQ(tensor({{1, 2}, {3, 4}}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(tensor({1, 2.5}).dtype(), DType::Float32);
  EXPECT_EQ(tensor({1.0f, 2.0f}).dtype(), DType::Float32);
  EXPECT_EQ(tensor({std::int64_t{7}}).dtype(), DType::Int64);
  EXPECT_EQ(tensor(3).dtype(), DType::Int64);
  EXPECT_EQ(tensor({}).dtype(), DType::Float32);
  EXPECT_EQ(tensor({true, false}).dtype(), DType::Bool);
  EXPECT_EQ(tensor({1, 2}, DType::Float64).dtype(), DType::Float64);
  EXPECT_EQ(index_select(tensor({10., 20., 30.}), 0, tensor({2, 0})).to_vector<float>(), (std::vector<float>{30, 10}));
  EXPECT_EQ(tensor({{{1, 2}}, {{3, 4}}}, DType::Int64).sizes(), (Shape{2, 1, 2}));
  EXPECT_EQ(tensor({{{1, 2}}, {{3, 4}}}, DType::Int64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(tensor(2.5).dim(), 0);
  EXPECT_EQ(tensor({}).sizes(), (Shape{0}));
  EXPECT_EQ(tensor({{}, {}}).sizes(), (Shape{2, 0}));
  EXPECT_EQ(tensor({2.0}, DType::Float64).dtype(), DType::Float64);
  EXPECT_EQ(test_util::message_of([] { tensor({{1, 2}, {3}}); }),
            "tensor: ragged nested list: element [1] has 1 entries where the first at its depth has 2");
  EXPECT_EQ(test_util::message_of([] { tensor({{1, 2}, {3, {4}}}); }),
            "tensor: element [1][1] is a list where a number was expected (lists at one depth must nest alike)");
  EXPECT_EQ(test_util::message_of([] { tensor({{1}, 2}); }), "tensor: element [1] is a number where a list of 1 was expected");
}

TEST(Print, LooksLikePyTorch) {
  EXPECT_EQ(fmt::format("{}", tensor({1., 2., 3.})), "tensor([1., 2., 3.])");
  EXPECT_EQ(fmt::format("{}", tensor({{1.5, -2}, {3, 4}})), "tensor([[ 1.5000, -2.0000],\n        [ 3.0000,  4.0000]])");
  EXPECT_EQ(fmt::format("{}", arange(3)), "tensor([0, 1, 2])");
  EXPECT_EQ(fmt::format("{}", tensor({0.5}, DType::Float64)), "tensor([0.5000], dtype=float64)");
  EXPECT_EQ(fmt::format("{}", scalar_tensor(2.5)), "tensor(2.5000)");
  EXPECT_EQ(fmt::format("{}", zeros({0, 3})), "tensor([], size=[0, 3])");
  EXPECT_EQ(fmt::format("{}", tensor({true, false}, DType::Bool)), "tensor([1, 0], dtype=bool)");
  Tensor x = tensor({1., 2.}).requires_grad_();
  EXPECT_EQ(fmt::format("{}", x), "tensor([1., 2.], requires_grad=True)");
  EXPECT_EQ(fmt::format("{}", x * 2.0), "tensor([2., 4.], grad_fn=<MulBackward>)");
  EXPECT_EQ(fmt::format("{}", tensor({1e-5, 1.0})), "tensor([1.0000e-05, 1.0000e+00])");
  // Large tensors are elided in the middle and say their size.
  const std::string big = fmt::format("{}", arange(0.0, 2000.0, 1.0, DType::Float32));
  EXPECT_EQ(big, "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], size=[2000])");
  const std::string big2 = fmt::format("{}", zeros({100, 100}));
  EXPECT_NE(big2.find("...,\n"), std::string::npos);
  EXPECT_NE(big2.find("size=[100, 100]"), std::string::npos);
}

TEST(Threads, SetAndGet) {
  const int n = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  EXPECT_DOUBLE_EQ(arange(0.0, 100000.0, 1.0, DType::Float64).sum().item<double>(), 4999950000.0);
  set_num_threads(n);
  EXPECT_THROW(set_num_threads(0), Error);
}

// The count is process-wide: a thread started later uses it too (OpenMP alone
// keeps it per thread).
TEST(Threads, CountReachesOtherThreads) {
  const int n = get_num_threads();
  set_num_threads(1);
  int seen = 0;
  std::thread([&] { seen = detail::threads_for_call(); }).join();
  EXPECT_EQ(seen, 1);
  set_num_threads(n);
}

// LoadGuard on made-up timings (nanoseconds): when it falls back to one thread
// and for how long.
TEST(LoadGuard, FallsBackOnlyAfterRepeatedLateStartsAndBacksOff) {
  using G = detail::LoadGuard;
  G g;
  std::int64_t t = 1'000'000'000;
  for (int i = 0; i < 1000; ++i) g.report(t += 1000, 50'000);  // wake-ups of 50 us: an idle machine
  EXPECT_FALSE(g.throttled(t));
  g.report(t += 1000, 3'000'000);  // one hiccup is not load
  for (int i = 0; i < G::kWindow; ++i) g.report(t += 1000, 0);
  g.report(t += 1000, 3'000'000);
  EXPECT_FALSE(g.throttled(t));
  g.report(t += 1000, 3'000'000);  // two in one window are
  EXPECT_TRUE(g.throttled(t));
  EXPECT_EQ(g.backoff_ns(), G::kFirstBackoffNs);
  EXPECT_TRUE(g.throttled(t + G::kFirstBackoffNs - 1));
  t += G::kFirstBackoffNs;
  EXPECT_FALSE(g.throttled(t));  // try again
  // Still loaded: each retry that fails doubles the wait, up to the cap.
  std::int64_t expect = G::kFirstBackoffNs;
  for (int round = 0; round < 6; ++round) {
    g.report(t += 1000, 2'000'000);
    g.report(t += 1000, 2'000'000);
    expect = std::min(2 * expect, G::kMaxBackoffNs);
    EXPECT_EQ(g.backoff_ns(), expect);
    EXPECT_TRUE(g.throttled(t));
    t += g.backoff_ns();
    EXPECT_FALSE(g.throttled(t));
  }
  EXPECT_EQ(g.backoff_ns(), G::kMaxBackoffNs);
  // The load goes: a clean window, and the next fall-back is short again.
  for (int i = 0; i < G::kWindow; ++i) g.report(t += 1000, 10'000);
  g.report(t += 1000, 2'000'000);
  g.report(t += 1000, 2'000'000);
  EXPECT_EQ(g.backoff_ns(), G::kFirstBackoffNs);
}

}  // namespace

// The method spellings a LibTorch program uses, each agreeing with its free function.
TEST(TensorMethods, AsLibTorchSpellsThem) {
  const Tensor x = tensor({{1., 5., 2.}, {7., 0., 3.}});
  const Tensor y = tensor({{1., 4., 2.}, {8., 0., 1.}});
  EXPECT_EQ(x.eq(y).to_vector<bool>(), (std::vector<bool>{true, false, true, false, true, false}));
  EXPECT_EQ(x.ne(y).to_vector<bool>(), (std::vector<bool>{false, true, false, true, false, true}));
  EXPECT_EQ(x.lt(y).to_vector<bool>(), (std::vector<bool>{false, false, false, true, false, false}));
  EXPECT_EQ(x.le(y).to_vector<bool>(), (std::vector<bool>{true, false, true, true, true, false}));
  EXPECT_EQ(x.gt(2.0).to_vector<bool>(), (std::vector<bool>{false, true, false, true, false, true}));
  EXPECT_EQ(x.ge(2).to_vector<bool>(), (std::vector<bool>{false, true, true, true, false, true}));
  EXPECT_EQ(x.eq(5).sum().item<std::int64_t>(), 1);
  EXPECT_EQ(x.sum(1).to_vector<float>(), (std::vector<float>{8, 10}));
  EXPECT_EQ(x.sum(0, true).sizes(), (Shape{1, 3}));
  EXPECT_EQ(x.mean(1, true).sizes(), (Shape{2, 1}));
  EXPECT_EQ(mean(x, 1).to_vector<float>(), (std::vector<float>{8.f / 3, 10.f / 3}));
  EXPECT_EQ(sum(x, -1).to_vector<float>(), (std::vector<float>{8, 10}));
  auto [values, indices] = x.max(1);
  EXPECT_EQ(values.to_vector<float>(), (std::vector<float>{5, 7}));
  EXPECT_EQ(std::get<1>(x.max(1)).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(std::get<1>(x.min(1, true)).sizes(), (Shape{2, 1}));
  EXPECT_EQ(x.argmin(1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(std::get<0>(x.topk(2)).to_vector<float>(), (std::vector<float>{5, 2, 7, 3}));
  EXPECT_EQ(x.clamp(1.0, 4.0).to_vector<float>(), (std::vector<float>{1, 4, 2, 4, 1, 3}));
  EXPECT_EQ(x.clamp(3.0).to_vector<float>(), (std::vector<float>{3, 5, 3, 7, 3, 3}));
  EXPECT_EQ(x.masked_fill(x.gt(4), -1.0).to_vector<float>(), (std::vector<float>{1, -1, 2, -1, 0, 3}));
  Tensor z = x.clone();
  z.masked_fill_(z.lt(2), 9.0);
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{9, 5, 2, 7, 9, 3}));
  z.clamp_(std::nullopt, 6.0);
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{6, 5, 2, 6, 6, 3}));
  EXPECT_EQ(x.index_select(1, tensor({2, 0})).to_vector<float>(), (std::vector<float>{2, 1, 3, 7}));
  EXPECT_EQ(x.mm(y.t()).sizes(), (Shape{2, 2}));
  EXPECT_THROW(x.mm(tensor({1., 2., 3.})), Error);
  std::ostringstream os;
  os << x.sizes();
  EXPECT_EQ(os.str(), "[2, 3]");
}

// Gradients flow through the method spellings as through the free functions.
TEST(TensorMethods, Differentiable) {
  Tensor x = tensor({{1., 5.}, {7., 0.}}, DType::Float64).requires_grad_();
  (std::get<0>(x.max(1)).sum() + x.masked_fill(x.gt(4), 0.0).sum() + x.mean(0).sum()).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1.5, 1.5, 1.5, 1.5}));
}

// A reduction to one value gives the same bits at every thread count: its
// blocks do not depend on how many threads run them (they did: the load guard's
// fall-back from two threads to one changed a CNN's weights in the last bits).
TEST(Determinism, FullReductionsDoNotDependOnTheThreadCount) {
  const int before = get_num_threads();
  manual_seed(3);
  const Tensor x64 = randn({(1 << 20) + 12345}, DType::Float64);
  const Tensor x32 = randn({(1 << 20) + 777});
  set_num_threads(1);
  const double s1 = x64.sum().item<double>(), m1 = x64.mean().item<double>();
  const float f1 = x32.sum().item<float>();
  set_num_threads(2);
  const double s2 = x64.sum().item<double>(), m2 = x64.mean().item<double>();
  const float f2 = x32.sum().item<float>();
  set_num_threads(before);
  EXPECT_EQ(std::memcmp(&s1, &s2, sizeof s1), 0) << s1 << " vs " << s2;
  EXPECT_EQ(std::memcmp(&m1, &m2, sizeof m1), 0) << m1 << " vs " << m2;
  EXPECT_EQ(std::memcmp(&f1, &f2, sizeof f1), 0) << f1 << " vs " << f2;
}

TEST(Determinism, TheSwitchIsPyTorchs) {
  EXPECT_FALSE(are_deterministic_algorithms_enabled());
  use_deterministic_algorithms(true);
  EXPECT_TRUE(are_deterministic_algorithms_enabled());
  use_deterministic_algorithms(false);
  EXPECT_FALSE(are_deterministic_algorithms_enabled());
}
