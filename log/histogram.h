#pragma once
/// Histograms as TensorBoard's HistogramProto holds them. As np.histogram makes
/// them (and so torch.utils.tensorboard): bucket i counts the values x with
/// bucket_limit[i-1] <= x < bucket_limit[i] (the last bucket also takes x equal
/// to its limit); bucket 0 is empty or, for uniform bins, starts at min.
#include <cstdint>
#include <vector>

namespace ember::logging {

struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit;  ///< right edge of each bucket
  std::vector<double> bucket;        ///< count of each bucket
  std::int64_t non_finite = 0;       ///< NaN and +-inf values left out of everything above
};

/// TensorFlow's default buckets, as torch.utils.tensorboard's bins="tensorflow":
/// edges +-1e-12 * 1.1^k up to 1e20 and 0, trimmed to the non-empty range (one
/// empty bucket kept on the left, as PyTorch's make_histogram does).
Histogram histogram_tensorflow(const std::vector<double>& values);

/// `bins` equal-width buckets from the smallest to the largest value (numpy's
/// np.histogram(values, bins), the last bucket closed on the right).
Histogram histogram_uniform(const std::vector<double>& values, std::int64_t bins);

}  // namespace ember::logging
