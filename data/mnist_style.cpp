// mnist_style: a drawing from a paint program turned into what an MNIST-trained
// net expects. Plain loops over floats: this is preprocessing, not a graph.
#include "ember/data/mnist_style.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ember/core/error.h"
#include "ember/core/factory.h"

namespace ember::data {
namespace {

struct Plane {
  std::int64_t h = 0, w = 0;
  std::vector<float> v;  // h * w, row-major
  float& at(std::int64_t y, std::int64_t x) { return v[static_cast<std::size_t>(y * w + x)]; }
  float at(std::int64_t y, std::int64_t x) const { return v[static_cast<std::size_t>(y * w + x)]; }
};

// Gray in [0, 1]; alpha composited on white. Reads the samples in place: no
// copy of the whole image in another type (a 2048x2048 RGBA was 128 MB as doubles).
Plane to_gray(const Tensor& image, const std::string& op, const std::string& name) {
  EMBER_CHECK(image.dim() == 2 || image.dim() == 3, "{}: {}: expected an image [C, H, W] or [H, W], got shape {}", op,
              name, shape_str(image.sizes()));
  const std::int64_t c = image.dim() == 3 ? image.size(0) : 1;
  Plane g;
  g.h = image.size(-2);
  g.w = image.size(-1);
  EMBER_CHECK(c >= 1 && c <= 4, "{}: {}: expected 1 to 4 channels, got shape {}", op, name, shape_str(image.sizes()));
  EMBER_CHECK(g.h > 0 && g.w > 0, "{}: {}: zero-size image (shape {})", op, name, shape_str(image.sizes()));
  const bool bytes = !is_floating(image.dtype());
  const Tensor t = image.contiguous();
  const std::size_t hw = static_cast<std::size_t>(g.h * g.w);
  g.v.resize(hw);
  dispatch(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* src = t.data_ptr<T>();
    auto at = [&](std::size_t i) {
      const double x = static_cast<double>(src[i]);
      return std::isnan(x) ? 0.0 : std::clamp(bytes ? x / 255.0 : x, 0.0, 1.0);
    };
    for (std::size_t i = 0; i < hw; ++i) {
      double y = 0.0, a = 1.0;
      if (c <= 2) {
        y = at(i);
        if (c == 2) a = at(hw + i);
      } else {
        y = 0.299 * at(i) + 0.587 * at(hw + i) + 0.114 * at(2 * hw + i);
        if (c == 4) a = at(3 * hw + i);
      }
      g.v[i] = static_cast<float>(y * a + (1.0 - a));
    }
  });
  return g;
}

float median(std::vector<float> v) {
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// The outermost ring of pixels, a few wide on large images.
std::vector<float> border(const Plane& p) {
  const std::int64_t t = std::max<std::int64_t>(1, std::min(p.h, p.w) / 32);
  std::vector<float> b;
  for (std::int64_t y = 0; y < p.h; ++y)
    for (std::int64_t x = 0; x < p.w; ++x)
      if (y < t || y >= p.h - t || x < t || x >= p.w - t) b.push_back(p.at(y, x));
  return b;
}

// Uneven light (a gradient across a photo of paper, a vignette) removed: a
// quadratic surface a + bu + cv + du^2 + euv + fv^2 is fitted to the paper by
// least squares on a grid of at most 64x64 samples, first on the border, then
// again and again on the samples it explains (ink, far from the surface, drops
// out), and the image is divided by it (light falls on ink and paper alike;
// black paper has it subtracted) and scaled to the border's median. A flat background fits a constant and
// the image is left as it was.
void flatten_background(Plane& g) {
  const float paper = median(border(g));
  const std::int64_t step = std::max<std::int64_t>(1, std::max(g.h, g.w) / 64);
  struct Sample {
    double f[6], v;
    bool edge, use;
  };
  std::vector<Sample> s;
  for (std::int64_t y = step / 2; y < g.h; y += step)
    for (std::int64_t x = step / 2; x < g.w; x += step) {
      const double u = (x + 0.5) / static_cast<double>(g.w) - 0.5, v = (y + 0.5) / static_cast<double>(g.h) - 0.5;
      const bool edge = y < step || x < step || y + step >= g.h || x + step >= g.w;
      s.push_back({{1.0, u, v, u * u, u * v, v * v}, g.at(y, x), edge, edge});
    }
  double coef[6] = {paper, 0, 0, 0, 0, 0};
  auto surface = [&](const double* f) {
    double z = 0.0;
    for (int k = 0; k < 6; ++k) z += coef[k] * f[k];
    return z;
  };
  for (int iter = 0; iter < 6; ++iter) {
    // Normal equations, with a little ridge so a one-row image stays solvable.
    double a[6][7] = {};
    std::size_t n = 0;
    for (const Sample& p : s) {
      if (!p.use) continue;
      ++n;
      for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 6; ++j) a[i][j] += p.f[i] * p.f[j];
        a[i][6] += p.f[i] * p.v;
      }
    }
    if (n < 12) break;
    for (int i = 0; i < 6; ++i) a[i][i] += 1e-6 * static_cast<double>(n);
    for (int col = 0; col < 6; ++col) {  // Gauss-Jordan with partial pivoting
      int piv = col;
      for (int r = col + 1; r < 6; ++r)
        if (std::fabs(a[r][col]) > std::fabs(a[piv][col])) piv = r;
      for (int j = 0; j < 7; ++j) std::swap(a[col][j], a[piv][j]);
      for (int r = 0; r < 6; ++r) {
        if (r == col) continue;
        const double m = a[r][col] / a[col][col];
        for (int j = col; j < 7; ++j) a[r][j] -= m * a[col][j];
      }
    }
    for (int k = 0; k < 6; ++k) coef[k] = a[k][6] / a[k][k];
    // Keep the samples within 3 robust sigmas (at least 0.03) of the surface.
    std::vector<float> res;
    for (const Sample& p : s)
      if (p.use) res.push_back(static_cast<float>(std::fabs(p.v - surface(p.f))));
    const double tol = std::max(0.03, 3.0 * 1.4826 * median(res));
    for (Sample& p : s) p.use = std::fabs(p.v - surface(p.f)) <= tol;
  }
  for (std::int64_t y = 0; y < g.h; ++y) {
    const double v = (y + 0.5) / static_cast<double>(g.h) - 0.5;
    for (std::int64_t x = 0; x < g.w; ++x) {
      const double u = (x + 0.5) / static_cast<double>(g.w) - 0.5;
      const double f[6] = {1.0, u, v, u * u, u * v, v * v};
      const double bg = surface(f);
      float& px = g.at(y, x);
      // paper + (px - bg) * paper / bg is px * paper / bg; on black paper
      // (nothing to divide by) the surface is subtracted.
      const double gain = bg > 0.05 && paper > 0.05 ? paper / bg : 1.0;
      px = static_cast<float>(std::clamp(paper + (px - bg) * gain, 0.0, 1.0));
    }
  }
}

