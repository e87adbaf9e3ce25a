// Linear algebra built on matmul: bmm, addmm, baddbmm, outer, dot, einsum, and
// vector norms. Everything but the norms is a composition of matmul, views and
// elementwise ops, so float32 reaches oneDNN's matmul and the gradients (and
// their gradients) come from those ops. The p-norm has its own node so that
// its gradient at a zero vector is 0, as PyTorch's, instead of 0/0.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/ranges.h>

#include "ember/autograd/function.h"
#include "ember/ops/kernels/elementwise.h"
#include "ember/ops/ops.h"

namespace ember {
namespace {

void check_same_floating(const Tensor& a, const Tensor& b, const char* op) {
  kernels::check_defined(a, op);
  kernels::check_defined(b, op);
  EMBER_CHECK(a.dtype() == b.dtype() && a.is_floating_point(),
              "{}: expected both operands to share one floating dtype, got {} and {}", op, a.dtype(), b.dtype());
}

}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_same_floating(a, b, "bmm");
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected two 3-d tensors [B, n, k] and [B, k, m], got {} and {}",
              shape_str(a.sizes()), shape_str(b.sizes()));
  EMBER_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "bmm: shapes {} and {} cannot be multiplied (batch {} vs {}, inner {} vs {})", shape_str(a.sizes()),
              shape_str(b.sizes()), a.size(0), b.size(0), a.size(2), b.size(1));
  return matmul(a, b);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  check_same_floating(a, b, "dot");
  EMBER_CHECK(a.dim() == 1 && b.dim() == 1 && a.size(0) == b.size(0),
              "dot: expected two 1-d tensors of the same size, got {} and {}", shape_str(a.sizes()),
              shape_str(b.sizes()));
  return matmul(a, b);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_same_floating(a, b, "outer");
  EMBER_CHECK(a.dim() == 1 && b.dim() == 1, "outer: expected two 1-d tensors, got {} and {}", shape_str(a.sizes()),
              shape_str(b.sizes()));
  return matmul(a.unsqueeze(1), b.unsqueeze(0));
}

namespace {
// beta * input + alpha * product; beta = 0 ignores input (NaN in it included), as PyTorch.
Tensor scale_add(const Tensor& input, const Tensor& product, double beta, double alpha, const char* op) {
  kernels::check_defined(input, op);
  EMBER_CHECK(input.dtype() == product.dtype(), "{}: input is {} but the matrices are {}", op, input.dtype(),
              product.dtype());
  const Shape out = broadcast_shapes(input.sizes(), product.sizes(), op);
  EMBER_CHECK(out == product.sizes(), "{}: input {} does not broadcast to the product's shape {}", op,
              shape_str(input.sizes()), shape_str(product.sizes()));
  const Tensor p = alpha == 1.0 ? product : product * alpha;
  if (beta == 0.0) return p;
  return add(p, input, beta);
}
}  // namespace

Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, double beta, double alpha) {
  check_same_floating(mat1, mat2, "addmm");
  EMBER_CHECK(mat1.dim() == 2 && mat2.dim() == 2 && mat1.size(1) == mat2.size(0),
              "addmm: shapes {} and {} cannot be multiplied", shape_str(mat1.sizes()), shape_str(mat2.sizes()));
  return scale_add(input, matmul(mat1, mat2), beta, alpha, "addmm");
}

Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta, double alpha) {
  check_same_floating(batch1, batch2, "baddbmm");
  EMBER_CHECK(batch1.dim() == 3 && batch2.dim() == 3 && batch1.size(0) == batch2.size(0) &&
                  batch1.size(2) == batch2.size(1),
              "baddbmm: shapes {} and {} cannot be batch-multiplied", shape_str(batch1.sizes()),
              shape_str(batch2.sizes()));
  return scale_add(input, matmul(batch1, batch2), beta, alpha, "baddbmm");
}

