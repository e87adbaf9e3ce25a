// The IDX readers on gzip-compressed arbitrary bytes: the fuzzer's bytes are
// the decompressed file, so it explores IDX headers behind a valid gzip
// stream (the path that inflates while it checks the header's claims).
#include <zlib.h>

#include <vector>

#include <ember/data/idx.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ember;
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;  // 15 + 16: gzip framing
  std::vector<std::uint8_t> gz(deflateBound(&zs, size) + 32);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = gz.data();
  zs.avail_out = static_cast<uInt>(gz.size());
  const int rc = deflate(&zs, Z_FINISH);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return 0;
  const fuzz::MemFile file(gz.data(), gz.size());
  fuzz::expect_ember_errors_only([&] { data::read_idx(file.path()); });
  fuzz::expect_ember_errors_only([&] { data::read_mnist_images(file.path()); });
  return 0;
}
