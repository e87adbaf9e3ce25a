// In-place ops. Each computes its result out of place, writes it into self's
// storage and bumps the version counter (so a backward that saved self
// notices). With history, self is first cloned for the graph and then takes
// the new node as its grad_fn ("rebasing" its history).
#include "ember/autograd/function.h"
#include "ember/autograd/meta.h"
#include "ember/core/random.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// An expanded tensor has elements that share memory: writing them all is a race.
void check_no_internal_overlap(const Tensor& self, const char* op) {
  for (std::int64_t d = 0; d < self.dim(); ++d)
    EMBER_CHECK(self.strides()[d] != 0 || self.sizes()[d] <= 1,
                "{}: more than one element of the written-to tensor (shape {}, strides {}) refers to a single "
                "memory location; clone() it first",
                op, shape_str(self.sizes()), shape_str(self.strides()));
}

void write_result(Tensor& self, const Tensor& result, const char* op) {
  EMBER_CHECK(result.sizes() == self.sizes(), "{}: output with shape {} doesn't match the broadcast shape {}", op,
              shape_str(self.sizes()), shape_str(result.sizes()));
  EMBER_CHECK(self.is_floating_point() || !result.is_floating_point(),
              "{}: result type {} can't be cast to the desired output type {}", op, result.dtype(), self.dtype());
  kernels::copy_into(self, result);
  self.bump_version();
}

Tensor& apply_inplace(Tensor& self, const char* op, const TensorList& others,
                      const std::function<Tensor(const Tensor&)>& compute) {
  kernels::check_defined(self, op);
  check_no_internal_overlap(self, op);
  TensorList inputs{self};
  inputs.insert(inputs.end(), others.begin(), others.end());
  if (!autograd::needs_grad(inputs)) {
    write_result(self, compute(self), op);
    return self;
  }
  const autograd::AutogradMeta* m = autograd::meta(self);
  EMBER_CHECK(!(self.is_leaf() && self.requires_grad()),
              "{}: a leaf tensor that requires grad is used in an in-place operation (use NoGradGuard, "
              "or the out-of-place op)",
              op);
  EMBER_CHECK(!(m && m->is_view),
              "{}: an in-place operation with autograd on a view is not supported (its base's history would "
              "have to change too); use the out-of-place op",
              op);
  const Tensor old = self.clone();  // keeps self's old value for the graph
  Tensor result = compute(old);
  if (result.dtype() != self.dtype()) result = result.to(self.dtype());
  const autograd::AutogradMeta* rm = autograd::meta(result);
  if (rm && rm->requires_grad && !rm->grad_fn) {
    result = result.clone();  // a leaf came back as is (copy_ of a leaf): give it a node
  } else if (!(rm && rm->grad_fn)) {
    // Overwritten by a constant: self keeps requiring grad, with zero gradient to its old value.
    result = result.clone();
    autograd::record("FillBackward", {old}, {result}, {},
                     [](const BackwardCtx&, const TensorList& g) { return TensorList{zeros_like(g[0])}; });
  }
  {
    NoGradGuard no_grad;
    write_result(self, result, op);
  }
  auto& sm = autograd::ensure_meta(self);
  const autograd::AutogradMeta* fm = autograd::meta(result);
  sm.grad_fn = fm->grad_fn;
  sm.output_nr = fm->output_nr;
  sm.requires_grad = true;
  return self;
}

// Fills self with draw(stream, i) for its i-th element in logical order (so a
// seed gives the same values for any layout and thread count).
template <class Draw>
Tensor& random_fill(Tensor& self, const char* op, Draw draw) {
  dispatch_floating(self.dtype(), op, [](auto) {});
  return apply_inplace(self, op, {}, [&](const Tensor& s) {
    Tensor r = empty(s.sizes(), s.dtype());
    const CounterStream stream = next_stream();
    dispatch(r.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* p = r.data_ptr<T>();
      parallel_for(0, r.numel(), kParallelGrain / 8, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) p[i] = static_cast<T>(draw(stream, static_cast<std::uint64_t>(i)));
      });
    });
    return r;
  });
}

}  // namespace

