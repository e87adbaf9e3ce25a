// data::mnist_style on hand-made images whose answers are known: a centred
// disc stays centred, an off-centre stroke moves to the centre of mass, the
// inverted image gives the same 28x28, a 1-pixel line survives, noise and
// specks go, alpha is flattened onto white, a blank canvas is refused.
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include <ember/ember.h>

namespace {
using namespace ember;

// A w x h gray canvas (uint8 [1, h, w]) of `paper`, with ink where f(x, y).
Tensor canvas(std::int64_t w, std::int64_t h, const std::function<bool(double, double)>& f, int paper = 255,
              int ink = 0) {
  Tensor t = empty({1, h, w}, DType::UInt8);
  auto* p = t.data_ptr<std::uint8_t>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) p[y * w + x] = static_cast<std::uint8_t>(f(x + 0.5, y + 0.5) ? ink : paper);
  return t;
}

data::MnistStyleOptions raw() { return data::MnistStyleOptions().normalize(false); }

struct Moments {
  double mass = 0, cy = 0, cx = 0;
  std::int64_t y0 = 99, y1 = -1, x0 = 99, x1 = -1;  // bounding box of values > 0.01
};
Moments moments(const Tensor& t) {
  EXPECT_EQ(t.sizes(), (Shape{1, 28, 28}));
  const auto v = t.to_vector<float>();
  Moments m;
  for (std::int64_t y = 0; y < 28; ++y)
    for (std::int64_t x = 0; x < 28; ++x) {
      const double p = v[static_cast<std::size_t>(y * 28 + x)];
      m.mass += p, m.cy += p * (y + 0.5), m.cx += p * (x + 0.5);
      if (p > 0.01) m.y0 = std::min(m.y0, y), m.y1 = std::max(m.y1, y), m.x0 = std::min(m.x0, x), m.x1 = std::max(m.x1, x);
    }
  m.cy /= m.mass, m.cx /= m.mass;
  return m;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto u = a.to_vector<float>(), v = b.to_vector<float>();
  double d = 0;
  for (std::size_t i = 0; i < u.size(); ++i) d = std::max(d, std::fabs(double(u[i]) - v[i]));
  return d;
}

// Growth of this process's peak resident memory while f runs, in MB (the peak is
// reset first through /proc/self/clear_refs).
double peak_rss_growth_mb(const std::function<void()>& f) {
  auto status = [](const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key))) / 1024.0;
    return -1.0;
  };
  std::ofstream("/proc/self/clear_refs") << "5";
  const double before = status("VmRSS:");
  f();
  return status("VmHWM:") - before;
}

// A ring digit on a w x h canvas, as a photo of paper would show it: `paper`
// lit by `light(u, v)` (u, v in [0, 1]), ink `ink`.
Tensor lit_ring(std::int64_t w, std::int64_t h, double paper, double ink,
                const std::function<double(double, double)>& light) {
  Tensor t = empty({1, h, w}, DType::UInt8);
  auto* p = t.data_ptr<std::uint8_t>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const double dx = (x + 0.5 - 0.45 * w) / (0.12 * w), dy = (y + 0.5 - 0.5 * h) / (0.3 * h);
      const double r = std::sqrt(dx * dx + dy * dy);
      const double v = (r > 0.8 && r < 1.0 ? ink : paper) * light((x + 0.5) / w, (y + 0.5) / h);
      p[y * w + x] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255));
    }
  return t;
}

TEST(MnistStyle, UnevenLightIsNotInk) {
  const auto flat = [](double, double) { return 1.0; };
  const auto gradient = [](double, double v) { return 1.0 - 0.45 * v; };  // darker towards the bottom
  const auto vignette = [](double u, double v) {
    return 1.0 - 0.35 * ((u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5)) * 2;
  };
  const auto both = [&](double u, double v) { return gradient(u, v) * vignette(u, v); };
  const Tensor want = data::mnist_style(lit_ring(400, 300, 0.9, 0.2, flat), raw());
  for (const auto& [name, light] : std::vector<std::pair<const char*, std::function<double(double, double)>>>{
           {"gradient", gradient}, {"vignette", vignette}, {"both", both}}) {
    const Tensor got = data::mnist_style(lit_ring(400, 300, 0.9, 0.2, light), raw());
    EXPECT_LT(max_abs_diff(got, want), 0.2) << name;
    const Moments m = moments(got), w = moments(want);
    EXPECT_NEAR(m.mass, w.mass, 0.1 * w.mass) << name;  // no grey band added to the ink
    EXPECT_EQ(m.y1 - m.y0, w.y1 - w.y0) << name;
  }
  // Light ink on a dark board, lit unevenly.
  const Tensor dark = data::mnist_style(lit_ring(400, 300, 0.25, 0.95, both), raw());
  EXPECT_LT(max_abs_diff(dark, want), 0.25);
}

