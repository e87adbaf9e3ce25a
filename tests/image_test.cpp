// io/image: every PNG variant (written here with libpng's low-level API:
// palette + tRNS, 16-bit, Adam7, gray+alpha), JPEG, PGM/PPM, the modes, the
// PNG writer and make_grid, and the refusals (each naming the file).
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <functional>

#include <jpeglib.h>
#include <sys/resource.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <ember/ember.h>

namespace {
using namespace ember;
using ember::io::ImageMode;
using ember::io::ImageReadOptions;

struct PngSpec {
  int width, height, color_type, bit_depth;
  bool interlace = false;
  std::vector<png_color> palette = {};
  std::vector<png_byte> trns = {};
};

// A PNG of `spec` whose samples are `samples` (row-major, interleaved; 16-bit
// samples as values 0..65535), written with libpng's low-level API.
std::string make_png(const PngSpec& spec, const std::vector<int>& samples) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng write failed";
    return {};
  }
  png_set_write_fn(
      png, &out, [](png_structp p, png_bytep d, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<char*>(d), n);
      },
      nullptr);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  if (!spec.trns.empty()) png_set_tRNS(png, info, spec.trns.data(), static_cast<int>(spec.trns.size()), nullptr);
  png_write_info(png, info);
  if (spec.bit_depth < 8) png_set_packing(png);  // one byte a sample in, packed bits out
  const int channels = png_get_channels(png, info);
  const std::size_t row_samples = static_cast<std::size_t>(spec.width * channels);
  std::vector<std::vector<png_byte>> rows(static_cast<std::size_t>(spec.height));
  for (int y = 0; y < spec.height; ++y) {
    auto& row = rows[static_cast<std::size_t>(y)];
    for (std::size_t i = 0; i < row_samples; ++i) {
      const int v = samples[static_cast<std::size_t>(y) * row_samples + i];
      if (spec.bit_depth == 16) {
        row.push_back(static_cast<png_byte>(v >> 8));
        row.push_back(static_cast<png_byte>(v & 255));
      } else {
        row.push_back(static_cast<png_byte>(v));
      }
    }
  }
  std::vector<png_bytep> ptrs;
  for (auto& r : rows) ptrs.push_back(r.data());
  png_write_image(png, ptrs.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string make_jpeg(int width, int height, int components, const std::vector<std::uint8_t>& px) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(width);
  c.image_height = static_cast<JDIMENSION>(height);
  c.input_components = components;
  c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<std::uint8_t*>(px.data()) + c.next_scanline * static_cast<unsigned>(width * components);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}


