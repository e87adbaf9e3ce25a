// The op table: every differentiable op, one row each, driven through
//   (a) a forward check against PyTorch's values (tests/data/op_reference.txt,
//       dumped by scripts/gen_op_reference.py),
//   (b) its gradient against PyTorch's for a random grad_output,
//   (c) gradcheck in float64 (central differences),
//   (d) gradgradcheck where the row claims second derivatives,
// for contiguous inputs and again with the same values laid out transposed and
// sliced (non-contiguous, with an offset). Expanded inputs, broadcasting and
// size-0/size-1 dims are cases of their own in the reference file.
// Kinks: rows list the cases that sit exactly on a kink (relu at 0, ties of
// max); there a finite difference means nothing, so (c)/(d) are replaced by
// (b), which pins PyTorch's convention.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <set>

#include <ember/ember.h>

namespace {
using namespace ember;

struct RefTensor {
  std::string kind;  // "f" float64, "i" int64, "b" bool
  std::vector<std::int64_t> shape;
  std::vector<double> values;
  bool requires_grad = false;
};

struct RefCase {
  std::string op, name;
  std::vector<RefTensor> inputs;
  RefTensor grad_output, output;
  std::vector<RefTensor> grads;
};

RefTensor read_tensor(std::istream& in, const std::string& expected_tag) {
  std::string tag;
  in >> tag;
  if (tag != expected_tag) throw std::runtime_error("op_reference.txt: expected '" + expected_tag + "', got '" + tag + "'");
  RefTensor t;
  in >> t.kind;
  if (t.kind == "none") return t;
  std::size_t ndim = 0, count = 0;
  in >> t.requires_grad >> ndim;
  t.shape.resize(ndim);
  for (auto& d : t.shape) in >> d;
  in >> count;
  t.values.resize(count);
  for (auto& v : t.values) {  // through strtod, which also reads Python's "nan", "inf" and "-inf"
    std::string word;
    in >> word;
    char* end = nullptr;
    v = std::strtod(word.c_str(), &end);
    if (word.empty() || *end != '\0') in.setstate(std::ios::failbit);
  }
  if (!in) throw std::runtime_error("op_reference.txt: malformed " + expected_tag + " line");
  return t;
}

// Reads the cases PyTorch's values were dumped for (see the file's header).
std::vector<RefCase> read_cases(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<RefCase> cases;
  std::string word;
  while (in >> word) {
    if (word[0] == '#') {
      std::getline(in, word);
      continue;
    }
    if (word != "case") throw std::runtime_error(path + ": expected 'case', got '" + word + "'");
    RefCase c;
    in >> c.op >> c.name;
    while (in.peek() != EOF) {
      in >> std::ws;
      std::string tag;
      const auto pos = in.tellg();
      in >> tag;
      in.seekg(pos);
      if (tag != "input") break;
      c.inputs.push_back(read_tensor(in, "input"));
    }
    c.grad_output = read_tensor(in, "grad_output");
    c.output = read_tensor(in, "output");
    for (std::size_t i = 0; i < c.inputs.size(); ++i) c.grads.push_back(read_tensor(in, "grad"));
    in >> word;
    if (word != "end") throw std::runtime_error(path + ": case " + c.name + " does not end with 'end'");
    cases.push_back(std::move(c));
  }
  return cases;
}

const std::vector<RefCase>& reference_cases() {
  static const std::vector<RefCase> cases = read_cases(EMBER_TEST_DATA_DIR "/op_reference.txt");
  return cases;
}

using Fn = std::function<Tensor(const TensorList&)>;

struct OpRow {
  OpRow(Fn f, std::set<std::string> kinks = {}, double step = 1e-6, bool second = true, bool strided = true)
      : fn(std::move(f)), at_kink(std::move(kinks)), eps(step), gradgrad(second), strided_inputs(strided) {}
  Fn fn;
  std::set<std::string> at_kink;  // cases on a kink: compare with PyTorch's gradient only
  double eps;                     // finite-difference step (wider for float32 round trips)
  bool gradgrad;                  // second derivatives are checked
  bool strided_inputs;            // also run with transposed and sliced inputs (not for view)
};

// ---- issue 10 part A: helpers ----
// Pieces joined with a weight each (as gen_op_reference.py's weighted()), so sizes and order both show.
Tensor weighted(const TensorList& parts, std::int64_t dim) {
  TensorList w;
  for (std::size_t i = 0; i < parts.size(); ++i) w.push_back(parts[i] * static_cast<double>(i + 1));
  return cat(w, dim);
}
Tensor f64(const Tensor& t) { return t.to(DType::Float64); }
// ---- end of issue 10 part A helpers ----

// Rows keyed by op name, or by "op/case" where the case fixes an argument.
const std::map<std::string, OpRow>& op_table() {
  static const std::map<std::string, OpRow> rows = {
      {"add", {[](const TensorList& x) { return add(x[0], x[1]); }}},
      {"sub", {[](const TensorList& x) { return sub(x[0], x[1]); }}},
      {"mul", {[](const TensorList& x) { return x[0] * x[1]; }}},
      {"div", {[](const TensorList& x) { return x[0] / x[1]; }}},
      {"maximum", {[](const TensorList& x) { return maximum(x[0], x[1]); }, {"maximum/ties"}}},
      {"minimum", {[](const TensorList& x) { return minimum(x[0], x[1]); }, {"minimum/ties"}}},
      {"add_alpha", {[](const TensorList& x) { return add(x[0], x[1], 2.5); }}},
      {"sub_alpha", {[](const TensorList& x) { return sub(x[0], x[1], -0.5); }}},
      {"pow", {[](const TensorList& x) { return pow(x[0], x[1]); }}},
      {"pow_scalar", {[](const TensorList& x) { return x[0].pow(3); }}},
      {"pow_scalar_half", {[](const TensorList& x) { return x[0].pow(0.5); }}},
      {"mul_scalar", {[](const TensorList& x) { return x[0] * 2.5 - 1.0; }}},
      {"rdiv_scalar", {[](const TensorList& x) { return 2.0 / x[0]; }}},
      {"mul_expand", {[](const TensorList& x) { return x[0].expand({3, 4}) * x[1]; }}},
      {"where", {[](const TensorList& x) { return where(x[0], x[1], x[2]); }}},
      {"neg", {[](const TensorList& x) { return -x[0]; }}},
      {"exp", {[](const TensorList& x) { return exp(x[0]); }}},
      {"log", {[](const TensorList& x) { return log(x[0]); }}},
      {"sqrt", {[](const TensorList& x) { return sqrt(x[0]); }}},
      {"rsqrt", {[](const TensorList& x) { return rsqrt(x[0]); }}},
      {"abs", {[](const TensorList& x) { return abs(x[0]); }, {"abs/kink"}}},
      {"sin", {[](const TensorList& x) { return sin(x[0]); }}},
      {"cos", {[](const TensorList& x) { return cos(x[0]); }}},
      {"tanh", {[](const TensorList& x) { return tanh(x[0]); }}},
      {"sigmoid", {[](const TensorList& x) { return sigmoid(x[0]); }}},
      {"erf", {[](const TensorList& x) { return erf(x[0]); }}},
      {"relu", {[](const TensorList& x) { return relu(x[0]); }, {"relu/kink"}}},
      {"leaky_relu", {[](const TensorList& x) { return leaky_relu(x[0], 0.1); }, {"leaky_relu/kink"}}},
      {"gelu", {[](const TensorList& x) { return gelu(x[0]); }}},
      {"gelu_tanh", {[](const TensorList& x) { return gelu(x[0], "tanh"); }}},
      {"clamp", {[](const TensorList& x) { return clamp(x[0], -0.5, 0.7); }, {"clamp/kink"}}},
      {"clamp_min", {[](const TensorList& x) { return clamp(x[0], 0.2, std::nullopt); }}},
      {"sum", {[](const TensorList& x) { return sum(x[0]); }}},
      {"sum_dims/dim0", {[](const TensorList& x) { return sum(x[0], {0}); }}},
      {"sum_dims/dims02_keepdim", {[](const TensorList& x) { return sum(x[0], {0, 2}, true); }}},
      {"sum_dims/negative", {[](const TensorList& x) { return sum(x[0], {-1}); }}},
      {"sum_dims/empty_dim", {[](const TensorList& x) { return sum(x[0], {1}); }}},
      {"mean", {[](const TensorList& x) { return mean(x[0]); }}},
      {"mean_dims", {[](const TensorList& x) { return mean(x[0], {1}, true); }}},
      {"var/dim1", {[](const TensorList& x) { return var(x[0], {1}); }}},
      {"var/all", {[](const TensorList& x) { return var(x[0]); }}},
      {"std", {[](const TensorList& x) { return ember::std(x[0], {0}, 1, true); }}},
      {"max_all", {[](const TensorList& x) { return max(x[0]); }, {"max_all/ties"}}},
      {"min_all", {[](const TensorList& x) { return min(x[0]); }}},
      {"max_dim/dim1", {[](const TensorList& x) { return max(x[0], 1).values; }}},
      {"max_dim/dim0_keepdim", {[](const TensorList& x) { return max(x[0], 0, true).values; }}},
      {"max_dim/ties", {[](const TensorList& x) { return max(x[0], 1).values; }, {"max_dim/ties"}}},
      {"min_dim", {[](const TensorList& x) { return min(x[0], 1).values; }}},
      {"amax/dims", {[](const TensorList& x) { return amax(x[0], {0, 2}); }}},
      {"amax/ties", {[](const TensorList& x) { return amax(x[0], {1}); }, {"amax/ties"}}},
      {"logsumexp/dim1", {[](const TensorList& x) { return logsumexp(x[0], {1}); }}},
      {"logsumexp/large", {[](const TensorList& x) { return logsumexp(x[0], {0}, true); }}},
      {"softmax/dim1", {[](const TensorList& x) { return softmax(x[0], 1); }}},
      {"softmax/dim0_3d", {[](const TensorList& x) { return softmax(x[0], 0); }}},
      {"softmax/large", {[](const TensorList& x) { return softmax(x[0], -1); }}},
      {"log_softmax", {[](const TensorList& x) { return log_softmax(x[0], 1); }}},
      {"matmul", {[](const TensorList& x) { return matmul(x[0], x[1]); }}},
      {"cat/dim0", {[](const TensorList& x) { return cat({x[0], x[1]}, 0); }}},
      {"cat/dim1", {[](const TensorList& x) { return cat({x[0], x[1]}, 1); }}},
      {"stack", {[](const TensorList& x) { return stack({x[0], x[1]}, 1); }}},
      {"index_select/dim0", {[](const TensorList& x) { return index_select(x[0], 0, x[1]); }}},
      {"index_select/dim1", {[](const TensorList& x) { return index_select(x[0], 1, x[1]); }}},
      {"gather/dim1", {[](const TensorList& x) { return gather(x[0], 1, x[1]); }}},
      {"gather/dim0", {[](const TensorList& x) { return gather(x[0], 0, x[1]); }}},
      {"scatter_add", {[](const TensorList& x) { return scatter_add(x[0], 0, x[1], x[2]); }}},
      {"index_add", {[](const TensorList& x) { return index_add(x[0], 0, x[1], x[2]); }}},
      // view needs compatible strides (as in PyTorch), so it sees contiguous inputs only.
      {"sign", {[](const TensorList& x) { return sign(x[0]); }}},
      {"sum_to", {[](const TensorList& x) { return sum_to(x[0], {3, 1}); }}},
      {"threshold_backward", {[](const TensorList& x) { return threshold_backward(x[0], x[1], 0.0); }}},
      {"slice_backward", {[](const TensorList& x) { return slice_backward(x[0], {3, 6}, 1, 1, 5, 2); }}},
      {"view", {[](const TensorList& x) { return x[0].view({2, 6}); }, {}, 1e-6, true, false}},
      {"reshape", {[](const TensorList& x) { return x[0].reshape({-1}); }}},
      {"flatten", {[](const TensorList& x) { return x[0].flatten(1); }}},
      {"transpose", {[](const TensorList& x) { return x[0].transpose(0, 1); }}},
      {"mT", {[](const TensorList& x) { return x[0].mT(); }}},
      {"permute", {[](const TensorList& x) { return x[0].permute({2, 0, 1}); }}},
      {"squeeze", {[](const TensorList& x) { return x[0].squeeze(); }}},
      {"squeeze_dim", {[](const TensorList& x) { return x[0].squeeze(1); }}},
      {"unsqueeze", {[](const TensorList& x) { return x[0].unsqueeze(1); }}},
      {"expand", {[](const TensorList& x) { return x[0].expand({2, 3, 4}); }}},
      {"narrow", {[](const TensorList& x) { return x[0].narrow(1, 1, 2); }}},
      {"slice_step", {[](const TensorList& x) { return x[0].slice(1, 1, 5, 2); }}},
      {"select/dim1", {[](const TensorList& x) { return x[0].select(1, 2); }}},
      {"select/negative", {[](const TensorList& x) { return x[0].select(0, -1); }}},
      {"clone", {[](const TensorList& x) { return x[0].clone(); }}},
      {"contiguous_t", {[](const TensorList& x) { return x[0].t().contiguous(); }}},
      // float32 round trip: the finite difference must step over float32's rounding.
      {"to_float32", {[](const TensorList& x) { return x[0].to(DType::Float32).to(DType::Float64); }, {}, 1e-3}},
      {"linear", {[](const TensorList& x) { return linear(x[0], x[1], x[2]); }}},
      {"linear_nobias", {[](const TensorList& x) { return linear(x[0], x[1]); }}},
      {"conv2d", {[](const TensorList& x) { return conv2d(x[0], x[1], x[2]); }}},
      {"conv2d_s2p1", {[](const TensorList& x) { return conv2d(x[0], x[1], x[2], {2, 2}, {1, 1}); }}},
      {"conv2d_dil2", {[](const TensorList& x) { return conv2d(x[0], x[1], {}, {1, 1}, {1, 2}, {2, 2}); }}},
      {"conv2d_groups2", {[](const TensorList& x) { return conv2d(x[0], x[1], x[2], {1, 1}, {0, 0}, {1, 1}, 2); }}},
      {"conv2d_1x1", {[](const TensorList& x) { return conv2d(x[0], x[1]); }}},
      {"conv2d_input_grad", {[](const TensorList& x) { return conv2d_input_grad(x[0], x[1], {1, 2, 6, 5}, {2, 2}, {1, 1}); }}},
      {"conv2d_weight_grad",
       {[](const TensorList& x) { return conv2d_weight_grad(x[0], x[1], {4, 2, 2, 2}, {1, 1}, {0, 0}, {1, 1}, 2); }}},
      {"avg_pool2d_backward",
       {[](const TensorList& x) { return avg_pool2d_backward(x[0], {1, 2, 5, 5}, {3, 3}, {2, 2}, {1, 1}, false, true); }}},
      {"max_pool2d", {[](const TensorList& x) { return max_pool2d(x[0], {2, 2}); }}},
      {"max_pool2d_s1p1", {[](const TensorList& x) { return max_pool2d(x[0], {3, 3}, Int2{1, 1}, {1, 1}); }}},
      {"max_pool2d_ceil", {[](const TensorList& x) { return max_pool2d(x[0], {2, 2}, Int2{2, 2}, {0, 0}, {1, 1}, true); }}},
      {"max_pool2d_dil", {[](const TensorList& x) { return max_pool2d(x[0], {2, 2}, Int2{1, 1}, {0, 0}, {2, 2}); }}},
      {"avg_pool2d", {[](const TensorList& x) { return avg_pool2d(x[0], {2, 2}); }}},
      {"avg_pool2d_p1", {[](const TensorList& x) { return avg_pool2d(x[0], {3, 3}, Int2{2, 2}, {1, 1}); }}},
      {"avg_pool2d_p1_exclude",
       {[](const TensorList& x) { return avg_pool2d(x[0], {3, 3}, Int2{2, 2}, {1, 1}, false, false); }}},
      {"avg_pool2d_ceil", {[](const TensorList& x) { return avg_pool2d(x[0], {2, 2}, Int2{2, 2}, {1, 1}, true); }}},
      {"adaptive_avg_pool2d", {[](const TensorList& x) { return adaptive_avg_pool2d(x[0], {1, 1}); }}},
      {"adaptive_avg_pool2d_2x3", {[](const TensorList& x) { return adaptive_avg_pool2d(x[0], {2, 3}); }}},
      {"batch_norm_train", {[](const TensorList& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true); }}},
      {"batch_norm_eval", {[](const TensorList& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], false); }}},
      {"dropout_eval", {[](const TensorList& x) { return dropout(x[0], 0.5, false); }}},
      {"cross_entropy", {[](const TensorList& x) { return nn::F::cross_entropy(x[0], x[1]); }}},
      {"cross_entropy_opts", {[](const TensorList& x) {
         return nn::F::cross_entropy(x[0], x[1],
                                     nn::F::CrossEntropyFuncOptions().weight(x[2]).ignore_index(2).label_smoothing(0.1));
       }}},
      {"cross_entropy_sum", {[](const TensorList& x) { return nn::F::cross_entropy(x[0], x[1], nn::kSum); }}},
      {"nll_loss", {[](const TensorList& x) { return nn::F::nll_loss(x[0], x[1], nn::F::NLLLossFuncOptions().weight(x[2])); }}},
      {"nll_loss_none", {[](const TensorList& x) { return nn::F::nll_loss(x[0], x[1], nn::kNone); }}},
      {"nll_loss_mean", {[](const TensorList& x) { return nn::F::nll_loss(x[0], x[1], nn::F::NLLLossFuncOptions().ignore_index(1)); }}},
      {"nll_loss_sum", {[](const TensorList& x) { return nn::F::nll_loss(x[0], x[1], nn::kSum); }}},
      {"mse_loss", {[](const TensorList& x) { return nn::F::mse_loss(x[0], x[1]); }}},
      {"mse_loss_sum", {[](const TensorList& x) { return nn::F::mse_loss(x[0], x[1], nn::kSum); }}},
      {"l1_loss", {[](const TensorList& x) { return nn::F::l1_loss(x[0], x[1]); }}},
      {"binary_cross_entropy", {[](const TensorList& x) { return nn::F::binary_cross_entropy(x[0], x[1]); }}},
      {"bce_with_logits", {[](const TensorList& x) { return nn::F::binary_cross_entropy_with_logits(x[0], x[1]); }}},
      {"bce_with_logits_pos",
       {[](const TensorList& x) { return nn::F::binary_cross_entropy_with_logits(x[0], x[1], nn::F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(x[2])); }}},
      {"mlp_layer", {[](const TensorList& x) { return tanh(matmul(x[0], x[1].t()) + x[2]).sum({1}); }}},
      {"mse", {[](const TensorList& x) { return (x[0] - x[1]).pow(2).mean(); }}},
      {"cross_entropy_like", {[](const TensorList& x) { return -log_softmax(x[0], 1).gather(1, x[1]).mean(); }}},
      // ---- issue 10 part A: shape and indexing ----
      {"chunk/uneven", {[](const TensorList& x) { return weighted(chunk(x[0], 3, 1), 1); }}},
      {"chunk/fewer", {[](const TensorList& x) { return weighted(chunk(x[0], 3, 0), 0); }}},
      {"chunk/size1", {[](const TensorList& x) { return weighted(chunk(x[0], 2, 1), 1); }}},
      {"split_sizes", {[](const TensorList& x) { return weighted(split(x[0], Shape{1, 3, 0, 2}, 1), 1); }}},
      {"split", {[](const TensorList& x) { return weighted(split(x[0], 2, 0), 0); }}},
      {"unbind", {[](const TensorList& x) {
         TensorList parts = unbind(x[0], 1);
         for (std::size_t i = 0; i < parts.size(); ++i) parts[i] = parts[i] * static_cast<double>(i + 1);
         return stack(parts, 0);
       }}},
      {"flip/dims02", {[](const TensorList& x) { return flip(x[0], {0, 2}); }}},
      {"flip/last", {[](const TensorList& x) { return flip(x[0], {-1}); }}},
      {"flip/empty", {[](const TensorList& x) { return flip(x[0], {0}); }}},
      {"roll/dims", {[](const TensorList& x) { return roll(x[0], {1, -2}, {0, 1}); }}},
      {"roll/flat", {[](const TensorList& x) { return roll(x[0], {3}); }}},
      {"roll/large", {[](const TensorList& x) { return roll(x[0], {-7}, {1}); }}},
      {"pad_constant", {[](const TensorList& x) { return pad(x[0], {1, 2}, "constant", 0.5); }}},
      {"pad_constant_crop", {[](const TensorList& x) { return nn::F::pad(x[0], nn::F::PadFuncOptions({1, -1, 2, 0})); }}},
      {"pad_reflect", {[](const TensorList& x) { return pad(x[0], {2, 1}, "reflect"); }}},
      {"pad_reflect2d", {[](const TensorList& x) { return nn::F::pad(x[0], nn::F::PadFuncOptions({1, 1, 2, 0}).mode("reflect")); }}},
      {"pad_replicate", {[](const TensorList& x) { return pad(x[0], {2, 3}, "replicate"); }}},
      {"pad_replicate2d", {[](const TensorList& x) { return pad(x[0], {1, 2, 3, 1}, "replicate"); }}},
      {"pad_circular", {[](const TensorList& x) { return pad(x[0], {2, 1}, "circular"); }}},
      {"pad_circular2d", {[](const TensorList& x) { return pad(x[0], {1, 1, 2, 2}, "circular"); }}},
      {"repeat/new_dim", {[](const TensorList& x) { return repeat(x[0], {2, 1, 3}); }}},
      {"repeat/size1", {[](const TensorList& x) { return repeat(x[0], {2, 2}); }}},
      {"repeat_zero", {[](const TensorList& x) { return repeat(x[0], {0, 2}); }}},
      {"tile", {[](const TensorList& x) { return tile(x[0], {2}); }}},
      {"tile_long", {[](const TensorList& x) { return tile(x[0], {2, 1, 2}); }}},
      {"tril", {[](const TensorList& x) { return tril(x[0]); }}},
      {"tril_m1", {[](const TensorList& x) { return tril(x[0], -1); }}},
      {"triu", {[](const TensorList& x) { return triu(x[0]); }}},
      {"triu_1", {[](const TensorList& x) { return triu(x[0], 1); }}},
      {"diag", {[](const TensorList& x) { return diag(x[0]); }}},
      {"diag_1", {[](const TensorList& x) { return diag(x[0], 1); }}},
      {"diag_m2", {[](const TensorList& x) { return diag(x[0], -2); }}},
      {"diagonal", {[](const TensorList& x) { return diagonal(x[0]); }}},
      {"diagonal_12_o1", {[](const TensorList& x) { return diagonal(x[0], 1, 1, 2); }}},
      {"diagonal_20_m1", {[](const TensorList& x) { return diagonal(x[0], -1, 2, 0); }}},
      {"masked_fill", {[](const TensorList& x) { return masked_fill(x[0], x[1], 2.5); }}},
      {"masked_fill_tensor", {[](const TensorList& x) { return masked_fill(x[0], x[1], x[2]); }}},
      {"masked_select", {[](const TensorList& x) { return masked_select(x[0], x[1]); }}},
      {"scatter", {[](const TensorList& x) { return scatter(x[0], 0, x[1], x[2]); }}},
      {"scatter_dim1", {[](const TensorList& x) { return scatter(x[0], 1, x[1], x[2]); }}},
      {"scatter_value", {[](const TensorList& x) { return scatter(x[0], 0, x[1], -1.5); }}},
      {"scatter_reduce_sum", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "sum"); }}},
      {"scatter_reduce_sum_noself", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "sum", false); }}},
      {"scatter_reduce_sum_dim1", {[](const TensorList& x) { return scatter_reduce(x[0], 1, x[1], x[2], "sum"); }}},
      {"scatter_reduce_mean", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "mean"); }}},
      {"scatter_reduce_mean_noself", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "mean", false); }}},
      {"scatter_reduce_amax", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "amax"); },
                               {"scatter_reduce_amax/ties"}}},
      {"scatter_reduce_amax_noself", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "amax", false); }}},
      {"scatter_reduce_amin", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "amin"); }}},
      {"scatter_reduce_amin_noself", {[](const TensorList& x) { return scatter_reduce(x[0], 0, x[1], x[2], "amin", false); }}},
      {"nonzero", {[](const TensorList& x) { return f64(nonzero(x[0])); }}},
      {"unique", {[](const TensorList& x) { return unique(x[0]).values; }}},
      {"unique_inverse", {[](const TensorList& x) { return f64(unique(x[0], true, true).inverse); }}},
      {"unique_counts", {[](const TensorList& x) { return f64(unique(x[0], true, false, true).counts); }}},
      // ---- issue 10 part A: sort family ----
      {"sort", {[](const TensorList& x) { return sort(x[0], 1).values; }, {"sort/ties"}}},
      {"sort_desc_dim0", {[](const TensorList& x) { return sort(x[0], 0, true).values; }}},
      {"sort_indices", {[](const TensorList& x) { return f64(sort(x[0], -1, false, true).indices); }}},
      {"sort_indices_desc", {[](const TensorList& x) { return f64(sort(x[0], -1, true, true).indices); }}},
      {"argsort", {[](const TensorList& x) { return f64(argsort(x[0], 0, false, true)); }}},
      {"argsort_desc", {[](const TensorList& x) { return f64(argsort(x[0], 1, true, true)); }}},
      {"topk", {[](const TensorList& x) { return topk(x[0], 2).values; }}},
      {"topk_smallest_dim0", {[](const TensorList& x) { return topk(x[0], 3, 0, false).values; }}},
      {"topk_k0", {[](const TensorList& x) { return topk(x[0], 0).values; }}},
      {"topk_indices", {[](const TensorList& x) { return f64(topk(x[0], 2).indices); }}},
      {"topk_smallest_indices", {[](const TensorList& x) { return f64(topk(x[0], 3, 0, false).indices); }}},
      {"kthvalue", {[](const TensorList& x) { return kthvalue(x[0], 2, 1).values; }}},
      {"kthvalue_keepdim_dim0", {[](const TensorList& x) { return kthvalue(x[0], 3, 0, true).values; }}},
      {"kthvalue_indices", {[](const TensorList& x) { return f64(kthvalue(x[0], 2, 1).indices); }}},
      {"kthvalue_k9_indices", {[](const TensorList& x) { return f64(kthvalue(x[0], 9, 1).indices); }}},
      {"median_all", {[](const TensorList& x) { return median(x[0]); }}},
      {"median_dim", {[](const TensorList& x) { return median(x[0], 1).values; }, {"median_dim/ties"}}},
      {"median_keepdim_dim0", {[](const TensorList& x) { return median(x[0], 0, true).values; }}},
      {"median_indices", {[](const TensorList& x) { return f64(median(x[0], 1).indices); }}},
      {"cumsum", {[](const TensorList& x) { return cumsum(x[0], 1); }}},
      {"cumsum_dim0", {[](const TensorList& x) { return cumsum(x[0], 0); }}},
      {"cumprod", {[](const TensorList& x) { return cumprod(x[0], 1); }}},
      {"cumprod_dim0", {[](const TensorList& x) { return cumprod(x[0], 0); }}},
      // ---- issue 10 part A: numerics ----
      {"isnan", {[](const TensorList& x) { return f64(isnan(x[0])); }}},
      {"isinf", {[](const TensorList& x) { return f64(isinf(x[0])); }}},
      {"isfinite", {[](const TensorList& x) { return f64(isfinite(x[0])); }}},
      {"nan_to_num", {[](const TensorList& x) { return nan_to_num(x[0]); }}},
      {"nan_to_num_given", {[](const TensorList& x) { return nan_to_num(x[0], 1.0, 9.0, -9.0); }}},
      {"any_all", {[](const TensorList& x) { return f64(stack({any(x[0]), all(x[0])})); }}},
      {"any_dim1", {[](const TensorList& x) { return f64(any(x[0], {1})); }}},
      {"all_dim0_keepdim", {[](const TensorList& x) { return f64(all(x[0], {0}, true)); }}},
      {"all_dim1", {[](const TensorList& x) { return f64(all(x[0], {1})); }}},
      {"logaddexp", {[](const TensorList& x) { return logaddexp(x[0], x[1]); }}},
      {"log1p", {[](const TensorList& x) { return log1p(x[0]); }}},
      {"expm1", {[](const TensorList& x) { return expm1(x[0]); }}},
      {"softplus", {[](const TensorList& x) { return softplus(x[0]); }}},
      {"softplus_beta2_thr5", {[](const TensorList& x) { return softplus(x[0], 2.0, 5.0); }}},
      {"silu", {[](const TensorList& x) { return silu(x[0]); }}},
      {"mish", {[](const TensorList& x) { return mish(x[0]); }}},
      {"hardtanh", {[](const TensorList& x) { return hardtanh(x[0]); }}},
      {"hardtanh_range", {[](const TensorList& x) { return hardtanh(x[0], -0.5, 0.8); }, {"hardtanh_range/kink"}}},
      {"elu", {[](const TensorList& x) { return elu(x[0]); }}},
      {"elu_alpha", {[](const TensorList& x) { return elu(x[0], 0.7); }}},
      // ---- end of issue 10 part A ----
      // ---- issue 10 part B: linear algebra ----
      {"bmm", {[](const TensorList& x) { return bmm(x[0], x[1]); }}},
      {"addmm", {[](const TensorList& x) { return addmm(x[0], x[1], x[2]); }}},
      {"addmm_scaled", {[](const TensorList& x) { return addmm(x[0], x[1], x[2], 0.5, 2.0); }}},
      {"baddbmm", {[](const TensorList& x) { return baddbmm(x[0], x[1], x[2], 0.5, 1.5); }}},
      {"outer", {[](const TensorList& x) { return outer(x[0], x[1]); }}},
      {"dot", {[](const TensorList& x) { return dot(x[0], x[1]); }}},
      {"einsum/mm", {[](const TensorList& x) { return einsum("ij,jk->ik", {x[0], x[1]}); }}},
      {"einsum/bmm", {[](const TensorList& x) { return einsum("bij,bjk->bik", {x[0], x[1]}); }}},
      {"einsum/attention", {[](const TensorList& x) { return einsum("bhqd,bhkd->bhqk", {x[0], x[1]}); }}},
      {"einsum/trace", {[](const TensorList& x) { return einsum("ii->", {x[0]}); }}},
      {"einsum/diagonal", {[](const TensorList& x) { return einsum("ii->i", {x[0]}); }}},
      {"einsum/outer", {[](const TensorList& x) { return einsum("i,j->ij", {x[0], x[1]}); }}},
      {"einsum/transpose", {[](const TensorList& x) { return einsum("ij->ji", {x[0]}); }}},
      {"einsum/implicit", {[](const TensorList& x) { return einsum("jk,ij", {x[0], x[1]}); }}},
      {"einsum/ellipsis", {[](const TensorList& x) { return einsum("...ij,...jk->...ik", {x[0], x[1]}); }}},
      {"einsum/sum_dims", {[](const TensorList& x) { return einsum("ijk->j", {x[0]}); }}},
      {"einsum/bilinear", {[](const TensorList& x) { return einsum("bn,anm,bm->ba", {x[0], x[1], x[2]}); }}},
      {"einsum/hadamard_size1", {[](const TensorList& x) { return einsum("ij,ij->ij", {x[0], x[1]}); }}},
      {"vector_norm/p2_all", {[](const TensorList& x) { return linalg::vector_norm(x[0]); }}},
      // At a zero vector the 2-norm has a kink: PyTorch's gradient there is 0.
      {"vector_norm/p2_zero", {[](const TensorList& x) { return linalg::vector_norm(x[0], 2.0, {1}); }, {"vector_norm/p2_zero"}}},
      {"vector_norm/p1_dim", {[](const TensorList& x) { return linalg::vector_norm(x[0], 1.0, {1}); }}},
      {"vector_norm/inf_dim",
       {[](const TensorList& x) { return linalg::vector_norm(x[0], std::numeric_limits<double>::infinity(), {0}); }}},
      {"vector_norm/ninf_dim",
       {[](const TensorList& x) { return linalg::vector_norm(x[0], -std::numeric_limits<double>::infinity(), {1}); }}},
      {"vector_norm/p3_keepdim", {[](const TensorList& x) { return linalg::vector_norm(x[0], 3.0, {0, 2}, true); }}},
      {"vector_norm/p0_5", {[](const TensorList& x) { return linalg::vector_norm(x[0], 0.5, {1}); }}},
      {"vector_norm/empty", {[](const TensorList& x) { return linalg::vector_norm(x[0], 2.0, {1}); }}},
      {"norm/default", {[](const TensorList& x) { return norm(x[0]); }}},
      {"norm/p1_dim", {[](const TensorList& x) { return norm(x[0], 1.0, {0}); }}},
      // ---- issue 10 part B: embedding, normalization, conv1d, conv_transpose2d ----
      {"embedding", {[](const TensorList& x) { return embedding(x[0], x[1]); }}},
      // padding_idx withholds the padding row's gradient by definition (PyTorch's), so a
      // finite difference disagrees there: these compare with PyTorch's gradient only
      // (embedding_backward's row checks the padded gradient's own derivatives).
      {"embedding/padding", {[](const TensorList& x) { return embedding(x[0], x[1], 2); }, {"embedding/padding"}}},
      {"embedding_neg_padding",
       {[](const TensorList& x) { return embedding(x[0], x[1], -1); }, {"embedding_neg_padding/basic"}}},
      {"embedding_backward", {[](const TensorList& x) { return embedding_backward(x[0], x[1], 5, 2); }}},
      {"layer_norm", {[](const TensorList& x) { return layer_norm(x[0], {4}, x[1], x[2]); }}},
      {"layer_norm_2d", {[](const TensorList& x) { return layer_norm(x[0], {3, 4}, x[1], x[2]); }}},
      {"layer_norm_noaffine", {[](const TensorList& x) { return layer_norm(x[0], {5}); }}},
      {"group_norm", {[](const TensorList& x) { return group_norm(x[0], 2, x[1], x[2]); }}},
      {"group_norm_1", {[](const TensorList& x) { return group_norm(x[0], 1); }}},
      {"conv1d", {[](const TensorList& x) { return conv1d(x[0], x[1], x[2]); }}},
      {"conv1d_s2p1d2", {[](const TensorList& x) { return conv1d(x[0], x[1], {}, 2, 1, 2); }}},
      {"conv1d_groups2", {[](const TensorList& x) { return conv1d(x[0], x[1], x[2], 1, 0, 1, 2); }}},
      {"conv_transpose2d", {[](const TensorList& x) { return conv_transpose2d(x[0], x[1], x[2]); }}},
      {"conv_transpose2d_s2op1",
       {[](const TensorList& x) { return conv_transpose2d(x[0], x[1], {}, {2, 2}, {1, 1}, {1, 1}); }}},
      {"conv_transpose2d_op_gt_pad",
       {[](const TensorList& x) { return conv_transpose2d(x[0], x[1], x[2], {2, 3}, {0, 0}, {1, 2}); }}},
      {"conv_transpose2d_groups_dil",
       {[](const TensorList& x) { return conv_transpose2d(x[0], x[1], x[2], {1, 1}, {1, 1}, {0, 0}, 2, {2, 2}); }}},
      // ---- issue 10 part B: resampling ----
      {"interpolate_nearest/scale2", {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().scale_factor({2.0})); }}},
      {"interpolate_nearest/size1_input",
       {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().scale_factor({3.0})); }}},
      {"interpolate_nearest_size", {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().size({5, 4})); }}},
      {"interpolate_nearest_down", {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().size({2, 3})); }}},
      {"interpolate_bilinear",
       {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().size({5, 7}).mode("bilinear").align_corners(false)); }}},
      {"interpolate_bilinear_ac",
       {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().scale_factor({2.0}).mode("bilinear").align_corners(true)); }}},
      {"interpolate_bilinear_down", {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().size({2, 3}).mode("bilinear")); }}},
      {"interpolate_bilinear_scale",
       {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().scale_factor({1.5}).mode("bilinear")); }}},
      {"interpolate_linear", {[](const TensorList& x) { return interpolate(x[0], InterpolateOptions().size({8}).mode("linear")); }}},
      {"dropout2d_eval", {[](const TensorList& x) { return dropout2d(x[0], 0.5, false); }}},
      {"affine_grid/basic", {[](const TensorList& x) { return affine_grid(x[0], {2, 1, 3, 4}); }}},
      {"affine_grid/size1", {[](const TensorList& x) { return affine_grid(x[0], {1, 2, 1, 3}); }}},
      {"affine_grid_ac", {[](const TensorList& x) { return affine_grid(x[0], {1, 1, 2, 3}, true); }}},
      {"grid_sample_bilinear_zeros_noac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "bilinear", "zeros", false); }}},
      {"grid_sample_bilinear_zeros_ac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "bilinear", "zeros", true); }}},
      {"grid_sample_bilinear_border_noac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "bilinear", "border", false); }}},
      {"grid_sample_bilinear_border_ac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "bilinear", "border", true); }}},
      {"grid_sample_bilinear_reflection_noac",
       {[](const TensorList& x) { return grid_sample(x[0], x[1], "bilinear", "reflection", false); }}},
      {"grid_sample_bilinear_reflection_ac",
       {[](const TensorList& x) { return grid_sample(x[0], x[1], "bilinear", "reflection", true); }}},
      {"grid_sample_nearest_zeros_noac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "nearest", "zeros", false); }}},
      {"grid_sample_nearest_zeros_ac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "nearest", "zeros", true); }}},
      {"grid_sample_nearest_border_noac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "nearest", "border", false); }}},
      {"grid_sample_nearest_border_ac", {[](const TensorList& x) { return grid_sample(x[0], x[1], "nearest", "border", true); }}},
      {"grid_sample_nearest_reflection_noac",
       {[](const TensorList& x) { return grid_sample(x[0], x[1], "nearest", "reflection", false); }}},
      {"grid_sample_nearest_reflection_ac",
       {[](const TensorList& x) { return grid_sample(x[0], x[1], "nearest", "reflection", true); }}},
      // ---- issue 10 part B: losses ----
      {"smooth_l1_loss", {[](const TensorList& x) { return nn::F::smooth_l1_loss(x[0], x[1]); }}},
      {"smooth_l1_loss_beta", {[](const TensorList& x) { return nn::F::smooth_l1_loss(x[0], x[1], nn::F::SmoothL1LossFuncOptions().beta(0.5).reduction(nn::kSum)); }}},
      {"huber_loss", {[](const TensorList& x) { return nn::F::huber_loss(x[0], x[1]); }}},
      {"huber_loss_delta", {[](const TensorList& x) { return nn::F::huber_loss(x[0], x[1], nn::F::HuberLossFuncOptions().delta(0.7).reduction(nn::kNone)); }}},
      {"kl_div", {[](const TensorList& x) { return nn::F::kl_div(x[0], x[1], nn::kBatchMean); }}},
      {"kl_div_mean_zeros", {[](const TensorList& x) { return nn::F::kl_div(x[0], x[1]); }}},
      {"kl_div_log_target", {[](const TensorList& x) { return nn::F::kl_div(x[0], x[1], nn::F::KLDivFuncOptions().log_target(true).reduction(nn::kSum)); }}},
      {"cross_entropy_soft", {[](const TensorList& x) { return nn::F::cross_entropy(x[0], x[1]); }}},
      {"cross_entropy_soft_opts", {[](const TensorList& x) {
         return nn::F::cross_entropy(x[0], x[1],
                                     nn::F::CrossEntropyFuncOptions().weight(x[2]).label_smoothing(0.2).reduction(nn::kSum));
       }}},
      // ---- end issue 10 part B ----
  };
  return rows;
}

const OpRow* find_row(const RefCase& c) {
  const auto& rows = op_table();
  if (auto it = rows.find(c.name); it != rows.end()) return &it->second;
  if (auto it = rows.find(c.op); it != rows.end()) return &it->second;
  return nullptr;
}

enum class Layout { Contiguous, Transposed, Sliced };

Tensor make_tensor(const RefTensor& r) {
  const DType dt = r.kind == "f" ? DType::Float64 : r.kind == "i" ? DType::Int64 : DType::Bool;
  return from_vector(r.values, r.shape).to(dt);
}

// The same values in another memory layout: transposed strides, or every other
// element of a wider buffer starting at offset 1.
Tensor relayout(const Tensor& x, Layout layout) {
  NoGradGuard no_grad;
  if (layout == Layout::Transposed && x.dim() >= 2) return x.mT().contiguous().mT();
  if (layout == Layout::Sliced && x.dim() >= 1 && x.numel() > 0) {
    Shape wide = x.sizes();
    wide.back() = 2 * wide.back() + 1;
    Tensor view = zeros(wide, x.dtype()).slice(-1, 1, wide.back(), 2);
    view.copy_(x);
    return view;
  }
  return x;
}

bool changes(const RefCase& c, Layout layout) {
  for (const auto& in : c.inputs) {
    if (layout == Layout::Transposed && in.shape.size() >= 2) return true;
    if (layout == Layout::Sliced && !in.shape.empty() && numel(in.shape) > 0) return true;
  }
  return false;
}

void expect_close(const Tensor& actual, const RefTensor& expected, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.shape) << what << ": shape";
  auto a = actual.to_vector<double>();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::isnan(expected.values[i]) || std::isinf(expected.values[i]))
      EXPECT_TRUE(std::isnan(expected.values[i]) ? std::isnan(a[i]) : a[i] == expected.values[i])
          << what << " element " << i << ": " << a[i] << " vs " << expected.values[i];
    else
      EXPECT_NEAR(a[i], expected.values[i], 1e-9 + 1e-9 * std::abs(expected.values[i])) << what << " element " << i;
}

class OpTable : public ::testing::TestWithParam<std::size_t> {};

void check_case(const RefCase& c, const OpRow& row, Layout layout) {
  const std::string where_ = c.name + (layout == Layout::Contiguous ? "" : layout == Layout::Transposed ? " (transposed)" : " (sliced)");
  TensorList inputs;
  for (const auto& r : c.inputs) {
    Tensor t = relayout(make_tensor(r), layout);
    if (r.requires_grad) t.requires_grad_();
    inputs.push_back(t);
  }
  // (a) forward against PyTorch
  Tensor out = row.fn(inputs);
  expect_close(out, c.output, where_ + ": forward");
  // (b) gradient against PyTorch
  TensorList wrt;
  std::vector<std::size_t> wrt_index;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (c.inputs[i].requires_grad) {
      wrt.push_back(inputs[i]);
      wrt_index.push_back(i);
    }
  if (wrt.empty()) return;  // an index- or mask-valued op (issue 10): the forward is all there is
  TensorList grads = autograd::grad({out}, wrt, autograd::GradOptions().grad_outputs({make_tensor(c.grad_output)}).allow_unused(true));
  for (std::size_t k = 0; k < wrt.size(); ++k) {
    Tensor g = grads[k].defined() ? grads[k] : zeros_like(wrt[k]);
    expect_close(g, c.grads[wrt_index[k]], where_ + ": gradient of input " + std::to_string(wrt_index[k]));
  }
  if (row.at_kink.count(c.name)) return;
  // (c), (d) finite differences
  const auto opt = autograd::GradcheckOptions().eps(row.eps);
  auto f = [&](const TensorList& xs) { return TensorList{row.fn(xs)}; };
  EXPECT_NO_THROW(autograd::gradcheck(f, inputs, opt)) << where_;
  if (row.gradgrad && layout == Layout::Contiguous) {
    EXPECT_NO_THROW(autograd::gradgradcheck(f, inputs, opt)) << where_;
  }
}

TEST_P(OpTable, MatchesPyTorchAndFiniteDifferences) {
  const RefCase& c = reference_cases()[GetParam()];
  const OpRow* row = find_row(c);
  ASSERT_NE(row, nullptr) << "no op table row for " << c.name;
  for (Layout layout : {Layout::Contiguous, Layout::Transposed, Layout::Sliced}) {
    if (layout != Layout::Contiguous && (!changes(c, layout) || !row->strided_inputs)) continue;
    try {
      check_case(c, *row, layout);
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.name << ": " << e.what();
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<std::size_t>& info) {
  std::string n = reference_cases()[info.param].name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTable, ::testing::Range<std::size_t>(0, reference_cases().size()), case_name);

// Every row is exercised by at least one reference case, and the table's
// kink lists name real cases.
TEST(OpTableCoverage, EveryRowHasReferenceCases) {
  std::set<std::string> used;
  for (const auto& c : reference_cases()) {
    if (op_table().count(c.name)) used.insert(c.name);
    else used.insert(c.op);
  }
  for (const auto& [name, row] : op_table()) {
    EXPECT_TRUE(used.count(name)) << "row " << name << " has no reference case";
    for (const auto& k : row.at_kink) {
      bool found = false;
      for (const auto& c : reference_cases()) found = found || c.name == k;
      EXPECT_TRUE(found) << "kink case " << k << " is not in the reference file";
    }
  }
}

// ---- issue 10 part A: every public op has a reference case ----
// Scans the public op headers for declarations and fails for any op without a
// case named after it ("sort", or "sort_..." for a variant). The exemptions are
// ops whose result is a mask or an index with no gradient, tested in tensor_test.cpp
// (multinomial's random indices in random_ops_test.cpp).
TEST(OpTableCoverage, EveryPublicOpHasAReferenceCase) {
  const std::set<std::string> exempt = {"argmax", "argmin", "eq", "ge", "gt", "le", "logical_not", "lt", "ne",
                                        "multinomial", "one_hot", "wrap_scalar"};
  std::set<std::string> ops;
  for (const auto& c : reference_cases()) ops.insert(c.op);
  const std::regex decl(R"(^(?:Tensor|TensorList|ValuesIndices|UniqueResult)&? +([a-z_0-9]+)\()");
  for (const char* header : {"ops/ops.h", "ops/nn_ops.h"}) {
    std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/" + header);
    ASSERT_TRUE(in) << "cannot open " << header;
    std::string line;
    int found = 0;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, decl)) continue;
      ++found;
      const std::string name = m[1];
      if (exempt.count(name)) continue;
      bool covered = false;
      for (const auto& op : ops) covered = covered || op == name || op.rfind(name + "_", 0) == 0;
      EXPECT_TRUE(covered) << header << " declares " << name << " but tests/data/op_reference.txt has no case for it";
    }
    EXPECT_GT(found, 5) << "no declarations recognised in " << header;
  }
}

// ---- issue 10 part B: the public headers' new ops each have a row ----
// Every function declared in a header block marked "// ---- issue 10" (up to
// its "// ---- end issue 10") must have an op-table row named after it: the
// name itself, or the name followed by '/' or '_' (a variant). A new public op
// without a row fails here. Ops with no floating result to compare (none yet)
// would be listed in `exempt` with the reason.
TEST(OpTableCoverage, EveryNewPublicOpHasARow) {
  const std::set<std::string> exempt = {};
  const std::regex decl(R"(^\s*(?:Tensor|TensorList|ValuesIndices|std::vector<Tensor>)\s+([a-z_0-9]+)\()");
  std::set<std::string> declared;
  for (const char* header : {"ops/ops.h", "ops/nn_ops.h", "nn/functional.h"}) {
    std::ifstream in(std::string(EMBER_TEST_DATA_DIR) + "/../../" + header);
    ASSERT_TRUE(in) << "cannot open " << header;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("// ---- end", 0) == 0) inside = false;  // "end issue 10 part B", "end of issue 10 part A"
      else if (line.rfind("// ---- issue 10", 0) == 0) inside = true;
      std::smatch m;
      if (inside && std::regex_search(line, m, decl)) declared.insert(m[1]);
    }
  }
  EXPECT_GE(declared.size(), 20u) << "the header blocks were not found";
  for (const auto& name : declared) {
    if (exempt.count(name)) continue;
    bool found = false;
    for (const auto& [key, row] : op_table())
      found = found || key == name || key.rfind(name + "/", 0) == 0 || key.rfind(name + "_", 0) == 0;
    EXPECT_TRUE(found) << "public op " << name << " has no op table row";
  }
}

}  // namespace
