// data/transforms.h: each transform against a hand-computed case, the
// statistics of the random parameters, bad parameters, reproducibility from
// (seed, epoch, index), and the multi-worker DataLoader (same batches for 1
// and 3 workers, in order, errors in order).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>
#include <thread>

#include <ember/ember.h>

#include "test_util.h"

namespace {

using namespace ember;
using namespace ember::data;
namespace T = ember::data::transforms;
using ember::test_util::message_of;

// A [1, h, w] float image with pixel (y, x) = 10 y + x + 1.
Tensor ramp(std::int64_t h, std::int64_t w) {
  std::vector<float> v;
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) v.push_back(static_cast<float>(10 * y + x + 1));
  return from_vector(v, Shape{1, h, w});
}

float px(const Tensor& img, std::int64_t y, std::int64_t x) { return img.at<float>({0, y, x}); }

Example apply(const T::Transform& t, Tensor data, std::int64_t index = 0, std::uint64_t seed = 7) {
  Example e{std::move(data), scalar_tensor(3, DType::Int64)};
  SampleRng rng(seed, 0, index);
  t.apply(e, rng);
  return e;
}

void expect_near_all(const Tensor& a, const Tensor& b, float tol) {
  ASSERT_EQ(a.sizes(), b.sizes());
  const auto va = a.to(DType::Float32).to_vector<float>(), vb = b.to(DType::Float32).to_vector<float>();
  for (std::size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], tol) << "element " << i;
}

// ---- hand-computed cases ----

TEST(Transforms, RandomAffineRotates90DegreesClockwise) {
  // degrees {90, 90}: always 90; on a 3x3 grid the centre is (1, 1), so output
  // (y, x) reads input (2 - x, y): the top row becomes the right column.
  const Tensor img = ramp(3, 3);  // 1 2 3 / 11 12 13 / 21 22 23
  const Example out = apply(T::RandomAffine(T::RandomAffineOptions(std::vector<double>{90, 90})), img);
  const Tensor expected = from_vector(std::vector<float>{21, 11, 1, 22, 12, 2, 23, 13, 3}, Shape{1, 3, 3});
  expect_near_all(out.data, expected, 1e-4f);
  EXPECT_EQ(out.target.item<std::int64_t>(), 3);  // the target passes through
  // -90 turns the other way; 4 x 90 is the identity (4x4: the centre between pixels).
  const Example back = apply(T::RandomAffine(T::RandomAffineOptions(std::vector<double>{-90, -90})), out.data);
  expect_near_all(back.data, img, 1e-4f);
  Tensor x = ramp(4, 4);
  const T::RandomAffine r90(T::RandomAffineOptions(std::vector<double>{90, 90}));
  Tensor y = x;
  for (int i = 0; i < 4; ++i) y = apply(r90, y).data;
  expect_near_all(y, x, 1e-4f);
  EXPECT_NEAR(px(apply(r90, x).data, 0, 0), px(x, 3, 0), 1e-4f);  // 4x4: (0, 0) reads (3, 0)
}

TEST(Transforms, RandomAffinePureTranslationShiftsByWholePixels) {
  // translate (0.25, 0.25) on 8x8: shifts are whole pixels in [-2, 2], zeros shifted in.
  const T::RandomAffine t(T::RandomAffineOptions(0).translate({0.25, 0.25}));
  const Tensor img = ramp(8, 8);
  std::set<std::pair<int, int>> seen;
  for (std::int64_t i = 0; i < 200; ++i) {
    SampleRng rng(5, 0, i);
    const T::AffineParams p = t.get_params(8, 8, rng);
    ASSERT_EQ(p.translate_x, std::round(p.translate_x));
    ASSERT_LE(std::abs(p.translate_x), 2.0);
    ASSERT_LE(std::abs(p.translate_y), 2.0);
    seen.insert({static_cast<int>(p.translate_x), static_cast<int>(p.translate_y)});
    const Tensor out = apply(t, img, i, 5).data;
    const auto dx = static_cast<std::int64_t>(p.translate_x), dy = static_cast<std::int64_t>(p.translate_y);
    for (std::int64_t y = 0; y < 8; ++y)
      for (std::int64_t x = 0; x < 8; ++x) {
        const std::int64_t sy = y - dy, sx = x - dx;
        const float want = sy >= 0 && sy < 8 && sx >= 0 && sx < 8 ? px(img, sy, sx) : 0.0f;
        ASSERT_NEAR(px(out, y, x), want, 1e-4f) << "shift " << dx << "," << dy << " at " << y << "," << x;
      }
  }
  EXPECT_EQ(seen.size(), 25u);  // every shift in [-2, 2]^2 occurs
}

