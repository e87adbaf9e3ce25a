#pragma once
/// Atomic file replacement, as model and checkpoint saves need it: readers of the
/// target see the old file or the whole new one, never a part, and a failed or
/// killed save leaves the old file intact and, in the end, nothing else behind.
#include <cstddef>
#include <string>

namespace ember {

/// A new version of the file at `path`, written to a temporary in the same folder and
/// put in place by commit() (fsync, rename over the target, fsync the folder).
///
/// Where the file system allows it the temporary is an O_TMPFILE: it has no name until
/// it is complete, so a writer killed mid-write leaves nothing. Elsewhere it is named
/// "<target>.tmp.<pid>.<16 hex digits>", and each save first removes the temporaries
/// of the same target whose writer process no longer exists. Errors are ember::Error
/// prefixed "<op>: <path>: ".
class AtomicFile {
 public:
  AtomicFile(const std::string& path, std::string op);
  /// Discards the temporary unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends n bytes (every byte or an error).
  void write(const void* data, std::size_t n);
  /// Flushes the temporary to disk and replaces the target with it.
  void commit();

 private:
  bool open_unnamed();
  void open_named();
  void remove_stale_temporaries() const;
  std::string temporary_label() const;

  std::string path_, op_, base_;
  std::string name_;  // the temporary's name in the folder; empty while it has none
  int dirfd_ = -1, fd_ = -1;
  bool committed_ = false;
};

namespace detail {
/// Tests only: with false, AtomicFile uses named temporaries, as on a file system
/// without O_TMPFILE. Returns the previous setting.
bool use_o_tmpfile(bool on);
}  // namespace detail

}  // namespace ember
