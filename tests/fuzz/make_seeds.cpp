// Writes the seed corpus of each fuzz target into corpus/<target>/ (run from
// tests/fuzz, or give the corpus folder): small valid files of every kind the
// readers accept, and a few classic near-misses. Made with Ember itself where
// Ember writes the format (safetensors, checkpoints), by hand for IDX.
//   build/fuzz/tests/fuzz/ember_fuzz_make_seeds tests/fuzz/corpus
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ember/ember.h>

#include "checkpoint_net.h"

namespace fs = std::filesystem;
using namespace ember;
using Bytes = std::vector<std::uint8_t>;

namespace {

void write(const fs::path& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// An IDX file of uint8 with the given dims and a counting payload.
Bytes idx(std::vector<std::uint32_t> dims, std::size_t payload) {
  Bytes b{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  for (std::size_t i = 0; i < payload; ++i) b.push_back(static_cast<std::uint8_t>(i % 10));
  return b;
}

// An MNIST file: magic 2051 (images, N x 28 x 28) or 2049 (labels, N).
Bytes mnist(bool images, std::uint32_t n) {
  Bytes b = images ? idx({n, 28, 28}, n * 784) : idx({n}, n);
  return b;
}

Bytes gzip(const Bytes& raw) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A checkpoint of CheckpointNet after two steps of `Opt`, as the fuzz target loads it.
template <class Opt, class Options>
void checkpoint(const fs::path& p, const Options& options) {
  manual_seed(1);
  fuzz::CheckpointNet net;
  Opt opt(net.parameters(), options);
  for (int i = 0; i < 2; ++i) {
    opt.zero_grad();
    net.forward(ones({4, 3})).sum().backward();
    opt.step();
  }
  optim::save_checkpoint(p.string(), net, opt, {{"epoch", "2"}});
}

// A PNG chunk: length, type, data, CRC-32 of type and data.
void put_chunk(Bytes& out, const char* type, const Bytes& data) {
  auto put32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
  };
  put32(static_cast<std::uint32_t>(data.size()));
  Bytes body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  put32(static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
}

// A PNG whose IHDR claims w x h (depth, colour type, interlace) over `raw` bytes
// of filtered rows, compressed whole -- the raw data need not fill the claim.
Bytes png_claim(std::uint32_t w, std::uint32_t h, int depth, int color, int interlace, const Bytes& raw) {
  Bytes out{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, ihdr;
  for (std::uint32_t v : {w, h})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<std::uint8_t>(v >> s));
  ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(depth), static_cast<std::uint8_t>(color), 0, 0,
                           static_cast<std::uint8_t>(interlace)});
  put_chunk(out, "IHDR", ihdr);
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  Bytes z(n);
  compress2(z.data(), &n, raw.data(), static_cast<uLong>(raw.size()), 9);
  z.resize(n);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", {});
  return out;
}

// PNG size claims: far more pixels than the data holds, long thin strips with a
// little ink, 16-bit RGBA, rows followed by data past the last one, tiny Adam7.
void png_claims(const fs::path& dir) {
  auto rows = [](std::size_t n, std::size_t row_bytes, std::uint8_t v) {
    Bytes b;
    for (std::size_t y = 0; y < n; ++y) {
      b.push_back(0);
      b.insert(b.end(), row_bytes, v);
    }
    return b;
  };
  write(dir / "claim_11000x11000_rgba.png", png_claim(11000, 11000, 8, 6, 0, Bytes(100, 0)));
  write(dir / "claim_65535x65535_interlaced.png", png_claim(65535, 65535, 8, 0, 1, Bytes(64, 0)));
  Bytes strip = rows(64, 16384, 255);
  strip[32 * 16385 + 2] = strip[32 * 16385 + 16383] = 0;
  write(dir / "strip_16384x64.png", png_claim(16384, 64, 8, 0, 0, strip));
  Bytes tall = rows(16384, 64, 255);
  tall[100 * 65 + 10] = tall[16000 * 65 + 10] = 0;
  write(dir / "strip_64x16384.png", png_claim(64, 16384, 8, 0, 0, tall));
  write(dir / "rgba16_512x512.png", png_claim(512, 512, 16, 6, 0, rows(512, 512 * 8, 0x80)));
  Bytes tail = rows(28, 28, 0x40);
  tail.resize(tail.size() + (1 << 16), 0);
  write(dir / "tail_after_last_row.png", png_claim(28, 28, 8, 0, 0, tail));
  write(dir / "adam7_1x1.png", png_claim(1, 1, 8, 2, 1, Bytes{0, 10, 20, 30}));
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path root = argc > 1 ? argv[1] : "corpus";
  for (const char* t : {"idx", "idx_gzip", "safetensors", "checkpoint", "image"}) fs::create_directories(root / t);
  png_claims(root / "image");

  // IDX: raw files for fuzz_idx, their decompressed bytes for fuzz_idx_gzip
  // (which compresses its input), and gzip files for fuzz_idx too.
  const std::vector<std::pair<std::string, Bytes>> idx_seeds = {
      {"images3", mnist(true, 3)},        {"labels5", mnist(false, 5)},    {"dims1", idx({7}, 7)},
      {"dims4", idx({2, 1, 3, 2}, 12)},   {"empty0", idx({0, 28, 28}, 0)}, {"truncated", idx({4, 28, 28}, 100)},
      {"overflow", idx({0, 0xffffffffu, 0xffffffffu}, 0)}};
  for (const auto& [name, bytes] : idx_seeds) {
    write(root / "idx" / name, bytes);
    write(root / "idx" / (name + ".gz"), gzip(bytes));
    write(root / "idx_gzip" / name, bytes);
  }

  // safetensors: every dtype Ember reads, metadata, an empty file's worth.
  const fs::path st = root / "safetensors";
  safetensors::save((st / "f32").string(), {{"w", randn({2, 3})}, {"b", zeros({3})}}, {{"arch", "3-2"}});
  safetensors::save((st / "mixed").string(),
                    {{"d", arange(0.0, 4.0, 1.0, DType::Float64)}, {"i", arange(5)}, {"u", zeros({2, 2}, DType::UInt8)},
                     {"s", scalar_tensor(1.5)}});
  safetensors::save((st / "none").string(), {});

  // Checkpoints for each optimizer the target loads, plus one as a plain
  // safetensors seed.
  const fs::path ck = root / "checkpoint";
  fuzz::for_each_optimizer([&](auto opt, const char* name, const auto& options) {
    checkpoint<typename decltype(opt)::type>(ck / name, options);
  });
  write(st / "checkpoint_adam", read(ck / "adam"));
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
