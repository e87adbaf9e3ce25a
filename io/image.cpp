// read_image / decode_image: sniff the format, decode to the file's own
// channels (image_png.cpp, image_jpeg.cpp, image_pnm.cpp), convert to the mode
// asked for, lay out as [C, H, W]. encode_png / write_png / make_grid.
#include "ember/io/image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ember/core/error.h"
#include "ember/io/atomic_file.h"
#include "ember/io/image_codec.h"

namespace ember::io {
namespace detail {

void check_dimensions(std::int64_t width, std::int64_t height, std::int64_t max_pixels, std::string_view what) {
  EMBER_CHECK(width > 0 && height > 0, "zero-size image ({} header says {}x{})", what, width, height);
  // width * height > max_pixels, asked without forming the product: two sides of
  // 2^32 (PNG allows them) overflow 64 bits (the fuzzer found it).
  EMBER_CHECK(width <= max_pixels / height,
              "image too large ({} header says {}x{} = {:.0f} pixels; the limit is {}, "
              "ImageReadOptions::max_pixels)",
              what, width, height, static_cast<double>(width) * static_cast<double>(height), max_pixels);
}

namespace {

std::uint8_t over_white(int v, int a) { return static_cast<std::uint8_t>((v * a + 255 * (255 - a) + 127) / 255); }

// ITU-R BT.601 luma, as PIL's convert("L") and torchvision's rgb_to_grayscale.
std::uint8_t luma(int r, int g, int b) { return static_cast<std::uint8_t>((299 * r + 587 * g + 114 * b + 500) / 1000); }

// Pixels of `img` as `out_c` channels (1, 3 or 4), planar [C, H, W].
Tensor to_planar(const DecodedImage& img, int out_c) {
  const std::int64_t hw = img.width * img.height;
  Tensor t = empty({out_c, img.height, img.width}, DType::UInt8);
  std::uint8_t* dst = t.data_ptr<std::uint8_t>();
  const int c = img.channels;
  const bool has_alpha = c == 2 || c == 4, color = c >= 3;
  for (std::int64_t i = 0; i < hw; ++i) {
    const std::uint8_t* s = &img.pixels[static_cast<std::size_t>(i * c)];
    int r = s[0], g = color ? s[1] : s[0], b = color ? s[2] : s[0];
    const int a = has_alpha ? s[c - 1] : 255;
    if (out_c == 4) {
      dst[i] = static_cast<std::uint8_t>(r), dst[hw + i] = static_cast<std::uint8_t>(g);
      dst[2 * hw + i] = static_cast<std::uint8_t>(b), dst[3 * hw + i] = static_cast<std::uint8_t>(a);
      continue;
    }
    if (has_alpha) r = over_white(r, a), g = over_white(g, a), b = over_white(b, a);
    if (out_c == 1) {
      dst[i] = color ? luma(r, g, b) : static_cast<std::uint8_t>(r);
    } else {
      dst[i] = static_cast<std::uint8_t>(r), dst[hw + i] = static_cast<std::uint8_t>(g);
      dst[2 * hw + i] = static_cast<std::uint8_t>(b);
    }
  }
  return t;
}

}  // namespace
}  // namespace detail

Tensor decode_image(std::string_view bytes, const ImageReadOptions& options, std::string_view name) {
  try {
    EMBER_CHECK(!bytes.empty(), "not an image (the file is empty)");
    EMBER_CHECK(options.max_pixels() > 0, "max_pixels must be positive, got {}", options.max_pixels());
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    detail::DecodedImage img;
    if (bytes.size() >= 8 && std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
      img = detail::decode_png(bytes, options.max_pixels());
    } else if (bytes.size() >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
      img = detail::decode_jpeg(bytes, options.max_pixels());
    } else if (bytes.size() >= 2 && p[0] == 'P' && (p[1] == '2' || p[1] == '3' || p[1] == '5' || p[1] == '6')) {
      img = detail::decode_pnm(bytes, options.max_pixels());
    } else {
      throw Error("not an image (its first bytes are not PNG, JPEG, PGM or PPM)");
    }
    int out_c = 0;
    switch (options.mode()) {
      case ImageMode::Auto: out_c = img.channels >= 3 ? 3 : 1; break;
      case ImageMode::Gray: out_c = 1; break;
      case ImageMode::RGB: out_c = 3; break;
      case ImageMode::RGBA: out_c = 4; break;
    }
    return detail::to_planar(img, out_c);
  } catch (const Error& e) {
    throw Error(fmt::format("read_image: {}: {}", name, e.what()));
  }
}

Tensor read_image(const std::string& path, const ImageReadOptions& options) {
  std::error_code ec;
  EMBER_CHECK(!std::filesystem::is_directory(path, ec), "read_image: {}: is a directory, not an image file", path);
  std::ifstream in(path, std::ios::binary);
  EMBER_CHECK(in, "read_image: {}: cannot open ({})", path, std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  EMBER_CHECK(size >= 0, "read_image: {}: cannot read (not a regular file?)", path);
  // Compressed data far beyond what max_pixels admits would not decode anyway.
  EMBER_CHECK(size <= std::max<std::int64_t>(options.max_pixels() * 8, 1 << 20),
              "read_image: {}: file of {} bytes is larger than any image the pixel limit admits", path, size);
  in.seekg(0);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), size);
  EMBER_CHECK(in.gcount() == size, "read_image: {}: read {} of {} bytes", path, in.gcount(), size);
  return decode_image(bytes, options, path);
}

