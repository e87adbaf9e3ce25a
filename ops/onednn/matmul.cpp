// matmul (and linear's fused bias) on oneDNN's matmul primitive.
#include <fmt/ranges.h>

#include "ember/ops/onednn/context.h"
#include "ember/ops/onednn/onednn.h"

namespace ember::onednn {
namespace {

// oneDNN reads any plain strides, but not overlapping ones (stride 0 over a
// broadcast dim) nor a matrix with neither dim of unit stride.
Tensor readable(const Tensor& t) {
  for (std::int64_t d = 0; d < t.dim(); ++d)
    if (t.strides()[d] == 0 && t.sizes()[d] > 1) return t.contiguous();
  const auto& st = t.strides();
  if (st[st.size() - 1] != 1 && st[st.size() - 2] != 1) return t.contiguous();
  return t;
}

// t viewed with `nd` dims by leading size-1 dims (oneDNN wants equal ranks).
std::pair<Shape, Shape> with_rank(const Tensor& t, std::size_t nd) {
  Shape sizes = t.sizes(), strides = t.strides();
  const std::int64_t outer = t.numel() * (strides.empty() ? 1 : strides[0]);
  while (sizes.size() < nd) {
    sizes.insert(sizes.begin(), 1);
    strides.insert(strides.begin(), std::max<std::int64_t>(outer, 1));
  }
  return {sizes, strides};
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in, const Tensor& bias) {
  const Tensor a = readable(a_in), b = readable(b_in);
  const std::size_t nd = std::max(a.sizes().size(), b.sizes().size());
  // Named, not structured bindings: the lambdas below capture them (C++20
  // allows capturing bindings; clang 14 does not).
  const std::pair<Shape, Shape> ra = with_rank(a, nd), rb = with_rank(b, nd);
  const Shape &as = ra.first, &ast = ra.second, &bs = rb.first, &bst = rb.second;
  Shape out_shape(nd);
  for (std::size_t i = 0; i + 2 < nd; ++i) out_shape[i] = std::max(as[i], bs[i]);
  out_shape[nd - 2] = as[nd - 2];
  out_shape[nd - 1] = bs[nd - 1];
  Tensor out = empty(out_shape, DType::Float32);
  const std::string key = fmt::format("matmul|{}|{}|{}|{}|bias={}", fmt::join(as, ","), fmt::join(ast, ","),
                                      fmt::join(bs, ","), fmt::join(bst, ","), bias.defined());
  Shape bias_shape(nd, 1);
  bias_shape[nd - 1] = out_shape[nd - 1];
  const auto what = [&] { return fmt::format("shapes {} and {}", shape_str(a_in.sizes()), shape_str(b_in.sizes())); };
  guarded("matmul", what(), [&] {
    const auto a_md = plain_desc(as, ast), b_md = plain_desc(bs, bst);
    const auto o_md = plain_desc(out_shape, contiguous_strides(out_shape));
    const auto bias_md = plain_desc(bias_shape, contiguous_strides(bias_shape));
    const CachedRef c = cached(key, [&] {
      auto desc = bias.defined() ? dnnl::matmul::desc(a_md, b_md, bias_md, o_md) : dnnl::matmul::desc(a_md, b_md, o_md);
      dnnl::matmul::primitive_desc pd(desc, user_scratchpad(), engine());
      return make_cached(pd);
    });
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, wrap(a_md, a)}, {DNNL_ARG_WEIGHTS, wrap(b_md, b)}, {DNNL_ARG_DST, wrap(o_md, out)}};
    const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
    if (bias.defined()) args.emplace(DNNL_ARG_BIAS, wrap(bias_md, bc));
    execute(c, std::move(args));
  });
  // Drop the leading dims added for oneDNN.
  Shape result(out_shape.end() - static_cast<std::ptrdiff_t>(std::max(a_in.dim(), b_in.dim())), out_shape.end());
  return detail::make_view(out, result, contiguous_strides(result), 0);
}

void clear_primitive_cache() { clear_cache(); }
std::size_t primitive_cache_size() { return cache_size(); }
std::size_t primitive_cache_misses() { return cache_misses(); }
std::size_t set_primitive_cache_capacity(std::size_t n) { return set_cache_capacity(n); }

}  // namespace ember::onednn
