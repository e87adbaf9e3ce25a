// Sampling from categorical distributions: multinomial, as torch.multinomial.
// The draws come from a Generator (the default one unless given), so a fixed
// seed gives the same indices on any number of threads.
#include <cmath>
#include <mutex>
#include <vector>

#include "ember/core/random.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// The index in [0, n) where the running sum of w first exceeds u * total
// (skipping zero weights, so a zero-probability category is never drawn).
std::int64_t draw(const std::vector<double>& w, double total, double u) {
  const double target = u * total;
  double run = 0.0;
  std::int64_t last = -1;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (w[i] <= 0.0) continue;
    run += w[i];
    last = static_cast<std::int64_t>(i);
    if (target < run) return last;
  }
  return last;  // rounding left target at the very top: the last positive category
}

}  // namespace

Tensor multinomial(const Tensor& probs, std::int64_t num_samples, bool replacement, Generator* generator) {
  EMBER_CHECK(probs.defined(), "multinomial: probs is an undefined tensor");
  EMBER_CHECK(probs.dim() == 1 || probs.dim() == 2, "multinomial: probs must be 1-d or 2-d, got shape {}",
              shape_str(probs.sizes()));
  EMBER_CHECK(is_floating(probs.dtype()), "multinomial: probs must be floating point, got {}", probs.dtype());
  EMBER_CHECK(num_samples > 0, "multinomial: num_samples must be positive, got {}", num_samples);
  const std::int64_t n = probs.sizes().back();
  const std::int64_t rows = probs.dim() == 2 ? probs.sizes()[0] : 1;
  EMBER_CHECK(n > 0, "multinomial: probs of shape {} has no categories", shape_str(probs.sizes()));
  EMBER_CHECK(replacement || num_samples <= n,
              "multinomial: cannot draw {} samples without replacement from {} categories (probs of shape {})",
              num_samples, n, shape_str(probs.sizes()));
  const std::vector<double> p = probs.detach().to(DType::Float64).contiguous().to_vector<double>();
  std::vector<std::int64_t> out(static_cast<std::size_t>(rows * num_samples));
  Generator& gen = generator != nullptr ? *generator : default_generator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<double> w(p.begin() + r * n, p.begin() + (r + 1) * n);
    double total = 0.0;
    std::int64_t positive = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = w[static_cast<std::size_t>(i)];
      EMBER_CHECK(std::isfinite(v) && v >= 0.0,
                  "multinomial: probs must be finite and non-negative, got {} at row {}, column {}", v, r, i);
      total += v;
      positive += v > 0.0;
    }
    EMBER_CHECK(total > 0.0, "multinomial: row {} of probs (shape {}) sums to zero", r, shape_str(probs.sizes()));
    EMBER_CHECK(replacement || num_samples <= positive,
                "multinomial: cannot draw {} samples without replacement from row {}, which has {} nonzero "
                "categories",
                num_samples, r, positive);
    for (std::int64_t s = 0; s < num_samples; ++s) {
      const std::int64_t k = draw(w, total, gen.uniform());
      out[static_cast<std::size_t>(r * num_samples + s)] = k;
      if (!replacement) {
        // Without replacement: the drawn category leaves the distribution (the sum is
        // taken again rather than decremented, so rounding cannot leave it at zero).
        w[static_cast<std::size_t>(k)] = 0.0;
        total = 0.0;
        for (double v : w) total += v;
      }
    }
  }
  const Shape shape = probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples};
  return from_vector(out, shape);
}

}  // namespace ember
