// The recurrent ops. The cells and the reference layer are compositions of
// differentiable ops, so their gradients (and gradients of gradients) come
// from those ops. The fused float32 layer (kernels/rnn.cpp) records one node;
// its backward is the fused back-propagation through time, or, when the
// gradient itself must be differentiated (create_graph), the reference
// layer's graph rebuilt from the saved inputs and differentiated by autograd.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "ember/autograd/engine.h"
#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/kernels/rnn.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"
#include "ember/ops/rnn_ops.h"

namespace ember {
namespace {

std::atomic<bool>& fused_flag() {
  static std::atomic<bool> flag{[] {
    const char* v = std::getenv("EMBER_RNN_FUSED");
    return !(v && std::strcmp(v, "0") == 0);
  }()};
  return flag;
}

// Gate k of a [..., G*H] tensor.
Tensor gate(const Tensor& gates, std::int64_t k, std::int64_t H) { return gates.narrow(-1, k * H, H); }

void check_cell(const char* op, std::int64_t gates, const Tensor& x, const Tensor& h, const Tensor& w_ih,
                const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  for (const Tensor* t : {&x, &h, &w_ih, &w_hh}) kernels::check_defined(*t, op);
  EMBER_CHECK(w_ih.dim() == 2 && w_hh.dim() == 2 && w_hh.size(0) == gates * w_hh.size(1) &&
                  w_ih.size(0) == w_hh.size(0),
              "{}: expected weight_ih [{}*H, I] and weight_hh [{}*H, H], got {} and {}", op, gates, gates,
              shape_str(w_ih.sizes()), shape_str(w_hh.sizes()));
  const std::int64_t H = w_hh.size(1);
  EMBER_CHECK(x.dim() >= 1 && x.size(-1) == w_ih.size(1), "{}: input {} does not match weight_ih {} (input size {})",
              op, shape_str(x.sizes()), shape_str(w_ih.sizes()), w_ih.size(1));
  EMBER_CHECK(h.dim() >= 1 && h.size(-1) == H && (h.dim() == 1 ? 1 : h.size(0)) == (x.dim() == 1 ? 1 : x.size(0)),
              "{}: hidden state {} does not match input {} and hidden size {}", op, shape_str(h.sizes()),
              shape_str(x.sizes()), H);
  for (const Tensor* b : {&b_ih, &b_hh})
    EMBER_CHECK(!b->defined() || b->sizes() == Shape{gates * H}, "{}: expected biases [{}], got {}", op, gates * H,
                shape_str(b->sizes()));
}

// The lengths as numbers, checked against [T, N].
std::vector<std::int64_t> lengths_of(const Tensor& lengths, std::int64_t T, std::int64_t N, const char* op) {
  if (!lengths.defined()) return {};
  EMBER_CHECK(lengths.dim() == 1 && lengths.size(0) == N && !lengths.is_floating_point(),
              "{}: lengths must be an integer tensor [{}] (one per sequence), got {} {}", op, N,
              shape_str(lengths.sizes()), lengths.dtype());
  std::vector<std::int64_t> v = lengths.to_vector<std::int64_t>();
  for (std::size_t n = 0; n < v.size(); ++n)
    EMBER_CHECK(v[n] >= 1 && v[n] <= T, "{}: length {} of sequence {} is outside [1, {}] (the input has {} steps)",
                op, v[n], n, T, T);
  return v;
}

std::string_view node_name(RnnMode mode) {
  switch (mode) {
    case RnnMode::Tanh: return "RnnTanhBackward";
    case RnnMode::Relu: return "RnnReluBackward";
    case RnnMode::Lstm: return "LstmBackward";
    case RnnMode::Gru: return "GruBackward";
  }
  return "RnnBackward";
}

}  // namespace

std::int64_t rnn_gate_count(RnnMode mode) { return mode == RnnMode::Lstm ? 4 : mode == RnnMode::Gru ? 3 : 1; }

std::string_view rnn_mode_name(RnnMode mode) {
  switch (mode) {
    case RnnMode::Tanh: return "RNN_TANH";
    case RnnMode::Relu: return "RNN_RELU";
    case RnnMode::Lstm: return "LSTM";
    case RnnMode::Gru: return "GRU";
  }
  return "RNN";
}

bool set_rnn_fused(bool enabled) { return fused_flag().exchange(enabled); }
bool rnn_fused() { return fused_flag().load(); }

Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  check_cell("rnn_tanh_cell", 1, x, h, w_ih, w_hh, b_ih, b_hh);
  return tanh(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh));
}

Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  check_cell("rnn_relu_cell", 1, x, h, w_ih, w_hh, b_ih, b_hh);
  return relu(linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh));
}

