// PNG through libpng's simplified API (png_image_*). Why libpng: it is the
// reference decoder, Debian keeps it patched (libstb-dev's stb_image 2.27 lacks
// the 2023 fixes), and its simplified API expands every variant -- palette,
// tRNS, gray+alpha, 16-bit, Adam7 interlacing -- into plain 8-bit samples
// without setjmp/longjmp crossing our C++ frames (it catches its own errors and
// returns a message).
#include <png.h>

#include <cstring>

#include "ember/core/error.h"
#include "ember/io/image_codec.h"

namespace ember::io::detail {
namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// The format libpng should give: the file's own channels, 8 bits each.
png_uint_32 native_format(png_uint_32 format, int* channels) {
  const bool color = (format & PNG_FORMAT_FLAG_COLOR) != 0, alpha = (format & PNG_FORMAT_FLAG_ALPHA) != 0;
  *channels = (color ? 3 : 1) + (alpha ? 1 : 0);
  return (color ? PNG_FORMAT_FLAG_COLOR : 0u) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0u);
}

std::string libpng_message(const png_image& image) {
  const std::string msg(image.message, strnlen(image.message, sizeof image.message));
  if (msg.find("end of data") != std::string::npos || msg.find("Not enough image data") != std::string::npos ||
      msg.find("unexpected end") != std::string::npos)
    return "truncated PNG (libpng: " + msg + ")";
  return "corrupt PNG (libpng: " + msg + ")";
}

}  // namespace

DecodedImage decode_png(std::string_view bytes, std::int64_t max_pixels) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  // Signature, IHDR length and type, width, height: read here so that a zero or
  // absurd size is named as such, before libpng allocates anything.
  EMBER_CHECK(bytes.size() >= 24, "truncated PNG ({} bytes, the header needs 24)", bytes.size());
  EMBER_CHECK(std::memcmp(p + 12, "IHDR", 4) == 0, "corrupt PNG (the first chunk is not IHDR)");
  check_dimensions(be32(p + 16), be32(p + 20), max_pixels, "PNG");

  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) throw Error(libpng_message(image));
  // A 16-bit file without gAMA/sRGB is taken as sRGB-encoded (scaled to 8 bits),
  // as image viewers and PIL take it, not as linear light (libpng's default).
  // finish_read consults the flag.
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  DecodedImage out;
  try {
    check_dimensions(image.width, image.height, max_pixels, "PNG");
    image.format = native_format(image.format, &out.channels);
    out.width = image.width;
    out.height = image.height;
    out.pixels.resize(PNG_IMAGE_SIZE(image));
  } catch (...) {
    png_image_free(&image);
    throw;
  }
  // finish_read frees the decoder's memory whether it succeeds or not.
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) throw Error(libpng_message(image));
  return out;
}

}  // namespace ember::io::detail