TEST(Transforms, RandomAffineScaleAndShearMatchTorchvisionMatrix) {
  // torchvision's inverse matrix for angle 30, translate (1, -2), scale 1.5, shear (10, 5), on a
  // 1x1 grid (centre (0, 0)), inverts the forward map T * R * S * Sh built from the same terms.
  T::AffineParams p;
  p.angle = 30, p.translate_x = 1, p.translate_y = -2, p.scale = 1.5, p.shear_x = 10, p.shear_y = 5;
  double m[6];
  T::RandomAffine::inverse_matrix(p, 1, 1, m);
  // Hand check: the forward map A (rotation, scale, shear about the centre, then translation) inverts m.
  const double rot = p.angle * M_PI / 180, sx = p.shear_x * M_PI / 180, sy = p.shear_y * M_PI / 180;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  for (double u : {-3.0, 0.5, 2.0})
    for (double v : {-1.0, 4.0}) {
      const double fx = p.scale * (a * u + b * v) + p.translate_x, fy = p.scale * (c * u + d * v) + p.translate_y;
      EXPECT_NEAR(m[0] * fx + m[1] * fy + m[2], u, 1e-12);
      EXPECT_NEAR(m[3] * fx + m[4] * fy + m[5], v, 1e-12);
    }
  EXPECT_NEAR(a * d - b * c, 1.0, 1e-12);  // rotation and shear keep area; scale alone changes it
}

TEST(Transforms, ElasticWithZeroAlphaLeavesTheImageUnchanged) {
  const Tensor img = ramp(9, 7);
  for (double sigma : {0.0, 1.0, 5.0}) {
    const Example out = apply(T::ElasticTransform(0.0, sigma), img);
    EXPECT_EQ(out.data.to_vector<float>(), img.to_vector<float>()) << "sigma " << sigma;
  }
  // Bytes in, float32 out, same values.
  const Example bytes = apply(T::ElasticTransform(0.0, 3.0), img.to(DType::UInt8));
  EXPECT_EQ(bytes.data.dtype(), DType::Float32);
  EXPECT_EQ(bytes.data.to_vector<float>(), img.to_vector<float>());
}

TEST(Transforms, ElasticFieldIsSmoothAndScaledLikeTorchvision) {
  // Displacements: uniform [-1, 1] blurred by sigma, times alpha / 2 pixels (square image).
  const T::ElasticTransform t(10.0, 3.0);
  T::WarpStage s;
  double sum = 0, sum2 = 0, diff2 = 0;
  std::int64_t n = 0, nd = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    SampleRng rng(1, 0, i);
    t.draw(s, 28, 28, rng);
    ASSERT_EQ(s.dx.size(), 784u);
    for (std::size_t k = 0; k < s.dx.size(); ++k) {
      sum += s.dx[k], sum2 += s.dx[k] * s.dx[k], ++n;
      if (k % 28 != 27) diff2 += std::pow(s.dx[k + 1] - s.dx[k], 2), ++nd;
    }
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  // A Gaussian blur of white noise with variance 1/3: std about sqrt(1/3) / (2 sqrt(pi) sigma) = 0.054,
  // times alpha / 2 = 5 pixels: about 0.27 (the reflected borders raise it a little).
  EXPECT_NEAR(mean, 0.0, 0.03);
  EXPECT_GT(sd, 0.2);
  EXPECT_LT(sd, 0.45);
  // Smooth: neighbours differ far less than the values themselves.
  EXPECT_LT(std::sqrt(diff2 / nd), 0.25 * sd);
}

