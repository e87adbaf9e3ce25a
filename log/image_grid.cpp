#include "ember/log/image_grid.h"

#include <algorithm>
#include <cmath>

#include "ember/core/error.h"
#include "ember/core/factory.h"

namespace ember::logging {

Pixels to_pixels(const Tensor& img, const std::string& dataformats) {
  EMBER_CHECK(dataformats == "CHW" || dataformats == "HWC" || dataformats == "HW",
              "add_image: dataformats must be CHW, HWC or HW, got \"{}\"", dataformats);
  EMBER_CHECK(img.dim() == static_cast<std::int64_t>(dataformats.size()),
              "add_image: a {} image needs {} dims, got shape {}", dataformats, dataformats.size(), shape_str(img.sizes()));
  const bool chw = dataformats == "CHW", hw = dataformats == "HW";
  const std::int64_t c = hw ? 1 : chw ? img.size(0) : img.size(2);
  const std::int64_t h = chw ? img.size(1) : img.size(0);
  const std::int64_t w = chw ? img.size(2) : img.size(1);
  EMBER_CHECK(c == 1 || c == 3 || c == 4, "add_image: {} channels in shape {} ({}); expected 1, 3 or 4", c,
              shape_str(img.sizes()), dataformats);
  EMBER_CHECK(h > 0 && w > 0 && h <= 65535 && w <= 65535, "add_image: image of {}x{} pixels (shape {})", h, w,
              shape_str(img.sizes()));
  const bool bytes = img.dtype() == DType::UInt8;
  EMBER_CHECK(bytes || img.dtype() == DType::Float32 || img.dtype() == DType::Float64,
              "add_image: dtype {} (uint8, float32 or float64 expected)", dtype_name(img.dtype()));
  const std::vector<double> v = img.to_vector<double>();
  Pixels px{static_cast<int>(h), static_cast<int>(w), static_cast<int>(c), {}};
  px.data.resize(static_cast<std::size_t>(h * w * c));
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k) {
        const std::int64_t src = chw ? (k * h + y) * w + x : (y * w + x) * c + k;
        double value = v[static_cast<std::size_t>(src)];
        if (!bytes) value = std::isnan(value) ? 0.0 : std::round(std::clamp(value, 0.0, 1.0) * 255.0);
        px.data[static_cast<std::size_t>((y * w + x) * c + k)] = static_cast<std::uint8_t>(std::clamp(value, 0.0, 255.0));
      }
  return px;
}

}  // namespace ember::logging
