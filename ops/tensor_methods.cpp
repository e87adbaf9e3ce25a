// Tensor's methods that LibTorch users reach for (x.eq(y), x.sum(1), x.max(1),
// x.masked_fill(m, v), ...), each forwarding to its free function in ops/ops.h,
// where the op, its checks and its gradient live.
#include "ember/ops/ops.h"

namespace ember {
namespace {
std::tuple<Tensor, Tensor> as_tuple(ValuesIndices r) { return {std::move(r.values), std::move(r.indices)}; }
}  // namespace

std::tuple<Tensor, Tensor> Tensor::max(std::int64_t dim, bool keepdim) const {
  return as_tuple(ember::max(*this, dim, keepdim));
}
std::tuple<Tensor, Tensor> Tensor::min(std::int64_t dim, bool keepdim) const {
  return as_tuple(ember::min(*this, dim, keepdim));
}
Tensor Tensor::argmin(std::int64_t dim, bool keepdim) const { return ember::argmin(*this, dim, keepdim); }
std::tuple<Tensor, Tensor> Tensor::topk(std::int64_t k, std::int64_t dim, bool largest, bool sorted) const {
  return as_tuple(ember::topk(*this, k, dim, largest, sorted));
}

Tensor Tensor::eq(const Tensor& other) const { return ember::eq(*this, other); }
Tensor Tensor::ne(const Tensor& other) const { return ember::ne(*this, other); }
Tensor Tensor::lt(const Tensor& other) const { return ember::lt(*this, other); }
Tensor Tensor::le(const Tensor& other) const { return ember::le(*this, other); }
Tensor Tensor::gt(const Tensor& other) const { return ember::gt(*this, other); }
Tensor Tensor::ge(const Tensor& other) const { return ember::ge(*this, other); }
Tensor Tensor::eq(double other) const { return ember::eq(*this, wrap_scalar(other, *this)); }
Tensor Tensor::ne(double other) const { return ember::ne(*this, wrap_scalar(other, *this)); }
Tensor Tensor::lt(double other) const { return ember::lt(*this, wrap_scalar(other, *this)); }
Tensor Tensor::le(double other) const { return ember::le(*this, wrap_scalar(other, *this)); }
Tensor Tensor::gt(double other) const { return ember::gt(*this, wrap_scalar(other, *this)); }
Tensor Tensor::ge(double other) const { return ember::ge(*this, wrap_scalar(other, *this)); }

Tensor Tensor::clamp(std::optional<double> min, std::optional<double> max) const { return ember::clamp(*this, min, max); }
Tensor Tensor::masked_fill(const Tensor& mask, double value) const { return ember::masked_fill(*this, mask, value); }
Tensor Tensor::masked_fill(const Tensor& mask, const Tensor& value) const {
  return ember::masked_fill(*this, mask, value);
}
Tensor Tensor::index_select(std::int64_t dim, const Tensor& index) const {
  return ember::index_select(*this, dim, index);
}
Tensor Tensor::mm(const Tensor& other) const {
  EMBER_CHECK(dim() == 2 && other.dim() == 2, "mm: expects two 2-d matrices, got {} and {}", shape_str(sizes()),
              shape_str(other.sizes()));
  return ember::matmul(*this, other);
}

}  // namespace ember
