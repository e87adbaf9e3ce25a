// IDX reading. The header is parsed from the bytes actually present, and the
// size it declares is compared with the file's length (raw), or with the cap and
// the compressed length (gzip), before any tensor is allocated, so a lying header
// can cost at most a clear error and the memory of a tensor of the size it claims.
#include "ember/data/idx.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "ember/data/gzip.h"

namespace ember::data {
namespace {

constexpr std::uint32_t kImagesMagic = 2051;  // 0x00000803: uint8, 3 dims
constexpr std::uint32_t kLabelsMagic = 2049;  // 0x00000801: uint8, 1 dim
constexpr std::uint8_t kTypeUInt8 = 0x08;
constexpr std::size_t kMaxHeaderBytes = 4 + 4 * 4;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// What a caller expects of the file: the op name for messages, and for MNIST the magic.
struct Expect {
  const char* op;
  std::optional<std::uint32_t> magic;
  const char* kind = "";  // "images" or "labels"
  const char* file = "the file";  // "the decompressed file" for gzip
};

struct Header {
  std::uint8_t type = 0;
  std::vector<std::uint32_t> dims;
  std::size_t bytes = 0;  // header length
};

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

const char* type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return nullptr;
  }
}

std::string dims_str(const std::vector<std::uint32_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

File open_file(const std::string& path, const char* op) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  EMBER_CHECK(!ec && std::filesystem::exists(st), "{}: {}: cannot open: {}", op, path,
              ec ? ec.message() : std::string("no such file"));
  EMBER_CHECK(std::filesystem::is_regular_file(st), "{}: {}: not a regular file", op, path);
  File f(std::fopen(path.c_str(), "rb"));
  EMBER_CHECK(f != nullptr, "{}: {}: cannot open: {}", op, path, std::strerror(errno));
  return f;
}

std::uint64_t file_length(std::FILE* f, const std::string& path, const char* op) {
  EMBER_CHECK(std::fseek(f, 0, SEEK_END) == 0, "{}: {}: cannot seek: {}", op, path, std::strerror(errno));
  const long n = std::ftell(f);
  EMBER_CHECK(n >= 0, "{}: {}: cannot tell the file length: {}", op, path, std::strerror(errno));
  EMBER_CHECK(std::fseek(f, 0, SEEK_SET) == 0, "{}: {}: cannot seek: {}", op, path, std::strerror(errno));
  return static_cast<std::uint64_t>(n);
}

// Parses the header from the first n bytes of the (decompressed) file.
Header parse_header(const std::uint8_t* p, std::uint64_t n, const std::string& path, const Expect& ex) {
  EMBER_CHECK(n >= 4, "{}: {}: truncated header: {} has {} bytes, an IDX header needs at least 4", ex.op,
              path, ex.file, n);
  if (ex.magic) {
    const std::uint32_t m = be32(p);
    EMBER_CHECK(m == *ex.magic, "{}: {}: magic number {} (0x{:08x}), expected {} (0x{:08x}) for MNIST {}", ex.op,
                path, m, m, *ex.magic, *ex.magic, ex.kind);
  }
  EMBER_CHECK(p[0] == 0 && p[1] == 0,
              "{}: {}: not an IDX file: the first two bytes are 0x{:02x} 0x{:02x}, expected 0x00 0x00", ex.op, path,
              p[0], p[1]);
  Header h;
  h.type = p[2];
  if (h.type != kTypeUInt8) {
    const char* name = type_name(h.type);
    EMBER_CHECK(name != nullptr, "{}: {}: unknown IDX type code 0x{:02x}", ex.op, path, h.type);
    throw Error(fmt::format("{}: {}: IDX type code 0x{:02x} ({}) is not supported; only 0x08 (unsigned byte) is",
                            ex.op, path, h.type, name));
  }
  const std::size_t nd = p[3];
  EMBER_CHECK(nd >= 1 && nd <= 4, "{}: {}: the header declares {} dimensions, expected 1 to 4", ex.op, path, nd);
  h.bytes = 4 + 4 * nd;
  EMBER_CHECK(n >= h.bytes, "{}: {}: truncated header: {} dimensions need {} header bytes, {} has {}", ex.op,
              path, nd, h.bytes, ex.file, n);
  for (std::size_t d = 0; d < nd; ++d) h.dims.push_back(be32(p + 4 + 4 * d));
  return h;
}

