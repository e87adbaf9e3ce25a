// PNG through libpng's progressive reader. Why libpng: it is the reference
// decoder, and Debian keeps it patched (libstb-dev's stb_image 2.27 lacks the
// 2023 fixes). Why the progressive reader rather than the simplified API
// (png_image_*): the simplified API allocates the whole image before it has seen
// any data, and after the last row it inflates whatever the IDAT stream still
// holds (gigabytes for a few MB of zeros). Here the file is checked to hold
// enough compressed data for its rows before anything is allocated, the rows go
// straight into the output (8-bit samples, the file's own channels), and the
// reader stops at the last row. libpng's setjmp/longjmp stays inside
// run_decoder(), whose frame holds no C++ objects with destructors.
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>

#include "ember/core/error.h"
#include "ember/io/image_codec.h"

namespace ember::io::detail {
namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// deflate cannot expand more than 1032:1 (a 258-byte match costs at least 2 bits);
// the slack covers the zlib header and a final partial block.
constexpr std::int64_t kMaxInflateRatio = 1032, kInflateSlack = 1024;

// The smallest number of bytes the IDAT stream of this header must inflate to
// (filter bytes left out, so it holds for interlaced files too), against what the
// file's IDAT chunks hold. Chunks that run past the end are counted as far as
// they go. Returns whether the file's chunks run whole up to IEND: the decoder
// stops at the last row, and a file cut after it is still a truncated file.
bool check_idat_can_fill(std::string_view bytes, std::int64_t width, std::int64_t height) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const int depth = p[24], color = p[25];
  const int samples = color == 2 ? 3 : color == 4 ? 2 : color == 6 ? 4 : 1;  // 0 gray, 3 palette
  const std::int64_t row_bits = width * samples * depth;  // < 2^31 * 4 * 16: fits
  const std::int64_t need = height * ((row_bits + 7) / 8);
  std::int64_t idat = 0;
  bool whole = false;
  for (std::size_t at = 8; at + 8 <= bytes.size();) {
    const std::uint32_t len = be32(p + at);
    const bool is_idat = std::memcmp(p + at + 4, "IDAT", 4) == 0;
    const std::size_t avail = bytes.size() - (at + 8);
    if (is_idat) idat += static_cast<std::int64_t>(std::min<std::size_t>(len, avail));
    if (std::size_t{len} + 4 > avail) break;
    if (std::memcmp(p + at + 4, "IEND", 4) == 0) {
      whole = true;
      break;
    }
    at += 8 + std::size_t{len} + 4;
  }
  EMBER_CHECK(need / kMaxInflateRatio <= idat + kInflateSlack,
              "truncated PNG (its IDAT chunks hold {} bytes, which cannot inflate to the {} bytes of a {}x{} image)",
              idat, need, width, height);
  return whole;
}

struct Reader {
  DecodedImage* out = nullptr;
  std::int64_t rows_done = 0;  // rows complete (for an interlaced file: rows of its last pass)
  bool finished = false;       // every row of every pass is in
  bool interlaced = false;
  int last_pass = 0;           // interlaced: the last Adam7 pass holding pixels, and its last row
  png_uint_32 last_row = 0;
  char message[200] = {};      // why a callback stopped the decoder
};

Reader* reader_of(png_structp png) { return static_cast<Reader*>(png_get_progressive_ptr(png)); }

