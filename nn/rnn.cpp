#include "ember/nn/rnn.h"

#include <cmath>

#include "ember/autograd/grad_mode.h"
#include "ember/nn/init.h"
#include "ember/ops/ops.h"

namespace ember::nn {
namespace {

RnnMode rnn_mode(const std::string& nonlinearity, const char* who) {
  EMBER_CHECK(nonlinearity == "tanh" || nonlinearity == "relu", "{}: nonlinearity must be \"tanh\" or \"relu\", got \"{}\"",
              who, nonlinearity);
  return nonlinearity == "tanh" ? RnnMode::Tanh : RnnMode::Relu;
}

void uniform_all(const TensorList& params, std::int64_t hidden) {
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden));
  for (Tensor t : params)
    if (t.defined()) init::uniform_(t, -k, k);
}

}  // namespace

template <class Derived>
RNNImplBase<Derived>::RNNImplBase(RnnMode mode, const RNNOptions& o) : options(o), mode_(mode) {
  const std::string_view name = rnn_mode_name(mode);
  EMBER_CHECK(o.input_size() > 0 && o.hidden_size() > 0 && o.num_layers() > 0,
              "{}: input_size, hidden_size and num_layers must be positive, got {}, {} and {}", name, o.input_size(),
              o.hidden_size(), o.num_layers());
  EMBER_CHECK(o.dropout() >= 0.0 && o.dropout() <= 1.0, "{}: dropout must be in [0, 1], got {}", name, o.dropout());
  reset();
}

template <class Derived>
void RNNImplBase<Derived>::reset() {
  const std::int64_t G = rnn_gate_count(mode_), H = options.hidden_size(), D = options.bidirectional() ? 2 : 1;
  for (std::int64_t l = 0; l < options.num_layers(); ++l)
    for (std::int64_t d = 0; d < D; ++d) {
      const std::string sfx = fmt::format("_l{}{}", l, d ? "_reverse" : "");
      const std::int64_t in = l == 0 ? options.input_size() : D * H;
      this->register_parameter("weight_ih" + sfx, empty({G * H, in}));
      this->register_parameter("weight_hh" + sfx, empty({G * H, H}));
      if (options.bias()) {
        this->register_parameter("bias_ih" + sfx, empty({G * H}));
        this->register_parameter("bias_hh" + sfx, empty({G * H}));
      }
    }
  reset_parameters();
}

template <class Derived>
void RNNImplBase<Derived>::reset_parameters() {
  NoGradGuard no_grad;
  uniform_all(this->parameters(false), options.hidden_size());
}

template <class Derived>
TensorList RNNImplBase<Derived>::all_weights() const {
  // Parameters are registered w_ih, w_hh[, b_ih, b_hh] per layer and direction.
  const TensorList p = this->parameters(false);
  TensorList w;
  const std::size_t per = options.bias() ? 4 : 2;
  for (std::size_t k = 0; k < p.size(); k += per) {
    w.push_back(p[k]);
    w.push_back(p[k + 1]);
    w.push_back(per == 4 ? p[k + 2] : Tensor());
    w.push_back(per == 4 ? p[k + 3] : Tensor());
  }
  return w;
}

template <class Derived>
RnnResult RNNImplBase<Derived>::run(const Tensor& input, const Tensor& h0, const Tensor& c0, const Tensor& lengths) {
  RnnArgs a;
  a.num_layers = options.num_layers();
  a.bidirectional = options.bidirectional();
  a.batch_first = options.batch_first();
  a.dropout = options.dropout();
  a.training = this->is_training();
  return rnn(mode_, input, h0, c0, all_weights(), a, lengths);
}

template <class Derived>
std::string RNNImplBase<Derived>::extra_repr() const {
  std::string r = fmt::format("{}, {}", options.input_size(), options.hidden_size());
  if (options.num_layers() != 1) r += fmt::format(", num_layers={}", options.num_layers());
  if (mode_ == RnnMode::Relu) r += ", nonlinearity='relu'";
  if (!options.bias()) r += ", bias=False";
  if (options.batch_first()) r += ", batch_first=True";
  if (options.dropout() != 0.0) r += fmt::format(", dropout={}", options.dropout());
  if (options.bidirectional()) r += ", bidirectional=True";
  return r;
}

RNNImpl::RNNImpl(const RNNOptions& o) : RNNImplBase(rnn_mode(o.nonlinearity(), "RNN"), o) {}
std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, const Tensor& hx, const Tensor& lengths) {
  RnnResult r = run(input, hx, {}, lengths);
  return {r.output, r.h_n};
}

