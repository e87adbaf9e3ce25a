// Unary math and activations, each forward next to its gradient.
#include <cmath>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {


// Records a one-input op whose gradient is g * d(saved), where `saved` is
// {x} or {out} as the formula needs.
Tensor with_grad(const char* name, const Tensor& x, const Tensor& out, const Tensor& saved,
                 std::function<Tensor(const Tensor& g, const Tensor& s)> formula) {
  autograd::record(name, {x}, {out}, {saved}, [formula = std::move(formula)](const BackwardCtx& c, const TensorList& g) {
    return TensorList{formula(g[0], c.saved(0))};
  });
  return out;
}

template <class T>
T sigmoid_scalar(T v) {
  return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2_Pi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluC = 0.044715;

}  // namespace

Tensor neg(const Tensor& x) {
  Tensor out = kernels::unary("neg", x, x.dtype() == DType::Bool ? DType::Int64 : x.dtype(), [](auto v) { return -v; });
  return with_grad("NegBackward", x, out, Tensor(), [](const Tensor& g, const Tensor&) { return -g; });
}

Tensor exp(const Tensor& x) {
  Tensor out = kernels::unary_floating("exp", x, [](auto v) { return std::exp(v); });
  return with_grad("ExpBackward", x, out, out, [](const Tensor& g, const Tensor& y) { return g * y; });
}

Tensor log(const Tensor& x) {
  Tensor out = kernels::unary_floating("log", x, [](auto v) { return std::log(v); });
  return with_grad("LogBackward", x, out, x, [](const Tensor& g, const Tensor& s) { return g / s; });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = kernels::unary_floating("sqrt", x, [](auto v) { return std::sqrt(v); });
  return with_grad("SqrtBackward", x, out, out, [](const Tensor& g, const Tensor& y) { return g / (2.0 * y); });
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = kernels::unary_floating("rsqrt", x, [](auto v) { return decltype(v)(1) / std::sqrt(v); });
  return with_grad("RsqrtBackward", x, out, out,
                   [](const Tensor& g, const Tensor& y) { return g * -0.5 * y * y * y; });
}

Tensor sign(const Tensor& x) {
  Tensor out = kernels::unary("sign", x, x.dtype() == DType::Bool ? DType::Int64 : x.dtype(), [](auto v) {
    using T = decltype(v);
    return static_cast<T>((T(0) < v) - (v < T(0)));
  });
  return with_grad("SignBackward", x, out, Tensor(), [](const Tensor& g, const Tensor&) { return zeros_like(g); });
}

Tensor abs(const Tensor& x) {
  Tensor out = kernels::unary("abs", x, x.dtype(), [](auto v) {
    if constexpr (std::is_unsigned_v<decltype(v)> || std::is_same_v<decltype(v), bool>) return v;
    else return v < 0 ? -v : v;
  });
  return with_grad("AbsBackward", x, out, x, [](const Tensor& g, const Tensor& s) { return g * sign(s); });
}

Tensor sin(const Tensor& x) {
  Tensor out = kernels::unary_floating("sin", x, [](auto v) { return std::sin(v); });
  return with_grad("SinBackward", x, out, x, [](const Tensor& g, const Tensor& s) { return g * cos(s); });
}

Tensor cos(const Tensor& x) {
  Tensor out = kernels::unary_floating("cos", x, [](auto v) { return std::cos(v); });
  return with_grad("CosBackward", x, out, x, [](const Tensor& g, const Tensor& s) { return -g * sin(s); });
}

Tensor tanh(const Tensor& x) {
  Tensor out = kernels::unary_floating("tanh", x, [](auto v) { return std::tanh(v); });
  return with_grad("TanhBackward", x, out, out, [](const Tensor& g, const Tensor& y) { return g * (1.0 - y * y); });
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = kernels::unary_floating("sigmoid", x, [](auto v) { return sigmoid_scalar(v); });
  return with_grad("SigmoidBackward", x, out, out, [](const Tensor& g, const Tensor& y) { return g * y * (1.0 - y); });
}

Tensor erf(const Tensor& x) {
  Tensor out = kernels::unary_floating("erf", x, [](auto v) { return std::erf(v); });
  return with_grad("ErfBackward", x, out, x, [](const Tensor& g, const Tensor& s) {
    return g * (2.0 * kInvSqrt2Pi * M_SQRT2) * exp(-(s * s));  // 2/sqrt(pi) e^{-x^2}
  });
}

Tensor relu(const Tensor& x) {
  Tensor out = kernels::map_opaque([](float v) { return v > 0 ? v : 0.0f; }, x);  // a blocked conv output stays blocked
  if (!out.defined()) out = kernels::unary("relu", x, x.dtype(), [](auto v) { return v > 0 ? v : decltype(v)(0); });
  return with_grad("ReluBackward", x, out, out, [](const Tensor& g, const Tensor& y) { return threshold_backward(g, y, 0.0); });
}

