// The IDX readers on arbitrary bytes: raw files, and gzip streams too (the
// reader detects them by their magic bytes, so inputs that start with 1f 8b
// exercise the inflater; the corpus has both).
#include <ember/data/idx.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ember;
  const fuzz::MemFile file(data, size);
  fuzz::expect_ember_errors_only([&] { data::read_idx(file.path()); });
  fuzz::expect_ember_errors_only([&] { data::read_mnist_images(file.path()); });
  fuzz::expect_ember_errors_only([&] { data::read_mnist_labels(file.path()); });
  return 0;
}
