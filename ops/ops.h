#pragma once
/// Ember's functional ops. Every floating-point op here is differentiable: when
/// grad mode is on and an input requires grad, it records a node whose backward
/// is written in these same ops (so gradients of gradients work).
/// Binary ops broadcast as NumPy and PyTorch do and promote dtypes
/// (bool < uint8 < int64 < float32 < float64).
#include <optional>
#include <string_view>

#include "ember/core/factory.h"
#include "ember/core/tensor.h"

namespace ember {

class Generator;  // core/random.h

// ---- elementwise, binary (broadcasting) ----
/// a + alpha * b.
Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
/// a - alpha * b.
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor mul(const Tensor& a, const Tensor& b);
/// True division (integer inputs give float32).
Tensor div(const Tensor& a, const Tensor& b);
/// a ** b elementwise.
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
/// Elementwise max / min; on ties the gradient is split evenly.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// cond ? a : b elementwise; cond is bool, all three broadcast.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- comparisons: bool masks, never differentiable ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);

// ---- elementwise, unary ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
/// |x|; the gradient at 0 is 0.
Tensor abs(const Tensor& x);
/// -1, 0 or 1 (gradient zero).
Tensor sign(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor erf(const Tensor& x);
/// max(x, 0); the gradient at 0 is 0 (PyTorch's convention).
Tensor relu(const Tensor& x);
/// g where x > threshold, else 0 (relu's backward; PyTorch's threshold_backward).
Tensor threshold_backward(const Tensor& g, const Tensor& x, double threshold);
/// x for x > 0, slope * x otherwise.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// x * Phi(x); approximate = "none" (erf) or "tanh".
Tensor gelu(const Tensor& x, std::string_view approximate = "none");
/// x limited to [min, max] (either bound optional); gradient 1 inside, including the bounds.
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);

// ---- reductions ----
/// Sum of all elements (0-d).
Tensor sum(const Tensor& x);
/// Sum over `dims` (negative allowed); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, Shape dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, Shape dims, bool keepdim = false);
/// One dim, as LibTorch's sum(x, 1) and mean(x, 1, true). (Templates, so that a
/// braced list such as sum(x, {0}) still means the Shape overload.)
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
Tensor sum(const Tensor& x, I dim, bool keepdim = false) {
  return sum(x, Shape{static_cast<std::int64_t>(dim)}, keepdim);
}
template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
Tensor mean(const Tensor& x, I dim, bool keepdim = false) {
  return mean(x, Shape{static_cast<std::int64_t>(dim)}, keepdim);
}
/// Variance over dims (all when empty), with Bessel's correction by default (correction = 1).
Tensor var(const Tensor& x, Shape dims = {}, std::int64_t correction = 1, bool keepdim = false);
/// Standard deviation: sqrt(var(x, dims, correction, keepdim)).
Tensor std(const Tensor& x, Shape dims = {}, std::int64_t correction = 1, bool keepdim = false);

struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64
};
/// Largest element (0-d); on ties the gradient is split evenly among them.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
/// Largest along `dim` and its index (the first one on ties); the gradient goes to that index.
ValuesIndices max(const Tensor& x, std::int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Largest value over `dims`; ties split the gradient evenly.
Tensor amax(const Tensor& x, Shape dims, bool keepdim = false);
/// log(sum(exp(x))) over dims, computed without overflow.
Tensor logsumexp(const Tensor& x, Shape dims, bool keepdim = false);
/// Sums `x` down to `shape` (the inverse of broadcasting; used for gradients).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- softmax family (numerically stable) ----
Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);

// ---- linear algebra ----
/// PyTorch's matmul: 1-d/1-d dot, 2-d mm, batched with broadcast batch dims.
/// a: [..., n, k], b: [..., k, m] -> [..., n, m].
Tensor matmul(const Tensor& a, const Tensor& b);

// ---- joining and indexing ----
/// Joins tensors of equal shape except along `dim`.
Tensor cat(const TensorList& tensors, std::int64_t dim = 0);
/// Joins tensors of equal shape along a new dim.
Tensor stack(const TensorList& tensors, std::int64_t dim = 0);
/// The entries of `index` (1-d int64) along dim.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// out[i][j] = x[index[i][j]][j] for dim 0, and so on (index has x's rank).
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index);
/// x with src added at `index` along dim (the adjoint of gather).
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// x with src's slices added at the positions `index` (1-d) along dim (the adjoint of index_select).
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
/// [..., num_classes] int64 one-hot of int64 labels; num_classes = max + 1 when negative.
Tensor one_hot(const Tensor& labels, std::int64_t num_classes = -1);

