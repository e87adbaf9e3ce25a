#pragma once
// The MNIST models of the examples, shared by the programs that train them
// (mnist_mlp, mnist_cnn) and those that use a saved one (predict_digit,
// digit_server), and load_digit_model, which rebuilds the right one from a
// .safetensors file's "arch" metadata.
#include <cctype>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <ember/ember.h>

namespace examples {

/// 784-h1-...-10: ReLU with dropout (log_softmax out), or Nielsen's sigmoid
/// network (sigmoid out, no dropout). Parameters fc1 ... fcN, as mnist_mlp saves them.
struct MnistMLPImpl : ember::nn::Module {
  MnistMLPImpl(std::vector<std::int64_t> hidden, double dropout_p, bool sigmoid_units)
      : p(dropout_p), sigmoid(sigmoid_units) {
    std::int64_t in = 784;
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      layers.push_back(register_module("fc" + std::to_string(i + 1), ember::nn::Linear(in, hidden[i])));
      in = hidden[i];
    }
    out = register_module("fc" + std::to_string(hidden.size() + 1), ember::nn::Linear(in, 10));
  }
  ember::Tensor forward(const ember::Tensor& x) {
    ember::Tensor h = x.flatten(1);
    for (auto& fc : layers) h = sigmoid ? ember::sigmoid(fc(h)) : ember::dropout(ember::relu(fc(h)), p, is_training());
    return sigmoid ? ember::sigmoid(out(h)) : ember::log_softmax(out(h), 1);
  }
  std::vector<ember::nn::Linear> layers;
  ember::nn::Linear out{nullptr};
  double p;
  bool sigmoid;
};
EMBER_MODULE(MnistMLP);

/// The PyTorch examples' MNIST CNN: conv 32, conv 64, max-pool, dropout, fc 128, fc 10, log_softmax.
struct MnistCNNImpl : ember::nn::Module {
  MnistCNNImpl() {
    conv1 = register_module("conv1", ember::nn::Conv2d(ember::nn::Conv2dOptions(1, 32, 3).stride(1)));
    conv2 = register_module("conv2", ember::nn::Conv2d(ember::nn::Conv2dOptions(32, 64, 3).stride(1)));
    dropout1 = register_module("dropout1", ember::nn::Dropout(0.25));
    dropout2 = register_module("dropout2", ember::nn::Dropout(0.5));
    fc1 = register_module("fc1", ember::nn::Linear(9216, 128));
    fc2 = register_module("fc2", ember::nn::Linear(128, 10));
  }
  ember::Tensor forward(const ember::Tensor& input) {
    ember::Tensor x = ember::relu(conv1(input));
    x = ember::relu(conv2(x));
    x = ember::max_pool2d(x, {2, 2});
    x = dropout1(x).flatten(1);
    x = dropout2(ember::relu(fc1(x)));
    return ember::log_softmax(fc2(x), 1);
  }
  ember::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  ember::nn::Dropout dropout1{nullptr}, dropout2{nullptr};
  ember::nn::Linear fc1{nullptr}, fc2{nullptr};
};
EMBER_MODULE(MnistCNN);

/// A trained digit classifier loaded from a file, in eval mode.
struct DigitModel {
  std::string arch;        // the file's "arch" metadata (or what the tensors showed)
  bool normalized = true;  // trained on Normalize(0.1307, 0.3081) inputs
  std::function<ember::Tensor(const ember::Tensor&)> forward;  // [N, 1, 28, 28] -> [N, 10] scores
  std::shared_ptr<ember::nn::Module> module;

  /// Probabilities [N, 10] for images [N, 1, 28, 28] (softmax of log-probabilities; a
  /// sigmoid network's outputs are divided by their sum).
  ember::Tensor probabilities(const ember::Tensor& x) const {
    ember::NoGradGuard no_grad;
    ember::Tensor y = forward(x);
    if (arch.find("sigmoid") != std::string::npos) return y / y.sum({1}, true);
    return y.exp();
  }
};

/// Loads `state` strictly into `net` (eval mode); errors name the file.
inline void load_weights(ember::nn::Module& net, const ember::NamedTensors& state, const std::string& path) {
  try {
    net.load_state_dict(state);
  } catch (const ember::Error& e) {
    throw ember::Error(path + ": " + e.what());
  }
  net.eval();
}

/// Rebuilds the model a .safetensors file holds -- mnist_mlp's (any layer sizes,
/// from "arch" like "mlp 784-512-512-10 relu dropout 0.2") or mnist_cnn's ("... cnn")
/// -- and loads its weights (strictly: a tensor that does not fit is named with both shapes).
inline DigitModel load_digit_model(const std::string& path) {
  using namespace ember;
  safetensors::File file = safetensors::load(path);
  DigitModel m;
  auto it = file.metadata.find("arch");
  m.arch = it != file.metadata.end() ? it->second : "";
  bool has_conv = false;
  for (const auto& entry : file.tensors) has_conv |= entry.first.rfind("conv", 0) == 0;
  if (m.arch.empty()) m.arch = has_conv ? "cnn (from the tensor names)" : "mlp (from the tensor names)";
  const NamedTensors& state = file.tensors;
  auto find = [&](const std::string& name) -> const Tensor* {
    for (const auto& [n, t] : state)
      if (n == name) return &t;
    return nullptr;
  };
  if (m.arch.find("cnn") != std::string::npos) {
    MnistCNN net;
    load_weights(*net, state, path);
    m.forward = [net](const Tensor& x) mutable { return net(x); };
    m.module = net.ptr();
    return m;
  }
  EMBER_CHECK(m.arch.rfind("mlp", 0) == 0, "{}: unknown model \"{}\" (expected an mlp or cnn saved by mnist_mlp/mnist_cnn)",
              path, m.arch);
  // Hidden sizes: from "784-512-512-10" in the arch, else from fc1 ... fcN in the file.
  std::vector<std::int64_t> sizes;
  std::istringstream words(m.arch);
  for (std::string w; words >> w;)
    if (!w.empty() && std::isdigit(static_cast<unsigned char>(w[0])) && w.find('-') != std::string::npos) {
      std::istringstream parts(w);
      for (std::string s; std::getline(parts, s, '-');) sizes.push_back(std::stoll(s));
    }
  std::vector<std::int64_t> hidden;
  if (sizes.size() >= 2) {
    EMBER_CHECK(sizes.front() == 784 && sizes.back() == 10, "{}: arch \"{}\" is not 784-...-10", path, m.arch);
    hidden.assign(sizes.begin() + 1, sizes.end() - 1);
  } else {
    for (int i = 1; find("fc" + std::to_string(i + 1) + ".weight"); ++i)
      hidden.push_back(find("fc" + std::to_string(i) + ".weight")->size(0));
  }
  const bool sigmoid = m.arch.find("sigmoid") != std::string::npos;
  m.normalized = !sigmoid;  // Nielsen's network trains on raw [0, 1] pixels
  MnistMLP net(hidden, sigmoid ? 0.0 : 0.2, sigmoid);
  load_weights(*net, state, path);
  m.forward = [net](const Tensor& x) mutable { return net(x); };
  m.module = net.ptr();
  return m;
}

}  // namespace examples