TEST(Transforms, FusedAffineAndElasticMatchTheTwoPassesInTheInterior) {
  // Compose samples once through both maps; applying them one after the other
  // (same draws) interpolates twice. On a smooth image both agree closely.
  std::vector<float> v;
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) v.push_back(std::sin(0.2f * static_cast<float>(x)) * std::cos(0.15f * static_cast<float>(y)));
  const Tensor img = from_vector(v, Shape{1, 28, 28});
  const T::RandomAffine affine(T::RandomAffineOptions(15).scale({0.9, 1.1}).shear({10}));
  const T::ElasticTransform elastic(20.0, 4.0);
  const T::Compose both({affine, elastic});
  for (std::int64_t i = 0; i < 5; ++i) {
    const Tensor fused = apply(both, img, i).data;
    Example e{img, Tensor()};
    SampleRng rng(7, 0, i);
    affine.apply(e, rng);
    elastic.apply(e, rng);
    for (std::int64_t y = 6; y < 22; ++y)
      for (std::int64_t x = 6; x < 22; ++x) EXPECT_NEAR(px(fused, y, x), px(e.data, y, x), 0.03f);
  }
}

TEST(Transforms, RandomCropPadsAndCutsAWindow) {
  const Tensor img = ramp(3, 3);
  // Crop 5 of a 3x3 padded by 1: the only window, the image framed by zeros.
  const Tensor framed = apply(T::RandomCrop(T::RandomCropOptions(5).padding({1})), img).data;
  ASSERT_EQ(framed.sizes(), (Shape{1, 5, 5}));
  for (std::int64_t y = 0; y < 5; ++y)
    for (std::int64_t x = 0; x < 5; ++x) {
      const bool inside = y >= 1 && y <= 3 && x >= 1 && x <= 3;
      EXPECT_EQ(px(framed, y, x), inside ? px(img, y - 1, x - 1) : 0.0f);
    }
  // Crop 3 of the same: one of 9 windows, each equally likely.
  const T::RandomCrop crop(T::RandomCropOptions(3).padding({1}).fill(-1));
  std::map<std::pair<int, int>, int> counts;
  for (std::int64_t i = 0; i < 1800; ++i) {
    const Tensor out = apply(crop, img, i).data;
    ASSERT_EQ(out.sizes(), (Shape{1, 3, 3}));
    // The window's offset: where the image's pixel (0, 0) (value 1) landed, or inferred from the fill.
    int found = 0;
    for (int top = 0; top < 3; ++top)
      for (int left = 0; left < 3; ++left) {
        bool match = true;
        for (std::int64_t y = 0; y < 3 && match; ++y)
          for (std::int64_t x = 0; x < 3 && match; ++x) {
            const std::int64_t sy = y + top - 1, sx = x + left - 1;
            const float want = sy >= 0 && sy < 3 && sx >= 0 && sx < 3 ? px(img, sy, sx) : -1.0f;
            match = px(out, y, x) == want;
          }
        if (match) ++counts[{top, left}], ++found;
      }
    ASSERT_EQ(found, 1);
  }
  ASSERT_EQ(counts.size(), 9u);
  for (const auto& [k, c] : counts) EXPECT_NEAR(c, 200, 60) << k.first << "," << k.second;
  // {left, top, right, bottom} padding and a non-square crop.
  const Tensor wide = apply(T::RandomCrop(T::RandomCropOptions(std::vector<std::int64_t>{3, 5}).padding({2, 0, 0, 0})), img).data;
  EXPECT_EQ(wide.sizes(), (Shape{1, 3, 5}));
  EXPECT_EQ(wide.to_vector<float>(), (std::vector<float>{0, 0, 1, 2, 3, 0, 0, 11, 12, 13, 0, 0, 21, 22, 23}));
  // pad_if_needed grows a small image to the crop.
  EXPECT_EQ(apply(T::RandomCrop(T::RandomCropOptions(6).pad_if_needed(true)), img).data.sizes(), (Shape{1, 6, 6}));
}

