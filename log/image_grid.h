#pragma once
/// Images for add_image: a tensor in any of PyTorch's layouts as 8-bit pixels.
/// (io::make_grid tiles many images into one.)
#include <cstdint>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::logging {

/// 8-bit pixels, row-major, `channels` interleaved (HWC).
struct Pixels {
  int height = 0, width = 0, channels = 0;
  std::vector<std::uint8_t> data;
};

/// `img` laid out as `dataformats` ("CHW", "HWC" or "HW"; C = 1, 3 or 4) as 8-bit pixels:
/// uint8 as is, floating values times 255, rounded and clamped to 0-255 (NaN as 0),
/// as torch.utils.tensorboard's add_image does. ember::Error names the shape at fault.
Pixels to_pixels(const Tensor& img, const std::string& dataformats);

}  // namespace ember::logging