// Ink in [0, 1], 0 the background, whichever the polarity.
Plane ink_map(const Plane& gray) {
  const float bg = median(border(gray));
  Plane ink = gray;
  for (float& x : ink.v) {
    const float d = bg >= 0.5f ? (bg - x) / std::max(bg, 1e-6f) : (x - bg) / std::max(1.0f - bg, 1e-6f);
    x = std::clamp(d, 0.0f, 1.0f);
  }
  return ink;
}

// Below a threshold set by the border's spread (paper grain, JPEG ringing) is
// background; above it the ink is rescaled, so anti-aliased edges keep their grey.
void suppress_noise(Plane& ink) {
  std::vector<float> b = border(ink);
  const float med = median(b);
  for (float& x : b) x = std::fabs(x - med);
  const float mad = median(b);
  const float t = std::clamp(med + 0.1f + 4.0f * 1.4826f * mad, 0.1f, 0.6f);
  for (float& x : ink.v) x = x <= t ? 0.0f : (x - t) / (1.0f - t);
}

// Drops 8-connected specks whose ink is under 2% of the largest part's (dust,
// stray clicks); the strokes of a digit drawn in two parts are far above that.
void drop_specks(Plane& ink) {
  const std::int64_t n = ink.h * ink.w;
  std::vector<std::int32_t> label(static_cast<std::size_t>(n), -1);
  std::vector<double> mass;
  std::vector<std::int64_t> stack;
  for (std::int64_t s = 0; s < n; ++s) {
    if (ink.v[static_cast<std::size_t>(s)] <= 0.0f || label[static_cast<std::size_t>(s)] >= 0) continue;
    const auto id = static_cast<std::int32_t>(mass.size());
    double m = 0.0;
    stack.push_back(s);
    label[static_cast<std::size_t>(s)] = id;
    while (!stack.empty()) {
      const std::int64_t i = stack.back();
      stack.pop_back();
      m += ink.v[static_cast<std::size_t>(i)];
      const std::int64_t y = i / ink.w, x = i % ink.w;
      for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
          const std::int64_t yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= ink.h || xx < 0 || xx >= ink.w) continue;
          const std::int64_t j = yy * ink.w + xx;
          if (ink.v[static_cast<std::size_t>(j)] > 0.0f && label[static_cast<std::size_t>(j)] < 0) {
            label[static_cast<std::size_t>(j)] = id;
            stack.push_back(j);
          }
        }
    }
    mass.push_back(m);
  }
  if (mass.empty()) return;
  const double keep = 0.02 * *std::max_element(mass.begin(), mass.end());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t l = label[static_cast<std::size_t>(i)];
    if (l >= 0 && mass[static_cast<std::size_t>(l)] < keep) ink.v[static_cast<std::size_t>(i)] = 0.0f;
  }
}

