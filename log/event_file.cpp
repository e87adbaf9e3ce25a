#include "ember/log/event_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "ember/core/error.h"
#include "ember/core/warning.h"
#include "ember/log/crc32c.h"
#include "ember/log/event_proto.h"

namespace ember::logging {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// Every byte or false (errno set); retries short writes and EINTR.
bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

std::atomic<int> file_counter{0};  // the <n> of the file name, as PyTorch's global uid

}  // namespace

std::string frame_record(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  const std::uint64_t n = data.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  put_u32(out, masked_crc32c(out.data(), 8));
  out.append(data);
  put_u32(out, masked_crc32c(data.data(), data.size()));
  return out;
}

void make_directories(const std::string& path, const std::string& op) {
  EMBER_CHECK(!path.empty(), "{}: empty log directory", op);
  std::string sofar;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    sofar = path.substr(0, pos);
    if (sofar.empty() || sofar == "/") continue;
    struct stat st {};
    if (::stat(sofar.c_str(), &st) == 0) {
      EMBER_CHECK(S_ISDIR(st.st_mode), "{}: cannot create log directory {}: {} exists and is not a directory", op, path,
                  sofar);
      continue;
    }
    if (::mkdir(sofar.c_str(), 0777) != 0 && errno != EEXIST)
      throw Error(fmt::format("{}: cannot create log directory {}: mkdir {}: {}", op, path, sofar, std::strerror(errno)));
  }
}

EventFileWriter::EventFileWriter(const std::string& logdir, EventFileOptions options) : options_(std::move(options)) {
  EMBER_CHECK(options_.max_queue() > 0 && options_.flush_secs() > 0,
              "SummaryWriter: max_queue ({}) and flush_secs ({}) must be positive", options_.max_queue(),
              options_.flush_secs());
  make_directories(logdir, "SummaryWriter");
  const double now = wall_seconds();
  path_ = fmt::format("{}/events.out.tfevents.{:010d}.{}.{}.{}{}", logdir, static_cast<long long>(now), host_name(),
                      static_cast<long long>(::getpid()), file_counter++, options_.filename_suffix());
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0666);
  if (fd_ < 0) throw Error(fmt::format("SummaryWriter: cannot write to log directory {}: {}", logdir, std::strerror(errno)));
  const std::string first = frame_record(event_proto::file_version_event(now));
  if (!write_all(fd_, first.data(), first.size())) {
    const int err = errno;
    ::close(fd_);
    ::unlink(path_.c_str());
    throw Error(fmt::format("SummaryWriter: cannot write to log directory {}: {}: {}", logdir, path_, std::strerror(err)));
  }
  thread_ = std::thread([this] { run(); });
}

EventFileWriter::~EventFileWriter() { close(); }

void EventFileWriter::add_event(std::string_view event) {
  std::string record = frame_record(event);  // CRCs outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || failed_) return;
  pending_ += record;
  if (++pending_events_ >= options_.max_queue()) wake_.notify_one();
}

void EventFileWriter::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return;
  const std::uint64_t ticket = ++queued_;
  flush_requested_ = true;
  wake_.notify_one();
  written_.wait(lock, [&] { return done_ >= ticket || stopping_; });
}

void EventFileWriter::set_flush_hook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hook_ = std::move(hook);
}

bool EventFileWriter::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void EventFileWriter::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();  // the thread writes what is left before it ends
  if (fd_ >= 0) {
    if (!failed_ && ::fsync(fd_) != 0 && errno != EINVAL)
      warn_once(fmt::format("SummaryWriter: {}: fsync failed: {}", path_, std::strerror(errno)));
    ::close(fd_);
    fd_ = -1;
  }
  written_.notify_all();
}

void EventFileWriter::write_pending(std::unique_lock<std::mutex>& lock, bool run_hook) {
  std::string batch;
  batch.swap(pending_);
  pending_events_ = 0;
  const std::uint64_t ticket = queued_;
  std::function<void()> hook = run_hook ? hook_ : nullptr;
  lock.unlock();  // the caller's add_event never waits for the disk
  bool ok = true;
  int err = 0;
  if (!batch.empty() && !failed_) {
    ok = write_all(fd_, batch.data(), batch.size());
    err = errno;
  }
  if (hook) {
    try {
      hook();
    } catch (const std::exception& e) {
      warn_once(fmt::format("SummaryWriter: {}", e.what()));
    }
  }
  lock.lock();
  if (!ok && !failed_) {
    failed_ = true;
    warn_once(fmt::format("SummaryWriter: {}: write failed: {}; later events are dropped, training goes on", path_,
                          std::strerror(err)));
  }
  done_ = std::max(done_, ticket);
  written_.notify_all();
}

void EventFileWriter::run() {
  const auto period = std::chrono::duration<double>(options_.flush_secs());
  std::unique_lock<std::mutex> lock(mu_);
  auto next = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
  while (true) {
    wake_.wait_until(lock, next, [&] { return stopping_ || flush_requested_ || pending_events_ >= options_.max_queue(); });
    const bool stop = stopping_;
    flush_requested_ = false;
    const bool timed = std::chrono::steady_clock::now() >= next;
    if (timed || stop || done_ < queued_) {
      write_pending(lock, true);
      next = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    } else if (pending_events_ >= options_.max_queue()) {
      write_pending(lock, false);  // a full queue writes events only; metrics.csv waits for the timer
    }
    if (stop) return;
  }
}

}  // namespace ember::logging
