#pragma once
// Internal to optim/: the single-pass update loop the optimizers share, and
// the Adam step that Adam and AdamW share. Not part of the public API.
#include <initializer_list>
#include <vector>

#include "ember/core/parallel.h"
#include "ember/core/tensor.h"

namespace ember::optim::detail {

// Runs an update in one parallel pass over p, its gradient and its state
// tensors (all contiguous), instead of a dozen whole-tensor ops: the step is
// memory-bound, and each op would read and write every parameter again.
// f(tag, p, g, state pointers, begin, end) runs the loop over [begin, end).
template <class F>
void fused(Tensor& p, const Tensor& grad, std::initializer_list<Tensor*> state, F f) {
  const bool direct = p.is_contiguous();
  Tensor work = direct ? p : p.contiguous();
  const Tensor g = grad.contiguous().to(p.dtype());
  dispatch_floating(p.dtype(), "optimizer", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* pp = work.data_ptr<T>();
    const T* gp = g.data_ptr<T>();
    std::vector<T*> sp;
    for (Tensor* s : state) sp.push_back(s->data_ptr<T>());
    parallel_for(0, work.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) { f(tag, pp, gp, sp.data(), b, e); });
  });
  if (!direct) p.copy_(work);
  p.bump_version();
}

// `t`, created as zeros like p (or `fill`) when still undefined.
Tensor& lazy(Tensor& t, const Tensor& p, double fill = 0.0);

// The Adam step shared by Adam and AdamW: `decay` is Adam's L2 term (added to
// the gradient), `decoupled` AdamW's (p *= 1 - lr * decoupled first).
void adam_step(Tensor& p, const Tensor& grad, double lr, double beta1, double beta2, double eps, bool amsgrad,
               double decay, double decoupled, std::int64_t step, Tensor& exp_avg, Tensor& exp_avg_sq,
               Tensor& max_exp_avg_sq);

}  // namespace ember::optim::detail
