// softmax and log_softmax, as compositions of differentiable ops: shifting by
// the (detached) max keeps exp from overflowing without changing the result
// or its gradient.
#include "ember/ops/ops.h"

namespace ember {

Tensor softmax(const Tensor& x, std::int64_t dim) {
  EMBER_CHECK(x.defined() && x.is_floating_point(), "softmax: expected a floating tensor");
  dim = wrap_dim(dim, x.dim(), "softmax");
  Tensor e = exp(x - amax(x.detach(), {dim}, true));
  return e / e.sum({dim}, true);
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  EMBER_CHECK(x.defined() && x.is_floating_point(), "log_softmax: expected a floating tensor");
  dim = wrap_dim(dim, x.dim(), "log_softmax");
  return x - logsumexp(x, {dim}, true);
}

Tensor Tensor::softmax(std::int64_t dim) const { return ember::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return ember::log_softmax(*this, dim); }

}  // namespace ember
