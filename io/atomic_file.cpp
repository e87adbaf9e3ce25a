// Atomic replacement of a file. Why O_TMPFILE: a named temporary outlives a writer
// killed with SIGKILL (each kill during a model save used to leave a full-size
// "model.safetensors.tmp.<pid>.<hex>"). An O_TMPFILE is freed by the kernel when its
// last descriptor closes, so it only gets a name (linkat through /proc/self/fd, then
// renameat over the target, since linkat cannot replace a file) once it is complete.
#include "ember/io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <random>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "ember/core/error.h"

namespace ember {
namespace {

std::atomic<bool> g_use_o_tmpfile{true};

std::string errno_text(int err) { return std::generic_category().message(err); }

std::uint64_t random_suffix() {
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t r = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                    (++counter * 0x9E3779B97F4A7C15ull);
  try {
    std::random_device rd;
    r ^= (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  } catch (const std::exception&) {
    // no entropy source: the clock and counter still give distinct names to retry
  }
  return r;
}

std::string temporary_name(const std::string& base) {
  return fmt::format("{}.tmp.{}.{:016x}", base, ::getpid(), random_suffix());
}

// The writer's pid if `name` is exactly what temporary_name(base) makes, else 0.
::pid_t temporary_owner(std::string_view name, std::string_view base) {
  if (!name.starts_with(base) || !name.substr(base.size()).starts_with(".tmp.")) return 0;
  name.remove_prefix(base.size() + 5);
  const std::size_t dot = name.find('.');
  if (dot == std::string_view::npos || name.size() - dot - 1 != 16) return 0;
  ::pid_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + dot, pid);
  if (ec != std::errc() || end != name.data() + dot || pid <= 0) return 0;
  const auto hex = name.substr(dot + 1);
  const bool all_hex =
      std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  return all_hex ? pid : 0;
}

}  // namespace

namespace detail {
bool use_o_tmpfile(bool on) { return g_use_o_tmpfile.exchange(on); }
}  // namespace detail

AtomicFile::AtomicFile(const std::string& path, std::string op) : path_(path), op_(std::move(op)) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  base_ = slash == std::string::npos ? path : path.substr(slash + 1);
  EMBER_CHECK(!base_.empty(), "{}: {}: path names a folder, not a file", op_, path);
  dirfd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int err = errno;
  EMBER_CHECK(dirfd_ >= 0, "{}: {}: cannot open its folder {}: {}", op_, path, dir, errno_text(err));
  try {
    remove_stale_temporaries();
    if (!open_unnamed()) open_named();
  } catch (...) {
    ::close(dirfd_);
    throw;
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !name_.empty()) ::unlinkat(dirfd_, name_.c_str(), 0);
  ::close(dirfd_);
}

// An O_TMPFILE in the folder, if the file system has them (EOPNOTSUPP otherwise;
// EISDIR or EINVAL from kernels before 3.11) and /proc can give it a name later.
// On any failure the named fallback runs, and reports the error if it has one too.
bool AtomicFile::open_unnamed() {
  if (!g_use_o_tmpfile.load() || ::access("/proc/self/fd", X_OK) != 0) return false;
  fd_ = ::openat(dirfd_, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  return fd_ >= 0;
}

void AtomicFile::open_named() {
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    name_ = temporary_name(base_);
    fd_ = ::openat(dirfd_, name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    const int err = errno;
    EMBER_CHECK(fd_ >= 0 || err == EEXIST, "{}: {}: cannot create the temporary file {}: {}", op_, path_, name_,
                errno_text(err));
  }
  EMBER_CHECK(fd_ >= 0, "{}: {}: cannot create a temporary file: too many name collisions", op_, path_);
}

// Best effort, so errors are ignored: unlinks "<base>.tmp.<pid>.<hex>" whose pid is not
// a live process (kill(pid, 0) fails with ESRCH; EPERM means alive, another user's).
// The writers were killed before they could remove them. A live writer's are kept.
void AtomicFile::remove_stale_temporaries() const {
  const int fd = ::openat(dirfd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = ::fdopendir(fd);
  if (!dir) return void(::close(fd));
  while (const ::dirent* e = ::readdir(dir)) {
    const ::pid_t pid = temporary_owner(e->d_name, base_);
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlinkat(dirfd_, e->d_name, 0);
  }
  ::closedir(dir);
}

std::string AtomicFile::temporary_label() const { return name_.empty() ? "(unnamed, O_TMPFILE)" : name_; }

void AtomicFile::write(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ::ssize_t w = ::write(fd_, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    const int err = errno;
    if (w < 0 && err == EINTR) continue;
    EMBER_CHECK(w > 0, "{}: {}: cannot write the temporary file {}: {}", op_, path_, temporary_label(),
                w < 0 ? errno_text(err) : "no progress");
    p += w, n -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  int rc = ::fsync(fd_);
  int err = errno;
  EMBER_CHECK(rc == 0, "{}: {}: cannot fsync the temporary file {}: {}", op_, path_, temporary_label(),
              errno_text(err));
  if (name_.empty()) {  // an O_TMPFILE: give it a name beside the target
    const std::string proc = fmt::format("/proc/self/fd/{}", fd_);
    for (int attempt = 0; attempt < 100 && name_.empty(); ++attempt) {
      std::string name = temporary_name(base_);
      rc = ::linkat(AT_FDCWD, proc.c_str(), dirfd_, name.c_str(), AT_SYMLINK_FOLLOW);
      err = errno;
      EMBER_CHECK(rc == 0 || err == EEXIST, "{}: {}: cannot link the temporary file into its folder: {}", op_, path_,
                  errno_text(err));
      if (rc == 0) name_ = std::move(name);
    }
    EMBER_CHECK(!name_.empty(), "{}: {}: cannot link the temporary file: too many name collisions", op_, path_);
  }
  rc = ::close(fd_);
  err = errno;
  fd_ = -1;
  EMBER_CHECK(rc == 0, "{}: {}: cannot close the temporary file {}: {}", op_, path_, name_, errno_text(err));
  rc = ::renameat(dirfd_, name_.c_str(), dirfd_, base_.c_str());
  err = errno;
  EMBER_CHECK(rc == 0, "{}: {}: cannot rename the temporary file {} over it: {}", op_, path_, name_, errno_text(err));
  committed_ = true;
  rc = ::fsync(dirfd_);
  err = errno;
  // EINVAL: the file system cannot sync folders; the rename is all there is.
  EMBER_CHECK(rc == 0 || err == EINVAL, "{}: {}: written, but cannot fsync its folder: {}", op_, path_,
              errno_text(err));
}

}  // namespace ember
