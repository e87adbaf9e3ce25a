#pragma once
// Inside io/: what each format's decoder returns, before read_image converts the
// channels to the mode asked for. Not installed as API; the decoders share it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/io/image.h"

namespace ember::io::detail {

/// 8-bit samples, row-major, channels interleaved: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
struct DecodedImage {
  std::int64_t width = 0, height = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  // height * width * channels
};

/// Throws unless 0 < width, height and width * height <= max_pixels; `what` names
/// the format ("PNG"). Each decoder calls it before it allocates pixel memory.
void check_dimensions(std::int64_t width, std::int64_t height, std::int64_t max_pixels, std::string_view what);

// The decoders: `bytes` is the whole file. Errors are ember::Error without the
// "read_image: <name>: " prefix, which decode_image adds.
DecodedImage decode_png(std::string_view bytes, std::int64_t max_pixels);
DecodedImage decode_jpeg(std::string_view bytes, std::int64_t max_pixels);
DecodedImage decode_pnm(std::string_view bytes, std::int64_t max_pixels);

}  // namespace ember::io::detail
