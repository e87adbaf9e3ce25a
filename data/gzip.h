#pragma once
/// Streaming gzip decompression for the IDX reader: inflate a file piece by piece
/// into buffers the caller owns, so a reader can look at a header before deciding
/// how much memory the rest deserves (a gzip bomb costs what its header claims).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace ember::data::detail {

/// Decompresses the gzip stream of an open file, from its current position to its
/// end; concatenated members are one stream, as gunzip treats them. Errors name
/// `op` and `path`: corrupt data, a stream cut short, bytes after the last member.
class GzipReader {
 public:
  GzipReader(std::FILE* f, std::string path, const char* op);
  ~GzipReader();
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  /// Inflates up to n bytes into dst and returns how many it wrote: fewer than n
  /// only when the stream has ended (every member complete, its CRC checked).
  std::size_t read(void* dst, std::size_t n);
  /// Compressed bytes read from the file so far.
  std::uint64_t consumed() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

/// The decompressed bytes of the gzip file at `path`; throws if it is corrupt,
/// truncated, or decompresses to more than `max_bytes` (found by inflating at most
/// max_bytes + 1 bytes).
std::vector<std::uint8_t> gunzip_file(const std::string& path, std::size_t max_bytes);

}  // namespace ember::data::detail