std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  check_cell("lstm_cell", 4, x, h, w_ih, w_hh, b_ih, b_hh);
  kernels::check_defined(c, "lstm_cell");
  EMBER_CHECK(c.sizes() == h.sizes(), "lstm_cell: cell state {} and hidden state {} differ", shape_str(c.sizes()),
              shape_str(h.sizes()));
  const std::int64_t H = w_hh.size(1);
  const Tensor gates = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh);
  const Tensor i = sigmoid(gate(gates, 0, H)), f = sigmoid(gate(gates, 1, H));
  const Tensor g = tanh(gate(gates, 2, H)), o = sigmoid(gate(gates, 3, H));
  Tensor cy = f * c + i * g;
  Tensor hy = o * tanh(cy);
  return {hy, cy};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  check_cell("gru_cell", 3, x, h, w_ih, w_hh, b_ih, b_hh);
  const std::int64_t H = w_hh.size(1);
  const Tensor gi = linear(x, w_ih, b_ih), gh = linear(h, w_hh, b_hh);
  const Tensor r = sigmoid(gate(gi, 0, H) + gate(gh, 0, H));
  const Tensor z = sigmoid(gate(gi, 1, H) + gate(gh, 1, H));
  const Tensor n = tanh(gate(gi, 2, H) + r * gate(gh, 2, H));
  return (h - n) * z + n;
}

RnnLayerResult rnn_layer_reference(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                   const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                                   const Tensor& lengths, bool reverse) {
  const std::int64_t T = x.size(0), N = x.size(1);
  const std::vector<std::int64_t> lens = lengths_of(lengths, T, N, "rnn_layer");
  Tensor h = h0, c = c0;
  TensorList outs(static_cast<std::size_t>(T));
  for (std::int64_t s = 0; s < T; ++s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    const Tensor xt = x.select(0, t);
    Tensor hy, cy;
    switch (mode) {
      case RnnMode::Tanh: hy = rnn_tanh_cell(xt, h, w_ih, w_hh, b_ih, b_hh); break;
      case RnnMode::Relu: hy = rnn_relu_cell(xt, h, w_ih, w_hh, b_ih, b_hh); break;
      case RnnMode::Lstm: std::tie(hy, cy) = lstm_cell(xt, h, c, w_ih, w_hh, b_ih, b_hh); break;
      case RnnMode::Gru: hy = gru_cell(xt, h, w_ih, w_hh, b_ih, b_hh); break;
    }
    if (lens.empty()) {
      outs[static_cast<std::size_t>(t)] = hy;
      h = hy;
      c = cy;
    } else {
      // Sequences already past their end keep their state; their output is zero.
      std::vector<std::uint8_t> m(static_cast<std::size_t>(N));
      for (std::int64_t n = 0; n < N; ++n) m[static_cast<std::size_t>(n)] = t < lens[static_cast<std::size_t>(n)];
      const Tensor mask = from_vector(m, Shape{N, 1}).to(DType::Bool);
      outs[static_cast<std::size_t>(t)] = where(mask, hy, zeros({}, hy.dtype()));
      h = where(mask, hy, h);
      if (cy.defined()) c = where(mask, cy, c);
    }
  }
  return {stack(outs, 0), h, mode == RnnMode::Lstm ? c : Tensor()};
}