namespace {
// Without history, and when other neither aliases self nor would change its
// dtype, an in-place op writes straight into self: no temporary the size of self.
template <class F>
bool direct_inplace(Tensor& self, const Tensor& other, const char* op, F f) {
  kernels::check_defined(self, op);
  kernels::check_defined(other, op);
  if (autograd::needs_grad({self, other}) || other.shares_storage(self) || !is_expandable_to(other.sizes(), self.sizes()))
    return false;
  if (kernels::result_type(self, other) != self.dtype() || self.dtype() == DType::Bool) return false;
  check_no_internal_overlap(self, op);
  kernels::binary_into(self, other, f);
  self.bump_version();
  return true;
}
}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  if (direct_inplace(*this, other, "add_", [alpha](auto x, auto y) { return x + static_cast<decltype(x)>(alpha) * y; }))
    return *this;
  return apply_inplace(*this, "add_", {other}, [&](const Tensor& s) { return add(s, other, alpha); });
}
Tensor& Tensor::sub_(const Tensor& other, double alpha) {
  if (direct_inplace(*this, other, "sub_", [alpha](auto x, auto y) { return x - static_cast<decltype(x)>(alpha) * y; }))
    return *this;
  return apply_inplace(*this, "sub_", {other}, [&](const Tensor& s) { return sub(s, other, alpha); });
}
Tensor& Tensor::mul_(const Tensor& other) {
  if (direct_inplace(*this, other, "mul_", [](auto x, auto y) { return x * y; })) return *this;
  return apply_inplace(*this, "mul_", {other}, [&](const Tensor& s) { return mul(s, other); });
}
Tensor& Tensor::mul_(double value) { return mul_(wrap_scalar(value, *this)); }
Tensor& Tensor::div_(const Tensor& other) {
  if (is_floating_point() && direct_inplace(*this, other, "div_", [](auto x, auto y) { return x / y; })) return *this;
  return apply_inplace(*this, "div_", {other}, [&](const Tensor& s) { return div(s, other); });
}
Tensor& Tensor::div_(double value) { return div_(wrap_scalar(value, *this)); }
Tensor& Tensor::fill_(double value) {
  return apply_inplace(*this, "fill_", {}, [&](const Tensor& s) { return full_like(s, value); });
}
Tensor& Tensor::zero_() { return fill_(0.0); }
Tensor& Tensor::copy_(const Tensor& src) {
  kernels::check_defined(src, "copy_");
  // Reading from memory that is being written (x.copy_(x.t())) needs a copy first.
  const Tensor from = src.shares_storage(*this) ? src.clone() : src;
  return apply_inplace(*this, "copy_", {src}, [&, from](const Tensor& s) {
    const Tensor& src = from;
    EMBER_CHECK(is_expandable_to(src.sizes(), s.sizes()), "copy_: source of shape {} cannot be broadcast to {}",
                shape_str(src.sizes()), shape_str(s.sizes()));
    return ember::expand(src.dtype() == s.dtype() || !src.is_floating_point() ? src : src.to(s.dtype()), s.sizes());
  });
}
Tensor& Tensor::masked_fill_(const Tensor& mask, double value) {
  kernels::check_defined(mask, "masked_fill_");
  return apply_inplace(*this, "masked_fill_", {mask}, [&](const Tensor& s) { return ember::masked_fill(s, mask, value); });
}
Tensor& Tensor::clamp_(std::optional<double> min, std::optional<double> max) {
  return apply_inplace(*this, "clamp_", {}, [&](const Tensor& s) { return ember::clamp(s, min, max); });
}
Tensor& Tensor::uniform_(double from, double to) {
  EMBER_CHECK(from <= to, "uniform_: expects from <= to, got from={} to={}", from, to);
  return random_fill(*this, "uniform_", [&](const CounterStream& st, std::uint64_t i) {
    return from + (to - from) * st.uniform(i);
  });
}
Tensor& Tensor::normal_(double mean, double std) {
  EMBER_CHECK(std >= 0.0, "normal_: expects std >= 0, got {}", std);
  return random_fill(*this, "normal_", [&](const CounterStream& st, std::uint64_t i) {
    return mean + std * st.normal(i);
  });
}

Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }
Tensor& operator+=(Tensor& a, double b) { return a.add_(wrap_scalar(b, a)); }
Tensor& operator-=(Tensor& a, double b) { return a.sub_(wrap_scalar(b, a)); }
Tensor& operator*=(Tensor& a, double b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, double b) { return a.div_(b); }

}  // namespace ember