namespace {

// [C, H, W] or [H, W] as interleaved 8-bit samples; `op` names the caller.
std::vector<std::uint8_t> interleaved_u8(const Tensor& image, const char* op, int* channels, std::int64_t* height,
                                         std::int64_t* width) {
  EMBER_CHECK(image.dim() == 2 || image.dim() == 3, "{}: expected an image [C, H, W] or [H, W], got shape {}", op,
              shape_str(image.sizes()));
  const std::int64_t c = image.dim() == 3 ? image.size(0) : 1;
  const std::int64_t h = image.size(-2), w = image.size(-1);
  EMBER_CHECK(c >= 1 && c <= 4, "{}: expected 1, 2, 3 or 4 channels, got shape {}", op, shape_str(image.sizes()));
  EMBER_CHECK(h > 0 && w > 0 && h < (1 << 24) && w < (1 << 24), "{}: cannot encode an image of shape {}", op,
              shape_str(image.sizes()));
  EMBER_CHECK(image.dtype() == DType::UInt8 || is_floating(image.dtype()),
              "{}: expected uint8 or floating values in [0, 1], got dtype {}", op, dtype_name(image.dtype()));
  const std::size_t hw = static_cast<std::size_t>(h * w);
  std::vector<std::uint8_t> out(hw * static_cast<std::size_t>(c));
  if (image.dtype() == DType::UInt8) {
    const auto v = image.to_vector<std::uint8_t>();
    for (std::size_t ch = 0; ch < static_cast<std::size_t>(c); ++ch)
      for (std::size_t i = 0; i < hw; ++i) out[i * static_cast<std::size_t>(c) + ch] = v[ch * hw + i];
  } else {
    const auto v = image.to_vector<double>();
    for (std::size_t ch = 0; ch < static_cast<std::size_t>(c); ++ch)
      for (std::size_t i = 0; i < hw; ++i) {
        const double x = v[ch * hw + i];
        const double s = std::isnan(x) ? 0.0 : std::clamp(x, 0.0, 1.0);
        out[i * static_cast<std::size_t>(c) + ch] = static_cast<std::uint8_t>(std::lround(s * 255.0));
      }
  }
  *channels = static_cast<int>(c);
  *height = h;
  *width = w;
  return out;
}

}  // namespace

