// The safetensors reader on arbitrary bytes, both ways in: parse() over
// memory, and load() from a file (which reads tensors into their storage).
// Whatever they return must be readable to the last element.
#include <ember/ember.h>

#include "fuzz_util.h"

namespace {
void touch(const ember::safetensors::File& f) {
  double sum = 0;
  for (const auto& [name, t] : f.tensors)
    if (t.numel() > 0) sum += t.to(ember::DType::Float64).sum().item<double>();
  (void)sum;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ember;
  fuzz::expect_ember_errors_only([&] { touch(safetensors::parse(data, size, "fuzz input")); });
  const fuzz::MemFile file(data, size);
  fuzz::expect_ember_errors_only([&] { touch(safetensors::load(file.path())); });
  return 0;
}