TEST(Transforms, RandomErasingRectangleStatistics) {
  const Tensor img = ones({2, 20, 30});
  const T::RandomErasing never(T::RandomErasingOptions().p(0.0));
  EXPECT_EQ(apply(never, img).data.to_vector<float>(), img.to_vector<float>());
  // p = 1, a fixed area of 10% and square-ish: about 60 pixels per channel, value per channel.
  const T::RandomErasing always(T::RandomErasingOptions().p(1.0).scale({0.1, 0.1}).ratio({1.0, 1.0}).value({0.0, -2.0}));
  for (std::int64_t i = 0; i < 20; ++i) {
    const Tensor out = apply(always, img, i).data;
    const auto v = out.to_vector<float>();
    const auto zeros = std::count(v.begin(), v.begin() + 600, 0.0f);
    const auto twos = std::count(v.begin() + 600, v.end(), -2.0f);
    EXPECT_EQ(zeros, twos);
    EXPECT_EQ(zeros, 64);  // round(sqrt(60)) = 8: an 8x8 square
  }
  // p = 0.5: about half the images change; the input is never written.
  const T::RandomErasing half(T::RandomErasingOptions().p(0.5));
  int changed = 0;
  for (std::int64_t i = 0; i < 1000; ++i) changed += apply(half, img, i).data.to_vector<float>() != img.to_vector<float>();
  EXPECT_NEAR(changed, 500, 60);
  EXPECT_EQ(img.sum().item<double>(), 1200.0);
  // Random values: normal, erased pixels differ from 1.
  const T::RandomErasing noise(T::RandomErasingOptions().p(1.0).random_value(true));
  EXPECT_NE(apply(noise, img).data.to_vector<float>(), img.to_vector<float>());
}

TEST(Transforms, NormalizePerChannel) {
  const Tensor img = from_vector(std::vector<float>{1, 2, 3, 4, 10, 20, 30, 40}, Shape{2, 2, 2});
  const Tensor out = apply(T::Normalize({1.0, 10.0}, {2.0, 5.0}), img).data;
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{0, 0.5f, 1, 1.5f, 0, 2, 4, 6}));
  const Tensor one = apply(T::Normalize<>(0.5, 0.25), img).data;  // LibTorch's spelling, every channel
  EXPECT_FLOAT_EQ(one.to_vector<float>()[1], 6.0f);
  EXPECT_NE(message_of([&] { apply(T::Normalize({0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}), img); }).find("3 means"),
            std::string::npos);
}

TEST(Transforms, LambdaSeesDataAndTarget) {
  // A horizontal flip that also maps the label: 2 <-> 5 (mirror digits, say).
  const T::Lambda flip([](Example& e, SampleRng& rng) {
    if (rng.uniform() < 2.0) {
      e.data = e.data.contiguous().clone();
      auto v = e.data.to_vector<float>();
      const std::int64_t w = e.data.size(-1);
      for (std::size_t r = 0; r < v.size(); r += static_cast<std::size_t>(w)) std::reverse(v.begin() + r, v.begin() + r + w);
      e.data = from_vector(v, e.data.sizes());
      const std::int64_t t = e.target.item<std::int64_t>();
      e.target = scalar_tensor(t == 2 ? 5 : t == 5 ? 2 : t, DType::Int64);
    }
  });
  auto base = std::make_shared<TensorDataset>(ramp(2, 3).reshape({1, 1, 2, 3}).expand({4, 1, 2, 3}).contiguous(),
                                              from_vector(std::vector<std::int64_t>{2, 5, 7, 2}));
  TransformDataset ds(base, T::Compose({flip, T::Normalize<>(0.0, 1.0)}), 1);
  const Example b = ds.get_batch({0, 1, 2, 3});
  EXPECT_EQ(b.target.to_vector<std::int64_t>(), (std::vector<std::int64_t>{5, 2, 7, 5}));
  EXPECT_EQ(b.data[0].to_vector<float>(), (std::vector<float>{3, 2, 1, 13, 12, 11}));
  EXPECT_EQ(ds.get(1).target.item<std::int64_t>(), 2);
}

