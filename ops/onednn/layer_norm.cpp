// Layer normalization on oneDNN over the last dim of a plain [rows, cols]
// float32 tensor, with optional separate scale and shift (oneDNN 2.6's
// use_scale / use_shift), forward_training (statistics kept for backward)
// and the full backward.
#include <fmt/format.h>

#include "ember/core/factory.h"
#include "ember/ops/onednn/context.h"
#include "ember/ops/onednn/onednn.h"

namespace ember::onednn {
namespace {

using tag = dnnl::memory::format_tag;
using flags = dnnl::normalization_flags;

flags norm_flags(bool scale, bool shift) {
  auto f = flags::none;
  if (scale) f = f | flags::use_scale;
  if (shift) f = f | flags::use_shift;
  return f;
}

dnnl::layer_normalization_forward::primitive_desc forward_pd(const Shape& x, double eps, flags f) {
  dnnl::layer_normalization_forward::desc desc(dnnl::prop_kind::forward_training, tagged_desc(x, tag::ab),
                                               tagged_desc({x[0]}, tag::a), static_cast<float>(eps), f);
  return dnnl::layer_normalization_forward::primitive_desc(desc, user_scratchpad(), engine());
}

std::string ln_key(const char* kind, const Shape& x, double eps, flags f) {
  return fmt::format("{}|x[{},{}]|eps{}|f{}", kind, x[0], x[1], eps, static_cast<unsigned>(f));
}

dnnl::memory vec(const Tensor& t) { return wrap(tagged_desc({t.numel()}, tag::a), t); }

}  // namespace

LayerNormForward layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const std::int64_t rows = x.sizes()[0];
  const flags f = norm_flags(weight.defined(), bias.defined());
  LayerNormForward r{empty(x.sizes(), DType::Float32), empty({rows}, DType::Float32), empty({rows}, DType::Float32)};
  guarded("layer_norm", "input " + shape_str(x.sizes()), [&] {
    const CachedRef cc = cached(ln_key("ln_fwd", x.sizes(), eps, f), [&] { return make_cached(forward_pd(x.sizes(), eps, f)); });
    const auto& pd = pd_as<dnnl::layer_normalization_forward::primitive_desc>(cc);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(pd.src_desc(), x)},
                                               {DNNL_ARG_DST, wrap(pd.dst_desc(), r.y)},
                                               {DNNL_ARG_MEAN, vec(r.mean)},
                                               {DNNL_ARG_VARIANCE, vec(r.var)}};
    const Tensor w = weight.defined() ? weight.contiguous() : Tensor(), b = bias.defined() ? bias.contiguous() : Tensor();
    if (w.defined()) args.emplace(DNNL_ARG_SCALE, vec(w));
    if (b.defined()) args.emplace(DNNL_ARG_SHIFT, vec(b));
    execute(cc, std::move(args));
  });
  return r;
}

LayerNormBackward layer_norm_backward(const Tensor& g_in, const Tensor& x, const Tensor& mean, const Tensor& var,
                                      const Tensor& weight, bool with_bias, double eps) {
  const Tensor g = g_in.contiguous();
  const std::int64_t cols = x.sizes()[1];
  const flags f = norm_flags(weight.defined(), with_bias);
  LayerNormBackward r{empty(x.sizes(), DType::Float32), weight.defined() ? empty({cols}, DType::Float32) : Tensor(),
                      with_bias ? empty({cols}, DType::Float32) : Tensor()};
  guarded("layer_norm backward", "input " + shape_str(x.sizes()), [&] {
    const CachedRef cc = cached(ln_key("ln_bwd", x.sizes(), eps, f), [&] {
      auto hint = forward_pd(x.sizes(), eps, f);
      dnnl::layer_normalization_backward::desc desc(dnnl::prop_kind::backward, tagged_desc(x.sizes(), tag::ab),
                                                    tagged_desc(x.sizes(), tag::ab), tagged_desc({x.sizes()[0]}, tag::a),
                                                    static_cast<float>(eps), f);
      return make_cached(dnnl::layer_normalization_backward::primitive_desc(desc, user_scratchpad(), engine(), hint));
    });
    const auto& pd = pd_as<dnnl::layer_normalization_backward::primitive_desc>(cc);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(pd.src_desc(), x)},
                                               {DNNL_ARG_DIFF_DST, wrap(pd.diff_dst_desc(), g)},
                                               {DNNL_ARG_MEAN, vec(mean)},
                                               {DNNL_ARG_VARIANCE, vec(var)},
                                               {DNNL_ARG_DIFF_SRC, wrap(pd.diff_src_desc(), r.grad_input)}};
    const Tensor w = weight.defined() ? weight.contiguous() : Tensor();
    // oneDNN 2.6 wants the shift bound whenever use_shift is set, though backward never reads it.
    const Tensor shift = with_bias ? zeros({cols}) : Tensor();
    if (w.defined()) {
      args.emplace(DNNL_ARG_SCALE, vec(w));
      args.emplace(DNNL_ARG_DIFF_SCALE, vec(r.grad_weight));
    }
    if (with_bias) {
      args.emplace(DNNL_ARG_SHIFT, vec(shift));
      args.emplace(DNNL_ARG_DIFF_SHIFT, vec(r.grad_bias));
    }
    execute(cc, std::move(args));
  });
  return r;
}

}  // namespace ember::onednn