RnnLayerResult rnn_layer(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                         const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, const Tensor& lengths,
                         bool reverse) {
  const std::string_view name = rnn_mode_name(mode);
  const bool lstm = mode == RnnMode::Lstm;
  for (const Tensor* t : {&x, &h0, &w_ih, &w_hh}) kernels::check_defined(*t, "rnn_layer");
  if (lstm) kernels::check_defined(c0, "rnn_layer");
  const std::int64_t G = rnn_gate_count(mode);
  EMBER_CHECK(x.dim() == 3 && x.size(0) >= 1 && x.size(1) >= 1, "{}: expected an input [T, N, I] with T, N >= 1, got {}",
              name, shape_str(x.sizes()));
  EMBER_CHECK(w_ih.dim() == 2 && w_hh.dim() == 2 && w_hh.size(0) == G * w_hh.size(1) && w_ih.size(0) == w_hh.size(0) &&
                  w_ih.size(1) == x.size(2),
              "{}: input {} needs weight_ih [{}*H, {}] and weight_hh [{}*H, H], got {} and {}", name,
              shape_str(x.sizes()), G, x.size(2), G, shape_str(w_ih.sizes()), shape_str(w_hh.sizes()));
  const std::int64_t T = x.size(0), N = x.size(1), H = w_hh.size(1);
  EMBER_CHECK(h0.sizes() == (Shape{N, H}) && (!lstm || c0.sizes() == (Shape{N, H})),
              "{}: expected initial states [{}, {}], got {}{}", name, N, H, shape_str(h0.sizes()),
              lstm ? " and " + shape_str(c0.sizes()) : std::string());
  for (const Tensor* b : {&b_ih, &b_hh})
    EMBER_CHECK(!b->defined() || b->sizes() == Shape{G * H}, "{}: expected biases [{}], got {}", name, G * H,
                shape_str(b->sizes()));
  TensorList all{x, h0, w_ih, w_hh};
  if (lstm) all.push_back(c0);
  for (const Tensor* b : {&b_ih, &b_hh})
    if (b->defined()) all.push_back(*b);
  bool f32 = true;
  for (const Tensor& t : all) {
    EMBER_CHECK(t.dtype() == x.dtype() && t.is_floating_point(), "{}: input, states and weights must share a floating dtype, got {} and {}",
                name, x.dtype(), t.dtype());
    f32 = f32 && t.dtype() == DType::Float32;
  }
  if (!f32 || !rnn_fused()) return rnn_layer_reference(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse);

  std::vector<std::int64_t> lens = lengths_of(lengths, T, N, "rnn_layer");
  kernels::RnnForward f;
  {
    NoGradGuard no_grad;
    f = kernels::rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lens, reverse);
  }
  TensorList outputs{f.output, f.h_n};
  if (lstm) outputs.push_back(f.c_n);
  const TensorList inputs{x, h0, c0, w_ih, w_hh, b_ih, b_hh};
  TensorList saved = inputs;
  for (const Tensor& s : {f.saved.act, f.saved.hprev, f.saved.cprev, f.saved.hh_n}) saved.push_back(s);
  const Tensor lengths_copy = lengths.defined() ? lengths.clone() : Tensor();
  autograd::record(
      std::string(node_name(mode)), inputs, outputs, saved,
      [mode, lstm, lens = std::move(lens), lengths_copy, reverse](const BackwardCtx& c, const TensorList& g) {
        TensorList in;
        for (std::size_t i = 0; i < 7; ++i) in.push_back(c.saved(i));
        if (autograd::GradMode::is_enabled()) {
          // create_graph: differentiate the reference layer, rebuilt on the saved inputs.
          const RnnLayerResult ref =
              rnn_layer_reference(mode, in[0], in[1], in[2], in[3], in[4], in[5], in[6], lengths_copy, reverse);
          TensorList outs{ref.output, ref.h_n}, wanted;
          if (lstm) outs.push_back(ref.c_n);
          std::vector<std::size_t> slots;
          for (std::size_t i = 0; i < 7; ++i)
            if (c.needs_input_grad(i) && in[i].defined() && in[i].requires_grad()) {
              wanted.push_back(in[i]);
              slots.push_back(i);
            }
          TensorList result(7);
          if (wanted.empty()) return result;
          const TensorList gr = autograd::grad(outs, wanted, g, true, true, true);
          for (std::size_t k = 0; k < slots.size(); ++k) result[slots[k]] = gr[k];
          return result;
        }
        const kernels::RnnSaved s{c.saved(7), c.saved(8), c.saved(9), c.saved(10)};
        const kernels::RnnGrads d = kernels::rnn_backward(mode, g[0], g[1], lstm ? g[2] : Tensor(), in[0], in[3],
                                                          in[4], s, lens, reverse, in[5].defined() || in[6].defined());
        auto want = [&](std::size_t i, const Tensor& t) { return c.needs_input_grad(i) ? t : Tensor(); };
        return TensorList{want(0, d.x),    want(1, d.h0),   want(2, d.c0),  want(3, d.w_ih),
                          want(4, d.w_hh), want(5, d.b_ih), want(6, d.b_hh)};
      });
  return {f.output, f.h_n, f.c_n};
}

