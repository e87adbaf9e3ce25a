// nn::RNN / LSTM / GRU and the cells against PyTorch's values
// (scripts/gen_rnn_reference.py), both float32 paths against each other,
// variable lengths, gradcheck and gradgradcheck in float64, and a state_dict
// saved by PyTorch.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include <ember/ember.h>

#include "test_util.h"

using namespace ember;

namespace {

const std::string kData = EMBER_TEST_DATA_DIR;

struct Reference {
  std::map<std::string, Tensor> t;
  std::map<std::string, std::string> meta;
  const Tensor& get(const std::string& k) const {
    auto it = t.find(k);
    EMBER_CHECK(it != t.end(), "rnn_reference: no tensor {}", k);
    return it->second;
  }
  bool has(const std::string& k) const { return t.count(k) > 0; }
};

const Reference& reference() {
  static const Reference r = [] {
    Reference ref;
    safetensors::File f = safetensors::load(kData + "/rnn_reference.safetensors");
    for (auto& [k, v] : f.tensors) ref.t[k] = v;
    ref.meta = f.metadata;
    return ref;
  }();
  return r;
}

// Largest |a - b| (the comparison the issue asks for: 1e-5 in float32).
double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return INFINITY;
  return (a.to(DType::Float64) - b.to(DType::Float64)).abs().max().item<double>();
}

double g_worst = 0;  // the largest difference from PyTorch across all cases
std::string g_worst_at;

void expect_close(const Tensor& got, const Tensor& want, const std::string& what, double tol = 1e-5) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  const double d = max_diff(got, want);
  if (d > g_worst) g_worst = d, g_worst_at = what;
  EXPECT_LE(d, tol) << what;
}

struct LayerCase {
  std::string mode;
  int layers, bidir, batch_first, bias, init, lengths;
};
LayerCase parse(const std::string& s) {
  std::istringstream in(s);
  LayerCase c;
  in >> c.mode >> c.layers >> c.bidir >> c.batch_first >> c.bias >> c.init >> c.lengths;
  return c;
}

NamedTensors params_of(const Reference& ref, const std::string& k) {
  NamedTensors p;
  const std::string prefix = k + ".p.";
  for (const auto& [name, t] : ref.t)
    if (name.rfind(prefix, 0) == 0) p.emplace_back(name.substr(prefix.size()), t);
  return p;
}

// Runs case k on a fresh module and compares every output and gradient with PyTorch's.
template <class M>
void check_layer(M m, const std::string& k, const LayerCase& c) {
  const Reference& ref = reference();
  m->load_state_dict(params_of(ref, k));
  m->zero_grad();
  Tensor x = ref.get(k + ".x").clone().requires_grad_();
  Tensor h0 = c.init ? ref.get(k + ".h0").clone().requires_grad_() : Tensor();
  Tensor c0 = c.init && c.mode == "LSTM" ? ref.get(k + ".c0").clone().requires_grad_() : Tensor();
  Tensor lengths = c.lengths ? ref.get(k + ".lengths") : Tensor();
  Tensor out, hn, cn;
  if constexpr (std::is_same_v<M, nn::LSTM>) {
    auto [o, st] = c.init ? m(x, std::make_tuple(h0, c0), lengths) : m(x, std::nullopt, lengths);
    out = o;
    std::tie(hn, cn) = st;
  } else {
    std::tie(out, hn) = m(x, h0, lengths);
  }
  expect_close(out, ref.get(k + ".out"), k + " output");
  expect_close(hn, ref.get(k + ".hn"), k + " h_n");
  Tensor loss = (out * ref.get(k + ".gout")).sum() + (hn * ref.get(k + ".ghn")).sum();
  if (cn.defined()) {
    expect_close(cn, ref.get(k + ".cn"), k + " c_n");
    loss = loss + (cn * ref.get(k + ".gcn")).sum();
  }
  loss.backward();
  expect_close(x.grad(), ref.get(k + ".grad.x"), k + " grad input");
  if (h0.defined()) expect_close(h0.grad(), ref.get(k + ".grad.h0"), k + " grad h0");
  if (c0.defined()) expect_close(c0.grad(), ref.get(k + ".grad.c0"), k + " grad c0");
  for (const auto& [name, p] : m->named_parameters())
    expect_close(p.grad(), ref.get(k + ".grad." + name), k + " grad " + name);
}

