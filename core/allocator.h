#pragma once
/// The one allocation interface every tensor's storage goes through, so a
/// caching allocator can replace the default without touching callers.
#include <cstddef>

namespace ember {

constexpr std::size_t kStorageAlignment = 64;

class Allocator {
 public:
  virtual ~Allocator() = default;
  /// Returns kStorageAlignment-aligned memory for `nbytes` (non-null even for 0).
  virtual void* allocate(std::size_t nbytes) = 0;
  virtual void deallocate(void* ptr, std::size_t nbytes) noexcept = 0;
};

/// The allocator new storages use: a caching allocator over the aligned heap
/// (set EMBER_CACHING_ALLOCATOR=0 in the environment, or build with the
/// sanitizers, to allocate and free every block directly).
Allocator* default_allocator();
/// Whether default_allocator() is the caching one.
bool default_allocator_caches();

/// 1 when built with AddressSanitizer: GCC says so with __SANITIZE_ADDRESS__,
/// clang with __has_feature (and only that).
#if defined(__SANITIZE_ADDRESS__)
#define EMBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_ASAN 1
#endif
#endif
#ifndef EMBER_ASAN
#define EMBER_ASAN 0
#endif

/// Bytes the caching allocator holds for reuse, and a way to give them back.
std::size_t cached_bytes();
void empty_cache();

/// Replaces the allocator for storages created from now on; returns the old one.
/// Storages remember the allocator that made them, so swapping is safe.
Allocator* set_default_allocator(Allocator* allocator);

}  // namespace ember
