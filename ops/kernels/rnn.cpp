// The fused float32 recurrence: one matmul projects every time step's input,
// then each step is one matmul (h W_hh^T + b_hh) and one loop over the gates.
// The backward runs the steps in reverse with one matmul each (dgates W_hh)
// and leaves the weight gradients to three matmuls over all steps at once.
// Steps past a sequence's length leave its state alone and give zeros.
#include "ember/ops/kernels/rnn.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "ember/core/factory.h"
#include "ember/ops/onednn/onednn.h"

// The gate loops' pointers never overlap: let the compiler vectorize them
// without run-time alias checks (it gives up on loops with this many pointers).
#if defined(__clang__)
#define EMBER_NO_ALIAS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define EMBER_NO_ALIAS _Pragma("GCC ivdep")
#else
#define EMBER_NO_ALIAS
#endif

namespace ember::kernels {
namespace {

// exp(x) for float, within about 2 ulp, without branches so that the gate loops
// vectorize (Cephes' expf: x = n ln2 + r, a degree-6 polynomial for e^r, 2^n by
// its exponent bits). Clamped to the range where 2^n is a normal float.
inline float exp_f(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  x -= n * 0.693359375f;
  x -= n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * (x * x) + x + 1.0f;
  return y * std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
}
inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }
inline float tanh_f(float x) { return 1.0f - 2.0f / (exp_f(2.0f * x) + 1.0f); }

struct Dims {
  std::int64_t T, N, I, H, G;
};
Dims dims_of(RnnMode mode, const Tensor& x, const Tensor& w_hh) {
  const std::int64_t H = w_hh.size(1);
  return {x.size(0), x.size(1), x.size(2), H, rnn_gate_count(mode) * H};
}
bool active(const std::vector<std::int64_t>& lengths, std::int64_t n, std::int64_t t) {
  return lengths.empty() || t < lengths[static_cast<std::size_t>(n)];
}

}  // namespace

RnnForward rnn_forward(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                       const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                       const std::vector<std::int64_t>& lengths, bool reverse) {
  const auto [T, N, I, H, G] = dims_of(mode, x, w_hh);
  const bool lstm = mode == RnnMode::Lstm, gru = mode == RnnMode::Gru;
  // x: [T, N, I] -> xp: [T*N, G] = x W_ih^T + b_ih for every step at once.
  const Tensor xp = onednn::matmul(x.contiguous().view({T * N, I}), w_ih.t(), b_ih);
  const Tensor whh_t = w_hh.t();
  Tensor h = h0.contiguous().clone(), c = lstm ? c0.contiguous().clone() : Tensor();
  RnnForward r;
  r.output = empty({T, N, H});
  r.saved.act = empty({T, N, G});
  r.saved.hprev = empty({T, N, H});
  if (lstm) r.saved.cprev = empty({T, N, H});
  if (gru) r.saved.hh_n = empty({T, N, H});
  const float* pxp = xp.data_ptr<float>();
  float *ph = h.data_ptr<float>(), *pc = lstm ? c.data_ptr<float>() : nullptr;
  float *pout = r.output.data_ptr<float>(), *pact = r.saved.act.data_ptr<float>();
  float *phprev = r.saved.hprev.data_ptr<float>(), *pcprev = lstm ? r.saved.cprev.data_ptr<float>() : nullptr;
  float* phhn = gru ? r.saved.hh_n.data_ptr<float>() : nullptr;
  const auto NH = static_cast<std::size_t>(N * H);
  for (std::int64_t s = 0; s < T; ++s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    std::memcpy(phprev + t * N * H, ph, NH * sizeof(float));
    if (lstm) std::memcpy(pcprev + t * N * H, pc, NH * sizeof(float));
    const Tensor hh = onednn::matmul(h, whh_t, b_hh);  // [N, G] = h W_hh^T + b_hh
    const float* phh = hh.data_ptr<float>();
    for (std::int64_t n = 0; n < N; ++n) {
      float* o = pout + (t * N + n) * H;
      if (!active(lengths, n, t)) {
        std::fill(o, o + H, 0.0f);
        continue;
      }
      const float* gx = pxp + (t * N + n) * G;
      const float* gh = phh + n * G;
      float* a = pact + (t * N + n) * G;
      float* hn = ph + n * H;
      if (lstm) {
        float* cn = pc + n * H;
        EMBER_NO_ALIAS
        for (std::int64_t j = 0; j < H; ++j) {
          const float i = sigmoid_f(gx[j] + gh[j]);
          const float f = sigmoid_f(gx[H + j] + gh[H + j]);
          const float g = tanh_f(gx[2 * H + j] + gh[2 * H + j]);
          const float og = sigmoid_f(gx[3 * H + j] + gh[3 * H + j]);
          const float cy = f * cn[j] + i * g;
          const float hy = og * tanh_f(cy);
          a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = og;
          cn[j] = cy, hn[j] = hy, o[j] = hy;
        }
      } else if (gru) {
        float* hhn = phhn + (t * N + n) * H;
        EMBER_NO_ALIAS
        for (std::int64_t j = 0; j < H; ++j) {
          const float rg = sigmoid_f(gx[j] + gh[j]);
          const float z = sigmoid_f(gx[H + j] + gh[H + j]);
          const float ng = tanh_f(gx[2 * H + j] + rg * gh[2 * H + j]);
          const float hy = (hn[j] - ng) * z + ng;  // PyTorch's order of operations
          a[j] = rg, a[H + j] = z, a[2 * H + j] = ng, hhn[j] = gh[2 * H + j];
          hn[j] = hy, o[j] = hy;
        }
      } else {
        const bool relu = mode == RnnMode::Relu;
        EMBER_NO_ALIAS
        for (std::int64_t j = 0; j < H; ++j) {
          const float v = gx[j] + gh[j];
          const float hy = relu ? std::max(v, 0.0f) : tanh_f(v);
          a[j] = hy, hn[j] = hy, o[j] = hy;
        }
      }
    }
  }
  r.h_n = h;
  r.c_n = c;
  return r;
}

