#pragma once
/// A training checkpoint: the model's state_dict, the optimizer's state and,
/// optionally, the scheduler's in one safetensors file ("model.*",
/// "optimizer.*", "scheduler.*"), so a run can resume exactly where it stopped.
#include <map>
#include <string>

#include "ember/nn/module.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/scheduler.h"

namespace ember::optim {

/// Writes model and optimizer state atomically to `path`.
void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer& optimizer,
                     const std::map<std::string, std::string>& metadata = {});
/// Writes model, optimizer and scheduler state atomically to `path`.
void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer& optimizer,
                     const Scheduler& scheduler, const std::map<std::string, std::string>& metadata = {});
/// Restores model and optimizer from `path` (strict names); returns the file's metadata.
/// A file that also holds scheduler state is refused: pass the scheduler too.
/// A refused file changes neither model nor optimizer (nor scheduler).
std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer);
/// Restores model, optimizer and scheduler from `path`; returns the file's metadata.
std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer,
                                                   Scheduler& scheduler);

}  // namespace ember::optim