// ---- einsum ----
namespace {

// Labels are ints: letters 0..51, the dims an ellipsis stands for 52 + k
// (right-aligned across operands, so they broadcast as NumPy's).
constexpr int kEllipsisBase = 52;

struct Operand {
  Tensor t;
  std::vector<int> labels;  // one per dim of t
};

int letter_id(char ch) { return ch >= 'a' && ch <= 'z' ? ch - 'a' : 26 + (ch - 'A'); }

[[noreturn]] void bad_equation(const std::string& eq, const std::string& why) {
  throw Error(fmt::format("einsum: malformed equation '{}': {}", eq, why));
}

// Parses one operand's subscripts ("ij", "b...d") against its rank.
std::vector<int> parse_term(const std::string& eq, const std::string& term, std::int64_t rank, std::int64_t& ell_rank,
                            bool is_output) {
  std::vector<int> letters_before, letters_after;
  bool ellipsis = false;
  for (std::size_t i = 0; i < term.size(); ++i) {
    const char ch = term[i];
    if (ch == ' ') continue;
    if (ch == '.') {
      if (term.compare(i, 3, "...") != 0) bad_equation(eq, "a '.' that is not part of '...'");
      if (ellipsis) bad_equation(eq, "more than one '...' in one operand");
      ellipsis = true;
      i += 2;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(ch))) bad_equation(eq, fmt::format("invalid subscript '{}'", ch));
    (ellipsis ? letters_after : letters_before).push_back(letter_id(ch));
  }
  const auto letters = static_cast<std::int64_t>(letters_before.size() + letters_after.size());
  if (!is_output) {
    if (ellipsis ? letters > rank : letters != rank)
      throw Error(fmt::format("einsum: equation '{}': the subscripts '{}' give {} dims but the operand has {} ({})", eq,
                              term, letters, rank, ellipsis ? "with '...'" : "no '...'"));
    ell_rank = ellipsis ? rank - letters : 0;
  }
  std::vector<int> labels = letters_before;
  if (ellipsis) labels.push_back(-1);  // placeholder, expanded by the caller
  labels.insert(labels.end(), letters_after.begin(), letters_after.end());
  return labels;
}

// Expands the ellipsis placeholder to `count` dims, right-aligned within max_ell.
std::vector<int> expand_ellipsis(const std::vector<int>& labels, std::int64_t count, std::int64_t max_ell) {
  std::vector<int> out;
  for (int l : labels) {
    if (l != -1) {
      out.push_back(l);
      continue;
    }
    for (std::int64_t k = max_ell - count; k < max_ell; ++k) out.push_back(kEllipsisBase + static_cast<int>(k));
  }
  return out;
}

// Takes the diagonal of dims i < j (equal label): x * eye on (i, j), summed over j.
Tensor diagonal_of(const Tensor& x, std::int64_t i, std::int64_t j, const std::string& eq) {
  const std::int64_t n = x.size(i);
  if (x.size(j) != n)
    throw Error(fmt::format("einsum: equation '{}': a subscript repeated in one operand covers dims of sizes {} and {}",
                            eq, n, x.size(j)));
  Shape s(static_cast<std::size_t>(x.dim()), 1);
  s[static_cast<std::size_t>(i)] = n;
  s[static_cast<std::size_t>(j)] = n;
  return (x * eye(n, n, x.dtype()).reshape(s)).sum({j});
}

// Sums away dims whose label is not in `keep`, and merges repeated labels.
Operand simplify(Operand op, const std::map<int, int>& needed_elsewhere, const std::string& eq) {
  // Repeated labels within the operand (traces, diagonals).
  for (bool again = true; again;) {
    again = false;
    for (std::size_t i = 0; i < op.labels.size() && !again; ++i)
      for (std::size_t j = i + 1; j < op.labels.size() && !again; ++j)
        if (op.labels[i] == op.labels[j]) {
          op.t = diagonal_of(op.t, static_cast<std::int64_t>(i), static_cast<std::int64_t>(j), eq);
          op.labels.erase(op.labels.begin() + static_cast<std::ptrdiff_t>(j));
          again = true;
        }
  }
  Shape sum_dims;
  std::vector<int> kept;
  for (std::size_t d = 0; d < op.labels.size(); ++d) {
    auto it = needed_elsewhere.find(op.labels[d]);
    if (it == needed_elsewhere.end() || it->second == 0) sum_dims.push_back(static_cast<std::int64_t>(d));
    else kept.push_back(op.labels[d]);
  }
  if (!sum_dims.empty()) op.t = op.t.sum(sum_dims);
  op.labels = kept;
  return op;
}

