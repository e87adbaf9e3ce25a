// The shared-memory all-reduce behind dist/shared_reduce.h. Decisions:
// - A POSIX shared-memory object that rank 0 creates and every rank maps,
//   rather than an MPI-3 shared window: MPI_Win_free is collective, so a
//   window could not be freed when its last tensor goes (a .grad that is a
//   bucket view may outlive the reducer on one rank and not another); munmap
//   is local, so each mapping goes with its last tensor.
// - The name is unlinked as soon as every rank has it mapped, so nothing is
//   left in /dev/shm should a rank die later.
// - posix_fallocate reserves the pages up front: a full /dev/shm (Docker's
//   default is 64 MiB) becomes an error here, and DDP falls back to MPI
//   messages, instead of a SIGBUS at the first write.
// - Synchronisation is two MPI barriers, so a peer that stops still times out
//   as every other collective does (collectives.h).
#include "ember/dist/shared_reduce.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include "ember/core/factory.h"
#include "ember/dist/collectives.h"

namespace ember::dist::detail {

struct SharedReduce::Mapping {
  void* base = MAP_FAILED;
  std::size_t bytes = 0;
  ~Mapping() {
    if (base != MAP_FAILED) munmap(base, bytes);
  }
  char* at(std::size_t offset) const { return static_cast<char*>(base) + offset; }
};

namespace {
constexpr std::size_t kAlign = 64;  // a cache line: no two buffers share one
std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::string errno_text(int err) { return std::strerror(err); }

std::string map_fd(int fd, std::size_t bytes, SharedReduce::Mapping& map) {
  map.base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map.base == MAP_FAILED) return fmt::format("mmap of {} bytes failed: {}", bytes, errno_text(errno));
  map.bytes = bytes;
  return "";
}

// Rank 0: creates, sizes and maps the object. Returns "" or why it failed.
std::string create(const std::string& name, std::size_t bytes, SharedReduce::Mapping& map) {
  const int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return fmt::format("shm_open({}) failed: {}", name, errno_text(errno));
  std::string why;
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    why = fmt::format("ftruncate({}, {} bytes) failed: {}", name, bytes, errno_text(errno));
  } else if (const int err = posix_fallocate(fd, 0, static_cast<off_t>(bytes)); err != 0) {
    why = fmt::format("reserving {} bytes for {} failed: {}", bytes, name, errno_text(err));
  } else {
    why = map_fd(fd, bytes, map);
  }
  close(fd);
  if (!why.empty()) shm_unlink(name.c_str());  // nothing left behind in /dev/shm
  return why;
}

// The other ranks: map what rank 0 made.
std::string attach(const std::string& name, std::size_t bytes, SharedReduce::Mapping& map) {
  const int fd = shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) return fmt::format("shm_open({}) failed: {}", name, errno_text(errno));
  std::string why;
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < bytes) {
    why = fmt::format("{} holds {} bytes, {} expected", name, static_cast<long long>(st.st_size), bytes);
  } else {
    why = map_fd(fd, bytes, map);
  }
  close(fd);
  return why;
}

std::string unique_name() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  return fmt::format("/ember-dist-{}-{}-{:08x}", static_cast<long>(getpid()), counter++, rd());
}

// One slice of one buffer: out = scale * sum over ranks, written back to every rank.
// Through a chunk on the stack, so each loop is a plain vectorisable pass.
template <class T>
void sum_slice(const std::vector<T*>& ranks, std::int64_t begin, std::int64_t end, T scale) {
  constexpr std::int64_t kChunk = 1024;
  T acc[kChunk];
  for (std::int64_t c = begin; c < end; c += kChunk) {
    const std::int64_t n = std::min(kChunk, end - c);
    const T* first = ranks[0] + c;
    for (std::int64_t j = 0; j < n; ++j) acc[j] = first[j];
    for (std::size_t q = 1; q < ranks.size(); ++q) {
      const T* src = ranks[q] + c;
      for (std::int64_t j = 0; j < n; ++j) acc[j] += src[j];
    }
    for (std::int64_t j = 0; j < n; ++j) acc[j] *= scale;
    for (T* dst : ranks) std::memcpy(dst + c, acc, static_cast<std::size_t>(n) * sizeof(T));
  }
}
}  // namespace