// One pass over g and x (relu's backward used to be a comparison, a bool mask
// and a three-operand where: 13% of a CNN step by perf). Linear in g, so its
// gradient is itself; x only selects.
Tensor threshold_backward(const Tensor& g, const Tensor& x, double threshold) {
  kernels::check_defined(g, "threshold_backward");
  kernels::check_defined(x, "threshold_backward");
  EMBER_CHECK(g.sizes() == x.sizes() && g.dtype() == x.dtype() && g.is_floating_point(),
              "threshold_backward: gradient {} ({}) and input {} ({}) must have one shape and floating dtype",
              shape_str(g.sizes()), g.dtype(), shape_str(x.sizes()), x.dtype());
  const float tf = static_cast<float>(threshold);
  Tensor out = kernels::map_opaque([tf](float gv, float xv) { return xv > tf ? gv : 0.0f; }, g, x);
  if (!out.defined()) {
    out = empty(g.sizes(), g.dtype());
    dispatch_floating(g.dtype(), "threshold_backward", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T t = static_cast<T>(threshold);
      kernels::map_to<T, T, T>(out, [t](T gv, T xv) { return xv > t ? gv : T(0); }, g, x);
    });
  }
  autograd::record("ThresholdBackwardBackward", {g, x}, {out}, {x}, [threshold](const BackwardCtx& c, const TensorList& h) {
    return TensorList{c.needs_input_grad(0) ? threshold_backward(h[0], c.saved(0), threshold) : Tensor(),
                      c.needs_input_grad(1) ? zeros_like(c.saved(0)) : Tensor()};
  });
  return out;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor out = kernels::unary_floating("leaky_relu", x, [slope](auto v) {
    return v > 0 ? v : static_cast<decltype(v)>(slope) * v;
  });
  return with_grad("LeakyReluBackward", x, out, x, [slope](const Tensor& g, const Tensor& s) {
    return where(s > 0.0, g, g * slope);
  });
}

Tensor gelu(const Tensor& x, std::string_view approximate) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh",
              "gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
  if (approximate == "tanh") {
    Tensor out = kernels::unary_floating("gelu", x, [](auto v) {
      using T = decltype(v);
      return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2_Pi) * (v + T(kGeluC) * v * v * v)));
    });
    return with_grad("GeluBackward", x, out, x, [](const Tensor& g, const Tensor& s) {
      Tensor t = tanh(kSqrt2_Pi * (s + kGeluC * s * s * s));
      Tensor dinner = kSqrt2_Pi * (1.0 + 3.0 * kGeluC * s * s);
      return g * (0.5 * (1.0 + t) + 0.5 * s * (1.0 - t * t) * dinner);
    });
  }
  Tensor out = kernels::unary_floating("gelu", x, [](auto v) {
    using T = decltype(v);
    return T(0.5) * v * (T(1) + std::erf(v * T(kSqrt1_2)));
  });
  return with_grad("GeluBackward", x, out, x, [](const Tensor& g, const Tensor& s) {
    Tensor cdf = 0.5 * (1.0 + erf(s * kSqrt1_2));
    Tensor pdf = kInvSqrt2Pi * exp(-0.5 * s * s);
    return g * (cdf + s * pdf);
  });
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  EMBER_CHECK(min || max, "clamp: at least one of min and max must be given");
  const double lo = min.value_or(-INFINITY), hi = max.value_or(INFINITY);
  Tensor out = kernels::unary("clamp", x, x.dtype(), [lo, hi](auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>)
      if (std::isnan(v)) return v;
    return static_cast<double>(v) < lo ? static_cast<T>(lo) : (static_cast<double>(v) > hi ? static_cast<T>(hi) : v);
  });
  return with_grad("ClampBackward", x, out, x, [lo, hi](const Tensor& g, const Tensor& s) {
    Tensor inside = kernels::unary("clamp", s, s.dtype(), [lo, hi](auto v) {
      return static_cast<double>(v) >= lo && static_cast<double>(v) <= hi;
    });
    return where(inside, g, wrap_scalar(0.0, g));
  });
}

Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::sqrt() const { return ember::sqrt(*this); }
Tensor Tensor::abs() const { return ember::abs(*this); }
Tensor Tensor::neg() const { return ember::neg(*this); }
Tensor Tensor::pow(double exponent) const { return ember::pow(*this, exponent); }
Tensor Tensor::relu() const { return ember::relu(*this); }
Tensor Tensor::sigmoid() const { return ember::sigmoid(*this); }
Tensor Tensor::tanh() const { return ember::tanh(*this); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace ember