void on_error(png_structp png, png_const_charp msg) {
  auto* r = reader_of(png);
  if (r->message[0] == 0) std::snprintf(r->message, sizeof r->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // libpng's default prints to stderr

void on_info(png_structp png, png_infop info) {
  auto* r = reader_of(png);
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, nullptr, nullptr);
  // The file's own channels, 8 bits each: palette to RGB, tRNS to alpha, low
  // bit depths to 8. A 16-bit sample is taken as sRGB-encoded and scaled to 8
  // bits (as image viewers and PIL take it); no gamma is applied.
  png_set_expand(png);
  png_set_scale_16(png);
  r->interlaced = interlace != PNG_INTERLACE_NONE;
  if (r->interlaced) {
    png_set_interlace_handling(png);
    // Adam7 pass p starts at column x0[p], row y0[p] and steps dy[p] rows; a
    // pass is empty when the image is narrower or shorter than its start.
    static const png_uint_32 x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    for (int k = 0; k < 7; ++k)
      if (w > x0[k] && h > y0[k]) r->last_pass = k, r->last_row = y0[k] + (h - 1 - y0[k]) / dy[k] * dy[k];
  }
  png_read_update_info(png, info);
  const int channels = png_get_channels(png, info);
  if (png_get_rowbytes(png, info) != std::size_t{w} * static_cast<std::size_t>(channels)) {
    std::snprintf(r->message, sizeof r->message, "unexpected row size after expansion");
    png_longjmp(png, 1);
  }
  r->out->width = w;
  r->out->height = h;
  r->out->channels = channels;
  bool allocated = true;
  try {
    r->out->pixels.assign(std::size_t{w} * h * static_cast<std::size_t>(channels), 0);
  } catch (const std::bad_alloc&) {
    allocated = false;
  }
  if (!allocated) {
    std::snprintf(r->message, sizeof r->message, "out of memory for %ux%u pixels", w, h);
    png_longjmp(png, 1);
  }
}

void on_row(png_structp png, png_bytep row, png_uint_32 y, int pass) {
  auto* r = reader_of(png);
  if (row == nullptr || y >= r->out->height) return;
  png_bytep dst = r->out->pixels.data() + std::size_t{y} * static_cast<std::size_t>(r->out->width * r->out->channels);
  // Interlaced passes fill in pixels of rows already begun; combine keeps them.
  if (r->interlaced) png_progressive_combine_row(png, dst, row);
  else std::memcpy(dst, row, static_cast<std::size_t>(r->out->width * r->out->channels));
  if (!r->interlaced) {
    r->rows_done = y + 1;
    r->finished = r->rows_done == r->out->height;
  } else if (pass == r->last_pass) {
    r->rows_done = y + 1;
    r->finished = y == r->last_row;
  }
}

void on_end(png_structp png, png_infop) { reader_of(png)->finished = true; }

// Feeds the file in small pieces and stops as soon as the last row is in, so
// data after it costs nothing. Returns false with r->message set on an error.
bool run_decoder(png_structp png, png_infop info, Reader* r, std::string_view bytes) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_progressive_read_fn(png, r, on_info, on_row, on_end);
  constexpr std::size_t kPiece = 4096;
  auto* data = reinterpret_cast<png_bytep>(const_cast<char*>(bytes.data()));
  for (std::size_t at = 0; at < bytes.size() && !r->finished; at += kPiece)
    png_process_data(png, info, data + at, std::min(kPiece, bytes.size() - at));
  return true;
}

}  // namespace

DecodedImage decode_png(std::string_view bytes, std::int64_t max_pixels) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  // Signature, IHDR length and type, width, height: read here so that a zero or
  // absurd size is named as such, before libpng allocates anything.
  EMBER_CHECK(bytes.size() >= 24, "truncated PNG ({} bytes, the header needs 24)", bytes.size());
  EMBER_CHECK(std::memcmp(p + 12, "IHDR", 4) == 0, "corrupt PNG (the first chunk is not IHDR)");
  const std::int64_t width = be32(p + 16), height = be32(p + 20);
  check_dimensions(width, height, max_pixels, "PNG");
  EMBER_CHECK(bytes.size() >= 33, "truncated PNG ({} bytes, the IHDR chunk needs 33)", bytes.size());
  const bool whole = check_idat_can_fill(bytes, width, height);

  DecodedImage out;
  Reader r;
  r.out = &out;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, on_error, on_warning);
  EMBER_CHECK(png != nullptr, "PNG: libpng could not start");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw Error("PNG: libpng could not start");
  }
  // The error callback finds the Reader through the progressive pointer, which
  // run_decoder sets first; a libpng error before that cannot happen.
  const bool ok = run_decoder(png, info, &r, bytes);
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) {
    const std::string msg = r.message;
    if (msg.find("out of memory") != std::string::npos) throw Error("PNG: " + msg);
    throw Error("corrupt PNG (libpng: " + msg + ")");
  }
  if (!r.finished) {
    if (out.pixels.empty()) throw Error("truncated PNG (the data ends before the image does)");
    throw Error(fmt::format("truncated PNG (the data ends after row {} of {})", r.rows_done, height));
  }
  EMBER_CHECK(whole, "truncated PNG (the file ends before its IEND chunk)");
  return out;
}

}  // namespace ember::io::detail
