// Streaming gzip inflation over zlib. The reader keeps one 64 KiB input buffer and
// writes only into the caller's memory, so how much is decompressed, and where, is
// always the caller's decision.
#include "ember/data/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "ember/core/error.h"

namespace ember::data::detail {

struct GzipReader::State {
  std::FILE* f;
  std::string path;
  const char* op;
  z_stream zs{};
  std::vector<std::uint8_t> in = std::vector<std::uint8_t>(std::size_t{1} << 16);
  std::uint64_t consumed = 0;  // compressed bytes read from the file
  bool member_end = false;     // the last member inflated so far is complete
  bool done = false;           // ... and the file has nothing after it

  // Refills the input buffer; false at the end of the file.
  bool refill() {
    const std::size_t got = std::fread(in.data(), 1, in.size(), f);
    EMBER_CHECK(!std::ferror(f), "{}: {}: read error after {} compressed bytes: {}", op, path, consumed,
                std::strerror(errno));
    consumed += got;
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(got);
    return got > 0;
  }
};

GzipReader::GzipReader(std::FILE* f, std::string path, const char* op) : s_(new State{f, std::move(path), op}) {
  EMBER_CHECK(inflateInit2(&s_->zs, 16 + MAX_WBITS) == Z_OK, "{}: {}: cannot initialise zlib", op, s_->path);
}

GzipReader::~GzipReader() { inflateEnd(&s_->zs); }

std::uint64_t GzipReader::consumed() const { return s_->consumed; }

std::size_t GzipReader::read(void* dst, std::size_t n) {
  State& s = *s_;
  z_stream& zs = s.zs;
  auto* out = static_cast<std::uint8_t*>(dst);
  std::size_t produced = 0;
  while (produced < n && !s.done) {
    if (zs.avail_in == 0 && !s.refill()) {
      EMBER_CHECK(s.member_end,
                  "{}: {}: truncated gzip stream: the file ends after {} compressed bytes, before the end of the "
                  "stream",
                  s.op, s.path, s.consumed);
      s.done = true;
      break;
    }
    if (s.member_end) {  // more bytes after a complete member: another member, or garbage
      EMBER_CHECK(zs.next_in[0] == 0x1f, "{}: {}: unexpected data after the end of the gzip stream (at byte {})", s.op,
                  s.path, s.consumed - zs.avail_in);
      EMBER_CHECK(inflateReset(&zs) == Z_OK, "{}: {}: cannot reset zlib", s.op, s.path);
      s.member_end = false;
    }
    zs.next_out = out + produced;
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(n - produced, std::numeric_limits<uInt>::max()));
    const uInt before = zs.avail_out;
    const int ret = inflate(&zs, Z_NO_FLUSH);
    produced += before - zs.avail_out;
    if (ret == Z_STREAM_END) {
      s.member_end = true;
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {  // Z_BUF_ERROR: needs more input, read above
      throw Error(fmt::format("{}: {}: corrupt gzip data after {} compressed bytes: {}", s.op, s.path,
                              s.consumed - zs.avail_in, zs.msg ? zs.msg : zError(ret)));
    }
  }
  return produced;
}

std::vector<std::uint8_t> gunzip_file(const std::string& path, std::size_t max_bytes) {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "rb"));
  EMBER_CHECK(f != nullptr, "gunzip: {}: cannot open: {}", path, std::strerror(errno));
  GzipReader gz(f.get(), path, "gunzip");
  std::vector<std::uint8_t> out;
  std::size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (out.size() == max_bytes) break;
      const std::size_t size = std::min(max_bytes, std::max(2 * out.size(), std::size_t{1} << 16));
      out.reserve(size);  // exactly: resize alone may round the capacity up to twice the size
      out.resize(size);
    }
    const std::size_t want = out.size() - used;
    const std::size_t got = gz.read(out.data() + used, want);
    used += got;
    if (got < want) {  // the end of the stream
      out.resize(used);
      return out;
    }
  }
  std::uint8_t probe;  // the buffer is full at max_bytes: one byte more is too many
  EMBER_CHECK(gz.read(&probe, 1) == 0, "gunzip: {}: gzip data decompresses to more than {} bytes", path, max_bytes);
  return out;
}

}  // namespace ember::data::detail
