#pragma once
/// Recurrent layers in PyTorch's layout: RNN (tanh or relu), LSTM and GRU over
/// whole sequences, and their one-step cells. Parameters carry PyTorch's names
/// and shapes (weight_ih_l0 [G*H, I], weight_hh_l0 [G*H, H], bias_ih_l0,
/// bias_hh_l0, "_reverse" for the backward direction; G = 1, 4, 3), so a
/// PyTorch state_dict loads by name. Every weight starts U(-1/sqrt(H), 1/sqrt(H)).
#include <optional>
#include <string>
#include <tuple>

#include "ember/core/options.h"
#include "ember/nn/module.h"
#include "ember/ops/rnn_ops.h"

namespace ember::nn {

/// Options of nn::RNN, nn::LSTM and nn::GRU: RNNOptions(28, 128).num_layers(2).batch_first(true).
struct RNNOptions {
  RNNOptions(std::int64_t input_size, std::int64_t hidden_size) : input_size_(input_size), hidden_size_(hidden_size) {}
  EMBER_OPTION(RNNOptions, std::int64_t, input_size, 0)
  EMBER_OPTION(RNNOptions, std::int64_t, hidden_size, 0)
  EMBER_OPTION(RNNOptions, std::int64_t, num_layers, 1)
  /// "tanh" or "relu" (nn::RNN only).
  EMBER_OPTION(RNNOptions, std::string, nonlinearity, "tanh")
  EMBER_OPTION(RNNOptions, bool, bias, true)
  /// Input and output [N, T, *] instead of [T, N, *] (the states keep [D*L, N, H]).
  EMBER_OPTION(RNNOptions, bool, batch_first, false)
  /// Dropout on each layer's output but the last's, in training mode.
  EMBER_OPTION(RNNOptions, double, dropout, 0.0)
  EMBER_OPTION(RNNOptions, bool, bidirectional, false)
};
using LSTMOptions = RNNOptions;
using GRUOptions = RNNOptions;

/// What RNN, LSTM and GRU share: the parameters of every layer and direction.
template <class Derived>
class RNNImplBase : public Cloneable<Derived> {
 public:
  RNNImplBase(RnnMode mode, const RNNOptions& options);
  std::string extra_repr() const override;
  /// Registers every weight and bias and initialises them (clone() calls it too).
  void reset();
  /// U(-1/sqrt(H), 1/sqrt(H)) for every parameter, as PyTorch.
  void reset_parameters();
  /// w_ih, w_hh, b_ih, b_hh per layer and direction (PyTorch's _flat_weights).
  TensorList all_weights() const;

  RNNOptions options;

 protected:
  /// The stacked recurrence on this module's weights; `lengths` as in ember::rnn.
  RnnResult run(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& lengths);
  RnnMode mode_;
};

/// Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), over
/// input [T, N, I] ([N, T, I] when batch_first, or unbatched [T, I]).
/// forward(input, h0 [D*L, N, H] or undefined (zeros), lengths) -> (output
/// [T, N, D*H], h_n [D*L, N, H]). lengths (int64 [N]): each sequence's own
/// length; h_n is its state after its own last step, its padded outputs are 0.
class RNNImpl : public RNNImplBase<RNNImpl> {
 public:
  explicit RNNImpl(const RNNOptions& options);
  RNNImpl(std::int64_t input_size, std::int64_t hidden_size) : RNNImpl(RNNOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {}, const Tensor& lengths = {});
};

/// The LSTM (gates i, f, g, o): forward(input, optional (h0, c0), lengths) ->
/// (output, (h_n, c_n)); shapes and lengths as for RNN.
class LSTMImpl : public RNNImplBase<LSTMImpl> {
 public:
  explicit LSTMImpl(const LSTMOptions& options);
  LSTMImpl(std::int64_t input_size, std::int64_t hidden_size) : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& input,
                                                         std::optional<std::tuple<Tensor, Tensor>> hx = std::nullopt,
                                                         const Tensor& lengths = {});
};