// A faint pencil counts as ink: the 95th percentile of the ink becomes full strength.
void stretch_contrast(Plane& ink) {
  std::vector<float> on;
  for (float x : ink.v)
    if (x > 0.0f) on.push_back(x);
  if (on.empty()) return;
  auto k = on.begin() + static_cast<std::ptrdiff_t>(on.size() * 95 / 100);
  std::nth_element(on.begin(), k, on.end());
  const float p95 = std::max(*k, 0.05f);
  for (float& x : ink.v) x = std::min(1.0f, x / p95);
}

struct Box {
  std::int64_t y0, y1, x0, x1;  // [y0, y1) x [x0, x1)
};

bool bounding_box(const Plane& ink, Box* b) {
  *b = {ink.h, -1, ink.w, -1};
  for (std::int64_t y = 0; y < ink.h; ++y)
    for (std::int64_t x = 0; x < ink.w; ++x)
      if (ink.at(y, x) > 0.0f) {
        b->y0 = std::min(b->y0, y), b->y1 = std::max(b->y1, y + 1);
        b->x0 = std::min(b->x0, x), b->x1 = std::max(b->x1, x + 1);
      }
  return b->y1 > 0;
}

Plane crop(const Plane& p, const Box& b, std::int64_t margin) {
  Plane out;
  out.h = b.y1 - b.y0 + 2 * margin;
  out.w = b.x1 - b.x0 + 2 * margin;
  out.v.assign(static_cast<std::size_t>(out.h * out.w), 0.0f);
  for (std::int64_t y = b.y0; y < b.y1; ++y)
    for (std::int64_t x = b.x0; x < b.x1; ++x) out.at(y - b.y0 + margin, x - b.x0 + margin) = p.at(y, x);
  return out;
}

// `p` with `margin` zeros on every side.
Plane pad(const Plane& p, std::int64_t margin) {
  return crop(p, Box{0, p.h, 0, p.w}, margin);
}

// Each f x f block's maximum (the last blocks may be partial): a large patch
// made small enough that the work after it is bounded by the output's size,
// whatever the image's shape, without a thin stroke fading as averaging would.
Plane max_pool(const Plane& p, std::int64_t f) {
  Plane out;
  out.h = (p.h + f - 1) / f;
  out.w = (p.w + f - 1) / f;
  out.v.assign(static_cast<std::size_t>(out.h * out.w), 0.0f);
  for (std::int64_t y = 0; y < p.h; ++y)
    for (std::int64_t x = 0; x < p.w; ++x) {
      float& o = out.at(y / f, x / f);
      o = std::max(o, p.at(y, x));
    }
  return out;
}

// Mean stroke width of the binarised ink: 2 * area / perimeter (a stroke of
// width w and length L has area wL and a perimeter of about 2L).
double stroke_width(const Plane& ink) {
  double area = 0.0, edges = 0.0;
  for (std::int64_t y = 0; y < ink.h; ++y)
    for (std::int64_t x = 0; x < ink.w; ++x) {
      const bool on = ink.at(y, x) > 0.5f;
      area += on;
      if (x + 1 < ink.w) edges += on != (ink.at(y, x + 1) > 0.5f);
      if (y + 1 < ink.h) edges += on != (ink.at(y + 1, x) > 0.5f);
      if (on && (x == 0 || x == ink.w - 1)) edges += 1;
      if (on && (y == 0 || y == ink.h - 1)) edges += 1;
    }
  return edges > 0 ? 2.0 * area / edges : 0.0;
}

