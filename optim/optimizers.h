#pragma once
/// SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta with PyTorch's update rules
/// and defaults. Construct from parameters (or groups) and an options struct:
///   optim::Adam opt(model->parameters(), optim::AdamOptions(1e-3).weight_decay(1e-4));
#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  EMBER_OPTION(SGDOptions, double, lr, 0.0)
  EMBER_OPTION(SGDOptions, double, momentum, 0.0)
  EMBER_OPTION(SGDOptions, double, dampening, 0.0)
  EMBER_OPTION(SGDOptions, double, weight_decay, 0.0)
  EMBER_OPTION(SGDOptions, bool, nesterov, false)
 public:
  Hyper hyper() const;
};

struct AdamOptions {
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  EMBER_OPTION(AdamOptions, double, lr, 1e-3)
  EMBER_OPTION(AdamOptions, double, beta1, 0.9)
  EMBER_OPTION(AdamOptions, double, beta2, 0.999)
  EMBER_OPTION(AdamOptions, double, eps, 1e-8)
  EMBER_OPTION(AdamOptions, double, weight_decay, 0.0)
  EMBER_OPTION(AdamOptions, bool, amsgrad, false)
 public:
  Hyper hyper() const;
};

struct RMSpropOptions {
  explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  EMBER_OPTION(RMSpropOptions, double, lr, 1e-2)
  EMBER_OPTION(RMSpropOptions, double, alpha, 0.99)
  EMBER_OPTION(RMSpropOptions, double, eps, 1e-8)
  EMBER_OPTION(RMSpropOptions, double, weight_decay, 0.0)
  EMBER_OPTION(RMSpropOptions, double, momentum, 0.0)
  EMBER_OPTION(RMSpropOptions, bool, centered, false)
 public:
  Hyper hyper() const;
};

struct AdagradOptions {
  explicit AdagradOptions(double lr = 1e-2) : lr_(lr) {}
  EMBER_OPTION(AdagradOptions, double, lr, 1e-2)
  EMBER_OPTION(AdagradOptions, double, lr_decay, 0.0)
  EMBER_OPTION(AdagradOptions, double, weight_decay, 0.0)
  EMBER_OPTION(AdagradOptions, double, initial_accumulator_value, 0.0)
  EMBER_OPTION(AdagradOptions, double, eps, 1e-10)
 public:
  Hyper hyper() const;
};

struct AdadeltaOptions {
  explicit AdadeltaOptions(double lr = 1.0) : lr_(lr) {}
  EMBER_OPTION(AdadeltaOptions, double, lr, 1.0)
  EMBER_OPTION(AdadeltaOptions, double, rho, 0.9)
  EMBER_OPTION(AdadeltaOptions, double, eps, 1e-6)
  EMBER_OPTION(AdadeltaOptions, double, weight_decay, 0.0)
 public:
  Hyper hyper() const;
};

/// Declares an optimizer class built on Optimizer with options struct OPTIONS.
#define EMBER_OPTIMIZER(NAME, OPTIONS)                                                        \
  class NAME : public Optimizer {                                                             \
   public:                                                                                    \
    NAME(const TensorList& params, const OPTIONS& options);                                   \
    NAME(std::vector<ParamGroup> groups, const OPTIONS& options);                             \
                                                                                              \
   protected:                                                                                 \
    void update(Tensor& p, const Tensor& grad, const Hyper& o, State& state) override;        \
    void validate(const Hyper& o) const override;                                             \
    std::vector<std::string> state_names() const override;                                    \
  };

EMBER_OPTIMIZER(SGD, SGDOptions)
EMBER_OPTIMIZER(Adam, AdamOptions)
/// Adam with decoupled weight decay (default 1e-2, as PyTorch).
EMBER_OPTIMIZER(AdamW, AdamOptions)
EMBER_OPTIMIZER(RMSprop, RMSpropOptions)
EMBER_OPTIMIZER(Adagrad, AdagradOptions)
EMBER_OPTIMIZER(Adadelta, AdadeltaOptions)
#undef EMBER_OPTIMIZER

}  // namespace ember::optim
