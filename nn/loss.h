#pragma once
/// Loss modules: each holds its options and calls the functional loss.
#include "ember/nn/functional.h"
#include "ember/nn/module.h"

namespace ember::nn {

/// Cross entropy from logits [N, C] and int64 targets [N].
class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(F::CrossEntropyOptions options = {}) : Module("CrossEntropyLoss"), options(std::move(options)) {}
  using Module::forward;  // the one-tensor forward stays visible (it says a loss takes two)
  Tensor forward(const Tensor& logits, const Tensor& targets) { return F::cross_entropy(logits, targets, options); }
  Tensor operator()(const Tensor& logits, const Tensor& targets) { return forward(logits, targets); }
  F::CrossEntropyOptions options;
};

/// A loss of (input, target) with a reduction.
class PairLoss : public Module {
 public:
  using Fn = std::function<Tensor(const Tensor&, const Tensor&, Reduction)>;
  PairLoss(std::string type_name, Fn fn, Reduction reduction)
      : Module(std::move(type_name)), fn_(std::move(fn)), reduction_(reduction) {}
  using Module::forward;  // the one-tensor forward stays visible (it says a loss takes two)
  Tensor forward(const Tensor& input, const Tensor& target) { return fn_(input, target, reduction_); }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }

 private:
  Fn fn_;
  Reduction reduction_;
};

struct NLLLoss : PairLoss {
  explicit NLLLoss(Reduction r = Reduction::Mean)
      : PairLoss("NLLLoss", [](const Tensor& x, const Tensor& t, Reduction red) { return F::nll_loss(x, t, {}, -100, red); }, r) {}
};
struct MSELoss : PairLoss {
  explicit MSELoss(Reduction r = Reduction::Mean)
      : PairLoss("MSELoss", [](const Tensor& x, const Tensor& t, Reduction red) { return F::mse_loss(x, t, red); }, r) {}
};
struct L1Loss : PairLoss {
  explicit L1Loss(Reduction r = Reduction::Mean)
      : PairLoss("L1Loss", [](const Tensor& x, const Tensor& t, Reduction red) { return F::l1_loss(x, t, red); }, r) {}
};
struct BCELoss : PairLoss {
  explicit BCELoss(Reduction r = Reduction::Mean)
      : PairLoss("BCELoss", [](const Tensor& x, const Tensor& t, Reduction red) { return F::binary_cross_entropy(x, t, {}, red); }, r) {}
};
struct BCEWithLogitsLoss : PairLoss {
  explicit BCEWithLogitsLoss(Reduction r = Reduction::Mean)
      : PairLoss("BCEWithLogitsLoss",
                 [](const Tensor& x, const Tensor& t, Reduction red) { return F::binary_cross_entropy_with_logits(x, t, {}, {}, red); },
                 r) {}
};

}  // namespace ember::nn
