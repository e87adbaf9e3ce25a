#pragma once
/// Learning-rate schedulers, as torch.optim.lr_scheduler: call step() once
/// per epoch (per batch for OneCycleLR; with the metric for ReduceLROnPlateau).
/// Each reads and writes lr through param_groups()[i].options().lr() / set_lr(),
/// and has a state_dict() that save_checkpoint() stores, so a run resumes exactly.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ember/optim/optimizer.h"

namespace ember::optim {

/// What every scheduler has: the optimizer it drives and state to save and load.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  /// The class name ("StepLR"), used in messages and stored in state_dict().
  virtual const char* name() const = 0;
  /// The current learning rate of each group.
  std::vector<double> get_last_lr() const;
  /// "type" (the class name as uint8 bytes), "last_epoch" (int64) and what the scheduler needs.
  NamedTensors state_dict() const;
  /// Restores what state_dict() gave, strictly: the same type, every entry once, nothing
  /// unknown or missing, values in range. On error nothing is changed.
  void load_state_dict(const NamedTensors& state);

 protected:
  explicit Scheduler(Optimizer& optimizer) : optimizer_(optimizer) {}
  /// The entries after "type", in order.
  virtual NamedTensors save() const = 0;
  /// Checks, then sets, every entry of save() from `state` (which holds exactly those names).
  virtual void restore(const std::map<std::string, Tensor>& state) = 0;
  Optimizer& optimizer_;
};

/// Sets every group's lr from a closed form of the epoch count.
class LRScheduler : public Scheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  /// Advances one epoch and sets the new learning rates.
  void step();
  std::int64_t last_epoch() const { return epoch_; }
  /// The learning rate of each group at epoch 0.
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 protected:
  /// The learning rate of a group with initial rate `base` at epoch `epoch`.
  virtual double lr_at(double base, std::int64_t epoch) const = 0;
  /// "last_epoch" and "base_lrs" (float64 [groups]).
  NamedTensors save() const override;
  void restore(const std::map<std::string, Tensor>& state) override;
  /// Sets every group's lr to lr_at(base, epoch_) (the schedulers that change the lr at epoch 0
  /// call it from their constructor, as PyTorch's initial step does).
  void apply();
  std::vector<double> base_lrs_;
  std::int64_t epoch_ = 0;
  friend class SequentialLR;  // runs its schedulers' lr_at
};

/// lr * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  const char* name() const override { return "StepLR"; }
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::int64_t step_size_;
  double gamma_;
};

/// lr * gamma^(number of milestones passed).
class MultiStepLR : public LRScheduler {
 public:
  const char* name() const override { return "MultiStepLR"; }
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// lr * gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  const char* name() const override { return "ExponentialLR"; }
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  double gamma_;
};

/// eta_min + (lr - eta_min) (1 + cos(pi epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  const char* name() const override { return "CosineAnnealingLR"; }
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0.0);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::int64_t t_max_;
  double eta_min_;
};

/// lr * lr_lambda(epoch), as torch.optim.lr_scheduler.LambdaLR: the callable gives the
/// factor (a warm-up then cosine decay in one function, for example). Sets epoch 0's lr at once.
/// state_dict() holds the epoch and base rates, not the callable: rebuild it with the same one.
class LambdaLR : public LRScheduler {
 public:
  const char* name() const override { return "LambdaLR"; }
  LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> lr_lambda);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::function<double(std::int64_t)> lr_lambda_;
};

/// lr * a factor going linearly from start_factor to end_factor over total_iters epochs, then
/// staying there (PyTorch's LinearLR; the usual warm-up). Sets epoch 0's lr at once.
class LinearLR : public LRScheduler {
 public:
  const char* name() const override { return "LinearLR"; }
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0,
           std::int64_t total_iters = 5);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  double start_factor_, end_factor_;
  std::int64_t total_iters_;
};

/// Runs schedulers one after another, as PyTorch's SequentialLR: schedulers[i] from epoch
/// milestones[i - 1] (counting its own epochs from 0 there). Warm-up then cosine:
///   SequentialLR(opt, {make_shared<LinearLR>(opt, 0.01, 1.0, 100),
///                      make_shared<CosineAnnealingLR>(opt, 1900, 1e-4)}, {100}).
/// The base rates are the first scheduler's (made first, before any changed the lr).
/// state_dict() holds the epoch and base rates, from which every scheduler's rate follows.
class SequentialLR : public LRScheduler {
 public:
  const char* name() const override { return "SequentialLR"; }
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);

 protected:
  double lr_at(double base, std::int64_t epoch) const override;
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;
};

/// The one-cycle policy (step per batch): warm up from max_lr/div_factor to max_lr over
/// pct_start of total_steps, then anneal (cosine) to max_lr/(div_factor*final_div_factor).
/// Momentum (SGD's momentum or Adam's beta1) cycles inversely between max and base momentum.
class OneCycleLR : public Scheduler {
 public:
  const char* name() const override { return "OneCycleLR"; }
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, double pct_start = 0.3,
             double div_factor = 25.0, double final_div_factor = 1e4, bool cycle_momentum = true,
             double base_momentum = 0.85, double max_momentum = 0.95);
  /// Advances one batch and sets the new learning rate (and momentum).
  void step();
  std::int64_t last_epoch() const { return step_; }

 protected:
  /// "last_epoch": the steps taken.
  NamedTensors save() const override;
  void restore(const std::map<std::string, Tensor>& state) override;

 private:
  void apply();
  double max_lr_, initial_lr_, min_lr_, pct_start_;
  std::int64_t total_steps_, step_ = 0;
  bool cycle_momentum_;
  double base_momentum_, max_momentum_;
};

/// Divides the lr by 1/factor when a metric stops improving for `patience` epochs.
class ReduceLROnPlateau : public Scheduler {
 public:
  const char* name() const override { return "ReduceLROnPlateau"; }
  enum class Mode { Min, Max };
  ReduceLROnPlateau(Optimizer& optimizer, Mode mode = Mode::Min, double factor = 0.1, std::int64_t patience = 10,
                    double threshold = 1e-4, std::int64_t cooldown = 0, double min_lr = 0.0, double eps = 1e-8);
  /// Call with the epoch's validation metric.
  void step(double metric);
  /// The best metric so far.
  double best() const { return best_; }
  /// Epochs since the metric last improved.
  std::int64_t num_bad_epochs() const { return bad_epochs_; }

 protected:
  /// "last_epoch", "best" (float64), "num_bad_epochs" and "cooldown_counter" (int64).
  NamedTensors save() const override;
  void restore(const std::map<std::string, Tensor>& state) override;

 private:
  bool better(double a, double best) const;
  Mode mode_;
  double factor_, threshold_, min_lr_, eps_, best_;
  std::int64_t patience_, cooldown_, cooldown_counter_ = 0, bad_epochs_ = 0, last_epoch_ = 0;
};

}  // namespace ember::optim
