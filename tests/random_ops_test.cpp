// multinomial: frequencies match the probabilities (a chi-square bound at a
// fixed seed), without replacement no index repeats and the second draw's
// marginal is the sequential one, generators make draws reproducible, and bad
// distributions are refused naming the op.
#include <gtest/gtest.h>

#include <set>

#include "ember/core/random.h"
#include "ember/ember.h"
#include "test_util.h"

namespace {
using namespace ember;

// Pearson's statistic of `counts` against `expected` probabilities over `n` draws.
double chi_square(const std::vector<std::int64_t>& counts, const std::vector<double>& expected, double n) {
  double chi = 0.0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double e = expected[i] * n;
    chi += (static_cast<double>(counts[i]) - e) * (static_cast<double>(counts[i]) - e) / e;
  }
  return chi;
}

TEST(Multinomial, FrequenciesFollowTheProbabilities) {
  // Unnormalised weights: 1:2:3:0:4. The zero category is never drawn.
  const Tensor w = from_vector(std::vector<float>{1, 2, 3, 0, 4});
  Generator gen(1234);
  const std::int64_t n = 40000;
  const Tensor s = multinomial(w, n, /*replacement=*/true, &gen);
  ASSERT_EQ(s.dtype(), DType::Int64);
  ASSERT_EQ(s.sizes(), (Shape{n}));
  std::vector<std::int64_t> counts(5, 0);
  for (std::int64_t k : s.to_vector<std::int64_t>()) ++counts.at(static_cast<std::size_t>(k));
  EXPECT_EQ(counts[3], 0);
  const std::vector<std::int64_t> nonzero{counts[0], counts[1], counts[2], counts[4]};
  // 3 degrees of freedom: P(chi2 > 16.27) = 0.001.
  EXPECT_LT(chi_square(nonzero, {0.1, 0.2, 0.3, 0.4}, static_cast<double>(n)), 16.27);
}

TEST(Multinomial, WithoutReplacementNeverRepeatsAndDrawsSequentially) {
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  Tensor rows = from_vector(std::vector<double>{1, 2, 3, 4}).unsqueeze(0).expand({20000, 4}).contiguous();
  Generator gen(99);
  const Tensor s = multinomial(rows, 2, false, &gen);
  ASSERT_EQ(s.sizes(), (Shape{20000, 2}));
  const auto v = s.to_vector<std::int64_t>();
  std::vector<std::int64_t> first(4, 0), second(4, 0);
  for (std::size_t r = 0; r < 20000; ++r) {
    ASSERT_NE(v[2 * r], v[2 * r + 1]) << "row " << r;
    ++first[static_cast<std::size_t>(v[2 * r])];
    ++second[static_cast<std::size_t>(v[2 * r + 1])];
  }
  // The second draw: P(j) = sum over i != j of p_i p_j / (1 - p_i).
  std::vector<double> q(4, 0.0);
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t i = 0; i < 4; ++i)
      if (i != j) q[j] += p[i] * p[j] / (1.0 - p[i]);
  EXPECT_LT(chi_square(first, p, 20000), 16.27);
  EXPECT_LT(chi_square(second, q, 20000), 16.27);
  // All categories, without replacement: a permutation.
  const auto all = multinomial(from_vector(std::vector<float>{5, 1, 1, 3}), 4, false, &gen).to_vector<std::int64_t>();
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()), (std::set<std::int64_t>{0, 1, 2, 3}));
}

TEST(Multinomial, AGeneratorOrTheDefaultSeedMakesDrawsReproducible) {
  const Tensor w = from_vector(std::vector<float>{0.3f, 0.3f, 0.4f, 1.0f, 2.0f, 0.5f}, Shape{2, 3});
  Generator a(7), b(7), c(8);
  const auto x = multinomial(w, 50, true, &a).to_vector<std::int64_t>();
  EXPECT_EQ(x, multinomial(w, 50, true, &b).to_vector<std::int64_t>());
  EXPECT_NE(x, multinomial(w, 50, true, &c).to_vector<std::int64_t>());
  manual_seed(5);
  const auto d1 = multinomial(w, 3, false).to_vector<std::int64_t>();
  manual_seed(5);
  EXPECT_EQ(d1, multinomial(w, 3, false).to_vector<std::int64_t>());
  // A one-hot row always gives its category.
  EXPECT_EQ(multinomial(from_vector(std::vector<float>{0, 0, 1}), 5, true, &a).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{2, 2, 2, 2, 2}));
}

#define EXPECT_HAS(message, ...)                                                                         \
  do {                                                                                                   \
    const std::string msg_ = (message);                                                                  \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__})                               \
      EXPECT_NE(msg_.find(part_), std::string::npos) << "message: " << msg_ << "\nmissing: " << part_; \
  } while (0)

TEST(Multinomial, RefusesBadDistributionsNamingTheOp) {
  const auto error = test_util::message_of;
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<float>{0.5f, -0.1f, 0.6f}), 1); }), "multinomial",
             "non-negative", "column 1");
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<float>{1, 1, 0, 0}, Shape{2, 2}), 1); }), "multinomial",
             "row 1", "sums to zero");
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<float>{1, NAN}), 1); }), "multinomial", "finite");
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<float>{1, 1}), 3); }), "multinomial",
             "without replacement", "3 samples", "2 categories");
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<float>{1, 0, 1}), 3); }), "multinomial", "2 nonzero");
  EXPECT_HAS(error([] { multinomial(zeros({2, 2, 2}), 1); }), "multinomial", "1-d or 2-d", "[2, 2, 2]");
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<std::int64_t>{1, 2}), 1); }), "multinomial",
             "floating point");
  EXPECT_HAS(error([] { multinomial(from_vector(std::vector<float>{1, 2}), 0); }), "multinomial", "positive");
}

}  // namespace
