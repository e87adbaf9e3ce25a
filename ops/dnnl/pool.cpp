// Max and average pooling on oneDNN (pooling_v2: dilation supported), NCHW.
// Max pooling's forward keeps oneDNN's workspace for its backward.
#include <fmt/ranges.h>

#include "ember/ops/dnnl/context.h"
#include "ember/ops/dnnl/onednn.h"

namespace ember::onednn {
namespace {

using tag = dnnl::memory::format_tag;

std::string pool_key(const char* kind, const Shape& x, const Shape& y, const Pool2dParams& p) {
  return fmt::format("{}|x[{}]|y[{}]|k{},{}|s{},{}|p{},{}|pr{},{}|d{},{}", kind, fmt::join(x, ","), fmt::join(y, ","),
                     p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.padding_r[0],
                     p.padding_r[1], p.dilation[0], p.dilation[1]);
}

dnnl::pooling_v2_forward::primitive_desc forward_pd(dnnl::algorithm alg, const Shape& x, const Shape& y,
                                                    const Pool2dParams& p, bool training) {
  dnnl::pooling_v2_forward::desc desc(training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
                                      alg, tagged_desc(x, tag::nchw), tagged_desc(y, tag::nchw),
                                      {p.stride[0], p.stride[1]}, {p.kernel[0], p.kernel[1]},
                                      {p.dilation[0] - 1, p.dilation[1] - 1}, {p.padding[0], p.padding[1]},
                                      {p.padding_r[0], p.padding_r[1]});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return dnnl::pooling_v2_forward::primitive_desc(desc, attr, engine());
}

Tensor pool_forward(const char* op, dnnl::algorithm alg, const Tensor& x_in, const Shape& y_shape,
                    const Pool2dParams& p, Tensor* workspace) {
  const Tensor x = x_in.contiguous();
  Tensor y = empty(y_shape, DType::Float32);
  const bool training = workspace != nullptr;
  const std::string key = pool_key(training ? "pool_fwd_train" : "pool_fwd", x.sizes(), y_shape, p) +
                          fmt::format("|alg{}", static_cast<int>(alg));
  guarded(op, "input " + shape_str(x.sizes()), [&] {
    const Cached& c = cached(key, [&] { return make_cached(forward_pd(alg, x.sizes(), y_shape, p, training)); });
    const auto& pd = pd_as<dnnl::pooling_v2_forward::primitive_desc>(c);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(pd.src_desc(), x)},
                                               {DNNL_ARG_DST, wrap(pd.dst_desc(), y)}};
    if (training && pd.workspace_desc().get_size() > 0) {
      *workspace = empty({static_cast<std::int64_t>(pd.workspace_desc().get_size())}, DType::UInt8);
      args.emplace(DNNL_ARG_WORKSPACE, wrap(pd.workspace_desc(), *workspace));
    }
    execute(c, std::move(args));
  });
  return y;
}

Tensor pool_backward(const char* op, dnnl::algorithm alg, const Tensor& g_in, const Tensor& workspace,
                     const Shape& x_shape, const Pool2dParams& p) {
  const Tensor g = g_in.contiguous();
  Tensor gx = empty(x_shape, DType::Float32);
  const std::string key = pool_key("pool_bwd", x_shape, g.sizes(), p) + fmt::format("|alg{}", static_cast<int>(alg));
  guarded(op, "input " + shape_str(x_shape), [&] {
    const Cached& c = cached(key, [&] {
      auto hint = forward_pd(alg, x_shape, g.sizes(), p, true);
      dnnl::pooling_v2_backward::desc desc(alg, tagged_desc(x_shape, tag::nchw), tagged_desc(g.sizes(), tag::nchw),
                                           {p.stride[0], p.stride[1]}, {p.kernel[0], p.kernel[1]},
                                           {p.dilation[0] - 1, p.dilation[1] - 1}, {p.padding[0], p.padding[1]},
                                           {p.padding_r[0], p.padding_r[1]});
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      return make_cached(dnnl::pooling_v2_backward::primitive_desc(desc, attr, engine(), hint));
    });
    const auto& pd = pd_as<dnnl::pooling_v2_backward::primitive_desc>(c);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, wrap(pd.diff_dst_desc(), g)},
                                               {DNNL_ARG_DIFF_SRC, wrap(pd.diff_src_desc(), gx)}};
    if (workspace.defined()) args.emplace(DNNL_ARG_WORKSPACE, wrap(pd.workspace_desc(), workspace));
    execute(c, std::move(args));
  });
  return gx;
}

dnnl::algorithm avg_alg(bool count_include_pad) {
  return count_include_pad ? dnnl::algorithm::pooling_avg_include_padding : dnnl::algorithm::pooling_avg_exclude_padding;
}

}  // namespace

Tensor max_pool2d_forward(const Tensor& x, const Shape& y_shape, const Pool2dParams& p, Tensor* workspace) {
  return pool_forward("max_pool2d", dnnl::algorithm::pooling_max, x, y_shape, p, workspace);
}

Tensor max_pool2d_backward(const Tensor& g, const Tensor& workspace, const Shape& x_shape, const Pool2dParams& p) {
  return pool_backward("max_pool2d backward", dnnl::algorithm::pooling_max, g, workspace, x_shape, p);
}

Tensor avg_pool2d_forward(const Tensor& x, const Shape& y_shape, const Pool2dParams& p, bool count_include_pad) {
  return pool_forward("avg_pool2d", avg_alg(count_include_pad), x, y_shape, p, nullptr);
}

Tensor avg_pool2d_backward(const Tensor& g, const Shape& x_shape, const Pool2dParams& p, bool count_include_pad) {
  return pool_backward("avg_pool2d backward", avg_alg(count_include_pad), g, Tensor(), x_shape, p);
}

}  // namespace ember::onednn
