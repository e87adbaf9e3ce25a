// digit_server's POST /predict body: JSON pixels or an image upload, as the
// server parses it (examples/digit_request.h), then mnist_style.
#include <string_view>

#include "../../examples/digit_request.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ember;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const char* type : {"application/json", "image/png"})
    fuzz::expect_ember_errors_only([&] { data::mnist_style(examples::parse_predict_body(type, body)); });
  return 0;
}
