#include "ember/autograd/gradcheck.h"

#include <cmath>

#include "ember/autograd/engine.h"
#include "ember/ops/ops.h"

namespace ember::autograd {
namespace {

std::vector<std::size_t> differentiable_inputs(const TensorList& inputs) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    EMBER_CHECK(inputs[i].dtype() == DType::Float64,
                "gradcheck: input {} is {}; finite differences need float64 inputs", i, inputs[i].dtype());
    for (std::int64_t d = 0; d < inputs[i].dim(); ++d)
      EMBER_CHECK(inputs[i].strides()[d] != 0 || inputs[i].sizes()[d] <= 1,
                  "gradcheck: input {} has overlapping memory (an expanded view, shape {}); pass a "
                  "contiguous copy and expand inside the function",
                  i, shape_str(inputs[i].sizes()));
    idx.push_back(i);
  }
  EMBER_CHECK(!idx.empty(), "gradcheck: no input requires grad");
  return idx;
}

TensorList float_outputs(const CheckedFunction& f, const TensorList& inputs) {
  TensorList out;
  for (auto& t : f(inputs))
    if (t.defined() && t.is_floating_point()) out.push_back(t);
  return out;
}

std::vector<double> flat(const Tensor& t, std::int64_t n) {
  return t.defined() ? t.to_vector<double>() : std::vector<double>(static_cast<std::size_t>(n), 0.0);
}

// The values of f's outputs, read before any input changes again (an output
// may be a view of an input).
std::vector<std::vector<double>> output_values(const CheckedFunction& f, const TensorList& inputs) {
  std::vector<std::vector<double>> values;
  for (const auto& t : float_outputs(f, inputs)) values.push_back(t.to_vector<double>());
  return values;
}

// Evaluates f with input `x`'s element at storage offset `off` shifted by `delta`.
std::vector<std::vector<double>> eval_shifted(const CheckedFunction& f, const TensorList& inputs, const Tensor& x,
                                              std::int64_t off, double delta) {
  double* p = static_cast<double*>(x.impl().storage->data()) + off;
  const double saved = *p;
  *p = saved + delta;
  auto out = output_values(f, inputs);
  *p = saved;
  return out;
}

// v^T d out / d x by autograd; undefined when out does not depend on x.
Tensor vjp(const Tensor& out, const Tensor& x, const Tensor& v) {
  if (!out.requires_grad()) return Tensor();
  return grad({out}, {x}, GradOptions().grad_outputs({v}).retain_graph(true).allow_unused(true))[0];
}

bool close(double analytical, double numerical, const GradcheckOptions& o) {
  return std::abs(analytical - numerical) <= o.atol() + o.rtol() * std::abs(numerical) ||
         (std::isnan(analytical) && std::isnan(numerical));
}

void full_check(const CheckedFunction& f, const TensorList& inputs, const std::vector<std::size_t>& diff,
                const TensorList& outputs, const GradcheckOptions& o) {
  for (std::size_t jj = 0; jj < diff.size(); ++jj) {
    const Tensor& x = inputs[diff[jj]];
    const auto offsets = detail::element_offsets(x);
    // numerical[i][k][m]: d out_i[m] / d x[k]
    std::vector<std::vector<std::vector<double>>> numerical(outputs.size());
    for (std::size_t k = 0; k < offsets.size(); ++k) {
      auto plus = eval_shifted(f, inputs, x, offsets[k], o.eps());
      auto minus = eval_shifted(f, inputs, x, offsets[k], -o.eps());
      for (std::size_t i = 0; i < outputs.size(); ++i) {
        const auto& p = plus[i];
        const auto& m = minus[i];
        std::vector<double> col(p.size());
        for (std::size_t e = 0; e < p.size(); ++e) col[e] = (p[e] - m[e]) / (2 * o.eps());
        numerical[i].push_back(std::move(col));
      }
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const std::int64_t n_out = outputs[i].numel();
      for (std::int64_t m = 0; m < n_out; ++m) {
        Tensor seed = zeros(outputs[i].sizes(), outputs[i].dtype());
        dispatch(seed.dtype(), [&](auto tag) { seed.data_ptr<typename decltype(tag)::type>()[m] = 1; });
        auto row = flat(vjp(outputs[i], x, seed), x.numel());
        for (std::size_t k = 0; k < offsets.size(); ++k) {
          const double num = numerical[i][k][static_cast<std::size_t>(m)];
          EMBER_CHECK(close(row[k], num, o),
                      "gradcheck: Jacobian mismatch for output {} with respect to input {}: element "
                      "(output {}, input {}): numerical {} vs analytical {}",
                      i, diff[jj], m, k, num, row[k]);
        }
      }
    }
  }
}