// ---- random parameters ----

TEST(Transforms, RandomAffineParameterStatistics) {
  const T::RandomAffine t(T::RandomAffineOptions(std::vector<double>{-10, 30}).scale({0.8, 1.2}).shear({-5, 5, 10, 20}));
  const int n = 20000;
  double s_angle = 0, s_angle2 = 0, s_scale = 0, s_shx = 0, s_shy = 0, lo = 1e9, hi = -1e9;
  for (int i = 0; i < n; ++i) {
    SampleRng rng(11, 3, i);
    const T::AffineParams p = t.get_params(28, 28, rng);
    s_angle += p.angle, s_angle2 += p.angle * p.angle, s_scale += p.scale, s_shx += p.shear_x, s_shy += p.shear_y;
    lo = std::min(lo, p.angle), hi = std::max(hi, p.angle);
    ASSERT_GE(p.scale, 0.8);
    ASSERT_LT(p.scale, 1.2);
    ASSERT_GE(p.shear_y, 10.0);
    ASSERT_LT(p.shear_y, 20.0);
    ASSERT_EQ(p.translate_x, 0.0);
  }
  const double mean = s_angle / n, var = s_angle2 / n - mean * mean;
  EXPECT_NEAR(mean, 10.0, 0.3);           // uniform on [-10, 30]: mean 10
  EXPECT_NEAR(var, 40.0 * 40.0 / 12, 4.0);  // variance (b - a)^2 / 12 = 133.3
  EXPECT_GE(lo, -10.0);
  EXPECT_LT(hi, 30.0);
  EXPECT_LT(lo, -9.9);
  EXPECT_GT(hi, 29.9);
  EXPECT_NEAR(s_scale / n, 1.0, 0.005);
  EXPECT_NEAR(s_shx / n, 0.0, 0.06);
  EXPECT_NEAR(s_shy / n, 15.0, 0.06);
}

TEST(Transforms, SampleRngDependsOnlyOnSeedEpochAndIndex) {
  auto draw = [](std::uint64_t s, std::int64_t e, std::int64_t i) {
    SampleRng r(s, e, i);
    return std::vector<double>{r.uniform(), r.uniform(), r.normal()};
  };
  EXPECT_EQ(draw(1, 2, 3), draw(1, 2, 3));
  EXPECT_NE(draw(1, 2, 3), draw(1, 3, 3));
  EXPECT_NE(draw(1, 2, 3), draw(1, 2, 4));
  EXPECT_NE(draw(1, 2, 3), draw(2, 2, 3));
  EXPECT_NE(draw(1, 3, 2), draw(1, 2, 3));
  // Uniform integers cover their range evenly; normals have mean 0, std 1.
  SampleRng r(9, 0, 0);
  std::vector<int> hist(7, 0);
  double s = 0, s2 = 0;
  for (int i = 0; i < 70000; ++i) {
    ++hist[static_cast<std::size_t>(r.integer(0, 7))];
    const double z = r.normal();
    s += z, s2 += z * z;
  }
  for (int c : hist) EXPECT_NEAR(c, 10000, 400);
  EXPECT_NEAR(s / 70000, 0.0, 0.02);
  EXPECT_NEAR(s2 / 70000, 1.0, 0.03);
}

// ---- bad parameters ----

