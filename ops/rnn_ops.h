#pragma once
/// The recurrent ops behind nn::RNN, nn::LSTM, nn::GRU and their cells, in
/// PyTorch's layout: weight_ih [G*H, I], weight_hh [G*H, H], biases [G*H],
/// with the gate rows in PyTorch's order (LSTM i, f, g, o; GRU r, z, n, with
/// b_hn inside r * (W_hn h + b_hn)). Time-major: x [T, N, I].
///
/// Two paths compute the same function. The reference path composes
/// differentiable ops (linear, sigmoid, tanh, where, ...) step by step, so it
/// is twice differentiable; it runs for float64 (gradcheck) and whenever the
/// fused path is off. The fused path (float32) projects all time steps' inputs
/// with one matmul, runs each step as one matmul and one fused gate loop, and
/// back-propagates through time in one node; differentiated again
/// (create_graph), that node falls back on the reference path.
#include <optional>
#include <string_view>
#include <utility>

#include "ember/core/tensor.h"

namespace ember {

/// Which recurrence: Elman RNN with tanh or relu, LSTM, or GRU.
enum class RnnMode { Tanh, Relu, Lstm, Gru };

/// Gates per hidden unit: 1 (RNN), 4 (LSTM), 3 (GRU).
std::int64_t rnn_gate_count(RnnMode mode);
/// "RNN_TANH", "RNN_RELU", "LSTM", "GRU" (PyTorch's mode names).
std::string_view rnn_mode_name(RnnMode mode);

/// One Elman RNN step: act(x W_ih^T + b_ih + h W_hh^T + b_hh). x: [N, I], h: [N, H] -> [N, H].
Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
/// One LSTM step: (h', c') from x: [N, I], h, c: [N, H]; weights [4H, I], [4H, H].
std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih = {}, const Tensor& b_hh = {});
/// One GRU step: h' from x: [N, I], h: [N, H]; weights [3H, I], [3H, H].
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih = {},
                const Tensor& b_hh = {});

/// What one layer in one direction returns: output [T, N, H] (zeros at padded
/// steps), the final h [N, H] and, for the LSTM, the final c [N, H].
struct RnnLayerResult {
  Tensor output, h_n, c_n;
};
/// One layer, one direction, over x: [T, N, I] from h0 (and c0 for the LSTM):
/// [N, H]. `lengths` (int64 [N], each in [1, T], any order; undefined: all T)
/// gives each sequence's own length: its state stops at its own last step,
/// its padded outputs are zero and take no gradient. `reverse` runs from each
/// sequence's own last step back to step 0.
RnnLayerResult rnn_layer(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                         const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths = {},
                         bool reverse = false);

/// The reference (composed, twice-differentiable) path of rnn_layer, whatever the dtype.
RnnLayerResult rnn_layer_reference(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                   const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                                   const Tensor& lengths = {}, bool reverse = false);

/// Whether float32 layers take the fused path (default on; EMBER_RNN_FUSED=0 at
/// start-up turns it off). Returns the previous setting.
bool set_rnn_fused(bool enabled);
bool rnn_fused();

/// Options of the stacked recurrence (PyTorch's names).
struct RnnArgs {
  std::int64_t num_layers = 1;
  bool bidirectional = false;
  bool batch_first = false;
  double dropout = 0.0;  // on each layer's output but the last's, when training
  bool training = true;
};
/// What the stacked recurrence returns: output [T, N, D*H] ([N, T, D*H] when
/// batch_first), h_n and c_n [D*num_layers, N, H] (c_n only for the LSTM).
struct RnnResult {
  Tensor output, h_n, c_n;
};
/// PyTorch's nn.RNN / nn.LSTM / nn.GRU forward. input: [T, N, I] ([N, T, I] when
/// batch_first) or unbatched [T, I]; h0, c0: [D*num_layers, N, H] or undefined
/// (zeros); `weights` per layer and direction (layer 0 forward, layer 0
/// reverse, layer 1 ...) w_ih, w_hh, b_ih, b_hh (biases undefined when absent);
/// lengths as in rnn_layer.
RnnResult rnn(RnnMode mode, const Tensor& input, const Tensor& h0, const Tensor& c0, const TensorList& weights,
              const RnnArgs& args, const Tensor& lengths = {});

}  // namespace ember
