// conv_transpose2d's forward on oneDNN's deconvolution primitive. PyTorch's
// weight [C_in, C_out/groups, KH, KW] is oneDNN's (g)iohw layout of the
// logical [(G,) OC, IC, KH, KW] weights, so it is read in place. output_padding
// extends the bottom/right edge: oneDNN's right padding is padding minus
// output_padding (the caller takes another path when that is negative).
// Input and output are plain NCHW here (reordered in and out as needed).
#include <fmt/ranges.h>

#include "ember/ops/onednn/context.h"
#include "ember/ops/onednn/onednn.h"

namespace ember::onednn {
namespace {

using tag = dnnl::memory::format_tag;

dnnl::memory::desc any_desc(const Shape& s) {
  return dnnl::memory::desc(dims(s.begin(), s.end()), dnnl::memory::data_type::f32, tag::any);
}

}  // namespace

Tensor deconv2d_forward(const Tensor& x, const Tensor& w_in, const Tensor& b, const Shape& y_shape,
                        const Deconv2dParams& p) {
  const Tensor w = w_in.contiguous();
  const Shape& ws = w.sizes();  // [C_in, C_out/G, KH, KW]
  const std::int64_t G = p.groups;
  const Shape w_dims = G > 1 ? Shape{G, ws[1], ws[0] / G, ws[2], ws[3]} : Shape{ws[1], ws[0], ws[2], ws[3]};
  const dims stride{p.stride[0], p.stride[1]}, dilation{p.dilation[0] - 1, p.dilation[1] - 1},
      pad_l{p.padding[0], p.padding[1]},
      pad_r{p.padding[0] - p.output_padding[0], p.padding[1] - p.output_padding[1]};
  const std::string key = fmt::format("deconv_fwd|x[{}]|w[{}]|y[{}]|s{},{}|p{},{}|op{},{}|d{},{}|g{}|b{}",
                                      fmt::join(x.sizes(), ","), fmt::join(ws, ","), fmt::join(y_shape, ","),
                                      p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.output_padding[0],
                                      p.output_padding[1], p.dilation[0], p.dilation[1], G, b.defined());
  Tensor y;
  guarded("conv_transpose2d", fmt::format("input {} and weight {}", shape_str(x.sizes()), shape_str(ws)), [&] {
    const CachedRef c = cached(key, [&] {
      const auto bias_md = tagged_desc({y_shape[1]}, tag::x);
      auto desc = b.defined() ? dnnl::deconvolution_forward::desc(
                                    dnnl::prop_kind::forward_training, dnnl::algorithm::deconvolution_direct,
                                    any_desc(x.sizes()), any_desc(w_dims), bias_md, any_desc(y_shape), stride,
                                    dilation, pad_l, pad_r)
                              : dnnl::deconvolution_forward::desc(
                                    dnnl::prop_kind::forward_training, dnnl::algorithm::deconvolution_direct,
                                    any_desc(x.sizes()), any_desc(w_dims), any_desc(y_shape), stride, dilation,
                                    pad_l, pad_r);
      return make_cached(dnnl::deconvolution_forward::primitive_desc(desc, user_scratchpad(), engine()));
    });
    const auto& pd = pd_as<dnnl::deconvolution_forward::primitive_desc>(c);
    Tensor keep_x, keep_w;
    auto src = input_as(x, tagged_desc(x.sizes(), tag::nchw), pd.src_desc(), keep_x, key + "|src");
    auto wei = to_layout(wrap(tagged_desc(w_dims, G > 1 ? tag::giohw : tag::iohw), w), pd.weights_desc(), keep_w,
                         key + "|wei");
    const OpaqueOutput dst(pd.dst_desc(), tagged_desc(y_shape, tag::nchw), y_shape, key + "|dst");
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst.memory()}};
    const Tensor bc = b.defined() ? b.contiguous() : Tensor();
    if (b.defined()) args.emplace(DNNL_ARG_BIAS, wrap(tagged_desc({y_shape[1]}, tag::x), bc));
    execute(c, std::move(args));
    y = dst.finish();
  });
  return y;
}

}  // namespace ember::onednn
