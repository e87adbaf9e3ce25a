// Numerics (issue 10, part A): isnan / isinf / isfinite, nan_to_num, any /
// all, logaddexp, log1p, expm1, and the activations softplus, silu, mish,
// hardtanh, elu. Each forward is one kernel; each gradient is written in
// differentiable ops, so all are twice differentiable.
#include <cmath>
#include <limits>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

Tensor with_grad(const char* name, const Tensor& x, const Tensor& out, const Tensor& saved,
                 std::function<Tensor(const Tensor& g, const Tensor& s)> formula) {
  autograd::record(name, {x}, {out}, {saved}, [formula = std::move(formula)](const BackwardCtx& c, const TensorList& g) {
    return TensorList{formula(g[0], c.saved(0))};
  });
  return out;
}

template <class T>
T sigmoid_of(T v) {
  return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
}

// log(1 + exp(v)) without overflow.
template <class T>
T softplus_of(T v) {
  return v > T(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}

template <class F>
Tensor classify(const char* op, const Tensor& x, F f) {
  kernels::check_defined(x, op);
  if (!x.is_floating_point()) return full(x.sizes(), f(0.0), DType::Bool);
  return kernels::unary(op, x, x.dtype(), [f](auto v) { return f(static_cast<double>(v)); });
}

}  // namespace

Tensor isnan(const Tensor& x) { return classify("isnan", x, [](double v) { return std::isnan(v); }); }
Tensor isinf(const Tensor& x) { return classify("isinf", x, [](double v) { return std::isinf(v); }); }
Tensor isfinite(const Tensor& x) { return classify("isfinite", x, [](double v) { return std::isfinite(v); }); }

Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  kernels::check_defined(x, "nan_to_num");
  if (!x.is_floating_point()) return clone(x);
  Tensor out = dispatch_floating(x.dtype(), "nan_to_num", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T n = static_cast<T>(nan), p = posinf ? static_cast<T>(*posinf) : std::numeric_limits<T>::max(),
            m = neginf ? static_cast<T>(*neginf) : std::numeric_limits<T>::lowest();
    return kernels::unary("nan_to_num", x, x.dtype(), [=](auto v) {
      using V = decltype(v);
      if (std::isnan(v)) return static_cast<V>(n);
      if (std::isinf(v)) return static_cast<V>(v > 0 ? p : m);
      return v;
    });
  });
  return with_grad("NanToNumBackward", x, out, isfinite(x),
                   [](const Tensor& g, const Tensor& finite) { return where(finite, g, scalar_tensor(0.0, g.dtype())); });
}

Tensor any(const Tensor& x, Shape dims, bool keepdim) {
  kernels::check_defined(x, "any");
  return gt(sum(ne(x.detach(), scalar_tensor(0.0, x.dtype())), std::move(dims), keepdim), scalar_tensor(0.0, DType::Int64));
}
Tensor all(const Tensor& x, Shape dims, bool keepdim) {
  kernels::check_defined(x, "all");
  return eq(sum(eq(x.detach(), scalar_tensor(0.0, x.dtype())), std::move(dims), keepdim), scalar_tensor(0.0, DType::Int64));
}
Tensor any(const Tensor& x) { return any(x, {}, false); }
Tensor all(const Tensor& x) { return all(x, {}, false); }

Tensor logaddexp(const Tensor& a, const Tensor& b) {
  DType dt = kernels::result_type(a, b);
  if (!is_floating(dt)) dt = DType::Float32;
  Tensor out = kernels::binary("logaddexp", a, b, dt, [](auto x, auto y) {
    using T = decltype(x);
    if (std::isinf(x) && x == y) return x;  // both +inf or both -inf
    const T m = x > y ? x : y;
    return static_cast<T>(m + std::log1p(std::exp(-std::abs(x - y))));
  });
  autograd::record("LogaddexpBackward", {a, b}, {out}, {a, b}, [](const BackwardCtx& c, const TensorList& g) {
    const Tensor d = c.saved(0) - c.saved(1);
    return TensorList{c.needs_input_grad(0) ? g[0] * sigmoid(d) : Tensor(),
                      c.needs_input_grad(1) ? g[0] * sigmoid(-d) : Tensor()};
  });
  return out;
}

Tensor log1p(const Tensor& x) {
  Tensor out = kernels::unary_floating("log1p", x, [](auto v) { return std::log1p(v); });
  return with_grad("Log1pBackward", x, out, x, [](const Tensor& g, const Tensor& s) { return g / (s + 1.0); });
}

Tensor expm1(const Tensor& x) {
  Tensor out = kernels::unary_floating("expm1", x, [](auto v) { return std::expm1(v); });
  return with_grad("Expm1Backward", x, out, out, [](const Tensor& g, const Tensor& y) { return g * (y + 1.0); });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  Tensor out = kernels::unary_floating("softplus", x, [beta, threshold](auto v) {
    using T = decltype(v);
    const T bx = static_cast<T>(beta) * v;
    return bx > static_cast<T>(threshold) ? v : softplus_of(bx) / static_cast<T>(beta);
  });
  return with_grad("SoftplusBackward", x, out, x, [beta, threshold](const Tensor& g, const Tensor& s) {
    Tensor bx = s * beta;
    return where(bx > threshold, g, g * sigmoid(bx));
  });
}

Tensor silu(const Tensor& x) {
  Tensor out = kernels::unary_floating("silu", x, [](auto v) { return v * sigmoid_of(v); });
  return with_grad("SiluBackward", x, out, x, [](const Tensor& g, const Tensor& s) {
    Tensor sg = sigmoid(s);
    return g * sg * (1.0 + s * (1.0 - sg));
  });
}

Tensor mish(const Tensor& x) {
  Tensor out = kernels::unary_floating("mish", x, [](auto v) { return v * std::tanh(softplus_of(v)); });
  return with_grad("MishBackward", x, out, x, [](const Tensor& g, const Tensor& s) {
    Tensor t = tanh(softplus(s));
    return g * (t + s * sigmoid(s) * (1.0 - t * t));
  });
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  EMBER_CHECK(min_val <= max_val, "hardtanh: min_val ({}) must not be greater than max_val ({})", min_val, max_val);
  Tensor out = clamp(x.detach(), min_val, max_val);
  return with_grad("HardtanhBackward", x, out, x, [min_val, max_val](const Tensor& g, const Tensor& s) {
    Tensor inside = kernels::unary("hardtanh", s, s.dtype(), [min_val, max_val](auto v) {
      return static_cast<double>(v) > min_val && static_cast<double>(v) < max_val;
    });
    return where(inside, g, scalar_tensor(0.0, g.dtype()));
  });
}

Tensor elu(const Tensor& x, double alpha) {
  Tensor out = kernels::unary_floating("elu", x, [alpha](auto v) {
    using T = decltype(v);
    return v > T(0) ? v : static_cast<T>(alpha) * std::expm1(v);
  });
  return with_grad("EluBackward", x, out, x, [alpha](const Tensor& g, const Tensor& s) {
    return where(s > 0.0, g, g * alpha * exp(s));
  });
}

}  // namespace ember
