// Batch normalization on oneDNN, NCHW, separate scale and shift.
#include <fmt/ranges.h>

#include "ember/core/factory.h"
#include "ember/ops/onednn/context.h"
#include "ember/ops/onednn/onednn.h"

namespace ember::onednn {
namespace {

using tag = dnnl::memory::format_tag;
using flags = dnnl::normalization_flags;

dnnl::batch_normalization_forward::primitive_desc forward_pd(const Shape& x, double eps, bool training) {
  auto f = flags::use_scale | flags::use_shift;
  if (!training) f = f | flags::use_global_stats;
  dnnl::batch_normalization_forward::desc desc(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, tagged_desc(x, tag::nchw),
      static_cast<float>(eps), f);
  return dnnl::batch_normalization_forward::primitive_desc(desc, user_scratchpad(), engine());
}

std::string bn_key(const char* kind, const Shape& x, double eps) {
  return fmt::format("{}|x[{}]|eps{}", kind, fmt::join(x, ","), eps);
}

dnnl::memory vec(const Tensor& t) { return wrap(tagged_desc({t.numel()}, tag::x), t); }

}  // namespace

BatchNormForward batch_norm_training(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const std::int64_t c = x.sizes()[1];
  BatchNormForward r{empty(x.sizes(), DType::Float32), empty({c}, DType::Float32), empty({c}, DType::Float32)};
  guarded("batch_norm", "input " + shape_str(x.sizes()), [&] {
    const CachedRef cc = cached(bn_key("bn_fwd_train", x.sizes(), eps), [&] { return make_cached(forward_pd(x.sizes(), eps, true)); });
    const auto& pd = pd_as<dnnl::batch_normalization_forward::primitive_desc>(cc);
    execute(cc, {{DNNL_ARG_SRC, wrap(pd.src_desc(), x)}, {DNNL_ARG_DST, wrap(pd.dst_desc(), r.y)},
                 {DNNL_ARG_SCALE, vec(weight)}, {DNNL_ARG_SHIFT, vec(bias)}, {DNNL_ARG_MEAN, vec(r.mean)},
                 {DNNL_ARG_VARIANCE, vec(r.var)}});
  });
  return r;
}

Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& weight,
                            const Tensor& bias, double eps) {
  Tensor y = empty(x.sizes(), DType::Float32);
  guarded("batch_norm", "input " + shape_str(x.sizes()), [&] {
    const CachedRef cc = cached(bn_key("bn_fwd_infer", x.sizes(), eps), [&] { return make_cached(forward_pd(x.sizes(), eps, false)); });
    const auto& pd = pd_as<dnnl::batch_normalization_forward::primitive_desc>(cc);
    execute(cc, {{DNNL_ARG_SRC, wrap(pd.src_desc(), x)}, {DNNL_ARG_DST, wrap(pd.dst_desc(), y)},
                 {DNNL_ARG_SCALE, vec(weight)}, {DNNL_ARG_SHIFT, vec(bias)}, {DNNL_ARG_MEAN, vec(mean)},
                 {DNNL_ARG_VARIANCE, vec(var)}});
  });
  return y;
}

BatchNormBackward batch_norm_backward(const Tensor& g_in, const Tensor& x, const Tensor& mean, const Tensor& var,
                                      const Tensor& weight, double eps) {
  const Tensor g = g_in.contiguous();
  const std::int64_t c = x.sizes()[1];
  const Tensor shift = zeros({c});  // not read by the backward, but oneDNN 2.6 wants it bound
  BatchNormBackward r{empty(x.sizes(), DType::Float32), empty({c}, DType::Float32), empty({c}, DType::Float32)};
  guarded("batch_norm backward", "input " + shape_str(x.sizes()), [&] {
    const CachedRef cc = cached(bn_key("bn_bwd", x.sizes(), eps), [&] {
      auto hint = forward_pd(x.sizes(), eps, true);
      dnnl::batch_normalization_backward::desc desc(dnnl::prop_kind::backward, tagged_desc(x.sizes(), tag::nchw),
                                                    tagged_desc(x.sizes(), tag::nchw), static_cast<float>(eps),
                                                    flags::use_scale | flags::use_shift);
      return make_cached(dnnl::batch_normalization_backward::primitive_desc(desc, user_scratchpad(), engine(), hint));
    });
    const auto& pd = pd_as<dnnl::batch_normalization_backward::primitive_desc>(cc);
    execute(cc, {{DNNL_ARG_SRC, wrap(pd.src_desc(), x)}, {DNNL_ARG_DIFF_DST, wrap(pd.diff_dst_desc(), g)},
                 {DNNL_ARG_MEAN, vec(mean)}, {DNNL_ARG_VARIANCE, vec(var)}, {DNNL_ARG_SCALE, vec(weight)},
                 {DNNL_ARG_SHIFT, vec(shift)}, {DNNL_ARG_DIFF_SRC, wrap(pd.diff_src_desc(), r.grad_input)},
                 {DNNL_ARG_DIFF_SCALE, vec(r.grad_weight)}, {DNNL_ARG_DIFF_SHIFT, vec(r.grad_bias)}});
  });
  return r;
}

}  // namespace ember::onednn
