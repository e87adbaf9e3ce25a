// Transforms follow torchvision's algorithms and parameter order (get_params),
// with Ember's counter-based SampleRng in place of torch's global generator.
// Geometric transforms only draw a coordinate map (WarpStage); warp() walks
// each output pixel back through the maps and samples the input once,
// bilinearly, so RandomAffine + ElasticTransform cost one pass and one
// interpolation. Scratch buffers are thread_local and reused: after the first
// image a worker thread allocates only the output tensors.
#include "ember/data/transforms.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numbers>

#include "ember/core/factory.h"
#include "ember/core/random.h"
#include "ember/ops/ops.h"

namespace ember::data {
namespace {

std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

thread_local std::int64_t tls_epoch = 0;

}  // namespace

SampleRng::SampleRng(std::uint64_t seed, std::int64_t epoch, std::int64_t index) {
  // Each part passes through the mixer before the next is added, so (s, e, i)
  // and (s, e + 1, i - 1) do not share a key.
  std::uint64_t k = mix64(seed + 0x9E3779B97F4A7C15ULL);
  k = mix64(k ^ (static_cast<std::uint64_t>(epoch) + 0x632BE59BD9B4E019ULL));
  k = mix64(k ^ (static_cast<std::uint64_t>(index) + 0xD6E8FEB86659FD93ULL));
  key_ = k;
}

std::uint64_t SampleRng::bits() { return mix64(key_ + (++counter_) * 0x9E3779B97F4A7C15ULL); }

std::int64_t SampleRng::integer(std::int64_t lo, std::int64_t hi) {
  EMBER_CHECK(lo < hi, "SampleRng::integer: empty range [{}, {})", lo, hi);
  const auto range = static_cast<unsigned __int128>(hi - lo);
  return lo + static_cast<std::int64_t>((static_cast<unsigned __int128>(bits()) * range) >> 64);
}

double SampleRng::normal() {
  double u1 = uniform();
  if (u1 <= 0.0) u1 = 0x1.0p-53;
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::int64_t current_epoch() { return tls_epoch; }

EpochScope::EpochScope(std::int64_t epoch) : saved_(tls_epoch) { tls_epoch = epoch; }

EpochScope::~EpochScope() { tls_epoch = saved_; }

namespace transforms {
namespace {

struct ImageDims {
  std::int64_t channels, height, width;
};

// data [C, H, W] or [H, W] (more leading dims count as channels).
ImageDims image_dims(const Tensor& data, const std::string& op) {
  EMBER_CHECK(data.defined(), "{}: got an undefined tensor", op);
  EMBER_CHECK(data.dim() >= 2, "{}: expects an image [C, H, W] or [H, W], got shape {}", op, shape_str(data.sizes()));
  const std::int64_t h = data.size(-2), w = data.size(-1);
  EMBER_CHECK(h > 0 && w > 0, "{}: the image is empty (shape {})", op, shape_str(data.sizes()));
  return {data.numel() / (h * w), h, w};
}

// A new float32 contiguous copy of `t` (never a view of it: transforms may write into it).
Tensor fresh_float(const Tensor& t) {
  if (t.dtype() == DType::Float32) return t.clone();
  return t.to(DType::Float32).contiguous();
}

// The float32 values of `t`, contiguous, possibly sharing its storage (read only).
Tensor read_float(const Tensor& t) {
  Tensor f = t.dtype() == DType::Float32 ? t : t.to(DType::Float32);
  return f.contiguous();
}

void check_range(const std::vector<double>& r, const std::string& op, const char* what) {
  EMBER_CHECK(r.size() == 2, "{}: {} must be a range of 2 values, got {}", op, what, r.size());
  EMBER_CHECK(std::isfinite(r[0]) && std::isfinite(r[1]), "{}: {} must be finite, got [{}, {}]", op, what, r[0], r[1]);
  EMBER_CHECK(r[0] <= r[1], "{}: {} range is upside down: [{}, {}] (min must not exceed max)", op, what, r[0], r[1]);
}

double rad(double deg) { return deg * std::numbers::pi / 180.0; }

// Reflects i into [0, n) as torch's "reflect" padding does, for any distance.
std::int64_t reflect(std::int64_t i, std::int64_t n) {
  if (n == 1) return 0;
  const std::int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// field [H, W] blurred in place by the separable kernel k (odd length), reflected borders.
void blur(std::vector<float>& field, std::int64_t h, std::int64_t w, const std::vector<float>& k) {
  thread_local std::vector<float> tmp;
  thread_local std::vector<float> line;
  const auto r = static_cast<std::int64_t>(k.size() / 2);
  tmp.resize(field.size());
  // Rows: line holds one padded row.
  line.resize(static_cast<std::size_t>(std::max(h, w) + 2 * r));
  for (std::int64_t y = 0; y < h; ++y) {
    const float* row = field.data() + y * w;
    for (std::int64_t x = -r; x < w + r; ++x) line[static_cast<std::size_t>(x + r)] = row[reflect(x, w)];
    float* out = tmp.data() + y * w;
    for (std::int64_t x = 0; x < w; ++x) {
      float s = 0.0f;
      const float* l = line.data() + x;
      for (std::size_t j = 0; j < k.size(); ++j) s += k[j] * l[j];
      out[x] = s;
    }
  }
  // Columns: padded row indices, each output row a weighted sum of input rows (vectorises over x).
  std::fill(field.begin(), field.end(), 0.0f);
  for (std::int64_t y = 0; y < h; ++y) {
    float* out = field.data() + y * w;
    for (std::int64_t j = 0; j < static_cast<std::int64_t>(k.size()); ++j) {
      const float kj = k[static_cast<std::size_t>(j)];
      const float* in = tmp.data() + reflect(y + j - r, h) * w;
      for (std::int64_t x = 0; x < w; ++x) out[x] += kj * in[x];
    }
  }
}

// Bilinear read of the [H, W] plane at (u, v) with clamped borders (for displacement fields).
float sample_clamped(const float* f, std::int64_t h, std::int64_t w, double u, double v) {
  u = std::clamp(u, 0.0, static_cast<double>(w - 1));
  v = std::clamp(v, 0.0, static_cast<double>(h - 1));
  const auto x0 = static_cast<std::int64_t>(u), y0 = static_cast<std::int64_t>(v);
  const std::int64_t x1 = std::min(x0 + 1, w - 1), y1 = std::min(y0 + 1, h - 1);
  const auto fx = static_cast<float>(u - static_cast<double>(x0)), fy = static_cast<float>(v - static_cast<double>(y0));
  const float a = f[y0 * w + x0] + fx * (f[y0 * w + x1] - f[y0 * w + x0]);
  const float b = f[y1 * w + x0] + fx * (f[y1 * w + x1] - f[y1 * w + x0]);
  return a + fy * (b - a);
}

}  // namespace

// ---- warp: one bilinear pass through a chain of coordinate maps ----

Tensor warp(const Tensor& image, const WarpStage* stages, std::size_t count) {
  const ImageDims d = image_dims(image, "warp");
  const Tensor in = read_float(image);
  Tensor out = empty(image.sizes(), DType::Float32);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const std::int64_t h = d.height, w = d.width, plane = h * w;
  for (std::size_t k = 0; k < count; ++k)
    EMBER_CHECK(stages[k].is_affine || (static_cast<std::int64_t>(stages[k].dx.size()) == plane &&
                                        static_cast<std::int64_t>(stages[k].dy.size()) == plane),
                "warp: a displacement field of {} values for an image of {}x{}", stages[k].dx.size(), h, w);
  const double lo_x = -0.5, hi_x = static_cast<double>(w) - 0.5;
  const double lo_y = -0.5, hi_y = static_cast<double>(h) - 0.5;
  const auto n = static_cast<std::int64_t>(count);
  const float fill0 = n > 0 ? static_cast<float>(stages[0].fill) : 0.0f;
  for (std::int64_t y = 0; y < h; ++y) {
    for (std::int64_t x = 0; x < w; ++x) {
      double u = static_cast<double>(x), v = static_cast<double>(y);
      bool on_grid = true;  // (u, v) is still the output pixel (x, y)
      bool outside = false;
      float outside_fill = 0.0f;
      // The last stage is applied last, so the output coordinate goes through it first.
      for (std::int64_t i = n - 1; i >= 0; --i) {
        const WarpStage& s = stages[static_cast<std::size_t>(i)];
        if (i < n - 1 && (u < lo_x || u > hi_x || v < lo_y || v > hi_y)) {
          // Outside the intermediate image that stage i + 1 sampled: that stage's fill.
          outside = true;
          outside_fill = static_cast<float>(stages[static_cast<std::size_t>(i + 1)].fill);
          break;
        }
        if (s.is_affine) {
          const double nu = s.m[0] * u + s.m[1] * v + s.m[2];
          const double nv = s.m[3] * u + s.m[4] * v + s.m[5];
          u = nu;
          v = nv;
        } else if (on_grid) {
          u += s.dx[static_cast<std::size_t>(y * w + x)];
          v += s.dy[static_cast<std::size_t>(y * w + x)];
        } else {
          const double du = sample_clamped(s.dx.data(), h, w, u, v);
          const double dv = sample_clamped(s.dy.data(), h, w, u, v);
          u += du;
          v += dv;
        }
        on_grid = false;
      }
      float* o = dst + y * w + x;
      if (outside) {
        for (std::int64_t c = 0; c < d.channels; ++c) o[c * plane] = outside_fill;
        continue;
      }
      // Bilinear read of the input at (u, v); neighbours outside the image read the fill.
      const double fu = std::floor(u), fv = std::floor(v);
      if (!(fu > -2.0 && fu < static_cast<double>(w) && fv > -2.0 && fv < static_cast<double>(h))) {
        for (std::int64_t c = 0; c < d.channels; ++c) o[c * plane] = fill0;
        continue;
      }
      const auto x0 = static_cast<std::int64_t>(fu), y0 = static_cast<std::int64_t>(fv);
      const auto ax = static_cast<float>(u - fu), ay = static_cast<float>(v - fv);
      const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
      const bool in_x0 = x0 >= 0, in_x1 = x0 + 1 < w, in_y0 = y0 >= 0, in_y1 = y0 + 1 < h;
      for (std::int64_t c = 0; c < d.channels; ++c) {
        const float* p = src + c * plane;
        const float v00 = in_y0 && in_x0 ? p[y0 * w + x0] : fill0;
        const float v01 = in_y0 && in_x1 ? p[y0 * w + x0 + 1] : fill0;
        const float v10 = in_y1 && in_x0 ? p[(y0 + 1) * w + x0] : fill0;
        const float v11 = in_y1 && in_x1 ? p[(y0 + 1) * w + x0 + 1] : fill0;
        o[c * plane] = w00 * v00 + w01 * v01 + w10 * v10 + w11 * v11;
      }
    }
  }
  return out;
}

void WarpTransform::apply(Example& example, SampleRng& rng) const {
  const ImageDims d = image_dims(example.data, name());
  thread_local WarpStage stage;
  draw(stage, d.height, d.width, rng);
  example.data = warp(example.data, &stage, 1);
}

// ---- RandomAffine ----

RandomAffine::RandomAffine(RandomAffineOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  const auto& deg = o.degrees();
  EMBER_CHECK(deg.size() == 2, "RandomAffine: degrees must be a number or a range of 2 values, got {} values",
              deg.size());
  EMBER_CHECK(o.single_ >= 0.0, "RandomAffine: a single degrees value must be non-negative, got {}", o.single_);
  check_range(deg, name(), "degrees");
  if (!o.translate().empty()) {
    EMBER_CHECK(o.translate().size() == 2, "RandomAffine: translate must have 2 values (fractions of width, height), got {}",
                o.translate().size());
    for (double t : o.translate())
      EMBER_CHECK(t >= 0.0 && t <= 1.0, "RandomAffine: translate values must be in [0, 1], got {}", t);
  }
  if (!o.scale().empty()) {
    check_range(o.scale(), name(), "scale");
    EMBER_CHECK(o.scale()[0] > 0.0, "RandomAffine: scale values must be positive, got [{}, {}]", o.scale()[0],
                o.scale()[1]);
  }
  if (!o.shear().empty()) {
    const auto& s = o.shear();
    EMBER_CHECK(s.size() == 1 || s.size() == 2 || s.size() == 4,
                "RandomAffine: shear must have 1, 2 or 4 values, got {}", s.size());
    if (s.size() == 1) {
      EMBER_CHECK(s[0] >= 0.0, "RandomAffine: a single shear value must be non-negative, got {}", s[0]);
      options_.shear({-s[0], s[0]});
    } else {
      check_range({s[0], s[1]}, name(), "shear x");
      if (s.size() == 4) check_range({s[2], s[3]}, name(), "shear y");
    }
    for (double v : options_.shear())
      EMBER_CHECK(std::abs(v) < 90.0, "RandomAffine: shear angles must lie in (-90, 90) degrees, got {}", v);
  }
}

AffineParams RandomAffine::get_params(std::int64_t height, std::int64_t width, SampleRng& rng) const {
  const auto& o = options_;
  AffineParams p;
  p.angle = rng.uniform(o.degrees()[0], o.degrees()[1]);
  if (!o.translate().empty()) {
    const double max_dx = o.translate()[0] * static_cast<double>(width);
    const double max_dy = o.translate()[1] * static_cast<double>(height);
    p.translate_x = std::nearbyint(rng.uniform(-max_dx, max_dx));  // Python's round: half to even
    p.translate_y = std::nearbyint(rng.uniform(-max_dy, max_dy));
  }
  if (!o.scale().empty()) p.scale = rng.uniform(o.scale()[0], o.scale()[1]);
  if (!o.shear().empty()) {
    p.shear_x = rng.uniform(o.shear()[0], o.shear()[1]);
    if (o.shear().size() == 4) p.shear_y = rng.uniform(o.shear()[2], o.shear()[3]);
  }
  return p;
}

void RandomAffine::inverse_matrix(const AffineParams& p, std::int64_t height, std::int64_t width, double m[6]) {
  // torchvision's _get_inverse_affine_matrix: M = T * C * R * S * Sh * C^-1, inverted,
  // about the centre ((W - 1) / 2, (H - 1) / 2) of the pixel grid.
  const double rot = rad(p.angle), sx = rad(p.shear_x), sy = rad(p.shear_y);
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  m[0] = d / p.scale;
  m[1] = -b / p.scale;
  m[3] = -c / p.scale;
  m[4] = a / p.scale;
  const double cx = (static_cast<double>(width) - 1.0) * 0.5, cy = (static_cast<double>(height) - 1.0) * 0.5;
  m[2] = cx - m[0] * (cx + p.translate_x) - m[1] * (cy + p.translate_y);
  m[5] = cy - m[3] * (cx + p.translate_x) - m[4] * (cy + p.translate_y);
}

void RandomAffine::draw(WarpStage& stage, std::int64_t height, std::int64_t width, SampleRng& rng) const {
  stage.is_affine = true;
  stage.fill = options_.fill();
  inverse_matrix(get_params(height, width, rng), height, width, stage.m);
}

// ---- ElasticTransform ----

ElasticTransform::ElasticTransform(double alpha, double sigma, double fill) : alpha_(alpha), sigma_(sigma), fill_(fill) {
  EMBER_CHECK(std::isfinite(alpha) && alpha >= 0.0, "ElasticTransform: alpha must be non-negative, got {}", alpha);
  EMBER_CHECK(std::isfinite(sigma) && sigma >= 0.0, "ElasticTransform: sigma must be non-negative, got {}", sigma);
  EMBER_CHECK(sigma <= 1000.0, "ElasticTransform: sigma {} is too large (kernel of {} taps)", sigma, 8 * sigma + 1);
  if (sigma > 0.0) {
    // torchvision: kernel size int(8 sigma + 1), made odd; weights exp(-x^2 / (2 sigma^2)), normalised.
    auto k = static_cast<std::int64_t>(8.0 * sigma + 1.0);
    if (k % 2 == 0) ++k;
    const std::int64_t half = k / 2;
    double total = 0.0;
    std::vector<double> wts;
    for (std::int64_t i = -half; i <= half; ++i) {
      const double x = static_cast<double>(i) / sigma;
      wts.push_back(std::exp(-0.5 * x * x));
      total += wts.back();
    }
    for (double v : wts) kernel_.push_back(static_cast<float>(v / total));
  }
}

void ElasticTransform::draw(WarpStage& stage, std::int64_t height, std::int64_t width, SampleRng& rng) const {
  stage.is_affine = false;
  stage.fill = fill_;
  const auto plane = static_cast<std::size_t>(height * width);
  stage.dx.resize(plane);
  stage.dy.resize(plane);
  // Fields in torchvision's units (normalised grid coordinates: dx * alpha / H, dy * alpha / W)
  // turned into pixels (times W / 2 and H / 2).
  const double hd = static_cast<double>(height), wd = static_cast<double>(width);
  const auto sx = static_cast<float>(alpha_ / hd * wd * 0.5), sy = static_cast<float>(alpha_ / wd * hd * 0.5);
  for (auto* field : {&stage.dx, &stage.dy}) {
    for (float& v : *field) v = static_cast<float>(rng.uniform() * 2.0 - 1.0);
    if (!kernel_.empty()) blur(*field, height, width, kernel_);
    const float s = field == &stage.dx ? sx : sy;
    for (float& v : *field) v *= s;
  }
}

// ---- RandomCrop ----

RandomCrop::RandomCrop(RandomCropOptions options) : options_(std::move(options)) {
  const auto& size = options_.size();
  EMBER_CHECK(size.size() == 2, "RandomCrop: size must be one number or {{height, width}}, got {} values", size.size());
  EMBER_CHECK(size[0] > 0 && size[1] > 0, "RandomCrop: size must be positive, got {}x{}", size[0], size[1]);
  const auto& p = options_.padding();
  EMBER_CHECK(p.empty() || p.size() == 1 || p.size() == 2 || p.size() == 4,
              "RandomCrop: padding must have 1, 2 or 4 values, got {}", p.size());
  for (std::int64_t v : p) EMBER_CHECK(v >= 0, "RandomCrop: padding must be non-negative, got {}", v);
  if (p.size() == 1) pad_[0] = pad_[1] = pad_[2] = pad_[3] = p[0];
  if (p.size() == 2) {
    pad_[0] = pad_[2] = p[0];
    pad_[1] = pad_[3] = p[1];
  }
  if (p.size() == 4) std::copy(p.begin(), p.end(), pad_);
}

void RandomCrop::apply(Example& example, SampleRng& rng) const {
  const ImageDims d = image_dims(example.data, name());
  const std::int64_t th = options_.size()[0], tw = options_.size()[1];
  std::int64_t left = pad_[0], top = pad_[1], right = pad_[2], bottom = pad_[3];
  std::int64_t h = d.height + top + bottom, w = d.width + left + right;
  if (options_.pad_if_needed()) {
    if (h < th) {
      top += th - h;
      bottom += th - h;
      h += 2 * (th - h);
    }
    if (w < tw) {
      left += tw - w;
      right += tw - w;
      w += 2 * (tw - w);
    }
  }
  EMBER_CHECK(th <= h && tw <= w, "RandomCrop: crop size {}x{} is larger than the padded image {}x{} (image {}x{})",
              th, tw, h, w, d.height, d.width);
  const std::int64_t i = h == th ? 0 : rng.integer(0, h - th + 1);
  const std::int64_t j = w == tw ? 0 : rng.integer(0, w - tw + 1);
  const Tensor in = read_float(example.data);
  Shape shape = example.data.sizes();
  shape[shape.size() - 2] = th;
  shape[shape.size() - 1] = tw;
  Tensor out = empty(shape, DType::Float32);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const auto fill = static_cast<float>(options_.fill());
  for (std::int64_t c = 0; c < d.channels; ++c)
    for (std::int64_t y = 0; y < th; ++y) {
      const std::int64_t sy = y + i - top;  // row in the unpadded image
      float* o = dst + (c * th + y) * tw;
      for (std::int64_t x = 0; x < tw; ++x) {
        const std::int64_t sx = x + j - left;
        o[x] = sy >= 0 && sy < d.height && sx >= 0 && sx < d.width ? src[(c * d.height + sy) * d.width + sx] : fill;
      }
    }
  example.data = std::move(out);
}

// ---- RandomErasing ----

RandomErasing::RandomErasing(RandomErasingOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  EMBER_CHECK(o.p() >= 0.0 && o.p() <= 1.0, "RandomErasing: p must be in [0, 1], got {}", o.p());
  check_range(o.scale(), name(), "scale");
  EMBER_CHECK(o.scale()[0] >= 0.0 && o.scale()[1] <= 1.0, "RandomErasing: scale must lie in [0, 1], got [{}, {}]",
              o.scale()[0], o.scale()[1]);
  check_range(o.ratio(), name(), "ratio");
  EMBER_CHECK(o.ratio()[0] > 0.0, "RandomErasing: ratio must be positive, got [{}, {}]", o.ratio()[0], o.ratio()[1]);
  EMBER_CHECK(o.random_value() || !o.value().empty(), "RandomErasing: value needs at least one number");
}

void RandomErasing::apply(Example& example, SampleRng& rng) const {
  const ImageDims d = image_dims(example.data, name());
  if (!(rng.uniform() < options_.p())) return;
  const auto& value = options_.value();
  EMBER_CHECK(options_.random_value() || value.size() == 1 || static_cast<std::int64_t>(value.size()) == d.channels,
              "RandomErasing: {} values for an image of {} channels (shape {})", value.size(), d.channels,
              shape_str(example.data.sizes()));
  const double area = static_cast<double>(d.height * d.width);
  const double log_lo = std::log(options_.ratio()[0]), log_hi = std::log(options_.ratio()[1]);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erase_area = area * rng.uniform(options_.scale()[0], options_.scale()[1]);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const auto eh = static_cast<std::int64_t>(std::nearbyint(std::sqrt(erase_area * aspect)));
    const auto ew = static_cast<std::int64_t>(std::nearbyint(std::sqrt(erase_area / aspect)));
    if (!(eh < d.height && ew < d.width)) continue;
    Tensor out = fresh_float(example.data);
    float* p = out.data_ptr<float>();
    const std::int64_t i = rng.integer(0, d.height - eh + 1);
    const std::int64_t j = rng.integer(0, d.width - ew + 1);
    for (std::int64_t c = 0; c < d.channels; ++c) {
      const auto v = static_cast<float>(options_.random_value() ? 0.0 : value[value.size() == 1 ? 0 : static_cast<std::size_t>(c)]);
      for (std::int64_t y = i; y < i + eh; ++y)
        for (std::int64_t x = j; x < j + ew; ++x)
          p[(c * d.height + y) * d.width + x] = options_.random_value() ? static_cast<float>(rng.normal()) : v;
    }
    example.data = std::move(out);
    return;
  }
}

// ---- Normalize ----

void check_normalize(const std::vector<double>& mean, const std::vector<double>& std) {
  EMBER_CHECK(!mean.empty() && mean.size() == std.size(),
              "Normalize: mean and std need the same, non-zero number of values, got {} and {}", mean.size(), std.size());
  for (double s : std) EMBER_CHECK(s != 0.0 && std::isfinite(s), "Normalize: std must be non-zero and finite, got {}", s);
}

void normalize_image(Example& example, const std::vector<double>& mean_, const std::vector<double>& std_) {
  const ImageDims d = image_dims(example.data, "Normalize");
  const std::int64_t channels = example.data.dim() >= 3 ? d.channels : 1;
  EMBER_CHECK(mean_.size() == 1 || static_cast<std::int64_t>(mean_.size()) == channels,
              "Normalize: {} means for an image of {} channels (shape {})", mean_.size(), channels,
              shape_str(example.data.sizes()));
  const Tensor in = read_float(example.data);
  Tensor out = empty(example.data.sizes(), DType::Float32);
  const float* src = in.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const std::int64_t per_channel = in.numel() / channels;
  for (std::int64_t c = 0; c < channels; ++c) {
    const std::size_t k = mean_.size() == 1 ? 0 : static_cast<std::size_t>(c);
    const auto m = static_cast<float>(mean_[k]), s = static_cast<float>(std_[k]);
    for (std::int64_t i = c * per_channel; i < (c + 1) * per_channel; ++i) dst[i] = (src[i] - m) / s;
  }
  example.data = std::move(out);
}

// ---- Lambda, AnyTransform, Compose ----

Lambda::Lambda(std::function<void(Example&, SampleRng&)> fn, std::string name) : fn_(std::move(fn)), name_(std::move(name)) {
  EMBER_CHECK(static_cast<bool>(fn_), "Lambda: got an empty function");
}

void Lambda::apply(Example& example, SampleRng& rng) const { fn_(example, rng); }

AnyTransform::AnyTransform(std::shared_ptr<const Transform> t) : ptr_(std::move(t)) {
  EMBER_CHECK(ptr_ != nullptr, "transforms: got a null transform");
}

Compose::Compose(std::vector<AnyTransform> transforms) : transforms_(std::move(transforms)) {}

void Compose::apply(Example& example, SampleRng& rng) const {
  thread_local std::deque<std::vector<WarpStage>> pools;  // one per nesting depth (deque: growing keeps references)
  thread_local std::size_t depth = 0;
  if (pools.size() <= depth) pools.resize(depth + 1);
  struct Depth {
    Depth() { ++depth; }
    ~Depth() { --depth; }
  } guard;
  std::vector<WarpStage>& stages = pools[depth - 1];
  std::size_t i = 0;
  while (i < transforms_.size()) {
    const auto* warp_t = dynamic_cast<const WarpTransform*>(&*transforms_[i]);
    if (warp_t == nullptr) {
      transforms_[i]->apply(example, rng);
      ++i;
      continue;
    }
    // A run of warps: draw each map in order, then sample once.
    const ImageDims d = image_dims(example.data, warp_t->name());
    std::size_t used = 0;
    for (; i < transforms_.size(); ++i) {
      const auto* wt = dynamic_cast<const WarpTransform*>(&*transforms_[i]);
      if (wt == nullptr) break;
      if (stages.size() <= used) stages.resize(used + 1);
      wt->draw(stages[used++], d.height, d.width, rng);
    }
    example.data = warp(example.data, stages.data(), used);  // the pool keeps its buffers
  }
}

}  // namespace transforms

// ---- TransformDataset ----

TransformDataset::TransformDataset(std::shared_ptr<const Dataset> base, transforms::AnyTransform transform)
    : TransformDataset(std::move(base), std::move(transform), [] {
        auto& g = default_generator();
        std::lock_guard<std::mutex> lock(g.mutex());
        return g.next_u64();
      }()) {}

TransformDataset::TransformDataset(std::shared_ptr<const Dataset> base, transforms::AnyTransform transform,
                                   std::uint64_t seed)
    : base_(std::move(base)), transform_(std::move(transform)), seed_(seed) {
  EMBER_CHECK(base_ != nullptr, "TransformDataset: got a null dataset");
}

Example TransformDataset::get(std::int64_t i) const { return get(i, current_epoch()); }

Example TransformDataset::get(std::int64_t i, std::int64_t epoch) const {
  Example e = base_->get(i);
  SampleRng rng(seed_, epoch, i);
  transform_->apply(e, rng);
  return e;
}

Example TransformDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  EMBER_CHECK(!indices.empty(), "TransformDataset::get_batch: empty list of indices");
  const Example batch = base_->get_batch(indices);
  EMBER_CHECK(batch.data.defined() && batch.data.dim() >= 1 &&
                  batch.data.size(0) == static_cast<std::int64_t>(indices.size()) && batch.target.defined() &&
                  batch.target.dim() >= 1 && batch.target.size(0) == batch.data.size(0),
              "TransformDataset: the dataset returned a batch of {} for {} indices", shape_str(batch.data.sizes()),
              indices.size());
  const std::int64_t epoch = current_epoch();
  TensorList data, targets;
  data.reserve(indices.size());
  targets.reserve(indices.size());
  for (std::size_t b = 0; b < indices.size(); ++b) {
    Example e{batch.data[static_cast<std::int64_t>(b)], batch.target[static_cast<std::int64_t>(b)]};
    SampleRng rng(seed_, epoch, indices[b]);
    transform_->apply(e, rng);
    data.push_back(std::move(e.data));
    targets.push_back(std::move(e.target));
  }
  return {stack(data), stack(targets)};
}

}  // namespace ember::data