// ---- issue 10 part A: shape and indexing (ops/shape_extra.cpp, ops/scatter.cpp) ----
/// `chunks` views of nearly equal size along dim (the last may be smaller; fewer when the dim is short).
TensorList chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim = 0);
/// Views of `split_size` elements along dim (the last may be smaller).
TensorList split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0);
/// Views of the given sizes along dim; the sizes must add up to the dim's size.
TensorList split(const Tensor& x, const Shape& split_sizes, std::int64_t dim = 0);
/// The slices x.select(dim, i) for every i.
TensorList unbind(const Tensor& x, std::int64_t dim = 0);
/// x reversed along each of `dims`.
Tensor flip(const Tensor& x, Shape dims);
/// x shifted cyclically by shifts[i] along dims[i]; with no dims, over the flattened tensor.
Tensor roll(const Tensor& x, Shape shifts, Shape dims = {});
/// F.pad: `pad` = {left, right} for the last dim, then the one before, ...; negative values crop.
/// mode "constant" (with `value`), "reflect", "replicate" or "circular".
Tensor pad(const Tensor& x, Shape pad, std::string_view mode = "constant", double value = 0.0);
/// x repeated repeats[i] times along dim i (len(repeats) >= rank; extra leading dims are new).
Tensor repeat(const Tensor& x, Shape repeats);
/// numpy's tile: like repeat, with `reps` padded with leading 1s when shorter than the rank.
Tensor tile(const Tensor& x, Shape reps);
/// The lower (tril) / upper (triu) triangle of the last two dims, the rest zeroed;
/// diagonal > 0 moves the border above the main diagonal.
Tensor tril(const Tensor& x, std::int64_t diagonal = 0);
Tensor triu(const Tensor& x, std::int64_t diagonal = 0);
/// 1-d x: a square matrix with x on the `diagonal`-th diagonal; 2-d x: that diagonal as 1-d.
Tensor diag(const Tensor& x, std::int64_t diagonal = 0);
/// The diagonal of the (dim1, dim2) planes, moved to the last dim.
Tensor diagonal(const Tensor& x, std::int64_t offset = 0, std::int64_t dim1 = 0, std::int64_t dim2 = 1);
/// x with `value` where `mask` (bool, broadcast to x) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
/// As above with a 0-d tensor value (differentiable in it).
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
/// The elements of x where mask (broadcast together) is true, as 1-d.
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// x with out[index[i][j]][j] = src[i][j] for dim 0, and so on (duplicate indices: one of them wins).
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter(const Tensor& x, std::int64_t dim, const Tensor& index, double value);
/// x with src reduced into it at `index` along dim: reduce "sum", "mean", "amax" or "amin".
/// include_self = false ignores x's values at the positions that receive something.
Tensor scatter_reduce(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self = true);
/// The indices of the nonzero elements: [count, rank] int64, in row-major order.
Tensor nonzero(const Tensor& x);
struct UniqueResult {
  Tensor values;   // sorted distinct values, 1-d
  Tensor inverse;  // int64, x's shape: the position of each element in values (when asked)
  Tensor counts;   // int64, values' shape: occurrences of each value (when asked)
};
/// The distinct elements of x (flattened), sorted; no gradient.
UniqueResult unique(const Tensor& x, bool sorted = true, bool return_inverse = false, bool return_counts = false);

// ---- issue 10 part A: sort family (ops/sort.cpp) ----
/// Values and indices along dim in ascending (or descending) order; always stable
/// (equal values keep their order). NaN sorts as the largest value, as in PyTorch.
ValuesIndices sort(const Tensor& x, std::int64_t dim = -1, bool descending = false, bool stable = false);
/// The indices that sort x along dim (stable).
Tensor argsort(const Tensor& x, std::int64_t dim = -1, bool descending = false, bool stable = false);
/// The k largest (or smallest) along dim and their indices, in sorted order.
ValuesIndices topk(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool largest = true, bool sorted = true);
/// The k-th smallest (1-based) along dim and its index.
ValuesIndices kthvalue(const Tensor& x, std::int64_t k, std::int64_t dim = -1, bool keepdim = false);
/// The lower median (element (n-1)/2 in sorted order) of all elements (0-d).
Tensor median(const Tensor& x);
/// The lower median along dim and its index.
ValuesIndices median(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Running sum along dim (integers accumulate in int64, as PyTorch).
Tensor cumsum(const Tensor& x, std::int64_t dim);
/// Running product along dim; the gradient is exact where x has zeros.
Tensor cumprod(const Tensor& x, std::int64_t dim);

// ---- issue 10 part A: numerics (ops/numerics.cpp) ----
/// Bool masks of NaN / +-inf / finite elements (integers are always finite).
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);
/// NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest / lowest finite value).
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                  std::optional<double> neginf = std::nullopt);
/// True when any / all elements are nonzero (0-d bool), or along dims.
Tensor any(const Tensor& x);
Tensor any(const Tensor& x, Shape dims, bool keepdim = false);
Tensor all(const Tensor& x);
Tensor all(const Tensor& x, Shape dims, bool keepdim = false);
/// log(exp(a) + exp(b)), without overflow; broadcasts.
Tensor logaddexp(const Tensor& a, const Tensor& b);
/// log(1 + x) and exp(x) - 1, accurate near 0.
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
/// log(1 + exp(beta x)) / beta; x itself where beta x > threshold.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// x * sigmoid(x).
Tensor silu(const Tensor& x);
/// x * tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// x limited to [min_val, max_val]; the gradient is 0 at and beyond the bounds (PyTorch's).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// x for x > 0, alpha * (exp(x) - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
// ---- end of issue 10 part A ----