// Raw PNG building, for files libpng's writer would not make: a chunk with its CRC.
std::string png_chunk(const char* type, const std::string& data) {
  std::string c;
  auto put32 = [&](std::uint32_t v) {
    for (int i = 3; i >= 0; --i) c += static_cast<char>((v >> (8 * i)) & 255);
  };
  put32(static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  c += body;
  put32(static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  return c;
}

std::string ihdr(std::uint32_t w, std::uint32_t h, int depth, int color) {
  std::string d;
  for (std::uint32_t v : {w, h})
    for (int i = 3; i >= 0; --i) d += static_cast<char>((v >> (8 * i)) & 255);
  d += static_cast<char>(depth), d += static_cast<char>(color), d += std::string(3, '\0');
  return png_chunk("IHDR", d);
}

const std::string kSignature = "\x89PNG\r\n\x1a\n";

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

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

std::vector<int> as_ints(const Tensor& t) {
  std::vector<int> v;
  for (auto x : t.to_vector<std::uint8_t>()) v.push_back(x);
  return v;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Image, GrayPngRoundTrip) {
  Tensor img = empty({1, 3, 4}, DType::UInt8);
  for (int i = 0; i < 12; ++i) img.data_ptr<std::uint8_t>()[i] = static_cast<std::uint8_t>(i * 20);
  Tensor back = io::decode_image(io::encode_png(img));
  EXPECT_EQ(back.sizes(), (Shape{1, 3, 4}));
  EXPECT_EQ(as_ints(back), as_ints(img));
  // [H, W] writes as gray too.
  EXPECT_EQ(as_ints(io::decode_image(io::encode_png(img.reshape({3, 4})))), as_ints(img));
}

TEST(Image, RgbAndRgbaRoundTripAndAlphaOnWhite) {
  // [4, 1, 3]: pixels (R,G,B,A) = (10,20,30,255), (0,0,0,0), (0,0,0,128).
  Tensor img = tensor({{{10, 0, 0}}, {{20, 0, 0}}, {{30, 0, 0}}, {{255, 0, 128}}}, DType::UInt8);
  const std::string png = io::encode_png(img);
  EXPECT_EQ(as_ints(io::decode_image(png, ImageReadOptions().mode(ImageMode::RGBA))), as_ints(img));
  Tensor rgb = io::decode_image(png);  // Auto: colour -> 3 channels, alpha over white
  EXPECT_EQ(rgb.sizes(), (Shape{3, 1, 3}));
  EXPECT_EQ(as_ints(rgb), (std::vector<int>{10, 255, 127, 20, 255, 127, 30, 255, 127}));
  Tensor gray = io::decode_image(png, ImageReadOptions().mode(ImageMode::Gray));
  // BT.601 luma of (10, 20, 30) = 18.15
  EXPECT_EQ(as_ints(gray), (std::vector<int>{18, 255, 127}));
  // RGB without alpha in RGBA mode gets an opaque alpha channel.
  Tensor rgba = io::decode_image(io::encode_png(rgb), ImageReadOptions().mode(ImageMode::RGBA));
  EXPECT_EQ(rgba.sizes(), (Shape{4, 1, 3}));
  EXPECT_EQ(as_ints(rgba.slice(0, 3, 4)), (std::vector<int>{255, 255, 255}));
}

TEST(Image, GrayAlphaComposedOnWhite) {
  const std::string png = make_png({2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8}, {0, 0, 0, 255});
  EXPECT_EQ(as_ints(io::decode_image(png)), (std::vector<int>{255, 0}));
  const std::string png16 = make_png({2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {0, 0, 65535, 65535});
  EXPECT_EQ(as_ints(io::decode_image(png16)), (std::vector<int>{255, 255}));
}

TEST(Image, PaletteWithTransparency) {
  PngSpec spec{3, 1, PNG_COLOR_TYPE_PALETTE, 8};
  spec.palette = {{255, 0, 0}, {0, 0, 255}, {0, 0, 0}};
  spec.trns = {255, 255, 0};  // entry 2 fully transparent
  const std::string png = make_png(spec, {0, 1, 2});
  EXPECT_EQ(as_ints(io::decode_image(png)), (std::vector<int>{255, 0, 255, 0, 0, 255, 0, 255, 255}));
  // A 4-bit palette too.
  PngSpec spec4{3, 1, PNG_COLOR_TYPE_PALETTE, 4};
  spec4.palette = {{0, 0, 0}, {100, 100, 100}, {200, 200, 200}};
  EXPECT_EQ(as_ints(io::decode_image(make_png(spec4, {2, 1, 0}), ImageReadOptions().mode(ImageMode::Gray))),
            (std::vector<int>{200, 100, 0}));
}

TEST(Image, SixteenBitAndLowBitDepths) {
  EXPECT_EQ(as_ints(io::decode_image(make_png({3, 1, PNG_COLOR_TYPE_GRAY, 16}, {0, 257 * 100, 65535}))),
            (std::vector<int>{0, 100, 255}));
  EXPECT_EQ(as_ints(io::decode_image(make_png({1, 1, PNG_COLOR_TYPE_RGB, 16}, {257 * 10, 257 * 20, 257 * 30}))),
            (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(as_ints(io::decode_image(make_png({4, 1, PNG_COLOR_TYPE_GRAY, 1}, {1, 0, 1, 0}))),
            (std::vector<int>{255, 0, 255, 0}));
}

TEST(Image, InterlacedMatchesPlain) {
  const int w = 13, h = 7;
  std::vector<int> px;
  for (int i = 0; i < w * h * 3; ++i) px.push_back((i * 37) % 256);
  PngSpec plain{w, h, PNG_COLOR_TYPE_RGB, 8}, adam7{w, h, PNG_COLOR_TYPE_RGB, 8, true};
  Tensor a = io::decode_image(make_png(plain, px)), b = io::decode_image(make_png(adam7, px));
  EXPECT_EQ(b.sizes(), (Shape{3, h, w}));
  EXPECT_EQ(as_ints(a), as_ints(b));
  EXPECT_EQ(b.to_vector<int>()[static_cast<std::size_t>(1 * h * w + 2 * w + 5)], px[static_cast<std::size_t>((2 * w + 5) * 3 + 1)]);
}

TEST(Image, InterlacedSmallSizesMatchPlain) {
  // Adam7 leaves passes empty on images narrower or shorter than 8: the decoder
  // must still know when the last row is in.
  for (int w : {1, 2, 3, 5, 8, 9})
    for (int h : {1, 2, 3, 5, 8, 9}) {
      std::vector<int> px;
      for (int i = 0; i < w * h; ++i) px.push_back((i * 53 + 7) % 256);
      const std::string plain = make_png({w, h, PNG_COLOR_TYPE_GRAY, 8}, px);
      const std::string adam7 = make_png({w, h, PNG_COLOR_TYPE_GRAY, 8, true}, px);
      EXPECT_EQ(as_ints(io::decode_image(adam7)), as_ints(io::decode_image(plain))) << w << "x" << h;
      EXPECT_NE(error_of([&] { io::decode_image(adam7.substr(0, adam7.size() - 20), {}, "cut.png"); }).find("truncated PNG"),
                std::string::npos)
          << w << "x" << h;
    }
}

TEST(Image, HugeHeaderWithoutDataIsRefusedBeforeAllocating) {
  // 11000x11000 RGBA claims 484 MB of pixels; its 200-byte file holds a few bytes of IDAT.
  const std::string zeros(100, '\0');
  uLongf n = compressBound(100);
  std::string idat(n, '\0');
  compress2(reinterpret_cast<Bytef*>(idat.data()), &n, reinterpret_cast<const Bytef*>(zeros.data()), 100, 9);
  idat.resize(n);
  const std::string file = kSignature + ihdr(11000, 11000, 8, 6) + png_chunk("IDAT", idat) + png_chunk("IEND", "");
  std::string err;
  const double mb = peak_rss_growth_mb([&] { err = error_of([&] { io::decode_image(file, {}, "claim.png"); }); });
  EXPECT_NE(err.find("claim.png: truncated PNG"), std::string::npos) << err;
  EXPECT_LT(mb, 50.0) << "peak memory grew by " << mb << " MB for a " << file.size() << "-byte file";
}

// A 28x28 gray PNG whose one zlib stream holds the rows and then `extra_mb` MB of
// zeros (repeated sync-flushed segments, each valid after 32 KB of zeros).
std::string png_with_trailing_zeros(int extra_mb) {
  std::string rows;
  for (int y = 0; y < 28; ++y) rows += '\0' + std::string(28, static_cast<char>(y * 9));
  z_stream z{};
  deflateInit(&z, 9);
  std::string out;
  auto feed = [&](const std::string& in, int flush) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    const std::size_t start = out.size();
    do {
      char buf[65536];
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      deflate(&z, flush);
      out.append(buf, sizeof buf - z.avail_out);
    } while (z.avail_out == 0);
    return out.substr(start);
  };
  const std::string mb(1 << 20, '\0');
  feed(rows, Z_SYNC_FLUSH);
  feed(mb, Z_SYNC_FLUSH);
  const std::string segment = feed(mb, Z_SYNC_FLUSH);
  for (int i = 2; i < extra_mb; ++i) out += segment;
  deflateEnd(&z);  // no final block: a reader that goes on to the end finds the stream cut
  return kSignature + ihdr(28, 28, 8, 0) + png_chunk("IDAT", out) + png_chunk("IEND", "");
}

TEST(Image, DataAfterTheLastRowIsNotInflated) {
  const std::string file = png_with_trailing_zeros(3000);  // 3 GB of zeros in ~3 MB
  ASSERT_GT(file.size(), 1u << 20);
  const double t0 = cpu_seconds();
  Tensor img;
  const std::string err = error_of([&] { img = io::decode_image(file, {}, "tail.png"); });
  const double cpu = cpu_seconds() - t0;
  EXPECT_EQ(err, "(no error)");
  ASSERT_EQ(img.sizes(), (Shape{1, 28, 28}));
  EXPECT_EQ(img.at<int>({0, 27, 3}), (27 * 9) % 256);
  // Inflating 3 GB takes seconds; the 28 rows take microseconds.
  EXPECT_LT(cpu, 0.5) << "decoding a 28x28 took " << cpu << " s of CPU";
}

TEST(Image, SixteenBitRgbaDecodesInLittleMoreThanItsOutput) {
  // 2048x2048 RGBA16 of one colour: 32 MB of samples, 12 MB as 8-bit RGB.
  std::string rows;
  for (int y = 0; y < 2048; ++y) rows += '\0' + std::string(2048 * 8, '\x80');
  uLongf n = compressBound(static_cast<uLong>(rows.size()));
  std::string z(n, '\0');
  compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(rows.data()), static_cast<uLong>(rows.size()), 9);
  z.resize(n);
  rows.clear();
  rows.shrink_to_fit();
  const std::string file = kSignature + ihdr(2048, 2048, 16, 6) + png_chunk("IDAT", z) + png_chunk("IEND", "");
  Tensor img;
  const double mb = peak_rss_growth_mb([&] { img = io::decode_image(file, {}, "rgba16.png"); });
  std::printf("peak memory grew by %.1f MB\n", mb);
  ASSERT_EQ(img.sizes(), (Shape{3, 2048, 2048}));
  EXPECT_EQ(img.at<int>({1, 100, 100}), 191);  // 128 at alpha 128, over white
  // The output is 12 MB, the decoder's own form of it 16 MB.
  EXPECT_LT(mb, 40.0) << "peak memory grew by " << mb << " MB";
}

TEST(Image, DirectoryIsNamedAsSuch) {
  const std::string dir = (std::filesystem::temp_directory_path() / "ember_image_dir_test").string();
  std::filesystem::create_directories(dir);
  const std::string err = error_of([&] { io::read_image(dir); });
  EXPECT_NE(err.find(dir + ": is a directory"), std::string::npos) << err;
  EXPECT_EQ(err.find("bytes"), std::string::npos) << err;
}

TEST(Image, Jpeg) {
  std::vector<std::uint8_t> gray(16 * 8, 90), rgb;
  for (int i = 0; i < 16 * 8; ++i) rgb.insert(rgb.end(), {200, 40, 10});
  Tensor g = io::decode_image(make_jpeg(16, 8, 1, gray));
  EXPECT_EQ(g.sizes(), (Shape{1, 8, 16}));
  for (int v : as_ints(g)) EXPECT_NEAR(v, 90, 2);
  Tensor c = io::decode_image(make_jpeg(16, 8, 3, rgb));
  EXPECT_EQ(c.sizes(), (Shape{3, 8, 16}));
  EXPECT_NEAR(c.at<int>({0, 3, 3}), 200, 4);
  EXPECT_NEAR(c.at<int>({1, 3, 3}), 40, 4);
  EXPECT_NEAR(c.at<int>({2, 3, 3}), 10, 4);
  const std::string jpeg = make_jpeg(16, 8, 3, rgb);
  EXPECT_NE(error_of([&] { io::decode_image(jpeg.substr(0, jpeg.size() / 2), {}, "half.jpg"); }).find("half.jpg: truncated JPEG"),
            std::string::npos);
}

TEST(Image, PgmAndPpm) {
  EXPECT_EQ(as_ints(io::decode_image("P2\n# a comment\n3 1\n# another\n10\n0 5 10\n")), (std::vector<int>{0, 128, 255}));
  EXPECT_EQ(as_ints(io::decode_image(std::string("P5 2 1 255\n\x07\xff", 13))), (std::vector<int>{7, 255}));
  EXPECT_EQ(as_ints(io::decode_image(std::string("P5 1 1 65535\n\xff\xff", 15))), (std::vector<int>{255}));
  EXPECT_EQ(as_ints(io::decode_image("P3 1 1 255 1 2 3")), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(as_ints(io::decode_image(std::string("P6 1 1 255\n\x01\x02\x03", 14))), (std::vector<int>{1, 2, 3}));
  EXPECT_NE(error_of([] { io::decode_image("P5 2 2 255\n\x01", {}, "short.pgm"); }).find("short.pgm: truncated PNM"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::decode_image("P2 2 1 10 3 11", {}, "x.pgm"); }).find("exceeds maxval"), std::string::npos);
}

TEST(Image, RefusesBadInputNamingTheFile) {
  EXPECT_NE(error_of([] { io::decode_image("hello, world", {}, "notes.txt"); })
                .find("read_image: notes.txt: not an image"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::decode_image("", {}, "empty.png"); }).find("empty.png: not an image"), std::string::npos);
  Tensor img = zeros({1, 20, 20}, DType::UInt8);
  const std::string png = io::encode_png(img);
  EXPECT_NE(error_of([&] { io::decode_image(png.substr(0, png.size() - 20), {}, "cut.png"); }).find("cut.png: truncated PNG"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::decode_image(png.substr(0, 30), {}, "cut.png"); }).find("cut.png: truncated PNG"),
            std::string::npos);
  // IHDR patched (CRC now wrong): the size is refused before libpng looks at it.
  auto patched = [&](std::uint32_t w, std::uint32_t h) {
    std::string s = png;
    for (int i = 0; i < 4; ++i) {
      s[static_cast<std::size_t>(16 + i)] = static_cast<char>(w >> (24 - 8 * i));
      s[static_cast<std::size_t>(20 + i)] = static_cast<char>(h >> (24 - 8 * i));
    }
    return s;
  };
  EXPECT_NE(error_of([&] { io::decode_image(patched(0, 20), {}, "zero.png"); }).find("zero.png: zero-size image"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::decode_image(patched(100000, 100000), {}, "huge.png"); })
                .find("huge.png: image too large (PNG header says 100000x100000"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::decode_image("P5 100000 100000 255\n", {}, "huge.pgm"); }).find("image too large"),
            std::string::npos);
  EXPECT_NE(error_of([] { io::decode_image("P5 0 3 255\n", {}, "z.pgm"); }).find("zero-size image"), std::string::npos);
  EXPECT_NE(error_of([] { io::read_image("/nonexistent/digit.png"); }).find("/nonexistent/digit.png: cannot open"),
            std::string::npos);
  // The limit is the caller's to set.
  EXPECT_NE(error_of([&] { io::decode_image(png, ImageReadOptions().max_pixels(399)); }).find("too large"),
            std::string::npos);
}

