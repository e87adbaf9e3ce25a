#pragma once
/// A training checkpoint: the model's state_dict and the optimizer's state in
/// one safetensors file ("model.*" and "optimizer.*"), so a run can resume
/// exactly where it stopped.
#include <map>
#include <string>

#include "ember/nn/module.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

/// Writes model and optimizer state atomically to `path`.
void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer& optimizer,
                     const std::map<std::string, std::string>& metadata = {});
/// Restores both from `path` (strict names); returns the file's metadata.
std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer);

}  // namespace ember::optim