// ---- sampling (ops/random_ops.cpp) ----
/// num_samples category indices (int64) per row of probs ([n] -> [num_samples], [rows, n] ->
/// [rows, num_samples]), drawn with probability proportional to probs (which need not sum to 1),
/// with or without replacement, from `generator` (default_generator() when null). No gradient.
Tensor multinomial(const Tensor& probs, std::int64_t num_samples, bool replacement = false,
                   Generator* generator = nullptr);

// ---- views as free functions (see Tensor's methods) ----
Tensor view(const Tensor& x, Shape shape);
Tensor reshape(const Tensor& x, Shape shape);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
Tensor permute(const Tensor& x, Shape dims);
Tensor squeeze(const Tensor& x, std::optional<std::int64_t> dim = std::nullopt);
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
Tensor expand(const Tensor& x, Shape shape);
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end,
             std::int64_t step = 1);
/// The gradient of slice: zeros of `input_shape` with `grad` placed in the slice.
Tensor slice_backward(const Tensor& grad, const Shape& input_shape, std::int64_t dim,
                      std::int64_t start, std::int64_t end, std::int64_t step);

// ---- copies ----
Tensor clone(const Tensor& x);
Tensor to(const Tensor& x, DType dtype);

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, double b);
Tensor operator!=(const Tensor& a, double b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator!(const Tensor& a);
Tensor& operator+=(Tensor& a, const Tensor& b);
Tensor& operator-=(Tensor& a, const Tensor& b);
Tensor& operator*=(Tensor& a, const Tensor& b);
Tensor& operator/=(Tensor& a, const Tensor& b);
Tensor& operator+=(Tensor& a, double b);
Tensor& operator-=(Tensor& a, double b);
Tensor& operator*=(Tensor& a, double b);
Tensor& operator/=(Tensor& a, double b);

// ---- issue 10 part B: linear algebra (ops/linalg.cpp) ----
/// Batched matrix product without broadcasting: a [B, n, k], b [B, k, m] -> [B, n, m].
Tensor bmm(const Tensor& a, const Tensor& b);
/// beta * input + alpha * (mat1 @ mat2); mat1 [n, k], mat2 [k, m], input broadcasts to [n, m].
/// beta = 0 ignores input entirely (NaNs in it too), as PyTorch.
Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, double beta = 1.0, double alpha = 1.0);
/// beta * input + alpha * bmm(batch1, batch2); input broadcasts to [B, n, m].
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0);
/// Outer product of 1-d a [n] and b [m] -> [n, m].
Tensor outer(const Tensor& a, const Tensor& b);
/// Inner product of two 1-d tensors of one size (0-d result).
Tensor dot(const Tensor& a, const Tensor& b);
/// Einstein summation as torch.einsum: "ij,jk->ik", "bhqd,bhkd->bhqk", "ii->", "i,j->ij",
/// "...ij->...ji"; implicit output (no "->") is the once-used subscripts in alphabetical order.
/// Lowered to permutes, reshapes and batched matmuls (float32 on oneDNN).
Tensor einsum(std::string_view equation, const TensorList& operands);
/// torch.norm for vectors: the p-norm over dims (all when empty); see linalg::vector_norm.
Tensor norm(const Tensor& x, double p = 2.0, Shape dims = {}, bool keepdim = false);
namespace linalg {
/// (sum |x|^ord)^(1/ord) over dims (all when empty); ord = inf / -inf give max / min |x|,
/// ord = 0 counts non-zeros. The gradient at a zero vector is 0, as PyTorch's.
Tensor vector_norm(const Tensor& x, double ord = 2.0, Shape dims = {}, bool keepdim = false);
}  // namespace linalg
// ---- end issue 10 part B ----

/// A 0-d tensor for the scalar `value` in an op with `like`: of like's dtype when
/// that is floating, float32 when `value` is fractional and like is integral.
Tensor wrap_scalar(double value, const Tensor& like);

}  // namespace ember
