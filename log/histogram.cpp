#include "ember/log/histogram.h"

#include <algorithm>
#include <cmath>

#include "ember/core/error.h"

namespace ember::logging {
namespace {

// Statistics over the finite values; the rest are counted and left out, so a
// run whose weights blew up still logs (TensorBoard's proto has no NaN bucket).
std::vector<double> finite_stats(const std::vector<double>& values, Histogram& h) {
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
    else ++h.non_finite;
  }
  h.num = static_cast<double>(v.size());
  if (v.empty()) return v;
  h.min = h.max = v[0];
  for (double x : v) {
    h.min = std::min(h.min, x);
    h.max = std::max(h.max, x);
    h.sum += x;
    h.sum_squares += x * x;
  }
  return v;
}

const std::vector<double>& tensorflow_edges() {
  static const std::vector<double> edges = [] {
    std::vector<double> pos;
    for (double v = 1e-12; v < 1e20; v *= 1.1) pos.push_back(v);
    std::vector<double> e;
    e.reserve(2 * pos.size() + 1);
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) e.push_back(-*it);
    e.push_back(0.0);
    e.insert(e.end(), pos.begin(), pos.end());
    return e;
  }();
  return edges;
}

}  // namespace

Histogram histogram_tensorflow(const std::vector<double>& values) {
  Histogram h;
  const std::vector<double> v = finite_stats(values, h);
  if (v.empty()) return h;
  const std::vector<double>& edges = tensorflow_edges();
  // np.histogram over the edges: bucket j is [edges[j], edges[j+1]), the last
  // one closed; values outside every bucket fall into the end buckets, which
  // only happens beyond +-1e20.
  std::vector<double> counts(edges.size() - 1, 0.0);
  for (double x : v) {
    auto it = std::upper_bound(edges.begin(), edges.end(), x);
    std::ptrdiff_t j = (it - edges.begin()) - 1;
    j = std::clamp<std::ptrdiff_t>(j, 0, static_cast<std::ptrdiff_t>(counts.size()) - 1);
    counts[static_cast<std::size_t>(j)] += 1;
  }
  std::size_t first = 0, last = counts.size() - 1;
  while (counts[first] == 0) ++first;
  while (counts[last] == 0) --last;
  // PyTorch's make_histogram keeps one empty bucket before the first full one
  // (a left edge for the chart) and gives each bucket its right edge as limit.
  const std::size_t start = first > 0 ? first - 1 : 0;
  if (first == 0) {
    h.bucket.push_back(0.0);
    h.bucket_limit.push_back(edges[0]);
  }
  for (std::size_t j = start; j <= last; ++j) {
    h.bucket.push_back(counts[j]);
    h.bucket_limit.push_back(edges[j + 1]);
  }
  return h;
}

Histogram histogram_uniform(const std::vector<double>& values, std::int64_t bins) {
  EMBER_CHECK(bins > 0, "histogram: bins must be positive, got {}", bins);
  Histogram h;
  const std::vector<double> v = finite_stats(values, h);
  if (v.empty()) return h;
  double lo = h.min, hi = h.max;
  if (lo == hi) {  // numpy widens a degenerate range to [x - 0.5, x + 0.5]
    lo -= 0.5;
    hi += 0.5;
  }
  const auto n = static_cast<std::size_t>(bins);
  h.bucket.assign(n, 0.0);
  const double width = (hi - lo) / static_cast<double>(n);
  for (double x : v) {
    auto j = static_cast<std::size_t>((x - lo) / width);
    h.bucket[std::min(j, n - 1)] += 1;
  }
  for (std::size_t j = 0; j < n; ++j) h.bucket_limit.push_back(j + 1 == n ? hi : lo + width * static_cast<double>(j + 1));
  return h;
}

}  // namespace ember::logging