TEST(Image, WritePngAtomicallyFromFloat) {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_image_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "seen.png").string();
  Tensor f = tensor({{0.0, 0.5, 1.0, 2.0}, {-1.0, 0.25, 0.75, 1.0}});  // [H, W] float, clamped to [0, 1]
  io::write_png(path, f);
  Tensor back = io::read_image(path);
  EXPECT_EQ(back.sizes(), (Shape{1, 2, 4}));
  EXPECT_EQ(as_ints(back), (std::vector<int>{0, 128, 255, 255, 0, 64, 191, 255}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temporaries left
  EXPECT_NE(error_of([&] { io::encode_png(zeros({5, 2, 2})); }).find("encode_png: expected 1, 2, 3 or 4 channels"),
            std::string::npos);
  EXPECT_NE(error_of([&] { io::write_png((dir / "no/such/dir.png").string(), f); }).find("write_png"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Image, MakeGrid) {
  Tensor batch = zeros({3, 1, 2, 2}, DType::UInt8);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) batch.data_ptr<std::uint8_t>()[i * 4 + j] = static_cast<std::uint8_t>(i + 1);
  Tensor grid = io::make_grid(batch, 2, 1, 9);  // 2 a row: 2 rows
  EXPECT_EQ(grid.sizes(), (Shape{1, 7, 7}));
  EXPECT_EQ(grid.at<int>({0, 0, 0}), 9);
  EXPECT_EQ(grid.at<int>({0, 1, 1}), 1);
  EXPECT_EQ(grid.at<int>({0, 2, 5}), 2);
  EXPECT_EQ(grid.at<int>({0, 4, 1}), 3);
  EXPECT_EQ(grid.at<int>({0, 4, 4}), 9);  // the missing fourth image is padding
  Tensor fgrid = io::make_grid(std::vector<Tensor>{ones({3, 4, 5}), zeros({3, 4, 5})}, 8, 2, 0.5);
  EXPECT_EQ(fgrid.sizes(), (Shape{3, 8, 16}));
  EXPECT_EQ(fgrid.dtype(), DType::Float32);
  EXPECT_NE(error_of([] { io::make_grid(std::vector<Tensor>{ones({3, 4, 5}), ones({3, 4, 4})}); }).find("image 1 has shape"),
            std::string::npos);
}

}  // namespace