// The data bytes the dims declare (their product). Refuses dims whose product, with
// zeros counted as ones, does not fit an int64: it bounds every stride of the tensor,
// so it must fit even when a zero dim makes the tensor empty (and its data 0 bytes).
std::uint64_t declared_bytes(const Header& h, const std::string& path, const Expect& ex) {
  std::int64_t bound = 1;
  std::uint64_t count = 1;
  for (std::uint32_t d : h.dims) {
    EMBER_CHECK(!__builtin_mul_overflow(bound, std::max<std::int64_t>(d, 1), &bound),
                "{}: {}: the header declares dims {}, whose product overflows a 64-bit size (no tensor can have "
                "them)",
                ex.op, path, dims_str(h.dims));
    count *= d;  // at most bound
  }
  return count;
}

// Checks that header + product(dims) is exactly the file length; returns the data length.
std::uint64_t check_length(const Header& h, std::uint64_t length, const std::string& path, const Expect& ex) {
  const std::uint64_t data = declared_bytes(h, path, ex);
  const std::uint64_t have = length - h.bytes;
  EMBER_CHECK(data <= have,
              "{}: {}: the header declares dims {}: expected {} bytes ({}-byte header + {} data), but {} has {} bytes",
              ex.op, path, dims_str(h.dims), h.bytes + data, h.bytes, data, ex.file, length);
  EMBER_CHECK(data == have,
              "{}: {}: the header declares dims {}: expected {} bytes ({}-byte header + {} data), but {} has {} "
              "bytes ({} trailing)",
              ex.op, path, dims_str(h.dims), h.bytes + data, h.bytes, data, ex.file, length, have - data);
  return data;
}

Shape shape_of(const Header& h) {
  Shape s;
  for (std::uint32_t d : h.dims) s.push_back(static_cast<std::int64_t>(d));
  return s;
}

struct Idx {
  Header header;
  Tensor data;
};

// Deflate compresses at most about 1032:1 (a 258-byte match coded in one bit, plus
// block overhead), so a header claiming more bytes than that per compressed byte lies.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// Bytes inflated past the declared end to tell a few trailing bytes from a bomb.
constexpr std::size_t kTrailingProbe = std::size_t{1} << 16;

