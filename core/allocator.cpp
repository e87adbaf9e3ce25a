#include "ember/core/allocator.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/core/error.h"

namespace ember {
namespace {

class AlignedHeapAllocator final : public Allocator {
 public:
  void* allocate(std::size_t nbytes) override {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded =
        (std::max<std::size_t>(nbytes, 1) + kStorageAlignment - 1) / kStorageAlignment *
        kStorageAlignment;
    void* p = std::aligned_alloc(kStorageAlignment, rounded);
    EMBER_CHECK(p != nullptr, "allocator: out of memory allocating {} bytes", nbytes);
    return p;
  }
  void deallocate(void* ptr, std::size_t) noexcept override { std::free(ptr); }
};

AlignedHeapAllocator g_heap;

// Why a cache: a training step allocates and frees the same activation and
// gradient sizes every iteration. Blocks of a megabyte or more come straight
// from mmap and go back with munmap, so every step paid for thousands of page
// faults (a third of the CNN's time in the kernel, by perf). Freed blocks are
// kept by rounded size and handed out again, within the caps below.
class CachingAllocator final : public Allocator {
 public:
  void* allocate(std::size_t nbytes) override {
    const std::size_t size = round(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return p;
      }
    }
    void* p = g_heap.allocate(size);
    return p;
  }
  void deallocate(void* ptr, std::size_t nbytes) noexcept override {
    const std::size_t size = round(nbytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (size <= kMaxBlockBytes && cached_ + size <= kMaxCachedBytes) {
        try {
          free_[size].push_back(ptr);
          cached_ += size;
          return;
        } catch (...) {  // no memory to remember the block: free it below
        }
      }
    }
    g_heap.deallocate(ptr, size);
  }
  std::size_t cached() {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }
  void empty() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) g_heap.deallocate(p, size);
    free_.clear();
    cached_ = 0;
  }

 private:
  // Caps that keep peak memory near the live working set: a training step's
  // blocks are small and reused; one-off giants (an evaluation batch of 1000)
  // go back to the system.
  static constexpr std::size_t kMaxCachedBytes = std::size_t{256} << 20;
  static constexpr std::size_t kMaxBlockBytes = std::size_t{32} << 20;
  // Small sizes to 64 bytes, large ones to 4 KiB pages: same shapes, same class.
  static std::size_t round(std::size_t n) {
    const std::size_t q = n < (std::size_t{1} << 16) ? kStorageAlignment : 4096;
    return (std::max<std::size_t>(n, 1) + q - 1) / q * q;
  }
  std::mutex mu_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0;
};

// Never destroyed: storages released by other statics' destructors at exit still return here.
CachingAllocator& caching() {
  static auto* c = new CachingAllocator;
  return *c;
}

Allocator* initial_allocator() {
#if EMBER_ASAN
  return &g_heap;  // the cache would hide overflows and use-after-free from AddressSanitizer
#else
  const char* env = std::getenv("EMBER_CACHING_ALLOCATOR");
  return env && std::string(env) == "0" ? static_cast<Allocator*>(&g_heap) : &caching();
#endif
}

std::atomic<Allocator*> g_default{initial_allocator()};

}  // namespace

Allocator* default_allocator() { return g_default.load(); }

bool default_allocator_caches() { return g_default.load() == &caching(); }

std::size_t cached_bytes() { return caching().cached(); }
void empty_cache() { caching().empty(); }

Allocator* set_default_allocator(Allocator* allocator) {
  return g_default.exchange(allocator ? allocator : initial_allocator());
}

}  // namespace ember
