// Binary elementwise ops with broadcasting, and their gradients. The engine
// reduces a broadcast gradient back to each input's shape, so the formulas
// here are written at the broadcast shape.
#include <cmath>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

DType promoted(const Tensor& a, const Tensor& b, const char* op) {
  kernels::check_defined(a, op);
  kernels::check_defined(b, op);
  return kernels::result_type(a, b);
}

// Arithmetic on bools computes in int64 (Ember has no bool arithmetic).
DType arithmetic_dtype(const Tensor& a, const Tensor& b, const char* op) {
  const DType d = promoted(a, b, op);
  return d == DType::Bool ? DType::Int64 : d;
}

Tensor grad_if(const BackwardCtx& c, std::size_t i, const std::function<Tensor()>& f) {
  return c.needs_input_grad(i) ? f() : Tensor();
}

}  // namespace

Tensor wrap_scalar(double value, const Tensor& like) {
  // A scalar never widens a tensor of its own category (see promoted()).
  DType dt = like.dtype();
  if (!is_floating(dt)) dt = std::floor(value) == value ? DType::Int64 : DType::Float32;
  return scalar_tensor(value, dt);
}

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = kernels::binary("add", a, b, arithmetic_dtype(a, b, "add"),
                               [alpha](auto x, auto y) { return x + static_cast<decltype(x)>(alpha) * y; });
  autograd::record("AddBackward", {a, b}, {out}, {}, [alpha](const BackwardCtx& c, const TensorList& g) {
    return TensorList{g[0], grad_if(c, 1, [&] { return alpha == 1.0 ? g[0] : g[0] * alpha; })};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = kernels::binary("sub", a, b, arithmetic_dtype(a, b, "sub"),
                               [alpha](auto x, auto y) { return x - static_cast<decltype(x)>(alpha) * y; });
  autograd::record("SubBackward", {a, b}, {out}, {}, [alpha](const BackwardCtx& c, const TensorList& g) {
    return TensorList{g[0], grad_if(c, 1, [&] { return g[0] * (-alpha); })};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary("mul", a, b, arithmetic_dtype(a, b, "mul"), [](auto x, auto y) { return x * y; });
  autograd::record("MulBackward", {a, b}, {out}, {a, b}, [](const BackwardCtx& c, const TensorList& g) {
    return TensorList{grad_if(c, 0, [&] { return g[0] * c.saved(1); }),
                      grad_if(c, 1, [&] { return g[0] * c.saved(0); })};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  DType dt = promoted(a, b, "div");
  if (!is_floating(dt)) dt = DType::Float32;
  Tensor out = kernels::binary("div", a, b, dt, [](auto x, auto y) { return x / y; });
  autograd::record("DivBackward", {a, b}, {out}, {a, b}, [](const BackwardCtx& c, const TensorList& g) {
    return TensorList{grad_if(c, 0, [&] { return g[0] / c.saved(1); }), grad_if(c, 1, [&] {
                        Tensor b = c.saved(1);
                        return -g[0] * c.saved(0) / (b * b);
                      })};
  });
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  DType dt = promoted(a, b, "pow");
  Tensor out = kernels::binary("pow", a, b, dt, [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) return std::pow(x, y);
    else return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
  });
  autograd::record("PowBackward", {a, b}, {out}, {a, b, out}, [](const BackwardCtx& c, const TensorList& g) {
    Tensor a = c.saved(0), b = c.saved(1);
    return TensorList{grad_if(c, 0, [&] { return g[0] * b * pow(a, b - 1.0); }), grad_if(c, 1, [&] {
                        // d/db a^b = a^b log a; PyTorch's convention: 0 where a == 0 and b >= 0.
                        Tensor zero_base = kernels::binary("pow", a, b, a.dtype(),
                                                           [](auto x, auto y) {
                                                             using T = decltype(x);
                                                             if constexpr (std::is_same_v<T, bool>) return !x;
                                                             else return x == T(0) && y >= T(0);
                                                           });
                        return where(zero_base, wrap_scalar(0.0, g[0]), g[0] * c.saved(2) * log(a));
                      })};
  });
  return out;
}

Tensor pow(const Tensor& a, double exponent) {
  Tensor out = kernels::unary_floating("pow", a, [exponent](auto x) {
    return static_cast<decltype(x)>(exponent == 2.0 ? x * x : std::pow(x, exponent));
  });
  autograd::record("PowBackward", {a}, {out}, {a}, [exponent](const BackwardCtx& c, const TensorList& g) {
    if (exponent == 0.0) return TensorList{zeros_like(g[0])};
    if (exponent == 1.0) return TensorList{g[0]};
    return TensorList{g[0] * exponent * pow(c.saved(0), exponent - 1.0)};
  });
  return out;
}

namespace {
// Gradient share of `a` in maximum/minimum: 1 where a wins, 1/2 on ties.
Tensor winner_share(const Tensor& a, const Tensor& b, bool is_max, DType dtype) {
  return kernels::binary("maximum", a, b, dtype, [is_max](auto x, auto y) {
    using T = decltype(x);
    return x == y ? T(0.5) : ((is_max ? x > y : x < y) ? T(1) : T(0));
  });
}

Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  const char* name = is_max ? "maximum" : "minimum";
  Tensor out = kernels::binary(name, a, b, promoted(a, b, name), [is_max](auto x, auto y) {
    if constexpr (std::is_floating_point_v<decltype(x)>)
      if (std::isnan(x) || std::isnan(y)) return x + y;  // NaN propagates
    return is_max ? (x > y ? x : y) : (x < y ? x : y);
  });
  autograd::record(is_max ? "MaximumBackward" : "MinimumBackward", {a, b}, {out}, {a, b},
                   [is_max](const BackwardCtx& c, const TensorList& g) {
                     Tensor share = winner_share(c.saved(0), c.saved(1), is_max, g[0].dtype());
                     return TensorList{grad_if(c, 0, [&] { return g[0] * share; }),
                                       grad_if(c, 1, [&] { return g[0] * (1.0 - share); })};
                   });
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  kernels::check_defined(cond, "where");
  EMBER_CHECK(cond.dtype() == DType::Bool, "where: condition must be a bool tensor, got {}", cond.dtype());
  const DType dt = promoted(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
  Tensor ac = kernels::cast(a, dt), bc = kernels::cast(b, dt);
  Tensor out = empty(shape, dt);
  dispatch(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    kernels::map_to<T, bool, T, T>(out, [](bool c, T x, T y) { return c ? x : y; }, cond, ac, bc);
  });
  autograd::record("WhereBackward", {cond, a, b}, {out}, {cond}, [](const BackwardCtx& c, const TensorList& g) {
    Tensor cnd = c.saved(0), zero = wrap_scalar(0.0, g[0]);
    return TensorList{Tensor(), grad_if(c, 1, [&] { return where(cnd, g[0], zero); }),
                      grad_if(c, 2, [&] { return where(cnd, zero, g[0]); })};
  });
  return out;
}

// ---- comparisons ----
#define EMBER_COMPARISON(NAME, OP)                                                          \
  Tensor NAME(const Tensor& a, const Tensor& b) {                                           \
    return kernels::binary(#NAME, a, b, promoted(a, b, #NAME), [](auto x, auto y) { return x OP y; }); \
  }
EMBER_COMPARISON(eq, ==)
EMBER_COMPARISON(ne, !=)
EMBER_COMPARISON(lt, <)
EMBER_COMPARISON(le, <=)
EMBER_COMPARISON(gt, >)
EMBER_COMPARISON(ge, >=)
#undef EMBER_COMPARISON

Tensor logical_not(const Tensor& a) {
  return kernels::unary("logical_not", a, a.dtype(), [](auto x) { return !static_cast<bool>(x); });
}

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, wrap_scalar(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, wrap_scalar(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, wrap_scalar(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, wrap_scalar(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(wrap_scalar(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(wrap_scalar(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(wrap_scalar(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(wrap_scalar(a, b), b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, double b) { return eq(a, wrap_scalar(b, a)); }
Tensor operator!=(const Tensor& a, double b) { return ne(a, wrap_scalar(b, a)); }
Tensor operator<(const Tensor& a, double b) { return lt(a, wrap_scalar(b, a)); }
Tensor operator<=(const Tensor& a, double b) { return le(a, wrap_scalar(b, a)); }
Tensor operator>(const Tensor& a, double b) { return gt(a, wrap_scalar(b, a)); }
Tensor operator>=(const Tensor& a, double b) { return ge(a, wrap_scalar(b, a)); }
Tensor operator!(const Tensor& a) { return logical_not(a); }

}  // namespace ember