// max over [i - r, i + r] of a[i * stride] for i in [0, n), in O(n) whatever r
// (van Herk / Gil-Werman: running maxima forward and backward within blocks of 2r + 1).
void max_filter_1d(float* a, std::int64_t n, std::int64_t stride, std::int64_t r, std::vector<float>& f,
                   std::vector<float>& g) {
  const std::int64_t k = 2 * r + 1, m = n + 2 * r;  // padded with r zeros each side (ink >= 0)
  f.assign(static_cast<std::size_t>(m), 0.0f);
  g.assign(static_cast<std::size_t>(m), 0.0f);
  auto in = [&](std::int64_t i) { return i >= r && i < n + r ? a[(i - r) * stride] : 0.0f; };
  for (std::int64_t i = 0; i < m; ++i) f[static_cast<std::size_t>(i)] = i % k == 0 ? in(i) : std::max(f[static_cast<std::size_t>(i - 1)], in(i));
  for (std::int64_t i = m - 1; i >= 0; --i)
    g[static_cast<std::size_t>(i)] = (i + 1) % k == 0 || i == m - 1 ? in(i) : std::max(g[static_cast<std::size_t>(i + 1)], in(i));
  // Output i covers padded [i, i + 2r].
  for (std::int64_t i = 0; i < n; ++i) a[i * stride] = std::max(g[static_cast<std::size_t>(i)], f[static_cast<std::size_t>(i + 2 * r)]);
}

// Grey-level dilation by a (2r+1)-square, as two 1-D max filters.
void dilate(Plane& p, std::int64_t r) {
  std::vector<float> f, g;
  for (std::int64_t y = 0; y < p.h; ++y) max_filter_1d(&p.at(y, 0), p.w, 1, r, f, g);
  for (std::int64_t x = 0; x < p.w; ++x) max_filter_1d(&p.at(0, x), p.h, p.w, r, f, g);
}

// For each of `out` cells spanning `in` source cells: the (source index, weight)
// pairs of exact area averaging (weights of a cell sum to 1).
std::vector<std::vector<std::pair<std::int64_t, float>>> area_weights(std::int64_t in, std::int64_t out) {
  std::vector<std::vector<std::pair<std::int64_t, float>>> w(static_cast<std::size_t>(out));
  const double f = static_cast<double>(in) / static_cast<double>(out);
  for (std::int64_t i = 0; i < out; ++i) {
    const double a = i * f, b = (i + 1) * f;
    for (auto j = static_cast<std::int64_t>(std::floor(a)); j < std::min<std::int64_t>(in, static_cast<std::int64_t>(std::ceil(b))); ++j) {
      const double overlap = std::min(b, j + 1.0) - std::max(a, static_cast<double>(j));
      if (overlap > 0) w[static_cast<std::size_t>(i)].push_back({j, static_cast<float>(overlap / f)});
    }
  }
  return w;
}

Plane resize_area(const Plane& p, std::int64_t oh, std::int64_t ow) {
  const auto wx = area_weights(p.w, ow), wy = area_weights(p.h, oh);
  Plane rows;  // p.h x ow
  rows.h = p.h, rows.w = ow;
  rows.v.assign(static_cast<std::size_t>(p.h * ow), 0.0f);
  for (std::int64_t y = 0; y < p.h; ++y)
    for (std::int64_t x = 0; x < ow; ++x) {
      float s = 0.0f;
      for (auto [j, wt] : wx[static_cast<std::size_t>(x)]) s += wt * p.at(y, j);
      rows.at(y, x) = s;
    }
  Plane out;
  out.h = oh, out.w = ow;
  out.v.assign(static_cast<std::size_t>(oh * ow), 0.0f);
  for (std::int64_t y = 0; y < oh; ++y)
    for (std::int64_t x = 0; x < ow; ++x) {
      float s = 0.0f;
      for (auto [j, wt] : wy[static_cast<std::size_t>(y)]) s += wt * rows.at(j, x);
      out.at(y, x) = std::clamp(s, 0.0f, 1.0f);
    }
  return out;
}

