#pragma once
/// Image files in and out, as uint8 tensors shaped [C, H, W] (torchvision.io's
/// convention): read PNG (libpng), JPEG (libjpeg-turbo) and PGM/PPM (P2, P3, P5,
/// P6); write PNG. The format is told by the file's first bytes, not its name.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/options.h"
#include "ember/core/tensor.h"

namespace ember::io {

/// The channels read_image returns.
enum class ImageMode {
  Auto,  ///< 1 channel for a gray file, 3 for a colour one; alpha composited on white
  Gray,  ///< 1 channel; colour converted to luma, alpha composited on white
  RGB,   ///< 3 channels; alpha composited on white
  RGBA,  ///< 4 channels; alpha kept (255 where the file has none)
};

/// Options of read_image / decode_image.
struct ImageReadOptions {
  EMBER_OPTION(ImageReadOptions, ImageMode, mode, ImageMode::Auto)
  /// Images with more pixels (width x height) are refused before any pixel memory
  /// is allocated. The default admits a 100-megapixel photo.
  EMBER_OPTION(ImageReadOptions, std::int64_t, max_pixels, std::int64_t{1} << 27)
};

/// Reads an image file into a uint8 tensor [C, H, W]. 8-bit and 16-bit samples
/// (16-bit are scaled to 8), gray, gray+alpha, RGB, RGBA, palette, interlaced.
/// Errors (ember::Error) start "read_image: <path>: ".
Tensor read_image(const std::string& path, const ImageReadOptions& options = {});

/// As read_image, from bytes in memory (an upload); `name` stands for the file in errors.
Tensor decode_image(std::string_view bytes, const ImageReadOptions& options = {},
                    std::string_view name = "<memory>");

/// Encodes an image as an 8-bit PNG. `image`: [C, H, W] with C = 1 (gray), 2 (gray +
/// alpha), 3 (RGB) or 4 (RGBA), or [H, W]; uint8 as it is, floating values in [0, 1]
/// (clamped, x 255, rounded), as torchvision's save_image takes them.
std::string encode_png(const Tensor& image);

/// Writes encode_png(image) to `path` atomically (io/atomic_file.h): readers see the
/// old file or the new one, never a part.
void write_png(const std::string& path, const Tensor& image);

/// Tiles images [N, C, H, W] (or a list of [C, H, W] / [H, W] of one shape) into one
/// [C, rows*(H+pad)+pad, nrow*(W+pad)+pad] grid, `nrow` images a row, `pad` pixels of
/// `pad_value` between them (torchvision.utils.make_grid). The dtype is kept.
Tensor make_grid(const Tensor& images, std::int64_t nrow = 8, std::int64_t pad = 2, double pad_value = 0.0);
Tensor make_grid(const std::vector<Tensor>& images, std::int64_t nrow = 8, std::int64_t pad = 2,
                 double pad_value = 0.0);

}  // namespace ember::io
