#include "ember/core/allocator.h"

#include <atomic>
#include <cstdlib>
#include <new>

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
std::atomic<Allocator*> g_default{&g_heap};

}  // namespace

Allocator* default_allocator() { return g_default.load(); }

Allocator* set_default_allocator(Allocator* allocator) {
  return g_default.exchange(allocator ? allocator : &g_heap);
}

}  // namespace ember
