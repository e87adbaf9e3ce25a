#pragma once
/// Optimizers, as torch.optim: parameter groups with their own
/// hyperparameters, per-parameter state created on first use, step() under
/// no-grad, parameters without a gradient skipped, and state that can be
/// saved and loaded so a run resumes exactly.
#include <map>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::optim {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Hyper = std::map<std::string, double>;

/// Parameters that share hyperparameters. Options left out take the optimizer's defaults.
struct ParamGroup {
  TensorList params;
  Hyper options;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient.
  void step();
  /// Clears the gradients (to undefined tensors, or zeros when !set_to_none).
  void zero_grad(bool set_to_none = true);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  /// Adds a group; missing options are filled from the defaults and validated.
  void add_param_group(ParamGroup group);
  const std::string& name() const { return name_; }

  /// Step counts, state tensors and hyperparameters under "state.G.I.key" and
  /// "param_groups.G.option" (G group, I parameter index in the group).
  NamedTensors state_dict() const;
  /// Restores what state_dict() gave. Nothing is trusted: every entry must name a
  /// group and parameter this optimizer has, once; a step must be a whole number in
  /// [0, 2^53]; a state tensor must be one state_names() lists, with the parameter's
  /// shape and dtype; options must pass validate(). On error nothing is changed.
  void load_state_dict(const NamedTensors& state);

 protected:
  Optimizer(std::string name, Hyper defaults);
  /// The per-parameter state: named tensors and a step count.
  struct State {
    std::map<std::string, Tensor> tensors;
    std::int64_t step = 0;
  };
  /// Updates parameter p (grad defined) of a group with options `o`; runs under no-grad.
  virtual void update(Tensor& p, const Tensor& grad, const Hyper& o, State& state) = 0;
  /// Throws for invalid hyperparameters ("Adam: invalid learning rate: -1").
  virtual void validate(const Hyper& o) const = 0;
  /// The names of the state tensors update() may keep per parameter ("exp_avg"), which
  /// load_state_dict() accepts; an empty list accepts any name.
  virtual std::vector<std::string> state_names() const { return {}; }
  void init_groups(std::vector<ParamGroup> groups);

 private:
  std::string name_;
  Hyper defaults_;
  std::vector<ParamGroup> groups_;
  std::map<const TensorImpl*, State> state_;
};

/// Scales the gradients so their total norm is at most max_norm; returns the norm before.
double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type = 2.0);
/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const TensorList& params, double clip_value);

}  // namespace ember::optim
