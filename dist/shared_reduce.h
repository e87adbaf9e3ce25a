#pragma once
// An all-reduce through memory that every rank on this machine maps (internal
// to dist/; DistributedDataParallel's reducer uses it when all ranks share
// one machine). Each rank's buffers live in one POSIX shared-memory object,
// so a rank can read and write its peers' buffers directly: rank r sums
// slice r of every buffer over all ranks and writes the result back into all
// of them. No message is packed, sent or unpacked, and the division by the
// world size rides in the same pass.
#include <cstdint>
#include <memory>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::dist::detail {

class SharedReduce {
 public:
  /// True when there are two ranks or more and all of them are on this machine.
  static bool possible();

  /// Collective. Maps, for every rank, buffers of these lengths (elements) and
  /// dtypes (float32 or float64). Throws on every rank alike when the shared
  /// memory cannot be had (no /dev/shm, or too little space in it).
  struct Spec {
    std::int64_t numel;
    DType dtype;
  };
  explicit SharedReduce(const std::vector<Spec>& buffers);

  /// This rank's buffer k: a contiguous 1-D tensor that keeps the mapping
  /// alive for as long as it (or a view of it) lives, so it may outlive this object.
  Tensor buffer(std::size_t k) const;

  /// Collective. Every rank's buffer k becomes `scale` times the sum of buffer k
  /// over the ranks, for every k, bitwise the same on all ranks. A barrier
  /// before (every rank has filled its buffers) and one after (every sum is written).
  void sum(double scale);

  struct Mapping;

 private:
  std::shared_ptr<Mapping> map_;
  std::vector<Spec> specs_;
  std::vector<std::size_t> offsets_;  // of each buffer within a rank's segment, in bytes
  std::size_t segment_bytes_ = 0;     // one rank's buffers; rank r's start at r * segment_bytes_
};

}  // namespace ember::dist::detail
