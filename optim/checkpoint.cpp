#include "ember/optim/checkpoint.h"

#include "ember/nn/safetensors.h"

namespace ember::optim {
namespace {

void save(const std::string& path, const nn::Module& model, const Optimizer& optimizer, const Scheduler* scheduler,
          const std::map<std::string, std::string>& metadata) {
  NamedTensors all;
  for (auto& [name, t] : model.state_dict()) all.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer.state_dict()) all.emplace_back("optimizer." + name, t);
  if (scheduler)
    for (auto& [name, t] : scheduler->state_dict()) all.emplace_back("scheduler." + name, t);
  safetensors::save(path, all, metadata);
}

std::map<std::string, std::string> load(const std::string& path, nn::Module& model, Optimizer& optimizer,
                                        Scheduler* scheduler) {
  safetensors::File f = safetensors::load(path);
  NamedTensors model_state, optimizer_state, scheduler_state;
  for (auto& [name, t] : f.tensors) {
    if (name.starts_with("model.")) model_state.emplace_back(name.substr(6), t);
    else if (name.starts_with("optimizer.")) optimizer_state.emplace_back(name.substr(10), t);
    else if (name.starts_with("scheduler.")) scheduler_state.emplace_back(name.substr(10), t);
    else
      throw Error(fmt::format("load_checkpoint: {}: unexpected entry \"{}\" (expected model.*, optimizer.* or scheduler.*)",
                              path, name));
  }
  // A scheduler left out would restart its schedule silently (the drift this state exists to stop).
  EMBER_CHECK(scheduler || scheduler_state.empty(),
              "load_checkpoint: {}: the file holds scheduler state; pass the scheduler to load_checkpoint", path);
  EMBER_CHECK(!scheduler || !scheduler_state.empty(),
              "load_checkpoint: {}: the file holds no scheduler state for the {} given", path,
              scheduler ? scheduler->name() : "");
  // Each load checks everything before it changes anything. The optimizer and the
  // scheduler go first and are put back if a later part is refused, so a refused
  // file (Adam state for an SGD, another model's weights) changes nothing.
  const NamedTensors optimizer_before = optimizer.state_dict();
  optimizer.load_state_dict(optimizer_state);
  NamedTensors scheduler_before;
  try {
    if (scheduler) {
      scheduler_before = scheduler->state_dict();
      scheduler->load_state_dict(scheduler_state);
    }
    model.load_state_dict(model_state);
  } catch (...) {
    optimizer.load_state_dict(optimizer_before);
    if (!scheduler_before.empty()) scheduler->load_state_dict(scheduler_before);
    throw;
  }
  return f.metadata;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer& optimizer,
                     const std::map<std::string, std::string>& metadata) {
  save(path, model, optimizer, nullptr, metadata);
}

void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer& optimizer,
                     const Scheduler& scheduler, const std::map<std::string, std::string>& metadata) {
  save(path, model, optimizer, &scheduler, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer) {
  return load(path, model, optimizer, nullptr);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer,
                                                   Scheduler& scheduler) {
  return load(path, model, optimizer, &scheduler);
}

}  // namespace ember::optim