TEST(Transforms, BadParametersAreRejectedWithAMessage) {
  auto has = [](const std::function<void()>& f, const std::string& part) {
    const std::string msg = message_of(f);
    EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg;
  };
  has([] { T::ElasticTransform(50.0, -1.0); }, "ElasticTransform: sigma must be non-negative, got -1");
  has([] { T::ElasticTransform(-2.0, 5.0); }, "alpha must be non-negative");
  has([] { T::RandomAffine(T::RandomAffineOptions(5).scale({1.2, 0.8})); }, "scale range is upside down: [1.2, 0.8]");
  has([] { T::RandomAffine(T::RandomAffineOptions(5).scale({0.0, 0.8})); }, "scale values must be positive");
  has([] { T::RandomAffine(T::RandomAffineOptions(-5)); }, "single degrees value must be non-negative, got -5");
  has([] { T::RandomAffine(T::RandomAffineOptions(std::vector<double>{20, 10})); }, "degrees range is upside down");
  has([] { T::RandomAffine(T::RandomAffineOptions(5).translate({0.1, 1.5})); }, "translate values must be in [0, 1]");
  has([] { T::RandomAffine(T::RandomAffineOptions(5).shear({1, 2, 3})); }, "shear must have 1, 2 or 4 values");
  has([] { apply(T::RandomCrop(T::RandomCropOptions(32).padding({2})), ramp(20, 28)); },
      "RandomCrop: crop size 32x32 is larger than the padded image 24x32 (image 20x28)");
  has([] { T::RandomCrop(T::RandomCropOptions(0)); }, "size must be positive");
  has([] { T::RandomCrop(T::RandomCropOptions(3).padding({-1})); }, "padding must be non-negative");
  has([] { T::RandomErasing(T::RandomErasingOptions().p(1.5)); }, "p must be in [0, 1], got 1.5");
  has([] { T::RandomErasing(T::RandomErasingOptions().scale({0.4, 0.1})); }, "scale range is upside down");
  has([] { T::RandomErasing(T::RandomErasingOptions().ratio({0.0, 1.0})); }, "ratio must be positive");
  has([] { T::Normalize(std::vector<double>{0.5}, std::vector<double>{0.0}); }, "std must be non-zero");
  has([] { T::Normalize({0.5, 0.1}, {1.0}); }, "same, non-zero number of values, got 2 and 1");
  has([] { apply(T::ElasticTransform(), full({5}, 1.0)); }, "ElasticTransform: expects an image [C, H, W] or [H, W], got shape [5]");
  has([] { TransformDataset(nullptr, T::Normalize<>(0, 1)); }, "null dataset");
}

// ---- the DataLoader with workers ----

std::shared_ptr<TransformDataset> augmented_set(std::int64_t n) {
  manual_seed(42);
  auto base = std::make_shared<TensorDataset>(rand({n, 1, 12, 12}), randint(0, 10, {n}));
  return std::make_shared<TransformDataset>(
      base, T::Compose({T::RandomAffine(T::RandomAffineOptions(15).translate({0.1, 0.1}).scale({0.9, 1.1})),
                        T::ElasticTransform(8.0, 2.0), T::RandomErasing(), T::Normalize<>(0.5, 0.25)}));
}

std::vector<std::vector<float>> run_epochs(const std::shared_ptr<TransformDataset>& ds, int workers, int epochs) {
  manual_seed(7);  // the shuffle order
  DataLoader loader(ds, DataLoaderOptions().batch_size(9).shuffle(true).num_workers(workers));
  std::vector<std::vector<float>> out;
  for (int e = 0; e < epochs; ++e)
    for (const Example& b : loader) {
      out.push_back(b.data.to_vector<float>());
      out.push_back(b.target.to(DType::Float32).to_vector<float>());
    }
  return out;
}