nn::RNNOptions options_of(const LayerCase& c) {
  return nn::RNNOptions(4, 6)
      .num_layers(c.layers)
      .bidirectional(c.bidir)
      .batch_first(c.batch_first)
      .bias(c.bias)
      .nonlinearity(c.mode == "RNN_RELU" ? "relu" : "tanh");
}

void run_layer_cases() {
  int n = 0;
  for (const auto& [k, spec] : reference().meta) {
    if (k.rfind("case", 0) != 0) continue;
    const LayerCase c = parse(spec);
    SCOPED_TRACE(k + ": " + spec);
    if (c.mode == "LSTM") check_layer(nn::LSTM(options_of(c)), k, c);
    else if (c.mode == "GRU") check_layer(nn::GRU(options_of(c)), k, c);
    else check_layer(nn::RNN(options_of(c)), k, c);
    ++n;
  }
  EXPECT_EQ(n, 12);
}

}  // namespace

TEST(RnnTorch, LayersMatchPyTorchFused) {
  const bool prev = set_rnn_fused(true);
  run_layer_cases();
  set_rnn_fused(prev);
  std::printf("largest difference from PyTorch (fused path): %.3g at %s\n", g_worst, g_worst_at.c_str());
}

TEST(RnnTorch, LayersMatchPyTorchReference) {
  const bool prev = set_rnn_fused(false);
  g_worst = 0;
  run_layer_cases();
  set_rnn_fused(prev);
  std::printf("largest difference from PyTorch (reference path): %.3g at %s\n", g_worst, g_worst_at.c_str());
}

TEST(RnnTorch, CellsMatchPyTorch) {
  const Reference& ref = reference();
  int n = 0;
  for (const auto& [k, spec] : ref.meta) {
    if (k.rfind("cell", 0) != 0) continue;
    std::istringstream in(spec);
    std::string cell, mode;
    int bias = 0, init = 0;
    in >> cell >> mode >> bias >> init;
    SCOPED_TRACE(k + ": " + spec);
    const auto o = nn::RNNCellOptions(4, 6).bias(bias).nonlinearity(mode == "RNN_RELU" ? "relu" : "tanh");
    Tensor x = ref.get(k + ".x").clone().requires_grad_();
    Tensor h0 = init ? ref.get(k + ".h0").clone().requires_grad_() : Tensor();
    Tensor c0 = init && mode == "LSTM" ? ref.get(k + ".c0").clone().requires_grad_() : Tensor();
    std::shared_ptr<nn::Module> m;
    Tensor hn, cn;
    if (mode == "LSTM") {
      nn::LSTMCell cellm(o);
      cellm->load_state_dict(params_of(ref, k));
      std::tie(hn, cn) = init ? cellm(x, std::make_tuple(h0, c0)) : cellm(x);
      m = cellm.ptr();
    } else if (mode == "GRU") {
      nn::GRUCell cellm(o);
      cellm->load_state_dict(params_of(ref, k));
      hn = cellm(x, h0);
      m = cellm.ptr();
    } else {
      nn::RNNCell cellm(o);
      cellm->load_state_dict(params_of(ref, k));
      hn = cellm(x, h0);
      m = cellm.ptr();
    }
    expect_close(hn, ref.get(k + ".hn"), k + " h'");
    Tensor loss = (hn * ref.get(k + ".ghn")).sum();
    if (cn.defined()) {
      expect_close(cn, ref.get(k + ".cn"), k + " c'");
      loss = loss + (cn * ref.get(k + ".gcn")).sum();
    }
    loss.backward();
    expect_close(x.grad(), ref.get(k + ".grad.x"), k + " grad input");
    if (h0.defined()) expect_close(h0.grad(), ref.get(k + ".grad.h0"), k + " grad h0");
    if (c0.defined()) expect_close(c0.grad(), ref.get(k + ".grad.c0"), k + " grad c0");
    for (const auto& [name, p] : m->named_parameters())
      expect_close(p.grad(), ref.get(k + ".grad." + name), k + " grad " + name);
    ++n;
  }
  EXPECT_EQ(n, 6);
}

