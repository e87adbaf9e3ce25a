#include "ember/optim/scheduler.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ember/core/factory.h"
#include "ember/optim/adam.h"
#include "ember/optim/adamw.h"
#include "ember/optim/rmsprop.h"
#include "ember/optim/sgd.h"

namespace ember::optim {
namespace {

// The largest epoch or counter a loaded state may hold (as the optimizer's step).
constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;

std::vector<double> lrs(const Optimizer& o) {
  std::vector<double> out;
  for (const auto& g : o.param_groups()) out.push_back(g.options().lr());
  return out;
}

Tensor int64_scalar(std::int64_t v) { return from_vector(std::vector<std::int64_t>{v}, Shape{}); }

// An int64 scalar in [lo, hi].
std::int64_t read_count(const Tensor& t, const std::string& where, std::int64_t lo, std::int64_t hi) {
  EMBER_CHECK(t.numel() == 1 && t.dtype() == DType::Int64, "{}: must be one int64, got {} of shape {}", where,
              t.dtype(), shape_str(t.sizes()));
  const auto v = t.item<std::int64_t>();
  EMBER_CHECK(v >= lo && v <= hi, "{}: {} is out of range [{}, {}]", where, v, lo, hi);
  return v;
}

// A floating-point scalar that is not NaN (infinities allowed: ReduceLROnPlateau starts at one).
double read_number(const Tensor& t, const std::string& where) {
  EMBER_CHECK(t.numel() == 1 && is_floating(t.dtype()), "{}: must be one floating-point number, got {} of shape {}",
              where, t.dtype(), shape_str(t.sizes()));
  const double v = t.item<double>();
  EMBER_CHECK(!std::isnan(v), "{}: is NaN", where);
  return v;
}

}  // namespace

// ---- Scheduler ----
std::vector<double> Scheduler::get_last_lr() const { return lrs(optimizer_); }

NamedTensors Scheduler::state_dict() const {
  const std::string type = name();
  NamedTensors out{{"type", from_vector(std::vector<std::uint8_t>(type.begin(), type.end()))}};
  for (auto& entry : save()) out.push_back(std::move(entry));
  return out;
}

void Scheduler::load_state_dict(const NamedTensors& state) {
  std::map<std::string, Tensor> given;
  for (const auto& [key, t] : state) {
    EMBER_CHECK(given.emplace(key, t).second, "{}: load_state_dict: \"{}\" appears twice", name(), key);
    EMBER_CHECK(t.defined(), "{}: load_state_dict: \"{}\" is an undefined tensor", name(), key);
  }
  auto type = given.find("type");
  EMBER_CHECK(type != given.end(), "{}: load_state_dict: the state has no \"type\" entry", name());
  const Tensor& tt = type->second;
  std::string from;
  if (tt.dtype() == DType::UInt8 && tt.dim() == 1 && tt.numel() <= 64)
    for (std::uint8_t c : tt.contiguous().to_vector<std::uint8_t>()) from.push_back(c >= 0x20 && c < 0x7f ? char(c) : '?');
  EMBER_CHECK(from == name(), "{}: load_state_dict: the state belongs to another scheduler: it is {} state, not {}",
              name(), from.empty() ? "unnamed" : from, name());
  given.erase(type);
  std::set<std::string> expected;
  for (const auto& [key, _] : save()) expected.insert(key);
  for (const auto& [key, _] : given)
    EMBER_CHECK(expected.count(key), "{}: load_state_dict: unexpected entry \"{}\"", name(), key);
  for (const auto& key : expected)
    EMBER_CHECK(given.count(key), "{}: load_state_dict: missing entry \"{}\"", name(), key);
  restore(given);
}

// ---- LRScheduler ----
LRScheduler::LRScheduler(Optimizer& optimizer) : Scheduler(optimizer), base_lrs_(lrs(optimizer)) {}

void LRScheduler::step() {
  ++epoch_;
  apply();
}

void LRScheduler::apply() {
  auto& groups = optimizer_.param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lr_at(base_lrs_[i], epoch_));
}

NamedTensors LRScheduler::save() const {
  return {{"last_epoch", int64_scalar(epoch_)}, {"base_lrs", from_vector(base_lrs_)}};
}

