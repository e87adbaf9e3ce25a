#pragma once
/// The losses' options, in LibTorch's style: chained setters, and a reduction
/// that converts implicitly so `MSELoss(nn::kSum)` and
/// `F::nll_loss(x, t, F::NLLLossFuncOptions().ignore_index(0).reduction(nn::kSum))` both read.
#include "ember/core/options.h"
#include "ember/core/tensor.h"

namespace ember {

/// How a loss reduces its per-element values: kept (None), averaged (Mean) or summed (Sum).
/// At top level as in LibTorch (`Reduction::Sum`), and in nn (`nn::Reduction`, `nn::kSum`).
enum class Reduction { None, Mean, Sum };

namespace nn {
using ember::Reduction;
/// LibTorch's reduction constants (torch::kMean).
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kMean = Reduction::Mean;
inline constexpr Reduction kSum = Reduction::Sum;

/// The option every loss has: reduction (default Mean). Self is the derived options type.
template <class Self>
class LossOptions {
 public:
  LossOptions(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}  // NOLINT: implicit, as LibTorch's
  /// None, Mean or Sum.
  Self& reduction(Reduction r) {
    reduction_ = r;
    return static_cast<Self&>(*this);
  }
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_;
};

/// MSELossOptions().reduction(kSum).
struct MSELossOptions : LossOptions<MSELossOptions> {
  using LossOptions::LossOptions;
};
/// L1LossOptions().reduction(kSum).
struct L1LossOptions : LossOptions<L1LossOptions> {
  using LossOptions::LossOptions;
};

/// NLLLossOptions().weight(w).ignore_index(-100).reduction(kMean).
struct NLLLossOptions : LossOptions<NLLLossOptions> {
  using LossOptions::LossOptions;
  /// Per-class weights [C], or undefined for none.
  EMBER_OPTION(NLLLossOptions, Tensor, weight, {})
  /// Targets equal to this contribute nothing, not even to the mean's denominator.
  EMBER_OPTION(NLLLossOptions, std::int64_t, ignore_index, -100)
};

/// CrossEntropyLossOptions().weight(w).ignore_index(-100).label_smoothing(0.1).reduction(kMean).
struct CrossEntropyLossOptions : LossOptions<CrossEntropyLossOptions> {
  using LossOptions::LossOptions;
  /// Per-class weights [C], or undefined for none.
  EMBER_OPTION(CrossEntropyLossOptions, Tensor, weight, {})
  /// Targets equal to this contribute nothing.
  EMBER_OPTION(CrossEntropyLossOptions, std::int64_t, ignore_index, -100)
  /// In [0, 1]: the share of the target's mass spread evenly over the classes.
  EMBER_OPTION(CrossEntropyLossOptions, double, label_smoothing, 0.0)
};

/// BCELossOptions().weight(w).reduction(kMean).
struct BCELossOptions : LossOptions<BCELossOptions> {
  using LossOptions::LossOptions;
  /// Weights broadcast against the input, or undefined.
  EMBER_OPTION(BCELossOptions, Tensor, weight, {})
};

/// BCEWithLogitsLossOptions().weight(w).pos_weight(p).reduction(kMean).
struct BCEWithLogitsLossOptions : LossOptions<BCEWithLogitsLossOptions> {
  using LossOptions::LossOptions;
  /// Weights broadcast against the input, or undefined.
  EMBER_OPTION(BCEWithLogitsLossOptions, Tensor, weight, {})
  /// The positive examples' weight per class (broadcast along the last dim), or undefined.
  EMBER_OPTION(BCEWithLogitsLossOptions, Tensor, pos_weight, {})
};

namespace functional {
using ember::Reduction;
/// LibTorch's names for the functional forms' options.
using MSELossFuncOptions = MSELossOptions;
using L1LossFuncOptions = L1LossOptions;
using NLLLossFuncOptions = NLLLossOptions;
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using BinaryCrossEntropyFuncOptions = BCELossOptions;
using BinaryCrossEntropyWithLogitsFuncOptions = BCEWithLogitsLossOptions;
}  // namespace functional

}  // namespace nn
}  // namespace ember