/// The GRU (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))):
/// forward(input, h0, lengths) -> (output, h_n); shapes and lengths as for RNN.
class GRUImpl : public RNNImplBase<GRUImpl> {
 public:
  explicit GRUImpl(const GRUOptions& options);
  GRUImpl(std::int64_t input_size, std::int64_t hidden_size) : GRUImpl(GRUOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {}, const Tensor& lengths = {});
};

EMBER_MODULE(RNN);
EMBER_MODULE(LSTM);
EMBER_MODULE(GRU);
extern template class RNNImplBase<RNNImpl>;
extern template class RNNImplBase<LSTMImpl>;
extern template class RNNImplBase<GRUImpl>;

/// Options of the cells: RNNCellOptions(28, 128).bias(false).
struct RNNCellOptions {
  RNNCellOptions(std::int64_t input_size, std::int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  EMBER_OPTION(RNNCellOptions, std::int64_t, input_size, 0)
  EMBER_OPTION(RNNCellOptions, std::int64_t, hidden_size, 0)
  EMBER_OPTION(RNNCellOptions, bool, bias, true)
  /// "tanh" or "relu" (nn::RNNCell only).
  EMBER_OPTION(RNNCellOptions, std::string, nonlinearity, "tanh")
};
using LSTMCellOptions = RNNCellOptions;
using GRUCellOptions = RNNCellOptions;

/// What the cells share: weight_ih [G*H, I], weight_hh [G*H, H], bias_ih, bias_hh.
template <class Derived>
class RNNCellImplBase : public Cloneable<Derived> {
 public:
  RNNCellImplBase(RnnMode mode, const RNNCellOptions& options);
  std::string extra_repr() const override;
  /// Registers the weights and biases and initialises them (clone() calls it too).
  void reset();
  /// U(-1/sqrt(H), 1/sqrt(H)) for every parameter, as PyTorch.
  void reset_parameters();

  RNNCellOptions options;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;

 protected:
  /// hx, or zeros [N, H] ([H] for an unbatched input [I]) when undefined; checks the input's rank.
  Tensor state_or_zeros(const Tensor& input, const Tensor& hx) const;
  RnnMode mode_;
};

/// One Elman RNN step: forward(input [N, I] or [I], h [N, H] or undefined (zeros)) -> h'.
class RNNCellImpl : public RNNCellImplBase<RNNCellImpl> {
 public:
  explicit RNNCellImpl(const RNNCellOptions& options);
  RNNCellImpl(std::int64_t input_size, std::int64_t hidden_size) : RNNCellImpl(RNNCellOptions(input_size, hidden_size)) {}
  Tensor forward(const Tensor& input, const Tensor& hx = {});
};

/// One LSTM step: forward(input [N, I] or [I], optional (h, c)) -> (h', c').
class LSTMCellImpl : public RNNCellImplBase<LSTMCellImpl> {
 public:
  explicit LSTMCellImpl(const LSTMCellOptions& options);
  LSTMCellImpl(std::int64_t input_size, std::int64_t hidden_size)
      : LSTMCellImpl(LSTMCellOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx = std::nullopt);
};

/// One GRU step: forward(input [N, I] or [I], h or undefined (zeros)) -> h'.
class GRUCellImpl : public RNNCellImplBase<GRUCellImpl> {
 public:
  explicit GRUCellImpl(const GRUCellOptions& options);
  GRUCellImpl(std::int64_t input_size, std::int64_t hidden_size) : GRUCellImpl(GRUCellOptions(input_size, hidden_size)) {}
  Tensor forward(const Tensor& input, const Tensor& hx = {});
};

EMBER_MODULE(RNNCell);
EMBER_MODULE(LSTMCell);
EMBER_MODULE(GRUCell);
extern template class RNNCellImplBase<RNNCellImpl>;
extern template class RNNCellImplBase<LSTMCellImpl>;
extern template class RNNCellImplBase<GRUCellImpl>;

}  // namespace ember::nn