RnnGrads rnn_backward(RnnMode mode, const Tensor& g_out, const Tensor& g_hn, const Tensor& g_cn, const Tensor& x,
                      const Tensor& w_ih, const Tensor& w_hh, const RnnSaved& saved,
                      const std::vector<std::int64_t>& lengths, bool reverse, bool with_bias) {
  const auto [T, N, I, H, G] = dims_of(mode, x, w_hh);
  const bool lstm = mode == RnnMode::Lstm, gru = mode == RnnMode::Gru;
  Tensor dh = g_hn.defined() ? g_hn.contiguous().clone() : zeros({N, H});
  Tensor dc = lstm ? (g_cn.defined() ? g_cn.contiguous().clone() : zeros({N, H})) : Tensor();
  const Tensor go = g_out.defined() ? g_out.contiguous() : Tensor();
  // dgx: the gradient w.r.t. x W_ih^T + b_ih, dgh w.r.t. h W_hh^T + b_hh, per
  // step; the same but for the GRU's n gate. Zero rows at padded steps.
  Tensor dgx = zeros({T, N, G}), dgh = gru ? zeros({T, N, G}) : dgx;
  Tensor direct = gru ? empty({N, H}) : Tensor();  // the GRU's z * dh' path to h
  const Tensor whh = w_hh.contiguous();
  float *pdh = dh.data_ptr<float>(), *pdc = lstm ? dc.data_ptr<float>() : nullptr;
  const float* pgo = go.defined() ? go.data_ptr<float>() : nullptr;
  float *pdgx = dgx.data_ptr<float>(), *pdgh = dgh.data_ptr<float>();
  float* pdirect = gru ? direct.data_ptr<float>() : nullptr;
  const float *pact = saved.act.data_ptr<float>(), *phprev = saved.hprev.data_ptr<float>();
  const float* pcprev = lstm ? saved.cprev.data_ptr<float>() : nullptr;
  const float* phhn = gru ? saved.hh_n.data_ptr<float>() : nullptr;
  for (std::int64_t s = T - 1; s >= 0; --s) {
    const std::int64_t t = reverse ? T - 1 - s : s;
    bool any = false;
    for (std::int64_t n = 0; n < N; ++n) {
      if (!active(lengths, n, t)) continue;
      any = true;
      const std::int64_t row = t * N + n;
      const float* a = pact + row * G;
      const float* gout = pgo ? pgo + row * H : nullptr;
      float* dhn = pdh + n * H;
      float* dx = pdgx + row * G;
      if (lstm) {
        float* dcn = pdc + n * H;
        const float* cp = pcprev + row * H;
        EMBER_NO_ALIAS
        for (std::int64_t j = 0; j < H; ++j) {
          const float dht = dhn[j] + (gout ? gout[j] : 0.0f);
          const float i = a[j], f = a[H + j], g = a[2 * H + j], og = a[3 * H + j];
          const float tc = tanh_f(f * cp[j] + i * g);
          const float dct = dcn[j] + dht * og * (1.0f - tc * tc);
          dx[j] = dct * g * i * (1.0f - i);
          dx[H + j] = dct * cp[j] * f * (1.0f - f);
          dx[2 * H + j] = dct * i * (1.0f - g * g);
          dx[3 * H + j] = dht * tc * og * (1.0f - og);
          dcn[j] = dct * f;
        }
      } else if (gru) {
        float* dhh = pdgh + row * G;
        const float* hp = phprev + row * H;
        const float* hhn = phhn + row * H;
        float* dir = pdirect + n * H;
        EMBER_NO_ALIAS
        for (std::int64_t j = 0; j < H; ++j) {
          const float dht = dhn[j] + (gout ? gout[j] : 0.0f);
          const float rg = a[j], z = a[H + j], ng = a[2 * H + j];
          const float dn = dht * (1.0f - z) * (1.0f - ng * ng);
          const float dr = dn * hhn[j] * rg * (1.0f - rg);
          const float dz = dht * (hp[j] - ng) * z * (1.0f - z);
          dx[j] = dhh[j] = dr;
          dx[H + j] = dhh[H + j] = dz;
          dx[2 * H + j] = dn;
          dhh[2 * H + j] = dn * rg;
          dir[j] = dht * z;
        }
      } else {
        const bool relu = mode == RnnMode::Relu;
        EMBER_NO_ALIAS
        for (std::int64_t j = 0; j < H; ++j) {
          const float dht = dhn[j] + (gout ? gout[j] : 0.0f);
          const float hy = a[j];
          dx[j] = relu ? (hy > 0.0f ? dht : 0.0f) : dht * (1.0f - hy * hy);
        }
      }
    }
    if (!any) continue;
    // dh_prev = dgh_t W_hh for the sequences active at t; the others keep theirs.
    const Tensor mm = onednn::matmul(dgh.select(0, t), whh);  // [N, H]
    const float* pmm = mm.data_ptr<float>();
    for (std::int64_t n = 0; n < N; ++n) {
      if (!active(lengths, n, t)) continue;
      float* dhn = pdh + n * H;
      const float* m = pmm + n * H;
      if (gru) {
        const float* dir = pdirect + n * H;
        for (std::int64_t j = 0; j < H; ++j) dhn[j] = m[j] + dir[j];
      } else {
        std::memcpy(dhn, m, static_cast<std::size_t>(H) * sizeof(float));
      }
    }
  }
  RnnGrads r;
  const Tensor dgx2 = dgx.view({T * N, G}), dgh2 = dgh.view({T * N, G});
  r.x = onednn::matmul(dgx2, w_ih.contiguous()).view({T, N, I});
  r.w_ih = onednn::matmul(dgx2.t(), x.contiguous().view({T * N, I}));
  r.w_hh = onednn::matmul(dgh2.t(), saved.hprev.view({T * N, H}));
  if (with_bias) {
    const Tensor ones_row = ones({1, T * N});
    r.b_ih = onednn::matmul(ones_row, dgx2).view({G});
    r.b_hh = gru ? onednn::matmul(ones_row, dgh2).view({G}) : r.b_ih.clone();
  }
  r.h0 = dh;
  r.c0 = dc;
  return r;
}

}  // namespace ember::kernels