TEST(MnistStyle, VeryWideAndVeryTallImagesCostLittle) {
  // Two ink pixels at the ends of a 65536x64 strip: the widening radius follows
  // the longer side, and once padded the whole strip with it (3.8 GB).
  for (const auto& [w, h] : std::vector<std::pair<std::int64_t, std::int64_t>>{{65536, 64}, {64, 65536}, {131072, 32}}) {
    Tensor t = full({1, h, w}, 255.0, DType::UInt8);
    auto* p = t.data_ptr<std::uint8_t>();
    p[(h / 2) * w + 1] = 0;
    p[(h / 2 + (h > w ? h / 2 - 1 : 0)) * w + (w > h ? w - 2 : 1)] = 0;
    Tensor seen;
    const double mb = peak_rss_growth_mb([&] { seen = data::mnist_style(t, raw()); });
    EXPECT_EQ(seen.sizes(), (Shape{1, 28, 28}));
    EXPECT_GT(moments(seen).mass, 0.5) << w << "x" << h;
    // The image's own planes (gray, ink, labels: 4 bytes a pixel each) are ~50 MB.
    EXPECT_LT(mb, 150.0) << w << "x" << h << ": peak memory grew by " << mb << " MB";
  }
}

TEST(MnistStyle, LargeRgbaIsReadInPlace) {
  // 2048x2048 RGBA (16 MB): once copied whole as doubles (128 MB).
  Tensor t = full({4, 2048, 2048}, 255.0, DType::UInt8);
  auto* p = t.data_ptr<std::uint8_t>();
  for (std::int64_t y = 600; y < 1400; ++y)
    for (std::int64_t x = 900; x < 1100; ++x) p[y * 2048 + x] = p[2048 * 2048 + y * 2048 + x] = 0;
  Tensor seen;
  const double mb = peak_rss_growth_mb([&] { seen = data::mnist_style(t, raw()); });
  EXPECT_GT(moments(seen).mass, 10.0);
  EXPECT_LT(mb, 90.0) << "peak memory grew by " << mb << " MB";
}

TEST(MnistStyle, CentredDiscStaysCentredAndFillsTheBox) {
  Tensor disc = canvas(120, 120, [](double x, double y) { return std::hypot(x - 60, y - 60) < 30; });
  Tensor out = data::mnist_style(disc, raw());
  const Moments m = moments(out);
  EXPECT_NEAR(m.cy, 14.0, 0.05);
  EXPECT_NEAR(m.cx, 14.0, 0.05);
  EXPECT_EQ(m.y1 - m.y0 + 1, 20);  // the longer side fitted to 20 px
  EXPECT_EQ(m.x1 - m.x0 + 1, 20);
  // Symmetric, and anti-aliased at the rim (grey levels between 0 and 1).
  const auto v = out.to_vector<float>();
  int grey = 0;
  for (std::int64_t y = 0; y < 28; ++y)
    for (std::int64_t x = 0; x < 28; ++x) {
      EXPECT_NEAR(v[static_cast<std::size_t>(y * 28 + x)], v[static_cast<std::size_t>((27 - y) * 28 + (27 - x))], 1e-5);
      const float p = v[static_cast<std::size_t>(y * 28 + x)];
      grey += p > 0.05f && p < 0.95f;
    }
  EXPECT_GT(grey, 8);
}

TEST(MnistStyle, OffCentreStrokeMovesToTheCentreOfMass) {
  // An "L" in the top-left corner of a wide canvas: its centre of mass is not its
  // box's centre, and it must land at (14, 14), not the box.
  Tensor img = canvas(640, 480, [](double x, double y) {
    return (x > 30 && x < 45 && y > 20 && y < 140) || (x > 30 && x < 110 && y > 125 && y < 140);
  });
  const Moments m = moments(data::mnist_style(img, raw()));
  EXPECT_NEAR(m.cy, 14.0, 0.5);
  EXPECT_NEAR(m.cx, 14.0, 0.5);
  EXPECT_EQ(m.y1 - m.y0 + 1, 20);  // taller than wide: height fitted to 20
  EXPECT_LT(m.x1 - m.x0 + 1, 20);
  EXPECT_GT(m.x0 + m.x1, 27 - 6);  // the box is off-centre (to the right of the mass), as MNIST's are
}

TEST(MnistStyle, InvertedImageGivesTheSame28x28) {
  auto seven = [](double x, double y) {
    return (y > 40 && y < 52 && x > 50 && x < 150) || (std::fabs((x - 150) + (y - 46) * 0.45) < 7 && y > 40 && y < 220);
  };
  Tensor dark_on_light = canvas(200, 260, seven, 255, 0), light_on_dark = canvas(200, 260, seven, 0, 255);
  EXPECT_LT(max_abs_diff(data::mnist_style(dark_on_light, raw()), data::mnist_style(light_on_dark, raw())), 1e-6);
  // Grey paper and grey ink too: the polarity and the contrast come from the image.
  EXPECT_LT(max_abs_diff(data::mnist_style(canvas(200, 260, seven, 200, 60), raw()),
                         data::mnist_style(canvas(200, 260, seven, 60, 200), raw())),
            1e-5);
}

