#pragma once
/// NamedTensors: ordered (name, tensor) pairs, the one type of state_dicts,
/// optimizer state, checkpoints and safetensors files.
#include <string>
#include <utility>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

/// Tensors with names, in order ("fc1.weight", "state.0.0.exp_avg").
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

}  // namespace ember
