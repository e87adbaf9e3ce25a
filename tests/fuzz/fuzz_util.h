#pragma once
// What the fuzz targets share: the input as a file (the readers take paths),
// and the one rule every target checks -- bad bytes give ember::Error, never
// a crash, a sanitizer report, a hang or another exception type.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <ember/core/error.h>

namespace ember::fuzz {

/// The bytes as an anonymous in-memory file, named /proc/self/fd/N while it lives.
class MemFile {
 public:
  MemFile(const std::uint8_t* data, std::size_t size) : fd_(::memfd_create("ember-fuzz", 0)) {
    for (std::size_t done = 0; fd_ >= 0 && done < size;) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

/// Runs f; ember::Error is the expected answer to bad input, anything else escapes
/// (and libFuzzer reports it as a crash).
template <class F>
void expect_ember_errors_only(F&& f) {
  try {
    f();
  } catch (const ember::Error&) {
  }
}

}  // namespace ember::fuzz
