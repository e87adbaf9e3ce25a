// OpenMPI's shared-memory transport (the vader BTL) sends a large message
// between ranks on one machine either by single copy -- the receiver reads
// the sender's memory with process_vm_readv (CMA), OpenMPI's default -- or
// through the shared segment in fragments (two copies). Which is faster
// depends on the machine: on one VM of this project's kind CMA ran at about
// 1 GB/s and the copies won (4.8 MB all-reduced on 2 ranks: 5.2 ms against
// 2.2 ms with 128 KiB fragments); on another CMA ran at 10 GB/s and won
// (0.68 ms against 1.04 ms). So measure: process_vm_readv on our own memory
// against memcpy, about a millisecond before MPI_Init. There it ran at
// 0.67-0.76x memcpy's speed; at 1 GB/s against 24 it would be 0.04, so the
// line is drawn at 0.25. bench/README.md.
#include "ember/dist/transport.h"

#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace ember::dist::detail {
namespace {
using Clock = std::chrono::steady_clock;

// Best of a few rounds: the machine is shared, and one slow round says little.
template <class F>
double best_seconds(F f) {
  double best = 1e30;
  for (int round = 0; round < 4; ++round) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}
}  // namespace

double single_copy_speed(std::size_t bytes) {
  std::vector<char> from(bytes, 1), to(bytes, 2);
  bool refused = false;
  const double cma = best_seconds([&] {
    iovec local{to.data(), bytes}, remote{from.data(), bytes};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(bytes)) refused = true;
  });
  if (refused) return 0.0;
  const double copy = best_seconds([&] {
    std::memcpy(to.data(), from.data(), bytes);
    asm volatile("" : : "r"(to.data()) : "memory");  // the copy is not optimised away
  });
  return copy / cma;
}

std::string choose_shared_memory_transport() {
  if (std::getenv("OMPI_MCA_btl_vader_single_copy_mechanism"))
    return "shared-memory transport: as OMPI_MCA_btl_vader_single_copy_mechanism says";
  const double speed = single_copy_speed(std::size_t{4} << 20);
  if (speed >= 0.25)
    return fmt::format("shared-memory transport: single copy (CMA; process_vm_readv at {:.2f}x memcpy's speed)", speed);
  // CMA slow or refused: copy through the shared segment, in fragments of
  // 128 KiB rather than 32 (256 KiB was as good; 512 KiB and more collapsed).
  setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
  setenv("OMPI_MCA_btl_vader_max_send_size", "131072", 0);
  return fmt::format("shared-memory transport: copies through the shared segment (process_vm_readv at {:.2f}x "
                     "memcpy's speed)", speed);
}

}  // namespace ember::dist::detail