LSTMImpl::LSTMImpl(const LSTMOptions& o) : RNNImplBase(RnnMode::Lstm, o) {}
std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(const Tensor& input,
                                                                 std::optional<std::tuple<Tensor, Tensor>> hx,
                                                                 const Tensor& lengths) {
  RnnResult r = hx ? run(input, std::get<0>(*hx), std::get<1>(*hx), lengths) : run(input, {}, {}, lengths);
  return {r.output, {r.h_n, r.c_n}};
}

GRUImpl::GRUImpl(const GRUOptions& o) : RNNImplBase(RnnMode::Gru, o) {}
std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& hx, const Tensor& lengths) {
  RnnResult r = run(input, hx, {}, lengths);
  return {r.output, r.h_n};
}

template class RNNImplBase<RNNImpl>;
template class RNNImplBase<LSTMImpl>;
template class RNNImplBase<GRUImpl>;

// ---- cells ----

template <class Derived>
RNNCellImplBase<Derived>::RNNCellImplBase(RnnMode mode, const RNNCellOptions& o) : options(o), mode_(mode) {
  EMBER_CHECK(o.input_size() > 0 && o.hidden_size() > 0, "{}: input_size and hidden_size must be positive, got {} and {}",
              this->type_name(), o.input_size(), o.hidden_size());
  reset();
}

template <class Derived>
void RNNCellImplBase<Derived>::reset() {
  const std::int64_t G = rnn_gate_count(mode_), H = options.hidden_size();
  weight_ih = this->register_parameter("weight_ih", empty({G * H, options.input_size()}));
  weight_hh = this->register_parameter("weight_hh", empty({G * H, H}));
  bias_ih = options.bias() ? this->register_parameter("bias_ih", empty({G * H})) : Tensor();
  bias_hh = options.bias() ? this->register_parameter("bias_hh", empty({G * H})) : Tensor();
  reset_parameters();
}

template <class Derived>
void RNNCellImplBase<Derived>::reset_parameters() {
  NoGradGuard no_grad;
  uniform_all(this->parameters(false), options.hidden_size());
}

template <class Derived>
std::string RNNCellImplBase<Derived>::extra_repr() const {
  std::string r = fmt::format("{}, {}", options.input_size(), options.hidden_size());
  if (!options.bias()) r += ", bias=False";
  if (mode_ == RnnMode::Relu) r += ", nonlinearity='relu'";
  return r;
}

template <class Derived>
Tensor RNNCellImplBase<Derived>::state_or_zeros(const Tensor& input, const Tensor& hx) const {
  EMBER_CHECK(input.defined() && (input.dim() == 1 || input.dim() == 2),
              "{}: expected an input [N, {}] or [{}], got {}", this->type_name(), options.input_size(),
              options.input_size(), input.defined() ? shape_str(input.sizes()) : "undefined");
  if (hx.defined()) return hx;
  return input.dim() == 1 ? zeros({options.hidden_size()}, input.dtype())
                          : zeros({input.size(0), options.hidden_size()}, input.dtype());
}

RNNCellImpl::RNNCellImpl(const RNNCellOptions& o) : RNNCellImplBase(rnn_mode(o.nonlinearity(), "RNNCell"), o) {}
Tensor RNNCellImpl::forward(const Tensor& input, const Tensor& hx) {
  const Tensor h = state_or_zeros(input, hx);
  return mode_ == RnnMode::Tanh ? rnn_tanh_cell(input, h, weight_ih, weight_hh, bias_ih, bias_hh)
                                : rnn_relu_cell(input, h, weight_ih, weight_hh, bias_ih, bias_hh);
}

LSTMCellImpl::LSTMCellImpl(const LSTMCellOptions& o) : RNNCellImplBase(RnnMode::Lstm, o) {}
std::tuple<Tensor, Tensor> LSTMCellImpl::forward(const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx) {
  const Tensor h = state_or_zeros(input, hx ? std::get<0>(*hx) : Tensor());
  const Tensor c = state_or_zeros(input, hx ? std::get<1>(*hx) : Tensor());
  auto [hy, cy] = lstm_cell(input, h, c, weight_ih, weight_hh, bias_ih, bias_hh);
  return {hy, cy};
}

GRUCellImpl::GRUCellImpl(const GRUCellOptions& o) : RNNCellImplBase(RnnMode::Gru, o) {}
Tensor GRUCellImpl::forward(const Tensor& input, const Tensor& hx) {
  return gru_cell(input, state_or_zeros(input, hx), weight_ih, weight_hh, bias_ih, bias_hh);
}

template class RNNCellImplBase<RNNCellImpl>;
template class RNNCellImplBase<LSTMCellImpl>;
template class RNNCellImplBase<GRUCellImpl>;

}  // namespace ember::nn