// A state_dict written by PyTorch loads by name and computes PyTorch's output.
TEST(RnnTorch, LoadsPyTorchLstmStateDict) {
  nn::LSTM lstm(nn::LSTMOptions(3, 7).num_layers(2).bidirectional(true).batch_first(true));
  const auto meta = lstm->load(kData + "/torch_lstm.safetensors");
  EXPECT_EQ(meta.at("arch"), "LSTM(3, 7, num_layers=2, batch_first=True, bidirectional=True)");
  safetensors::File io = safetensors::load(kData + "/torch_lstm_io.safetensors");
  std::map<std::string, Tensor> t(io.tensors.begin(), io.tensors.end());
  lstm->eval();
  NoGradGuard no_grad;
  auto [out, state] = lstm(t.at("x"));
  EXPECT_LE(max_diff(out, t.at("out")), 1e-5);
  EXPECT_LE(max_diff(std::get<0>(state), t.at("hn")), 1e-5);
  EXPECT_LE(max_diff(std::get<1>(state), t.at("cn")), 1e-5);
}

namespace {
// Output, states and all gradients of a layer on random data, with the fused path on or off.
TensorList layer_run(RnnMode mode, bool fused, const Tensor& lengths, bool reverse, std::uint64_t seed,
                     bool create_graph = false) {
  const bool prev = set_rnn_fused(fused);
  manual_seed(seed);
  const std::int64_t T = 7, N = 4, I = 5, H = 8, G = rnn_gate_count(mode);
  Tensor x = randn({T, N, I}).requires_grad_(), h0 = randn({N, H}).requires_grad_();
  Tensor c0 = mode == RnnMode::Lstm ? randn({N, H}).requires_grad_() : Tensor();
  Tensor w_ih = (randn({G * H, I}) * 0.4).requires_grad_(), w_hh = (randn({G * H, H}) * 0.4).requires_grad_();
  Tensor b_ih = randn({G * H}).requires_grad_(), b_hh = randn({G * H}).requires_grad_();
  RnnLayerResult r = rnn_layer(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse);
  Tensor loss = (r.output * randn({T, N, H})).sum() + (r.h_n * randn({N, H})).sum();
  if (r.c_n.defined()) loss = loss + (r.c_n * randn({N, H})).sum();
  TensorList wrt{x, h0, w_ih, w_hh, b_ih, b_hh};
  if (c0.defined()) wrt.push_back(c0);
  TensorList g = autograd::grad({loss}, wrt, {}, std::nullopt, create_graph);
  TensorList all{r.output, r.h_n};
  if (r.c_n.defined()) all.push_back(r.c_n);
  if (create_graph) {
    // A second derivative through the first: d/d(wrt) of sum(g_i^2).
    Tensor s = zeros({});
    for (const Tensor& gi : g) s = s + (gi * gi).sum();
    TensorList gg = autograd::grad({s}, wrt);
    all.insert(all.end(), gg.begin(), gg.end());
  } else {
    all.insert(all.end(), g.begin(), g.end());
  }
  set_rnn_fused(prev);
  return all;
}
}  // namespace

// The fused float32 path and the reference composition compute the same
// values and gradients, with and without lengths, in both directions, and
// the fused node's second derivative (through the reference path) too.
TEST(RnnFused, MatchesReferencePath) {
  const Tensor lengths = tensor({7, 3, 5, 1}, DType::Int64);
  for (RnnMode mode : {RnnMode::Tanh, RnnMode::Relu, RnnMode::Lstm, RnnMode::Gru})
    for (bool with_lengths : {false, true})
      for (bool reverse : {false, true})
        for (bool cg : {false, true}) {
          SCOPED_TRACE(fmt::format("{} lengths={} reverse={} create_graph={}", rnn_mode_name(mode), with_lengths,
                                   reverse, cg));
          const Tensor len = with_lengths ? lengths : Tensor();
          TensorList a = layer_run(mode, true, len, reverse, 7, cg), b = layer_run(mode, false, len, reverse, 7, cg);
          ASSERT_EQ(a.size(), b.size());
          for (std::size_t i = 0; i < a.size(); ++i) EXPECT_LE(max_diff(a[i], b[i]), 2e-5) << "result " << i;
        }
}

TEST(RnnFused, RecordsOneNodePerLayer) {
  const bool prev = set_rnn_fused(true);
  Tensor x = randn({5, 2, 3}).requires_grad_();
  nn::LSTM lstm(3, 4);
  auto [out, st] = lstm(x);
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->name(), "LstmBackward");
  set_rnn_fused(prev);
}