Tensor finish(const Plane& p, const MnistStyleOptions& o) {
  std::vector<float> v = p.v;
  if (o.normalize())
    for (float& x : v) x = static_cast<float>((x - o.mean()) / o.std());
  return from_vector(v, Shape{1, p.h, p.w});
}

void check_options(const MnistStyleOptions& o, const char* op) {
  EMBER_CHECK(o.size() >= 1 && o.box() >= 1 && o.box() <= o.size(), "{}: need 1 <= box <= size, got box {} size {}", op,
              o.box(), o.size());
  EMBER_CHECK(!o.normalize() || o.std() > 0.0, "{}: std must be positive, got {}", op, o.std());
}

}  // namespace

Tensor mnist_style(const Tensor& image, const MnistStyleOptions& o) {
  check_options(o, "mnist_style");
  Plane ink = to_gray(image, "mnist_style", o.name());
  flatten_background(ink);
  ink = ink_map(ink);
  suppress_noise(ink);
  drop_specks(ink);
  stretch_contrast(ink);
  Box b{};
  EMBER_CHECK(bounding_box(ink, &b), "mnist_style: no ink found in {}", o.name());
  Plane patch = crop(ink, b, 0);
  ink = Plane{};
  std::int64_t longer = std::max(patch.h, patch.w);
  // The widening below pads by a radius that grows with the longer side, and
  // the area resize's cost too: above 32 box sides (640 px by default) the
  // patch is first max-pooled down to that.
  const std::int64_t limit = std::max<std::int64_t>(640, 32 * o.box());
  if (longer > limit) {
    patch = max_pool(patch, (longer + limit - 1) / limit);
    longer = std::max(patch.h, patch.w);
  }
  if (o.min_stroke() > 0.0) {
    // Widen a thin stroke where it is: in the source, before scaling, by the
    // radius that brings its scaled width to min_stroke.
    const double scale = static_cast<double>(o.box()) / static_cast<double>(longer);
    const double width = stroke_width(patch);
    if (width > 0.0 && width * scale < o.min_stroke()) {
      const auto r = static_cast<std::int64_t>(std::ceil((o.min_stroke() / scale - width) / 2.0));
      if (r > 0) {
        patch = pad(patch, r);
        dilate(patch, r);
        Box pb{};
        bounding_box(patch, &pb);
        patch = crop(patch, pb, 0);
        longer = std::max(patch.h, patch.w);
      }
    }
  }
  const auto fit = [&](std::int64_t n) {
    return std::max<std::int64_t>(1, std::llround(static_cast<double>(n) * static_cast<double>(o.box()) / static_cast<double>(longer)));
  };
  const Plane small = resize_area(patch, fit(patch.h), fit(patch.w));
  // Centre of mass (pixel centres at index + 0.5) to the centre of the field.
  double m = 0.0, my = 0.0, mx = 0.0;
  for (std::int64_t y = 0; y < small.h; ++y)
    for (std::int64_t x = 0; x < small.w; ++x) {
      const double v = small.at(y, x);
      m += v, my += v * (y + 0.5), mx += v * (x + 0.5);
    }
  EMBER_CHECK(m > 0.0, "mnist_style: no ink found in {}", o.name());
  const double c = static_cast<double>(o.size()) / 2.0;
  const std::int64_t oy = std::clamp<std::int64_t>(std::llround(c - my / m), 0, o.size() - small.h);
  const std::int64_t ox = std::clamp<std::int64_t>(std::llround(c - mx / m), 0, o.size() - small.w);
  Plane out;
  out.h = out.w = o.size();
  out.v.assign(static_cast<std::size_t>(o.size() * o.size()), 0.0f);
  for (std::int64_t y = 0; y < small.h; ++y)
    for (std::int64_t x = 0; x < small.w; ++x) out.at(y + oy, x + ox) = small.at(y, x);
  return finish(out, o);
}

Tensor naive_resize(const Tensor& image, const MnistStyleOptions& o) {
  check_options(o, "naive_resize");
  Plane gray = to_gray(image, "naive_resize", o.name());
  const bool light = median(border(gray)) >= 0.5f;
  if (light)
    for (float& x : gray.v) x = 1.0f - x;
  return finish(resize_area(gray, o.size(), o.size()), o);
}

}  // namespace ember::data
