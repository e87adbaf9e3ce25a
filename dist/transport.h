#pragma once
// How ranks on one machine move large messages (internal to dist/).
#include <cstddef>
#include <functional>
#include <string>

namespace ember::dist::detail {

/// What process_vm_readv (OpenMPI's single-copy "CMA") does on this host,
/// tried on this process's own memory.
struct SingleCopyProbe {
  bool works = false;    // the call is allowed and moved every byte
  bool correct = false;  // the bytes arrived intact
  double speed = 0.0;    // as a fraction of memcpy's speed
};
SingleCopyProbe probe_single_copy(std::size_t bytes);

/// The decision alone, for tests: `single_copy` is the value for
/// OMPI_MCA_btl_vader_single_copy_mechanism ("none", "cma", or "" to leave the
/// user's setting), `why` says what decided it.
struct TransportChoice {
  std::string single_copy;
  std::string why;
};
TransportChoice choose_transport(const char* user_setting, const char* ember_cma,
                                 const std::function<SingleCopyProbe()>& probe);

/// Before MPI_Init: sets OpenMPI's shared-memory transport for this machine
/// (copies through the shared segment, unless EMBER_DIST_CMA=1 and single copy
/// passes the probe, or the user's OMPI_MCA_... says otherwise). Returns what
/// it chose and why, for EMBER_DIST_VERBOSE.
std::string choose_shared_memory_transport();

}  // namespace ember::dist::detail
