// OpenMPI's shared-memory transport (the vader BTL) sends a large message
// between ranks on one machine either by single copy -- the receiver reads
// the sender's memory with process_vm_readv (CMA), OpenMPI's default -- or
// through the shared segment in fragments (two copies).
//
// Ember turns single copy off unless the user asks for it. On one VM of this
// project's kind CMA ran at about 1 GB/s and the copies won (4.8 MB
// all-reduced on 2 ranks: 5.2 ms against 2.2 ms with 128 KiB fragments); on
// another it ran at 10 GB/s and won (0.68 ms against 1.04 ms); and on a third
// (kernel 6.18 under KVM, OpenMPI 4.1.4, as root) it passed a speed probe at
// 0.31x memcpy and then aborted ranks at random inside OpenMPI
// ("pml_ob1_recvreq.c:703: invalid bml for rdma get"). No probe run before
// MPI_Init can see that failure, so speed is not worth the risk by default:
// DDP on one machine reduces through its own shared memory (shared_reduce.cpp)
// and does not use this path for its gradients at all.
//
// EMBER_DIST_CMA=1 opts in: CMA is then used if process_vm_readv works on
// this host, copies the bytes correctly and runs at least 0.25x memcpy's
// speed; otherwise the copies. A user's own OMPI_MCA_btl_vader_single_copy_mechanism wins over both.
#include "ember/dist/transport.h"

#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>
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

SingleCopyProbe probe_single_copy(std::size_t bytes) {
  std::vector<char> from(bytes), to(bytes, 0);
  for (std::size_t i = 0; i < bytes; ++i) from[i] = static_cast<char>((i * 131 + 7) & 0xff);
  SingleCopyProbe probe;
  probe.works = true;
  const double cma = best_seconds([&] {
    iovec local{to.data(), bytes}, remote{from.data(), bytes};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(bytes)) probe.works = false;
  });
  if (!probe.works) return probe;
  probe.correct = std::memcmp(from.data(), to.data(), bytes) == 0;
  const double copy = best_seconds([&] {
    std::memcpy(to.data(), from.data(), bytes);
    asm volatile("" : : "r"(to.data()) : "memory");  // the copy is not optimised away
  });
  probe.speed = copy / cma;
  return probe;
}

TransportChoice choose_transport(const char* user_setting, const char* ember_cma,
                                 const std::function<SingleCopyProbe()>& probe) {
  if (user_setting) return {"", fmt::format("as OMPI_MCA_btl_vader_single_copy_mechanism={} says", user_setting)};
  // Copies through the shared segment, in fragments of 128 KiB rather than 32
  // (256 KiB was as good; 512 KiB and more collapsed).
  const TransportChoice copies{"none", "copies through the shared segment"};
  if (!ember_cma || std::string_view(ember_cma) != "1") return {copies.single_copy, copies.why + " (the default; EMBER_DIST_CMA=1 tries single copy)"};
  const SingleCopyProbe p = probe();
  if (!p.works) return {copies.single_copy, copies.why + " (EMBER_DIST_CMA=1, but process_vm_readv is refused here)"};
  if (!p.correct) return {copies.single_copy, copies.why + " (EMBER_DIST_CMA=1, but process_vm_readv copied wrong bytes)"};
  if (p.speed < 0.25)
    return {copies.single_copy, fmt::format("{} (EMBER_DIST_CMA=1, but process_vm_readv ran at only {:.2f}x memcpy's speed)",
                                            copies.why, p.speed)};
  return {"cma", fmt::format("single copy (CMA, as EMBER_DIST_CMA=1 asks; process_vm_readv at {:.2f}x memcpy's speed)", p.speed)};
}

std::string choose_shared_memory_transport() {
  const TransportChoice c = choose_transport(std::getenv("OMPI_MCA_btl_vader_single_copy_mechanism"),
                                             std::getenv("EMBER_DIST_CMA"),
                                             [] { return probe_single_copy(std::size_t{4} << 20); });
  if (c.single_copy == "none") {
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    setenv("OMPI_MCA_btl_vader_max_send_size", "131072", 0);
  } else if (c.single_copy == "cma") {
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "cma", 0);
  }
  return "shared-memory transport: " + c.why;
}

}  // namespace ember::dist::detail