TEST(TransformLoaders, OneAndThreeWorkersGiveIdenticalBatches) {
  auto ds = augmented_set(100);
  const auto one = run_epochs(ds, 1, 2);
  const auto three = run_epochs(ds, 3, 2);
  const auto inline_ = run_epochs(ds, 0, 2);
  ASSERT_EQ(one.size(), 2u * 2u * 12u);
  EXPECT_EQ(one, three);
  EXPECT_EQ(one, inline_);
  // Each epoch draws anew: the same example differs between epochs.
  EXPECT_NE(ds->get(5, 0).data.to_vector<float>(), ds->get(5, 1).data.to_vector<float>());
  EXPECT_EQ(ds->get(5, 1).data.to_vector<float>(), ds->get(5, 1).data.to_vector<float>());
  // get_batch inside an epoch scope gives what get(i, epoch) gives.
  EpochScope scope(1);
  EXPECT_EQ(ds->get_batch({5}).data[0].to_vector<float>(), ds->get(5, 1).data.to_vector<float>());
}

// Slow, jittered get_batch that throws on the batch whose first index is `bad`.
class JitterDataset : public Dataset {
 public:
  JitterDataset(std::int64_t n, std::int64_t bad) : n_(n), bad_(bad) {}
  std::int64_t size() const override { return n_; }
  Example get(std::int64_t i) const override {
    return {full({2}, static_cast<double>(i)), scalar_tensor(static_cast<double>(i), DType::Int64)};
  }
  Example get_batch(const std::vector<std::int64_t>& indices) const override {
    std::this_thread::sleep_for(std::chrono::microseconds(200 * ((indices[0] * 7919) % 11)));
    EMBER_CHECK(indices[0] != bad_, "JitterDataset: failed at index {}", indices[0]);
    active_max_ = std::max<int>(active_max_, ++active_);
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    --active_;
    return Dataset::get_batch(indices);
  }
  mutable std::atomic<int> active_{0}, active_max_{0};

 private:
  std::int64_t n_, bad_;
};

TEST(TransformLoaders, WorkersDeliverInOrderAndErrorsArriveInOrder) {
  auto ok = std::make_shared<JitterDataset>(120, -1);
  DataLoader loader(ok, DataLoaderOptions().batch_size(4).num_workers(3).prefetch(2));
  std::vector<std::int64_t> firsts;
  for (const Example& b : loader) firsts.push_back(b.target.to_vector<std::int64_t>()[0]);
  std::vector<std::int64_t> want(30);
  for (std::int64_t i = 0; i < 30; ++i) want[static_cast<std::size_t>(i)] = 4 * i;
  EXPECT_EQ(firsts, want);
  EXPECT_GE(ok->active_max_.load(), 2);  // the workers really ran side by side

  for (int workers : {1, 3}) {
    DataLoader failing(std::make_shared<JitterDataset>(120, 40), DataLoaderOptions().batch_size(4).num_workers(workers));
    std::vector<std::int64_t> got;
    const std::string msg = message_of([&] {
      for (const Example& b : failing) got.push_back(b.target.to_vector<std::int64_t>()[0]);
    });
    EXPECT_EQ(msg, "JitterDataset: failed at index 40");
    EXPECT_EQ(got, std::vector<std::int64_t>(want.begin(), want.begin() + 10)) << workers << " workers";
    // The next epoch starts afresh and fails at the same place.
    EXPECT_NE(message_of([&] { for (const Example& b : failing) (void)b; }).find("index 40"), std::string::npos);
  }
  EXPECT_NE(message_of([] { DataLoader(std::make_shared<JitterDataset>(4, -1), DataLoaderOptions().num_workers(-1)); })
                .find("num_workers must be in [0, 256], got -1"),
            std::string::npos);
}

TEST(TransformLoaders, EpochsAreNumberedAndCanBeSet) {
  auto ds = augmented_set(18);
  DataLoader loader(ds, DataLoaderOptions().batch_size(18).num_workers(2));
  EXPECT_EQ(loader.epoch(), 0);
  const auto e0 = loader.begin()->data.to_vector<float>();
  const auto e1 = loader.begin()->data.to_vector<float>();
  EXPECT_EQ(loader.epoch(), 2);
  EXPECT_NE(e0, e1);
  loader.set_epoch(1);
  EXPECT_EQ(loader.begin()->data.to_vector<float>(), e1);  // resuming at epoch 1 repeats its draws
}

}  // namespace