// Permutes op to the label order `order` (a permutation of op.labels).
Tensor permuted(const Operand& op, const std::vector<int>& order) {
  Shape perm;
  for (int l : order)
    for (std::size_t d = 0; d < op.labels.size(); ++d)
      if (op.labels[d] == l) perm.push_back(static_cast<std::int64_t>(d));
  return op.t.permute(perm);
}

// Contracts a and b over their shared labels not in `needed` as one batched matmul.
Operand contract(const Operand& a, const Operand& b, const std::map<int, int>& needed, std::map<int, std::int64_t>& size) {
  std::vector<int> batch, a_only, b_only, summed;
  auto in = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
  for (int l : a.labels) {
    const bool shared = in(b.labels, l);
    const bool later = needed.count(l) && needed.at(l) > 0;
    if (shared) (later ? batch : summed).push_back(l);
    else a_only.push_back(l);
  }
  for (int l : b.labels)
    if (!in(a.labels, l)) b_only.push_back(l);
  auto prod = [&](const std::vector<int>& ls) {
    std::int64_t p = 1;
    for (int l : ls) p *= size.at(l);
    return p;
  };
  auto sizes_of = [&](const std::vector<int>& ls) {
    Shape s;
    for (int l : ls) s.push_back(size.at(l));
    return s;
  };
  // Size-1 dims broadcast against the label's full size.
  auto full = [&](const Operand& op, const std::vector<int>& order) {
    Tensor t = permuted(op, order);
    return t.expand(sizes_of(order));
  };
  std::vector<int> a_order = batch, b_order = batch;
  a_order.insert(a_order.end(), a_only.begin(), a_only.end());
  a_order.insert(a_order.end(), summed.begin(), summed.end());
  b_order.insert(b_order.end(), summed.begin(), summed.end());
  b_order.insert(b_order.end(), b_only.begin(), b_only.end());
  const std::int64_t nb = prod(batch), na = prod(a_only), nk = prod(summed), nm = prod(b_only);
  const Tensor am = full(a, a_order).reshape({nb, na, nk});
  const Tensor bm = full(b, b_order).reshape({nb, nk, nm});
  std::vector<int> labels = batch;
  labels.insert(labels.end(), a_only.begin(), a_only.end());
  labels.insert(labels.end(), b_only.begin(), b_only.end());
  return Operand{matmul(am, bm).reshape(sizes_of(labels)), labels};
}

}  // namespace

