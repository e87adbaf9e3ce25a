#pragma once
/// TensorBoard's event files: TFRecord framing, and an append-only writer
/// whose file I/O runs on a thread of its own.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "ember/core/options.h"

namespace ember::logging {

/// One TFRecord: uint64 length (little-endian), masked CRC-32C of those 8 bytes,
/// the data, masked CRC-32C of the data.
std::string frame_record(std::string_view data);

/// Creates `path` and its missing parents (mkdir -p); an ember::Error names the
/// part that could not be made.
void make_directories(const std::string& path, const std::string& op);

struct EventFileOptions {
  /// Wake the writer thread once this many events wait (PyTorch's max_queue).
  EMBER_OPTION(EventFileOptions, int, max_queue, 10)
  /// Write what waits at least this often, in seconds (PyTorch's flush_secs; 120 there, 2 here).
  EMBER_OPTION(EventFileOptions, double, flush_secs, 2.0)
  /// Appended to the file name.
  EMBER_OPTION(EventFileOptions, std::string, filename_suffix, "")
};

/// Appends framed events to `<logdir>/events.out.tfevents.<10-digit time>.<host>.<pid>.<n><suffix>`.
///
/// The constructor creates the folder and the file and writes the
/// `file_version: "brain.Event:2"` event before returning, so a folder that
/// cannot be written is an ember::Error naming it before any training starts.
/// add_event() only appends bytes to a buffer under a mutex; a writer thread
/// writes whole records with write(2) every flush_secs, when max_queue events
/// wait, on flush() and on close(). A process killed at any moment leaves
/// complete records followed by at most one partial one. A write that fails
/// later (disk full) is reported once on stderr (ember::warn_once, naming the
/// file); later events are dropped and the caller's training goes on.
class EventFileWriter {
 public:
  EventFileWriter(const std::string& logdir, EventFileOptions options = {});
  /// close(), swallowing nothing that matters: failures were already reported.
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  /// Queues one serialized Event (framed here); a no-op after close().
  void add_event(std::string_view event);
  /// Returns once everything queued before the call is written (and the flush hook ran).
  void flush();
  /// Flushes, fsyncs and closes the file, and stops the thread. Idempotent.
  void close();
  /// Runs on the writer thread after each write of the queue (SummaryWriter writes metrics.csv there).
  void set_flush_hook(std::function<void()> hook);

  const std::string& path() const { return path_; }
  /// True once a write failed (the failure was reported; later events are dropped).
  bool failed() const;

 private:
  void run();
  void write_pending(std::unique_lock<std::mutex>& lock, bool run_hook);

  EventFileOptions options_;
  std::string path_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable wake_, written_;
  std::string pending_;
  int pending_events_ = 0;
  std::uint64_t queued_ = 0, done_ = 0;  // flush requests: done_ catches up with queued_
  bool flush_requested_ = false, stopping_ = false, closed_ = false, failed_ = false;
  std::function<void()> hook_;
  std::thread thread_;
};

}  // namespace ember::logging
