// Max and average pooling on oneDNN (pooling_v2: dilation supported). Plain
// inputs are pooled in NCHW. Max pooling of an opaque (blocked) input, a
// convolution's output, runs in that layout and gives a blocked output and
// input gradient; its forward keeps oneDNN's workspace and the layout for the
// backward.
#include <fmt/ranges.h>

#include "ember/ops/onednn/context.h"
#include "ember/ops/onednn/onednn.h"

namespace ember::onednn {
namespace {

using tag = dnnl::memory::format_tag;

std::string pool_key(const char* kind, const Shape& x, const Shape& y, const Pool2dParams& p) {
  return fmt::format("{}|x[{}]|y[{}]|k{},{}|s{},{}|p{},{}|pr{},{}|d{},{}", kind, fmt::join(x, ","), fmt::join(y, ","),
                     p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.padding_r[0],
                     p.padding_r[1], p.dilation[0], p.dilation[1]);
}

// src: the input's layout (plain NCHW or an opaque tensor's); dst and the
// gradient of dst are left to oneDNN (the same layout family as src).
dnnl::pooling_v2_forward::primitive_desc forward_pd(dnnl::algorithm alg, const dnnl::memory::desc& src, const Shape& y,
                                                    const Pool2dParams& p, bool training) {
  const dnnl::memory::desc dst(dims(y.begin(), y.end()), dnnl::memory::data_type::f32, tag::any);
  dnnl::pooling_v2_forward::desc desc(training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
                                      alg, src, dst, {p.stride[0], p.stride[1]}, {p.kernel[0], p.kernel[1]},
                                      {p.dilation[0] - 1, p.dilation[1] - 1}, {p.padding[0], p.padding[1]},
                                      {p.padding_r[0], p.padding_r[1]});
  return dnnl::pooling_v2_forward::primitive_desc(desc, user_scratchpad(), engine());
}

Tensor pool_forward(const char* op, dnnl::algorithm alg, const Tensor& x_in, const Shape& y_shape,
                    const Pool2dParams& p, onednn::MaxPoolSaved* saved) {
  // Only max pooling keeps a blocked input blocked (avg pooling's backward has no saved state to carry the layout).
  // The layout is read once, before input_as could convert x.
  const std::shared_ptr<const OpaqueLayout> layout = alg == dnnl::algorithm::pooling_max ? x_in.opaque_layout() : nullptr;
  const DnnlLayout* blocked_layout = dnnl_layout(layout);
  const bool blocked = blocked_layout != nullptr;
  const Tensor x = blocked ? x_in : x_in.contiguous();
  const dnnl::memory::desc plain_x = tagged_desc(x.sizes(), tag::nchw), plain_y = tagged_desc(y_shape, tag::nchw);
  const dnnl::memory::desc src_md = blocked ? blocked_layout->md() : plain_x;
  const bool training = saved != nullptr;
  const std::string key = pool_key(training ? "pool_fwd_train" : "pool_fwd", x.sizes(), y_shape, p) +
                          fmt::format("|alg{}|{}", static_cast<int>(alg), md_key(src_md));
  Tensor y;
  guarded(op, "input " + shape_str(x.sizes()), [&] {
    const CachedRef c = cached(key, [&] { return make_cached(forward_pd(alg, src_md, y_shape, p, training)); });
    const auto& pd = pd_as<dnnl::pooling_v2_forward::primitive_desc>(c);
    Tensor keep_x;
    const OpaqueOutput dst(pd.dst_desc(), plain_y, y_shape, key + "|dst");
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, input_as(x, plain_x, pd.src_desc(), keep_x, key + "|src")},
                                               {DNNL_ARG_DST, dst.memory()}};
    if (training) {
      saved->layout = blocked ? layout : nullptr;
      if (pd.workspace_desc().get_size() > 0) {
        saved->workspace = empty({static_cast<std::int64_t>(pd.workspace_desc().get_size())}, DType::UInt8);
        args.emplace(DNNL_ARG_WORKSPACE, wrap(pd.workspace_desc(), saved->workspace));
      }
    }
    execute(c, std::move(args));
    y = dst.finish();
  });
  return y;
}

Tensor pool_backward(const char* op, dnnl::algorithm alg, const Tensor& g, const onednn::MaxPoolSaved& saved,
                     const Shape& x_shape, const Pool2dParams& p) {
  const dnnl::memory::desc plain_x = tagged_desc(x_shape, tag::nchw), plain_g = tagged_desc(g.sizes(), tag::nchw);
  const DnnlLayout* layout = dnnl_layout(saved.layout);
  const dnnl::memory::desc src_md = layout ? layout->md() : plain_x;
  const std::string key = pool_key("pool_bwd", x_shape, g.sizes(), p) +
                          fmt::format("|alg{}|{}", static_cast<int>(alg), md_key(src_md));
  Tensor gx;
  guarded(op, "input " + shape_str(x_shape), [&] {
    const CachedRef c = cached(key, [&] {
      auto hint = forward_pd(alg, src_md, g.sizes(), p, true);
      dnnl::pooling_v2_backward::desc desc(alg, src_md, hint.dst_desc(), {p.stride[0], p.stride[1]},
                                           {p.kernel[0], p.kernel[1]}, {p.dilation[0] - 1, p.dilation[1] - 1},
                                           {p.padding[0], p.padding[1]}, {p.padding_r[0], p.padding_r[1]});
      return make_cached(dnnl::pooling_v2_backward::primitive_desc(desc, user_scratchpad(), engine(), hint));
    });
    const auto& pd = pd_as<dnnl::pooling_v2_backward::primitive_desc>(c);
    Tensor keep_g;
    const OpaqueOutput dsrc(pd.diff_src_desc(), plain_x, x_shape, key + "|dsrc");
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, input_as(g, plain_g, pd.diff_dst_desc(), keep_g, key + "|ddst")},
                                               {DNNL_ARG_DIFF_SRC, dsrc.memory()}};
    if (saved.workspace.defined()) args.emplace(DNNL_ARG_WORKSPACE, wrap(pd.workspace_desc(), saved.workspace));
    execute(c, std::move(args));
    gx = dsrc.finish();
  });
  return gx;
}

dnnl::algorithm avg_alg(bool count_include_pad) {
  return count_include_pad ? dnnl::algorithm::pooling_avg_include_padding : dnnl::algorithm::pooling_avg_exclude_padding;
}

}  // namespace

Tensor max_pool2d_forward(const Tensor& x, const Shape& y_shape, const Pool2dParams& p, MaxPoolSaved* saved) {
  return pool_forward("max_pool2d", dnnl::algorithm::pooling_max, x, y_shape, p, saved);
}

Tensor max_pool2d_backward(const Tensor& g, const MaxPoolSaved& saved, const Shape& x_shape, const Pool2dParams& p) {
  return pool_backward("max_pool2d backward", dnnl::algorithm::pooling_max, g, saved, x_shape, p);
}

Tensor avg_pool2d_forward(const Tensor& x, const Shape& y_shape, const Pool2dParams& p, bool count_include_pad) {
  return pool_forward("avg_pool2d", avg_alg(count_include_pad), x, y_shape, p, nullptr);
}

Tensor avg_pool2d_backward(const Tensor& g, const Shape& x_shape, const Pool2dParams& p, bool count_include_pad) {
  return pool_backward("avg_pool2d backward", avg_alg(count_include_pad), g, MaxPoolSaved{}, x_shape, p);
}

}  // namespace ember::onednn
