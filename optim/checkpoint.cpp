#include "ember/optim/checkpoint.h"

#include "ember/nn/safetensors.h"

namespace ember::optim {

void save_checkpoint(const std::string& path, const nn::Module& model, const Optimizer& optimizer,
                     const std::map<std::string, std::string>& metadata) {
  NamedTensors all;
  for (auto& [name, t] : model.state_dict()) all.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer.state_dict()) all.emplace_back("optimizer." + name, t);
  safetensors::save(path, all, metadata);
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, nn::Module& model, Optimizer& optimizer) {
  safetensors::File f = safetensors::load(path);
  NamedTensors model_state, optimizer_state;
  for (auto& [name, t] : f.tensors) {
    if (name.rfind("model.", 0) == 0) model_state.emplace_back(name.substr(6), t);
    else if (name.rfind("optimizer.", 0) == 0) optimizer_state.emplace_back(name.substr(10), t);
    else throw Error(fmt::format("load_checkpoint: {}: unexpected entry \"{}\" (expected model.* or optimizer.*)", path, name));
  }
  model.load_state_dict(model_state);
  optimizer.load_state_dict(optimizer_state);
  return f.metadata;
}

}  // namespace ember::optim