std::string encode_png(const Tensor& image) {
  int c = 0;
  std::int64_t h = 0, w = 0;
  const std::vector<std::uint8_t> px = interleaved_u8(image, "encode_png", &c, &h, &w);
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(w);
  img.height = static_cast<png_uint_32>(h);
  img.format = c == 1 ? PNG_FORMAT_GRAY : c == 2 ? PNG_FORMAT_GA : c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  // First call measures, second writes (libpng's documented pattern).
  EMBER_CHECK(png_image_write_to_memory(&img, nullptr, &size, 0, px.data(), 0, nullptr) && size > 0,
              "encode_png: libpng: {}", img.message);
  std::string out(size, '\0');
  EMBER_CHECK(png_image_write_to_memory(&img, out.data(), &size, 0, px.data(), 0, nullptr), "encode_png: libpng: {}",
              img.message);
  out.resize(size);
  return out;
}

void write_png(const std::string& path, const Tensor& image) {
  const std::string bytes = encode_png(image);
  AtomicFile file(path, "write_png");
  file.write(bytes.data(), bytes.size());
  file.commit();
}

Tensor make_grid(const std::vector<Tensor>& images, std::int64_t nrow, std::int64_t pad, double pad_value) {
  EMBER_CHECK(!images.empty(), "make_grid: no images");
  const Shape first = images[0].sizes();
  EMBER_CHECK(images[0].dim() == 2 || images[0].dim() == 3, "make_grid: expected images [C, H, W] or [H, W], got {}",
              shape_str(first));
  EMBER_CHECK(nrow >= 1 && pad >= 0, "make_grid: nrow must be >= 1 and pad >= 0, got nrow {} pad {}", nrow, pad);
  const std::int64_t n = static_cast<std::int64_t>(images.size());
  const std::int64_t c = images[0].dim() == 3 ? first[0] : 1, h = first[first.size() - 2], w = first.back();
  const std::int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  const std::int64_t gh = rows * (h + pad) + pad, gw = cols * (w + pad) + pad;
  const DType dtype = images[0].dtype();
  Tensor grid = empty({c, gh, gw}, dtype);
  dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* g = grid.data_ptr<T>();
    std::fill(g, g + c * gh * gw, static_cast<T>(pad_value));
    for (std::int64_t k = 0; k < n; ++k) {
      EMBER_CHECK(images[static_cast<std::size_t>(k)].sizes() == first && images[static_cast<std::size_t>(k)].dtype() == dtype,
                  "make_grid: image {} has shape {} ({}), image 0 has {} ({})", k,
                  shape_str(images[static_cast<std::size_t>(k)].sizes()),
                  dtype_name(images[static_cast<std::size_t>(k)].dtype()), shape_str(first), dtype_name(dtype));
      const std::vector<T> v = images[static_cast<std::size_t>(k)].template to_vector<T>();
      const std::int64_t y0 = pad + (k / cols) * (h + pad), x0 = pad + (k % cols) * (w + pad);
      for (std::int64_t ch = 0; ch < c; ++ch)
        for (std::int64_t y = 0; y < h; ++y)
          std::copy_n(v.begin() + (ch * h + y) * w, w, g + (ch * gh + y0 + y) * gw + x0);
    }
  });
  return grid;
}

Tensor make_grid(const Tensor& images, std::int64_t nrow, std::int64_t pad, double pad_value) {
  EMBER_CHECK(images.dim() == 4, "make_grid: expected images [N, C, H, W], got {}", shape_str(images.sizes()));
  std::vector<Tensor> list;
  // Views of each image (select is an op, above io; a view is core).
  const Shape& st = images.strides();
  for (std::int64_t i = 0; i < images.size(0); ++i)
    list.push_back(ember::detail::make_view(images, {images.size(1), images.size(2), images.size(3)}, {st[1], st[2], st[3]},
                                     images.storage_offset() + i * st[0]));
  return make_grid(list, nrow, pad, pad_value);
}

}  // namespace ember::io