void LRScheduler::restore(const std::map<std::string, Tensor>& state) {
  const std::string who = std::string(name()) + ": load_state_dict: ";
  const std::int64_t epoch = read_count(state.at("last_epoch"), who + "\"last_epoch\"", 0, kMaxCount);
  const Tensor& b = state.at("base_lrs");
  const std::size_t groups = optimizer_.param_groups().size();
  EMBER_CHECK(b.dim() == 1 && static_cast<std::size_t>(b.numel()) == groups && is_floating(b.dtype()),
              "{}\"base_lrs\": must be {} floating-point numbers (one per parameter group), got {} of shape {}", who,
              groups, b.dtype(), shape_str(b.sizes()));
  std::vector<double> base = b.to(DType::Float64).contiguous().to_vector<double>();
  for (double v : base) EMBER_CHECK(std::isfinite(v) && v >= 0.0, "{}\"base_lrs\": invalid learning rate: {}", who, v);
  epoch_ = epoch;
  base_lrs_ = std::move(base);
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, "StepLR: step_size must be positive, got {}", step_size);
}
double StepLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
}
double MultiStepLR::lr_at(double base, std::int64_t epoch) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base * std::pow(gamma_, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {}
double ExponentialLR::lr_at(double base, std::int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  EMBER_CHECK(t_max > 0, "CosineAnnealingLR: T_max must be positive, got {}", t_max);
}
double CosineAnnealingLR::lr_at(double base, std::int64_t epoch) const {
  return eta_min_ + (base - eta_min_) * (1.0 + std::cos(M_PI * static_cast<double>(epoch) / static_cast<double>(t_max_))) / 2.0;
}

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::int64_t)> lr_lambda)
    : LRScheduler(optimizer), lr_lambda_(std::move(lr_lambda)) {
  EMBER_CHECK(static_cast<bool>(lr_lambda_), "LambdaLR: lr_lambda is empty");
  apply();
}
double LambdaLR::lr_at(double base, std::int64_t epoch) const {
  const double factor = lr_lambda_(epoch);
  EMBER_CHECK(std::isfinite(factor) && factor >= 0.0,
              "LambdaLR: lr_lambda({}) gave {}; a factor must be finite and non-negative", epoch, factor);
  return base * factor;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  EMBER_CHECK(start_factor > 0.0 && start_factor <= 1.0, "LinearLR: start_factor must be in (0, 1], got {}",
              start_factor);
  EMBER_CHECK(end_factor >= 0.0 && end_factor <= 1.0, "LinearLR: end_factor must be in [0, 1], got {}", end_factor);
  EMBER_CHECK(total_iters > 0, "LinearLR: total_iters must be positive, got {}", total_iters);
  apply();
}
double LinearLR::lr_at(double base, std::int64_t epoch) const {
  const double t = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
  return base * (start_factor_ + (end_factor_ - start_factor_) * t);
}

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  EMBER_CHECK(!schedulers_.empty(), "SequentialLR: needs at least one scheduler");
  EMBER_CHECK(milestones_.size() + 1 == schedulers_.size(),
              "SequentialLR: {} schedulers need {} milestones, got {}", schedulers_.size(), schedulers_.size() - 1,
              milestones_.size());
  for (std::size_t i = 0; i < schedulers_.size(); ++i) {
    EMBER_CHECK(schedulers_[i] != nullptr, "SequentialLR: scheduler {} is null", i);
    EMBER_CHECK(&schedulers_[i]->optimizer_ == &optimizer,
                "SequentialLR: scheduler {} ({}) drives another optimizer than the one given", i,
                schedulers_[i]->name());
  }
  for (std::size_t i = 0; i < milestones_.size(); ++i)
    EMBER_CHECK(milestones_[i] > 0 && (i == 0 || milestones_[i] > milestones_[i - 1]),
                "SequentialLR: milestones must be positive and increasing, got {} at position {}", milestones_[i], i);
  base_lrs_ = schedulers_.front()->base_lrs_;
  apply();
}
double SequentialLR::lr_at(double base, std::int64_t epoch) const {
  const auto idx = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) -
                                            milestones_.begin());
  const std::int64_t local = idx == 0 ? epoch : epoch - milestones_[idx - 1];
  return schedulers_[idx]->lr_at(base, local);
}

// ---- OneCycleLR ----
namespace {
double cos_anneal(double start, double end, double pct) { return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1.0); }
// Sets the momentum OneCycleLR cycles: SGD's and RMSprop's momentum, Adam's and
// AdamW's beta1 (as PyTorch). False for an optimizer that has none.
bool set_momentum(OptimizerOptions& o, double m) {
  if (auto* sgd = dynamic_cast<SGDOptions*>(&o)) sgd->momentum(m);
  else if (auto* rms = dynamic_cast<RMSpropOptions*>(&o)) rms->momentum(m);
  else if (auto* adam = dynamic_cast<AdamOptions*>(&o)) adam->beta1(m);
  else if (auto* adamw = dynamic_cast<AdamWOptions*>(&o)) adamw->beta1(m);
  else return false;
  return true;
}
}  // namespace

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, double pct_start, double div_factor,
                       double final_div_factor, bool cycle_momentum, double base_momentum, double max_momentum)
    : Scheduler(optimizer), max_lr_(max_lr), initial_lr_(max_lr / div_factor),
      min_lr_(max_lr / div_factor / final_div_factor), pct_start_(pct_start), total_steps_(total_steps),
      cycle_momentum_(cycle_momentum), base_momentum_(base_momentum), max_momentum_(max_momentum) {
  EMBER_CHECK(total_steps > 0, "OneCycleLR: total_steps must be positive, got {}", total_steps);
  EMBER_CHECK(pct_start >= 0.0 && pct_start <= 1.0, "OneCycleLR: pct_start must be in [0, 1], got {}", pct_start);
  if (cycle_momentum)
    for (auto& g : optimizer.param_groups())
      EMBER_CHECK(set_momentum(*g.options().clone(), 0.0),
                  "OneCycleLR: {} has no momentum to cycle (pass cycle_momentum = false)", optimizer.name());
  apply();
}