Tensor einsum(std::string_view equation_in, const TensorList& operands) {
  const std::string eq(equation_in);
  EMBER_CHECK(!operands.empty(), "einsum: equation '{}' got no operands", eq);
  const auto arrow = eq.find("->");
  if (arrow != std::string::npos && eq.find("->", arrow + 2) != std::string::npos) bad_equation(eq, "more than one '->'");
  if (eq.find('-') != std::string::npos && (arrow == std::string::npos || eq.find('-') != arrow))
    bad_equation(eq, "a '-' that is not part of '->'");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (std::size_t start = 0;;) {
    const auto comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size())
    throw Error(fmt::format("einsum: equation '{}' has {} operand subscripts but {} operands were given", eq,
                            terms.size(), operands.size()));
  DType dt = DType::Float32;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    kernels::check_defined(operands[i], "einsum");
    if (i == 0) dt = operands[i].dtype();
    EMBER_CHECK(operands[i].dtype() == dt && operands[i].is_floating_point(),
                "einsum: equation '{}': operands must share one floating dtype, got {} and {}", eq, dt,
                operands[i].dtype());
  }
  std::vector<std::vector<int>> raw(terms.size());
  std::vector<std::int64_t> ell(terms.size(), 0);
  std::int64_t max_ell = 0;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    raw[i] = parse_term(eq, terms[i], operands[i].dim(), ell[i], false);
    max_ell = std::max(max_ell, ell[i]);
  }
  std::vector<Operand> ops;
  std::map<int, int> count;        // how many operands use each label
  std::map<int, std::int64_t> size;  // each label's size (the largest; 1s broadcast)
  for (std::size_t i = 0; i < terms.size(); ++i) {
    Operand op{operands[i], expand_ellipsis(raw[i], ell[i], max_ell)};
    std::vector<int> seen;
    for (std::size_t d = 0; d < op.labels.size(); ++d) {
      const int l = op.labels[d];
      const std::int64_t n = op.t.size(static_cast<std::int64_t>(d));
      auto it = size.find(l);
      if (it == size.end() || it->second == 1) size[l] = n;
      else if (n != 1 && n != it->second)
        throw Error(fmt::format("einsum: equation '{}': subscript of operand {} has size {} but {} elsewhere", eq, i, n,
                                it->second));
      if (std::find(seen.begin(), seen.end(), l) == seen.end()) {
        seen.push_back(l);
        ++count[l];
      }
    }
    ops.push_back(std::move(op));
  }
  // The output's labels: as written, or (implicit form) the ellipsis then the
  // letters used exactly once, in alphabetical order.
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    std::int64_t unused = 0;
    const std::vector<int> o = parse_term(eq, eq.substr(arrow + 2), 0, unused, true);
    const bool has_ell = std::find(o.begin(), o.end(), -1) != o.end();
    if (!has_ell && max_ell > 0) bad_equation(eq, "the operands use '...' but the output does not");
    out_labels = expand_ellipsis(o, max_ell, max_ell);
    for (std::size_t i = 0; i < out_labels.size(); ++i) {
      if (!size.count(out_labels[i])) bad_equation(eq, "an output subscript that no operand has");
      if (std::count(out_labels.begin(), out_labels.end(), out_labels[i]) > 1)
        bad_equation(eq, "an output subscript that appears more than once");
    }
  } else {
    for (std::int64_t k = 0; k < max_ell; ++k) out_labels.push_back(kEllipsisBase + static_cast<int>(k));
    std::map<int, int> uses;
    for (const auto& op : ops)
      for (int l : op.labels) ++uses[l];
    for (const auto& [l, n] : uses)
      if (l < kEllipsisBase && n == 1) out_labels.push_back(l);
  }
  // needed[l]: how many later consumers (remaining operands, plus 1 for the output) want l.
  std::map<int, int> needed = count;
  for (int l : out_labels) ++needed[l];
  auto release = [&](const Operand& op) {
    for (int l : op.labels) --needed[l];
  };
  auto acquire = [&](const Operand& op) {
    for (int l : op.labels) ++needed[l];
  };
  // Left to right: drop what only one operand needs, then contract pairwise.
  Operand acc = ops[0];
  {
    std::vector<int> uniq;
    for (int l : acc.labels)
      if (std::find(uniq.begin(), uniq.end(), l) == uniq.end()) uniq.push_back(l);
    for (int l : uniq) --needed[l];
    acc = simplify(acc, needed, eq);
    acquire(acc);
  }
  for (std::size_t i = 1; i < ops.size(); ++i) {
    Operand b = ops[i];
    std::vector<int> uniq;
    for (int l : b.labels)
      if (std::find(uniq.begin(), uniq.end(), l) == uniq.end()) uniq.push_back(l);
    for (int l : uniq) --needed[l];
    // b's own labels that nobody else needs are summed now; acc's likewise.
    std::map<int, int> for_b = needed;
    for (int l : acc.labels) ++for_b[l];
    b = simplify(b, for_b, eq);
    release(acc);
    std::map<int, int> for_acc = needed;
    for (int l : b.labels) ++for_acc[l];
    acc = simplify(acc, for_acc, eq);
    acc = contract(acc, b, needed, size);
    acquire(acc);
  }
  release(acc);
  std::map<int, int> for_out;
  for (int l : out_labels) for_out[l] = 1;
  acc = simplify(acc, for_out, eq);
  // Labels of the output that no operand dim carried after broadcasting stay as size-1 dims.
  Tensor out = permuted(acc, out_labels);
  Shape full_sizes;
  for (int l : out_labels) full_sizes.push_back(size.at(l));
  return out.sizes() == full_sizes ? out : out.expand(full_sizes);
}