// Padding never reaches the gradients, and each state stops at its own last step.
TEST(RnnLengths, PaddingDoesNotLeak) {
  for (bool fused : {true, false})
    for (bool bidir : {false, true}) {
      SCOPED_TRACE(fmt::format("fused={} bidirectional={}", fused, bidir));
      const bool prev = set_rnn_fused(fused);
      manual_seed(3);
      nn::GRU gru(nn::GRUOptions(3, 5).bidirectional(bidir).num_layers(2));
      const Tensor lengths = tensor({6, 2, 4}, DType::Int64);
      Tensor x = randn({6, 3, 3});
      Tensor x2 = x.clone();
      {
        NoGradGuard ng;
        x2.narrow(0, 2, 4).select(1, 1).fill_(100.0);  // change only sequence 1's padding
        x2.narrow(0, 4, 2).select(1, 2).fill_(-7.0);
      }
      x.requires_grad_();
      x2.requires_grad_();
      auto [o1, h1] = gru(x, Tensor(), lengths);
      auto [o2, h2] = gru(x2, Tensor(), lengths);
      EXPECT_LE(max_diff(o1, o2), 0.0);
      EXPECT_LE(max_diff(h1, h2), 0.0);
      EXPECT_EQ(o1.narrow(0, 2, 4).select(1, 1).abs().max().item<double>(), 0.0);  // padded outputs are zero
      ((o1 * o1).sum() + h1.sum()).backward();
      ((o2 * o2).sum() + h2.sum()).backward();
      EXPECT_EQ(x.grad().narrow(0, 2, 4).select(1, 1).abs().max().item<double>(), 0.0);
      EXPECT_LE(max_diff(x.grad(), x2.grad()), 0.0);
      // Sequence 1 alone, unpadded, gives the same final state.
      auto [o3, h3] = gru(x.narrow(0, 0, 2).narrow(1, 1, 1));
      EXPECT_LE(max_diff(h3.select(1, 0), h1.select(1, 1)), 1e-6);
      set_rnn_fused(prev);
    }
}

// float64 runs the reference composition: its gradients and second derivatives
// against finite differences, for every mode, with lengths and in reverse.
TEST(RnnGradcheck, LayersFloat64) {
  for (RnnMode mode : {RnnMode::Tanh, RnnMode::Lstm, RnnMode::Gru}) {
    SCOPED_TRACE(std::string(rnn_mode_name(mode)));
    manual_seed(11);
    const std::int64_t H = 2, G = rnn_gate_count(mode);
    const DType f64 = DType::Float64;
    TensorList in{randn({3, 2, 2}, f64), randn({2, H}, f64), randn({G * H, 2}, f64), randn({G * H, H}, f64),
                  randn({G * H}, f64), randn({G * H}, f64), randn({2, H}, f64)};
    for (Tensor& t : in) t.requires_grad_();
    const Tensor lengths = tensor({3, 2}, DType::Int64);
    for (bool reverse : {false, true}) {
      auto f = [&](const TensorList& v) {
        RnnLayerResult r = rnn_layer(mode, v[0], v[1], mode == RnnMode::Lstm ? v[6] : Tensor(), v[2], v[3], v[4],
                                     v[5], lengths, reverse);
        TensorList outs{r.output, r.h_n};
        if (r.c_n.defined()) outs.push_back(r.c_n);
        return outs;
      };
      TensorList args = in;
      if (mode != RnnMode::Lstm) args.pop_back();
      EXPECT_TRUE(autograd::gradcheck(f, args));
      EXPECT_TRUE(autograd::gradgradcheck(f, args));
    }
  }
}

