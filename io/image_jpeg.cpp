// JPEG through libjpeg (Debian's libjpeg-dev is libjpeg-turbo): the decoder
// every distribution ships and patches, SIMD-accelerated, reading baseline,
// progressive, gray, YCbCr and CMYK/YCCK files. Its errors arrive through
// error_exit, which must not return: we longjmp back to decode_jpeg's frame
// (never across a C++ destructor) and throw from there.
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jerror.h>
#include <jpeglib.h>

#include "ember/core/error.h"
#include "ember/io/image_codec.h"

namespace ember::io::detail {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool ours = false;  // message is Ember's own, not libjpeg's
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are ignored, except the one for a file that ends early: libjpeg
// would fill the rest with gray and call it a success.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "truncated JPEG (the data ends before the image does)");
    err->ours = true;
    std::longjmp(err->jump, 1);
  }
}

// A progressive file may hold thousands of tiny scans, each a pass over the
// whole image (a known CPU-exhaustion input); real encoders write about ten.
void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<jpeg_decompress_struct*>(cinfo);
  if (d->is_decompressor && d->input_scan_number > 500) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "corrupt JPEG (more than 500 progressive scans)");
    err->ours = true;
    std::longjmp(err->jump, 1);
  }
}

}  // namespace

DecodedImage decode_jpeg(std::string_view bytes, std::int64_t max_pixels) {
  DecodedImage out;  // declared before setjmp: the jump never skips its destructor
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  jpeg_progress_mgr progress;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    if (err.ours) throw Error(err.message);
    throw Error(std::string("corrupt JPEG (libjpeg: ") + err.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  std::memset(&progress, 0, sizeof progress);
  progress.progress_monitor = on_progress;
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  try {
    check_dimensions(cinfo.image_width, cinfo.image_height, max_pixels, "JPEG");
  } catch (const Error&) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const int n = cinfo.output_components;
  out.width = cinfo.output_width;
  out.height = cinfo.output_height;
  out.channels = cmyk ? 3 : n;
  const std::size_t row = static_cast<std::size_t>(out.width) * static_cast<std::size_t>(n);
  // CMYK rows are decoded into the tail of a buffer wide enough for them and
  // converted in place to RGB (3 of every 4 bytes).
  out.pixels.resize(static_cast<std::size_t>(out.height) * row);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {out.pixels.data() + static_cast<std::size_t>(cinfo.output_scanline) * row};
    jpeg_read_scanlines(&cinfo, rows, 1);
  }
  const bool adobe_inverted = cinfo.saw_Adobe_marker;
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (cmyk) {
    // Adobe writes CMYK inverted (255 = no ink); plain CMYK has 0 = no ink.
    const std::size_t count = static_cast<std::size_t>(out.width * out.height);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint8_t* s = &out.pixels[4 * i];
      int c = s[0], m = s[1], y = s[2], k = s[3];
      if (!adobe_inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
      out.pixels[3 * i + 0] = static_cast<std::uint8_t>((c * k + 127) / 255);
      out.pixels[3 * i + 1] = static_cast<std::uint8_t>((m * k + 127) / 255);
      out.pixels[3 * i + 2] = static_cast<std::uint8_t>((y * k + 127) / 255);
    }
    out.pixels.resize(count * 3);
  }
  return out;
}

}  // namespace ember::io::detail
