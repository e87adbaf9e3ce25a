#pragma once
/// Optimizers, as torch.optim (and LibTorch's C++ frontend): parameter groups
/// with their own typed options, typed per-parameter state created on first
/// use, step() under no-grad, parameters without a gradient skipped, and
/// state that can be saved and loaded so a run resumes exactly.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ember/core/error.h"
#include "ember/core/named_tensors.h"
#include "ember/core/tensor.h"

namespace ember::optim {

using ember::NamedTensors;

/// Visits each hyperparameter of an options struct by name, so state_dict()
/// can save and load them without string-keyed storage.
struct OptionVisitor {
  virtual ~OptionVisitor() = default;
  /// A number, a flag and a pair (Adam's betas) by name.
  virtual void number(const char* name, double& value) = 0;
  virtual void flag(const char* name, bool& value) = 0;
  virtual void pair(const char* name, std::tuple<double, double>& value) = 0;
};

/// The base of every optimizer's options (AdamOptions, SGDOptions): the
/// learning rate, which every optimizer has and schedulers read and write.
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  /// The learning rate.
  double lr() const { return lr_; }
  /// Sets the learning rate (schedulers use this).
  void set_lr(double lr) { lr_ = lr; }
  /// The learning rate, in LibTorch's spelling.
  double get_lr() const { return lr_; }
  /// A copy of the most derived options.
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  /// Calls `v` for every hyperparameter, "lr" first.
  virtual void visit(OptionVisitor& v) = 0;

 protected:
  explicit OptimizerOptions(double lr) : lr_(lr) {}
  OptimizerOptions(const OptimizerOptions&) = default;
  OptimizerOptions& operator=(const OptimizerOptions&) = default;
  double lr_;
};

/// Implements clone() for an options struct `Self`.
template <class Self>
class OptionsBase : public OptimizerOptions {
 public:
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Self>(static_cast<const Self&>(*this));
  }

 protected:
  using OptimizerOptions::OptimizerOptions;
};

/// The base of every optimizer's per-parameter state (AdamParamState): the
/// number of steps taken, and the state tensors by name for state_dict().
struct OptimizerParamState {
  virtual ~OptimizerParamState() = default;
  /// Steps taken with this parameter (Adam's bias correction uses it).
  std::int64_t step = 0;
  /// The state tensors by name ("exp_avg"), undefined until first used.
  virtual std::vector<std::pair<const char*, Tensor*>> tensors() = 0;
};

/// Parameters that share options; a group given no options takes the optimizer's defaults.
class OptimizerParamGroup {
 public:
  /// A group that takes the optimizer's default options.
  OptimizerParamGroup(TensorList params) : params_(std::move(params)) {}  // NOLINT: implicit, as LibTorch
  /// A group with its own options (the optimizer's own options type, e.g. AdamOptions).
  template <class Options, class = std::enable_if_t<std::is_base_of_v<OptimizerOptions, Options>>>
  OptimizerParamGroup(TensorList params, const Options& options)
      : params_(std::move(params)), options_(options.clone()) {}
  /// A group with its own options, as LibTorch takes them.
  OptimizerParamGroup(TensorList params, std::unique_ptr<OptimizerOptions> options)
      : params_(std::move(params)), options_(std::move(options)) {}
  /// Copies deep-copy the options.
  OptimizerParamGroup(const OptimizerParamGroup& other);
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) = default;

  /// The group's parameters.
  TensorList& params() { return params_; }
  const TensorList& params() const { return params_; }
  /// False until the group joins an optimizer (or is given options).
  bool has_options() const { return options_ != nullptr; }
  /// The group's options; throws if it has none (before it joined an optimizer).
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  /// Replaces the group's options (the optimizer checks their type when it steps).
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }

 private:
  TensorList params_;
  std::unique_ptr<OptimizerOptions> options_;
};
using ParamGroup = OptimizerParamGroup;

/// The base of every optimizer: groups, lazily created per-parameter state, step(), state_dict().
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  void step();
  /// Clears the gradients (to undefined tensors, or zeros when !set_to_none).
  void zero_grad(bool set_to_none = true);

  /// The parameter groups, each with its options (schedulers set lr through them).
  std::vector<OptimizerParamGroup>& param_groups() { return groups_; }
  const std::vector<OptimizerParamGroup>& param_groups() const { return groups_; }
  /// Adds a group; one without options gets a copy of the defaults. Options are validated.
  void add_param_group(const OptimizerParamGroup& group);
  /// The class name ("Adam"), used in messages and stored in state_dict().
  const std::string& name() const { return name_; }
  /// The options given to the constructor.
  const OptimizerOptions& defaults() const { return *defaults_; }
  /// The state of parameter p, or nullptr before its first step.
  OptimizerParamState* state(const Tensor& p);

  /// PyTorch's structure: "type" (the class name as uint8 bytes), "param_groups.G.option"
  /// and "state.G.I.key" (G group, I parameter index in the group); "step" is int64.
  NamedTensors state_dict() const;
  /// Restores what state_dict() gave. Nothing is trusted: "type" must be this class; every
  /// entry must name a group and parameter this optimizer has, once; a step must be a whole
  /// number in [0, 2^53]; a state tensor must be one the state keeps, with the parameter's
  /// shape and dtype; options must be valid. On error nothing is changed.
  void load_state_dict(const NamedTensors& state);

 protected:
  Optimizer(std::string name, const OptimizerOptions& defaults);
  /// Validates the defaults and adds the groups; call from the derived constructor.
  void init_groups(const std::vector<OptimizerParamGroup>& groups);
  /// Updates parameter p (grad defined) of a group with options `o`; runs under no-grad.
  virtual void update(Tensor& p, const Tensor& grad, const OptimizerOptions& o, OptimizerParamState& state) = 0;
  /// Throws for options of another type or invalid values ("Adam: invalid beta1: 1.5").
  virtual void validate(const OptimizerOptions& o) const = 0;
  /// A fresh, empty per-parameter state of this optimizer's type.
  virtual std::unique_ptr<OptimizerParamState> make_state() const = 0;

 private:
  std::string name_;
  std::unique_ptr<OptimizerOptions> defaults_;
  std::vector<OptimizerParamGroup> groups_;
  std::map<const TensorImpl*, std::unique_ptr<OptimizerParamState>> state_;
};

/// `o` as options type O, or an error naming the optimizer (for validate() and update()).
template <class O>
const O& options_as(const OptimizerOptions& o, const std::string& optimizer) {
  const O* typed = dynamic_cast<const O*>(&o);
  if (!typed) throw Error(optimizer + ": got options of another optimizer (a parameter group's options must be " +
                          optimizer + "'s own)");
  return *typed;
}

/// Checks `ok` for hyperparameter `what` of `optimizer` ("SGD: invalid learning rate: -1").
void check_option(bool ok, const std::string& optimizer, const char* what, double value);

}  // namespace ember::optim
