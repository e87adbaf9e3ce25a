#pragma once
/// The fused recurrence kernels behind rnn_layer's float32 path (no autograd).
/// x: [T, N, I], h0/c0: [N, H], w_ih: [G*H, I], w_hh: [G*H, H], biases [G*H]
/// or undefined; all float32. `lengths`: N entries in [1, T], or empty (all T).
#include <vector>

#include "ember/ops/rnn_ops.h"

namespace ember::kernels {

/// What the forward keeps for the backward: the gate activations act [T, N, G*H]
/// (after sigmoid/tanh), the state entering each step hprev (and cprev) [T, N, H],
/// and for the GRU W_hn h + b_hn [T, N, H]. Indexed by time step, not processing order.
struct RnnSaved {
  Tensor act, hprev, cprev, hh_n;
};
struct RnnForward {
  Tensor output, h_n, c_n;
  RnnSaved saved;
};
RnnForward rnn_forward(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                       const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                       const std::vector<std::int64_t>& lengths, bool reverse);

struct RnnGrads {
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};
/// Back-propagation through time from the output gradients g_out [T, N, H],
/// g_hn and g_cn [N, H] (undefined: zero). Biases' gradients only when with_bias.
RnnGrads rnn_backward(RnnMode mode, const Tensor& g_out, const Tensor& g_hn, const Tensor& g_cn, const Tensor& x,
                      const Tensor& w_ih, const Tensor& w_hh, const RnnSaved& saved,
                      const std::vector<std::int64_t>& lengths, bool reverse, bool with_bias);

}  // namespace ember::kernels