// ---- vector norms ----
namespace {

Shape all_dims_if_empty(const Tensor& x, Shape dims) {
  if (!dims.empty()) return dims;
  for (std::int64_t d = 0; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// norm with keepdim squeezed back to `keepdim`'s form.
Tensor squeeze_dims(const Tensor& t, const Shape& dims, std::int64_t rank) {
  Shape wrapped;
  for (auto d : dims) wrapped.push_back(wrap_dim(d, rank, "vector_norm"));
  std::sort(wrapped.rbegin(), wrapped.rend());
  Tensor out = t;
  for (auto d : wrapped) out = out.squeeze(d);
  return out;
}

// sum(|x|^p)^(1/p) over dims, kept as size 1. Its node's backward calls this
// function again on the saved input, so the gradient is differentiable too.
Tensor pnorm_keepdim(const Tensor& x, double p, const Shape& dims) {
  Tensor n;
  {
    NoGradGuard no_grad;
    n = p == 2.0 ? sqrt((x * x).sum(dims, true)) : pow(pow(abs(x), p).sum(dims, true), 1.0 / p);
  }
  autograd::record("NormBackward", {x}, {n}, {x}, [p, dims](const BackwardCtx& c, const TensorList& g) {
    const Tensor xs = c.saved(0);
    const Tensor norm = pnorm_keepdim(xs, p, dims);
    const Tensor zero = norm == 0.0;
    const Tensor safe = where(zero, ones_like(norm), norm);
    const Tensor scale = where(zero, zeros_like(norm), g[0] / (p == 2.0 ? safe : pow(safe, p - 1.0)));
    if (p == 2.0) return TensorList{xs * scale};
    // x |x|^(p-2) = sign(x) |x|^(p-1), finite at x = 0 for p >= 1.
    return TensorList{sign(xs) * pow(abs(xs), p - 1.0) * scale};
  });
  return n;
}

}  // namespace

namespace linalg {
Tensor vector_norm(const Tensor& x, double ord, Shape dims_in, bool keepdim) {
  kernels::check_defined(x, "vector_norm");
  EMBER_CHECK(x.is_floating_point(), "vector_norm: expected a floating input, got {}", x.dtype());
  const Shape dims = all_dims_if_empty(x, dims_in);
  for (auto d : dims) wrap_dim(d, x.dim(), "vector_norm");
  const double inf = std::numeric_limits<double>::infinity();
  if (ord == inf || ord == -inf) {
    bool empty = false;
    for (auto d : dims) empty = empty || x.size(d) == 0;
    EMBER_CHECK(!empty, "vector_norm: the {} norm of an empty dimension is undefined (input {})",
                ord > 0 ? "inf" : "-inf", shape_str(x.sizes()));
    return ord > 0 ? amax(abs(x), dims, keepdim) : -amax(-abs(x), dims, keepdim);
  }
  if (ord == 0.0) return (x != 0.0).to(x.dtype()).sum(dims, keepdim).detach();
  if (ord == 1.0) return abs(x).sum(dims, keepdim);
  EMBER_CHECK(ord > 0.0, "vector_norm: ord must be positive, 0 or +-inf, got {}", ord);
  const Tensor n = pnorm_keepdim(x, ord, dims);
  return keepdim ? n : squeeze_dims(n, dims, x.dim());
}
}  // namespace linalg

Tensor norm(const Tensor& x, double p, Shape dims, bool keepdim) { return linalg::vector_norm(x, p, std::move(dims), keepdim); }

}  // namespace ember