// A gzipped IDX file, decompressed as it is read: the header first; the size it claims
// checked against the cap and against what `compressed` bytes can hold; then the data
// straight into the tensor, and a little more to make sure the stream ends there. So a
// file costs the memory its header claims, and a lie is found without inflating it all.
Idx read_gzip(std::FILE* f, std::uint64_t compressed, const std::string& path, const Expect& ex) {
  Expect gz = ex;
  gz.file = "the decompressed file";
  detail::GzipReader in(f, path, ex.op);
  std::uint8_t head[kMaxHeaderBytes];
  std::size_t n_head = in.read(head, 4);
  if (n_head == 4 && head[3] >= 1 && head[3] <= 4) n_head += in.read(head + 4, 4 * std::size_t{head[3]});
  Idx r;
  r.header = parse_header(head, n_head, path, gz);
  const Header& h = r.header;
  const std::uint64_t data = declared_bytes(h, path, gz);
  EMBER_CHECK(h.bytes + data <= kMaxGunzipBytes,
              "{}: {}: the header declares dims {}: {} bytes ({}-byte header + {} data), more than the {} bytes a "
              "gzip IDX file may decompress to",
              ex.op, path, dims_str(h.dims), h.bytes + data, h.bytes, data, kMaxGunzipBytes);
  EMBER_CHECK(data <= compressed * kMaxDeflateRatio,
              "{}: {}: the header declares dims {}: {} data bytes, but a gzip file of {} bytes decompresses to at "
              "most {} (deflate compresses at most {}:1)",
              ex.op, path, dims_str(h.dims), data, compressed, compressed * kMaxDeflateRatio, kMaxDeflateRatio);

  r.data = empty(shape_of(h), DType::UInt8);
  const std::size_t got = data ? in.read(r.data.raw_data(), data) : 0;
  EMBER_CHECK(got == data,
              "{}: {}: the header declares dims {}: expected {} bytes ({}-byte header + {} data), but the "
              "decompressed file has {} bytes",
              ex.op, path, dims_str(h.dims), h.bytes + data, h.bytes, data, h.bytes + got);
  std::vector<std::uint8_t> probe(kTrailingProbe);
  const std::size_t extra = in.read(probe.data(), probe.size());
  if (extra > 0 && extra < probe.size())
    throw Error(fmt::format("{}: {}: the decompressed file holds more data than the header says: dims {} need {} "
                            "bytes ({}-byte header + {} data), but it has {} bytes ({} trailing)",
                            ex.op, path, dims_str(h.dims), h.bytes + data, h.bytes, data, h.bytes + data + extra,
                            extra));
  EMBER_CHECK(extra == 0,
              "{}: {}: the decompressed file holds more data than the header says: dims {} need {} bytes "
              "({}-byte header + {} data), and it goes on past {} (refused without inflating the rest)",
              ex.op, path, dims_str(h.dims), h.bytes + data, h.bytes, data, h.bytes + data + extra);
  return r;
}

Idx read_impl(const std::string& path, const Expect& ex) {
  File f = open_file(path, ex.op);
  const std::uint64_t length = file_length(f.get(), path, ex.op);
  std::uint8_t head[kMaxHeaderBytes];
  const std::size_t n_head = std::fread(head, 1, std::min<std::uint64_t>(length, sizeof head), f.get());
  EMBER_CHECK(!std::ferror(f.get()), "{}: {}: read error: {}", ex.op, path, std::strerror(errno));

  if (n_head >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    EMBER_CHECK(std::fseek(f.get(), 0, SEEK_SET) == 0, "{}: {}: cannot seek: {}", ex.op, path, std::strerror(errno));
    return read_gzip(f.get(), length, path, ex);
  }
  Idx r;
  r.header = parse_header(head, n_head, path, ex);
  const std::uint64_t n = check_length(r.header, length, path, ex);
  r.data = empty(shape_of(r.header), DType::UInt8);
  EMBER_CHECK(std::fseek(f.get(), static_cast<long>(r.header.bytes), SEEK_SET) == 0, "{}: {}: cannot seek: {}",
              ex.op, path, std::strerror(errno));
  const std::size_t got = std::fread(r.data.raw_data(), 1, n, f.get());
  EMBER_CHECK(got == n, "{}: {}: read {} of {} data bytes (the file changed while reading?)", ex.op, path, got, n);
  EMBER_CHECK(std::fgetc(f.get()) == EOF, "{}: {}: the file grew while reading (more than {} bytes)", ex.op, path,
              length);
  return r;
}

}  // namespace

Tensor read_idx(const std::string& path) { return read_impl(path, {"read_idx", std::nullopt}).data; }

Tensor read_mnist_images(const std::string& path) {
  Idx r = read_impl(path, {"read_mnist_images", kImagesMagic, "images"});
  const auto& d = r.header.dims;
  EMBER_CHECK(d[1] == 28 && d[2] == 28, "read_mnist_images: {}: images of {}x{} pixels, expected 28x28", path, d[1],
              d[2]);
  return r.data;
}

Tensor read_mnist_labels(const std::string& path) {
  Idx r = read_impl(path, {"read_mnist_labels", kLabelsMagic, "labels"});
  const std::uint8_t* p = r.data.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < r.data.numel(); ++i)
    EMBER_CHECK(p[i] <= 9, "read_mnist_labels: {}: label {} at index {} is out of range 0..9", path, p[i], i);
  return r.data.to(DType::Int64);
}

}  // namespace ember::data