RnnResult rnn(RnnMode mode, const Tensor& input, const Tensor& h0, const Tensor& c0, const TensorList& weights,
              const RnnArgs& a, const Tensor& lengths) {
  const std::string_view name = rnn_mode_name(mode);
  const bool lstm = mode == RnnMode::Lstm;
  kernels::check_defined(input, "rnn");
  EMBER_CHECK(a.num_layers >= 1 && a.dropout >= 0.0 && a.dropout <= 1.0,
              "{}: num_layers must be >= 1 and dropout in [0, 1], got {} and {}", name, a.num_layers, a.dropout);
  const std::int64_t D = a.bidirectional ? 2 : 1, L = a.num_layers;
  EMBER_CHECK(static_cast<std::int64_t>(weights.size()) == 4 * L * D,
              "{}: expected {} weights (w_ih, w_hh, b_ih, b_hh for each of {} layers x {} directions), got {}", name,
              4 * L * D, L, D, weights.size());
  EMBER_CHECK(input.dim() == 2 || input.dim() == 3, "{}: expected a 3-d input ({}) or an unbatched 2-d [T, I], got {}",
              name, a.batch_first ? "[N, T, I]" : "[T, N, I]", shape_str(input.sizes()));
  const bool unbatched = input.dim() == 2;
  Tensor x = unbatched ? input.unsqueeze(1) : a.batch_first ? input.transpose(0, 1) : input;
  const std::int64_t N = x.size(1), H = weights[1].defined() && weights[1].dim() == 2 ? weights[1].size(1) : 0;
  const Shape state_shape = unbatched ? Shape{L * D, H} : Shape{L * D, N, H};
  for (const Tensor* s : {&h0, &c0})
    if (s->defined())
      EMBER_CHECK(s->sizes() == state_shape, "{}: expected an initial state {}, got {}", name, shape_str(state_shape),
                  shape_str(s->sizes()));
  EMBER_CHECK(!c0.defined() || lstm, "{}: only the LSTM has a cell state", name);
  const Tensor hx = h0.defined() ? (unbatched ? h0.unsqueeze(1) : h0) : zeros({L * D, N, H}, x.dtype());
  const Tensor cx = lstm ? (c0.defined() ? (unbatched ? c0.unsqueeze(1) : c0) : zeros({L * D, N, H}, x.dtype())) : Tensor();
  TensorList h_n, c_n;
  for (std::int64_t l = 0; l < L; ++l) {
    TensorList outs;
    for (std::int64_t d = 0; d < D; ++d) {
      const std::int64_t k = l * D + d;
      const auto w = [&](std::int64_t j) { return weights[static_cast<std::size_t>(4 * k + j)]; };
      const RnnLayerResult r = rnn_layer(mode, x, hx.select(0, k), lstm ? cx.select(0, k) : Tensor(), w(0), w(1),
                                         w(2), w(3), lengths, d == 1);
      outs.push_back(r.output);
      h_n.push_back(r.h_n);
      if (lstm) c_n.push_back(r.c_n);
    }
    x = D == 2 ? cat(outs, 2) : outs[0];
    if (a.dropout > 0 && a.training && l + 1 < L) x = dropout(x, a.dropout, true);
  }
  RnnResult r{unbatched ? x.squeeze(1) : a.batch_first ? x.transpose(0, 1) : x, stack(h_n, 0),
              lstm ? stack(c_n, 0) : Tensor()};
  if (unbatched) {
    r.h_n = r.h_n.squeeze(1);
    if (lstm) r.c_n = r.c_n.squeeze(1);
  }
  return r;
}

}  // namespace ember
