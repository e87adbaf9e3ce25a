#pragma once
/// A reference-counted block of bytes; tensors and their views share one.
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "ember/core/allocator.h"

namespace ember {

class StorageImpl {
 public:
  StorageImpl(std::size_t nbytes, Allocator* allocator)
      : data_(allocator->allocate(nbytes)), nbytes_(nbytes), allocator_(allocator) {}
  /// Memory that something else owns (see from_blob): `release` runs when the last tensor lets go.
  StorageImpl(void* data, std::size_t nbytes, std::function<void()> release)
      : data_(data), nbytes_(nbytes), allocator_(nullptr), release_(std::move(release)) {}
  ~StorageImpl() {
    if (allocator_) allocator_->deallocate(data_, nbytes_);
    else if (release_) release_();
  }
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }

 private:
  void* data_;
  std::size_t nbytes_;
  Allocator* allocator_;
  std::function<void()> release_;
};

using Storage = std::shared_ptr<StorageImpl>;

inline Storage make_storage(std::size_t nbytes) {
  return std::make_shared<StorageImpl>(nbytes, default_allocator());
}

}  // namespace ember
