#pragma once
// How ranks on one machine move large messages (internal to dist/).
#include <string>

namespace ember::dist::detail {

/// Before MPI_Init: picks OpenMPI's shared-memory transport for this machine
/// unless the user's environment already does (OMPI_MCA_...). Returns what it
/// chose and why, for EMBER_DIST_VERBOSE.
std::string choose_shared_memory_transport();

/// process_vm_readv's speed as a fraction of memcpy's, over `bytes` of this
/// process's own memory (0 when the call is refused, as under a ptrace ban).
double single_copy_speed(std::size_t bytes);

}  // namespace ember::dist::detail
