// einsum's equation parser (issue 10 part B) on arbitrary bytes: the first
// bytes give the operands' shapes (count, then each rank and its sizes, all
// small), the rest is the equation. Any equation, valid or not, against any
// shapes gives a result or an ember::Error, never a crash or another exception.
#include <algorithm>

#include <ember/ember.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ember;
  std::size_t pos = 0;
  auto next = [&](int mod) { return pos < size ? static_cast<int>(data[pos++] % mod) : 0; };
  const int operands = 1 + next(3);
  TensorList xs;
  for (int i = 0; i < operands; ++i) {
    const int rank = next(5);
    Shape shape;
    for (int d = 0; d < rank; ++d) shape.push_back(next(4));
    xs.push_back(ones(shape, DType::Float64));
  }
  const std::size_t rest = pos < size ? size - pos : 0;
  const std::string equation(reinterpret_cast<const char*>(data) + pos, std::min<std::size_t>(rest, 64));
  fuzz::expect_ember_errors_only([&] { einsum(equation, xs); });
  return 0;
}