void fast_check(const CheckedFunction& f, const TensorList& inputs, const std::vector<std::size_t>& diff,
                const TensorList& outputs, const GradcheckOptions& o) {
  for (std::size_t jj = 0; jj < diff.size(); ++jj) {
    const Tensor& x = inputs[diff[jj]];
    const auto offsets = detail::element_offsets(x);
    std::vector<double> u = randn({x.numel()}, DType::Float64).to_vector<double>();
    double norm = 0;
    for (double v : u) norm += v * v;
    norm = std::sqrt(norm);
    for (double& v : u) v = norm > 0 ? v / norm : 0;
    // J u by a central difference along u.
    double* base = static_cast<double*>(x.impl().storage->data());
    std::vector<double> saved(offsets.size());
    for (std::size_t k = 0; k < offsets.size(); ++k) saved[k] = base[offsets[k]];
    auto shift = [&](double s) {
      for (std::size_t k = 0; k < offsets.size(); ++k) base[offsets[k]] = saved[k] + s * u[k];
    };
    shift(o.eps());
    auto plus = output_values(f, inputs);
    shift(-o.eps());
    auto minus = output_values(f, inputs);
    shift(0);
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      Tensor v = randn(outputs[i].sizes(), outputs[i].dtype());
      auto vv = v.to_vector<double>();
      const auto& p = plus[i];
      const auto& m = minus[i];
      double num = 0;
      for (std::size_t e = 0; e < vv.size(); ++e) num += vv[e] * (p[e] - m[e]) / (2 * o.eps());
      auto g = flat(vjp(outputs[i], x, v), x.numel());
      double ana = 0;
      for (std::size_t k = 0; k < u.size(); ++k) ana += g[k] * u[k];
      EMBER_CHECK(close(ana, num, o),
                  "gradcheck (fast mode): v^T J u mismatch for output {} with respect to input {}: "
                  "numerical {} vs analytical {}",
                  i, diff[jj], num, ana);
    }
  }
}

}  // namespace

bool gradcheck(const CheckedFunction& f, const TensorList& inputs, const GradcheckOptions& options) {
  const auto diff = differentiable_inputs(inputs);
  const TensorList outputs = float_outputs(f, inputs);
  if (options.fast_mode()) fast_check(f, inputs, diff, outputs, options);
  else full_check(f, inputs, diff, outputs, options);
  return true;
}

bool gradgradcheck(const CheckedFunction& f, const TensorList& inputs, const GradcheckOptions& options) {
  const auto diff = differentiable_inputs(inputs);
  const TensorList outputs = float_outputs(f, inputs);
  TensorList all = inputs;
  for (const auto& out : outputs) all.push_back(randn(out.sizes(), DType::Float64).requires_grad_());
  const std::size_t n_in = inputs.size();
  auto vjp = [&](const TensorList& args) {
    TensorList xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n_in));
    TensorList vs(args.begin() + static_cast<std::ptrdiff_t>(n_in), args.end());
    TensorList outs = float_outputs(f, xs);
    TensorList wrt;
    for (auto j : diff) wrt.push_back(xs[j]);
    TensorList g = grad(outs, wrt, vs, true, true, true);
    for (std::size_t k = 0; k < g.size(); ++k)
      if (!g[k].defined()) g[k] = zeros_like(wrt[k]);
    return g;
  };
  return gradcheck(vjp, all, options);
}

}  // namespace ember::autograd