// The stacked, bidirectional, batch_first LSTM as the module runs it (weights passed in).
TEST(RnnGradcheck, StackedBidirectionalLstmFloat64) {
  manual_seed(5);
  nn::LSTM lstm(nn::LSTMOptions(2, 2).num_layers(2).bidirectional(true).batch_first(true));
  lstm->to(DType::Float64);
  TensorList args{randn({2, 3, 2}, DType::Float64).requires_grad_()};
  for (const Tensor& p : lstm->parameters()) args.push_back(p.detach().clone().requires_grad_());
  auto f = [&](const TensorList& v) {
    RnnArgs a;
    a.num_layers = 2;
    a.bidirectional = true;
    a.batch_first = true;
    RnnResult r = rnn(RnnMode::Lstm, v[0], {}, {}, TensorList(v.begin() + 1, v.end()), a,
                      tensor({3, 2}, DType::Int64));
    return TensorList{r.output, r.h_n, r.c_n};
  };
  const auto o = autograd::GradcheckOptions().fast_mode(true);
  EXPECT_TRUE(autograd::gradcheck(f, args, o));
  EXPECT_TRUE(autograd::gradgradcheck(f, args, o));
}

TEST(RnnModules, NamesShapesAndInit) {
  nn::LSTM lstm(nn::LSTMOptions(10, 20).num_layers(2).bidirectional(true));
  std::vector<std::string> names;
  for (const auto& [n, p] : lstm->named_parameters()) names.push_back(n + shape_str(p.sizes()));
  EXPECT_EQ(names, (std::vector<std::string>{
                       "weight_ih_l0[80, 10]", "weight_hh_l0[80, 20]", "bias_ih_l0[80]", "bias_hh_l0[80]",
                       "weight_ih_l0_reverse[80, 10]", "weight_hh_l0_reverse[80, 20]", "bias_ih_l0_reverse[80]",
                       "bias_hh_l0_reverse[80]", "weight_ih_l1[80, 40]", "weight_hh_l1[80, 20]", "bias_ih_l1[80]",
                       "bias_hh_l1[80]", "weight_ih_l1_reverse[80, 40]", "weight_hh_l1_reverse[80, 20]",
                       "bias_ih_l1_reverse[80]", "bias_hh_l1_reverse[80]"}));
  const double k = 1.0 / std::sqrt(20.0);
  for (const Tensor& p : lstm->parameters()) {
    EXPECT_LE(p.abs().max().item<double>(), k);
    EXPECT_GT(p.abs().max().item<double>(), 0.8 * k);
  }
  nn::GRU gru(nn::GRUOptions(3, 4).bias(false));
  EXPECT_EQ(gru->named_parameters().size(), 2u);
  EXPECT_EQ(fmt::format("{}", lstm), "LSTM(10, 20, num_layers=2, bidirectional=True)");
  // Unbatched input [T, I] gives unbatched states.
  auto [out, h] = gru(randn({5, 3}));
  EXPECT_EQ(out.sizes(), (Shape{5, 4}));
  EXPECT_EQ(h.sizes(), (Shape{1, 4}));
  // clone() copies the weights.
  auto copy = std::dynamic_pointer_cast<nn::LSTMImpl>(lstm->clone());
  ASSERT_TRUE(copy);
  EXPECT_EQ(max_diff(copy->named_parameters()[3].second, lstm->named_parameters()[3].second), 0.0);
}

TEST(RnnModules, ErrorsNameTheShapes) {
  using test_util::message_of;
  nn::LSTM lstm(3, 4);
  EXPECT_NE(message_of([&] { lstm(randn({5, 2, 7})); }).find("LSTM: input [5, 2, 7] needs weight_ih [4*H, 7]"),
            std::string::npos)
      << message_of([&] { lstm(randn({5, 2, 7})); });
  EXPECT_NE(message_of([&] { lstm(randn({5, 2, 3}), std::make_tuple(zeros({1, 3, 4}), zeros({1, 3, 4}))); })
                .find("expected an initial state [1, 2, 4], got [1, 3, 4]"),
            std::string::npos);
  EXPECT_NE(message_of([&] { lstm(randn({5, 2, 3}), std::nullopt, tensor({5, 9}, DType::Int64)); })
                .find("length 9 of sequence 1 is outside [1, 5]"),
            std::string::npos);
  EXPECT_NE(message_of([] { nn::RNN(nn::RNNOptions(2, 3).nonlinearity("sigmoid")); }).find("nonlinearity"),
            std::string::npos);
  nn::GRUCell cell(3, 4);
  EXPECT_NE(message_of([&] { cell(randn({2, 5})); }).find("gru_cell: input [2, 5] does not match weight_ih [12, 3]"),
            std::string::npos)
      << message_of([&] { cell(randn({2, 5})); });
}