bool SharedReduce::possible() { return is_initialized() && world_size() > 1 && local_size() == world_size(); }

SharedReduce::SharedReduce(const std::vector<Spec>& buffers) : map_(std::make_shared<Mapping>()), specs_(buffers) {
  EMBER_CHECK(possible(), "dist: a shared-memory all-reduce needs 2 or more ranks, all on one machine");
  for (const Spec& s : specs_) {
    EMBER_CHECK(s.numel >= 0 && (s.dtype == DType::Float32 || s.dtype == DType::Float64),
                "dist: shared-memory all-reduce of {} elements of {}: float32 or float64 only", s.numel, s.dtype);
    offsets_.push_back(segment_bytes_);
    segment_bytes_ += round_up(static_cast<std::size_t>(s.numel) * itemsize(s.dtype));
  }
  segment_bytes_ = std::max(segment_bytes_, kAlign);
  const std::size_t total = segment_bytes_ * static_cast<std::size_t>(world_size());

  // Rank 0 creates the object and sends its name (or its failure) to the others.
  Tensor message = zeros({256}, DType::UInt8);  // [ok, name...]
  std::string name, why;
  if (rank() == 0) {
    name = unique_name();
    why = create(name, total, *map_);
    auto* m = message.data_ptr<std::uint8_t>();
    m[0] = why.empty() ? 1 : 0;
    std::memcpy(m + 1, name.data(), std::min<std::size_t>(name.size(), 254));
  }
  broadcast(message, 0);
  const auto* m = message.data_ptr<std::uint8_t>();
  if (rank() != 0) {
    name = reinterpret_cast<const char*>(m + 1);
    why = m[0] ? attach(name, total, *map_) : "rank 0 could not create the shared memory";
  }
  // Every rank says whether it has the mapping; only then may the name go.
  Tensor ok = full({1}, why.empty() ? 1.0 : 0.0, DType::Int32);
  all_reduce(ok, ReduceOp::Min);
  if (rank() == 0 && m[0]) shm_unlink(name.c_str());
  if (ok.item<std::int32_t>() == 0)
    throw Error(fmt::format("dist: no shared-memory all-reduce ({} bytes for {} ranks) on rank {}: {}", total,
                            world_size(), rank(), why.empty() ? "another rank could not map it" : why));
}

Tensor SharedReduce::buffer(std::size_t k) const {
  EMBER_CHECK(k < specs_.size(), "dist: shared buffer {} of {}", k, specs_.size());
  char* p = map_->at(static_cast<std::size_t>(rank()) * segment_bytes_ + offsets_[k]);
  return from_blob(p, {specs_[k].numel}, specs_[k].dtype, [keep = map_] {});
}

void SharedReduce::sum(double scale) {
  const int world = world_size(), me = rank();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  barrier();  // every rank's buffers are filled
  std::atomic_thread_fence(std::memory_order_seq_cst);
  for (std::size_t k = 0; k < specs_.size(); ++k) {
    const std::int64_t n = specs_[k].numel;
    const std::int64_t begin = n * me / world, end = n * (me + 1) / world;
    dispatch_floating(specs_[k].dtype, "dist: shared all-reduce", [&](auto tag) {
      using T = typename decltype(tag)::type;
      std::vector<T*> ranks;
      for (int q = 0; q < world; ++q)
        ranks.push_back(reinterpret_cast<T*>(map_->at(static_cast<std::size_t>(q) * segment_bytes_ + offsets_[k])));
      sum_slice<T>(ranks, begin, end, static_cast<T>(scale));
    });
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  barrier();  // every slice is written everywhere
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace ember::dist::detail