void OneCycleLR::step() {
  EMBER_CHECK(step_ + 1 < total_steps_ + 1, "OneCycleLR: tried to step {} times with total_steps {}", step_ + 1,
              total_steps_);
  ++step_;
  apply();
}

void OneCycleLR::apply() {
  // PyTorch's two phases: up to pct_start * total - 1, then down to total - 1.
  const double up_end = pct_start_ * static_cast<double>(total_steps_) - 1.0;
  const double down_end = static_cast<double>(total_steps_) - 1.0;
  const double s = static_cast<double>(step_);
  double lr, momentum;
  if (s <= up_end) {
    const double pct = up_end > 0 ? s / up_end : 1.0;
    lr = cos_anneal(initial_lr_, max_lr_, pct);
    momentum = cos_anneal(max_momentum_, base_momentum_, pct);
  } else {
    const double pct = (s - up_end) / (down_end - up_end);
    lr = cos_anneal(max_lr_, min_lr_, pct);
    momentum = cos_anneal(base_momentum_, max_momentum_, pct);
  }
  for (auto& g : optimizer_.param_groups()) {
    g.options().set_lr(lr);
    if (cycle_momentum_) set_momentum(g.options(), momentum);
  }
}

NamedTensors OneCycleLR::save() const { return {{"last_epoch", int64_scalar(step_)}}; }

void OneCycleLR::restore(const std::map<std::string, Tensor>& state) {
  step_ = read_count(state.at("last_epoch"), "OneCycleLR: load_state_dict: \"last_epoch\"", 0, total_steps_);
  apply();
}

// ---- ReduceLROnPlateau ----
ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Mode mode, double factor, std::int64_t patience,
                                     double threshold, std::int64_t cooldown, double min_lr, double eps)
    : Scheduler(optimizer), mode_(mode), factor_(factor), threshold_(threshold), min_lr_(min_lr), eps_(eps),
      best_(mode == Mode::Min ? INFINITY : -INFINITY), patience_(patience), cooldown_(cooldown) {
  EMBER_CHECK(factor < 1.0, "ReduceLROnPlateau: factor should be < 1.0, got {}", factor);
}

bool ReduceLROnPlateau::better(double a, double best) const {
  // PyTorch's default threshold_mode "rel".
  return mode_ == Mode::Min ? a < best * (1.0 - threshold_) : a > best * (1.0 + threshold_);
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (better(metric, best_)) {
    best_ = metric;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    bad_epochs_ = 0;
  }
  if (bad_epochs_ > patience_) {
    for (auto& g : optimizer_.param_groups()) {
      const double old_lr = g.options().lr(), new_lr = std::max(old_lr * factor_, min_lr_);
      if (old_lr - new_lr > eps_) g.options().set_lr(new_lr);
    }
    cooldown_counter_ = cooldown_;
    bad_epochs_ = 0;
  }
}

NamedTensors ReduceLROnPlateau::save() const {
  return {{"last_epoch", int64_scalar(last_epoch_)},
          {"best", scalar_tensor(best_, DType::Float64)},
          {"num_bad_epochs", int64_scalar(bad_epochs_)},
          {"cooldown_counter", int64_scalar(cooldown_counter_)}};
}

void ReduceLROnPlateau::restore(const std::map<std::string, Tensor>& state) {
  const std::string who = "ReduceLROnPlateau: load_state_dict: ";
  const std::int64_t epoch = read_count(state.at("last_epoch"), who + "\"last_epoch\"", 0, kMaxCount);
  const double best = read_number(state.at("best"), who + "\"best\"");
  const std::int64_t bad = read_count(state.at("num_bad_epochs"), who + "\"num_bad_epochs\"", 0, kMaxCount);
  const std::int64_t cooldown = read_count(state.at("cooldown_counter"), who + "\"cooldown_counter\"", 0, kMaxCount);
  last_epoch_ = epoch;
  best_ = best;
  bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

}  // namespace ember::optim