TEST(MnistStyle, OnePixelLineSurvives) {
  Tensor line = canvas(300, 300, [](double x, double y) { return y > 150 && y < 151 && x > 40 && x < 260; });
  Tensor out = data::mnist_style(line, raw());
  const Moments m = moments(out);
  EXPECT_GT(out.max().item<float>(), 0.9f);  // widened, not averaged away
  EXPECT_EQ(m.x1 - m.x0 + 1, 20);
  EXPECT_NEAR(m.cy, 14.0, 0.6);
  // Without the widening it is still there, faint but present.
  Tensor thin = data::mnist_style(line, raw().min_stroke(0));
  EXPECT_GT(thin.max().item<float>(), 0.05f);
  // A single 1-px vertical line on a small canvas.
  Tensor one = canvas(28, 28, [](double x, double y) { return x > 10 && x < 11 && y > 4 && y < 24; });
  EXPECT_GT(data::mnist_style(one, raw()).max().item<float>(), 0.9f);
}

TEST(MnistStyle, NoiseAndSpecksAreRemovedAntiAliasingKept) {
  auto digit = [](double x, double y) { return std::fabs(std::hypot(x - 100, y - 100) - 40) < 6; };  // a "0"
  Tensor clean = canvas(200, 200, digit);
  Tensor noisy = clean.clone();
  auto* p = noisy.data_ptr<std::uint8_t>();
  Generator gen(7);
  for (std::int64_t i = 0; i < 200 * 200; ++i) {
    const int grain = static_cast<int>(gen.next_u64() % 25);  // paper grain 0..24 darker
    p[i] = static_cast<std::uint8_t>(std::max(0, p[i] - grain));
  }
  p[5 * 200 + 190] = 0, p[195 * 200 + 3] = 0, p[10 * 200 + 10] = 0;  // dust in the corners
  const Tensor a = data::mnist_style(clean, raw()), b = data::mnist_style(noisy, raw());
  EXPECT_LT(max_abs_diff(a, b), 0.15);
  const Moments m = moments(b);
  EXPECT_EQ(m.x1 - m.x0 + 1, 20);  // the dust did not stretch the box
  EXPECT_NEAR(m.cx, 14.0, 0.5);
}

TEST(MnistStyle, AlphaIsFlattenedOntoWhite) {
  // Black ink on a fully transparent (black, alpha 0) background: on white, it is
  // the same drawing as black on white.
  Tensor gray = canvas(64, 64, [](double x, double y) { return x > 20 && x < 30 && y > 10 && y < 54; });
  Tensor rgba = zeros({4, 64, 64}, DType::UInt8);
  const auto g = gray.to_vector<std::uint8_t>();
  auto* q = rgba.data_ptr<std::uint8_t>();
  for (std::size_t i = 0; i < g.size(); ++i) q[3 * g.size() + i] = g[i] == 0 ? 255 : 0;
  EXPECT_LT(max_abs_diff(data::mnist_style(gray, raw()), data::mnist_style(rgba, raw())), 1e-6);
}

TEST(MnistStyle, NormalisesAsTheExamplesTrain) {
  Tensor disc = canvas(50, 50, [](double x, double y) { return std::hypot(x - 25, y - 25) < 15; });
  const auto seen = data::mnist_style(disc, raw()).to_vector<float>();
  const auto net = data::mnist_style(disc).to_vector<float>();
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_NEAR(net[i], (seen[i] - 0.1307) / 0.3081, 1e-5);
  // Float input in [0, 1] is the same image as bytes.
  Tensor f = empty({1, 50, 50}, DType::Float32);
  const auto b = disc.to_vector<std::uint8_t>();
  for (std::size_t i = 0; i < b.size(); ++i) f.data_ptr<float>()[i] = b[i] / 255.0f;
  EXPECT_LT(max_abs_diff(data::mnist_style(f, raw()), data::mnist_style(disc, raw())), 1e-6);
}

TEST(MnistStyle, BlankCanvasIsRefusedByName) {
  Tensor blank = canvas(100, 80, [](double, double) { return false; });
  try {
    data::mnist_style(blank, data::MnistStyleOptions().name("blank.png"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no ink found in blank.png"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::mnist_style(zeros({5, 4, 4})), Error);
}

TEST(MnistStyle, NaiveResizeSquashesTheWholeCanvas) {
  Tensor img = canvas(280, 280, [](double x, double y) { return x < 140 && y < 140; });  // dark top-left quarter
  const auto v = data::naive_resize(img, raw()).to_vector<float>();
  EXPECT_NEAR(v[0], 1.0, 1e-6);           // inverted: ink is 1
  EXPECT_NEAR(v[27 * 28 + 27], 0.0, 1e-6);
}

}  // namespace
