// Image decoding (PNG, JPEG, PGM/PPM, sniffed from the bytes) and then the
// MNIST-style preparation of whatever decoded: bad bytes give ember::Error.
#include <string_view>

#include <ember/data/mnist_style.h>
#include <ember/io/image.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ember;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz::expect_ember_errors_only([&] {
    // A smaller pixel limit than the default keeps each run fast under ASan.
    const Tensor img = io::decode_image(bytes, io::ImageReadOptions().max_pixels(1 << 20), "fuzz");
    data::mnist_style(img);
  });
  fuzz::expect_ember_errors_only([&] {
    io::decode_image(bytes, io::ImageReadOptions().mode(io::ImageMode::RGBA).max_pixels(1 << 20), "fuzz");
  });
  return 0;
}
