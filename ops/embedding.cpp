// embedding: rows of a table picked by integer indices, and its dense
// gradient (the rows' gradients summed into a table of zeros, nothing for
// padding_idx). The two are each other's adjoints, so embedding is
// differentiable any number of times. Both loops copy or add whole rows.
#include <cstring>

#include "ember/autograd/function.h"
#include "ember/core/parallel.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/nn_ops.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

// The indices as a flat vector, each checked against the table.
std::vector<std::int64_t> checked_indices(const Tensor& indices, std::int64_t rows, const char* op) {
  kernels::check_defined(indices, op);
  EMBER_CHECK(indices.dtype() == DType::Int64, "{}: expected int64 indices, got {}", op, indices.dtype());
  auto idx = indices.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < idx.size(); ++i)
    EMBER_CHECK(idx[i] >= 0 && idx[i] < rows, "{}: index {} (at position {}) is out of range for a table of {} rows",
                op, idx[i], i, rows);
  return idx;
}

std::optional<std::int64_t> wrap_padding(std::optional<std::int64_t> padding_idx, std::int64_t rows, const char* op) {
  if (!padding_idx) return std::nullopt;
  EMBER_CHECK(*padding_idx >= -rows && *padding_idx < rows, "{}: padding_idx {} is out of range for a table of {} rows",
              op, *padding_idx, rows);
  return *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
}

Tensor backward_op(const Tensor& g, const Tensor& indices, const std::vector<std::int64_t>& idx, std::int64_t rows,
                   std::optional<std::int64_t> pad);

Tensor forward_op(const Tensor& weight, const Tensor& indices, const std::vector<std::int64_t>& idx,
                  std::optional<std::int64_t> pad) {
  const std::int64_t rows = weight.size(0), dim = weight.size(1);
  Shape out_shape = indices.sizes();
  out_shape.push_back(dim);
  Tensor out = empty(out_shape, weight.dtype());
  const Tensor w = weight.detach().contiguous();
  const std::size_t row_bytes = static_cast<std::size_t>(dim) * itemsize(weight.dtype());
  const char* src = static_cast<const char*>(w.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  parallel_for(0, static_cast<std::int64_t>(idx.size()), 256, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i)
      std::memcpy(dst + static_cast<std::size_t>(i) * row_bytes,
                  src + static_cast<std::size_t>(idx[static_cast<std::size_t>(i)]) * row_bytes, row_bytes);
  });
  auto shared_idx = std::make_shared<std::vector<std::int64_t>>(idx);
  autograd::record("EmbeddingBackward", {weight}, {out}, {indices},
                   [shared_idx, rows, pad](const BackwardCtx& c, const TensorList& g) {
                     return TensorList{backward_op(g[0], c.saved(0), *shared_idx, rows, pad)};
                   });
  return out;
}

// g: [*indices, dim] -> [rows, dim]: each row's gradient added at its index.
Tensor backward_op(const Tensor& g, const Tensor& indices, const std::vector<std::int64_t>& idx, std::int64_t rows,
                   std::optional<std::int64_t> pad) {
  const std::int64_t dim = g.size(-1);
  Tensor gw = zeros({rows, dim}, g.dtype());
  const Tensor gc = g.detach().contiguous();
  dispatch_floating(g.dtype(), "embedding_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = gc.data_ptr<T>();
    T* dst = gw.data_ptr<T>();
    // Columns in parallel: no two threads add into the same element.
    parallel_for(0, dim, 64, [&](std::int64_t cb, std::int64_t ce) {
      for (std::size_t i = 0; i < idx.size(); ++i) {
        if (pad && idx[i] == *pad) continue;
        T* d = dst + idx[i] * dim;
        const T* s = src + static_cast<std::int64_t>(i) * dim;
        for (std::int64_t j = cb; j < ce; ++j) d[j] += s[j];
      }
    });
  });
  auto shared_idx = std::make_shared<std::vector<std::int64_t>>(idx);
  // The adjoint of the scatter is the gather (with padding rows giving zero).
  autograd::record("EmbeddingDenseBackward", {g}, {gw}, {indices}, [shared_idx, pad](const BackwardCtx& c, const TensorList& h) {
    Tensor picked = forward_op(h[0], c.saved(0), *shared_idx, std::nullopt);
    if (pad) picked = picked * (c.saved(0) != static_cast<double>(*pad)).to(picked.dtype()).unsqueeze(-1);
    return TensorList{picked};
  });
  return gw;
}

}  // namespace

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<std::int64_t> padding_idx) {
  kernels::check_defined(weight, "embedding");
  EMBER_CHECK(weight.dim() == 2, "embedding: expected a 2-d weight [num_embeddings, embedding_dim], got {}",
              shape_str(weight.sizes()));
  EMBER_CHECK(weight.is_floating_point(), "embedding: expected a floating weight, got {}", weight.dtype());
  const std::int64_t rows = weight.size(0);
  const auto idx = checked_indices(indices, rows, "embedding");
  return forward_op(weight, indices, idx, wrap_padding(padding_idx, rows, "embedding"));
}

Tensor embedding_backward(const Tensor& grad, const Tensor& indices, std::int64_t num_weights,
                          std::optional<std::int64_t> padding_idx) {
  kernels::check_defined(grad, "embedding_backward");
  EMBER_CHECK(grad.is_floating_point(), "embedding_backward: expected a floating gradient, got {}", grad.dtype());
  Shape expect = indices.sizes();
  expect.push_back(grad.dim() > 0 ? grad.size(-1) : 0);
  EMBER_CHECK(grad.dim() == indices.dim() + 1 && grad.sizes() == expect,
              "embedding_backward: gradient {} does not match indices {} (expected [*indices, dim])",
              shape_str(grad.sizes()), shape_str(indices.sizes()));
  const auto idx = checked_indices(indices, num_weights, "embedding_backward");
  return backward_op(grad, indices, idx, num_weights, wrap_padding(padding_idx, num_weights, "embedding_backward"));
}

}  // namespace ember
