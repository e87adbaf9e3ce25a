#pragma once
/// Collectives across the processes of an MPI job (OpenMPI): start the job
/// with `mpirun -np N prog` and every process runs the same program. Tensors
/// are reduced in place; contiguous ones are handed to MPI without a copy.
/// Every call is collective: all ranks must make the same calls, in the same
/// order, with tensors of the same shape and dtype.
///
///   int main(int argc, char** argv) {
///     dist::Init mpi(argc, argv);                 // MPI_Init ... MPI_Finalize
///     Tensor g = ...; dist::all_reduce(g, dist::ReduceOp::Mean);
///   }
///
/// Errors from MPI become ember::Error naming the call and the rank. A wait
/// that lasts longer than the timeout (EMBER_DIST_TIMEOUT seconds, default 300)
/// throws too, and an exception that leaves main() on any rank aborts the whole
/// job (MPI_Abort) after printing it with its rank, so no rank hangs on a peer
/// that has failed.
#include <chrono>
#include <memory>
#include <string>

#include "ember/core/tensor.h"

namespace ember::dist {

/// Element-wise reductions. Mean is the sum divided by world_size (floating point only).
enum class ReduceOp { Sum, Mean, Max, Min };

/// Initialises MPI for this process (MPI_Init_thread) and finalises it when
/// destroyed (RAII; one per process). It also installs the handler that turns
/// an uncaught exception into MPI_Abort, and, unless OMP_NUM_THREADS is set,
/// gives each rank its share of this machine's cores (set_num_threads).
class Init {
 public:
  Init(int& argc, char**& argv);
  /// Without the command line (MPI does not need it).
  Init();
  /// MPI_Finalize; if an exception is passing by, MPI_Abort instead (the
  /// other ranks would wait for this one forever).
  ~Init();
  Init(const Init&) = delete;
  Init& operator=(const Init&) = delete;
};

/// True between Init and its destruction.
bool is_initialized();
/// This process's rank in [0, world_size()).
int rank();
/// The number of processes in the job.
int world_size();
/// The number of ranks on this machine, and this rank's index among them.
int local_size();
int local_rank();

/// A started operation (all_reduce_async); wait() blocks until it is done.
class Work {
 public:
  Work();
  ~Work();
  Work(Work&&) noexcept;
  Work& operator=(Work&&) noexcept;
  /// Finishes the operation (copying a non-contiguous result back); throws on error or timeout.
  void wait();
  /// Polls once; true when done (wait() then returns at once).
  bool is_completed();
  struct Impl;

 private:
  friend Work start(std::unique_ptr<Impl>);
  std::unique_ptr<Impl> impl_;
};

/// Reduces `t` over all ranks, in place: afterwards every rank holds the result.
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// all_reduce, started: `t` must not be used until wait().
Work all_reduce_async(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// Copies root's `t` into `t` on every other rank, in place.
void broadcast(Tensor& t, int root = 0);
/// Every rank's `t`, in rank order (each of t's shape and dtype).
TensorList all_gather(const Tensor& t);
/// Waits until every rank has called barrier().
void barrier();

/// Wait at most this long in any collective before throwing (default: EMBER_DIST_TIMEOUT or 300 s).
void set_timeout(std::chrono::milliseconds timeout);
std::chrono::milliseconds timeout();

/// Prints "ember.dist: rank R of W failed: <why>" to stderr and ends the whole job (MPI_Abort).
[[noreturn]] void abort(const std::string& why, int code = 1);

namespace detail {
/// EMBER_DIST_VERBOSE is set and not "0": dist then says on stderr (rank 0) what it chose and why.
bool verbose();
}  // namespace detail

}  // namespace ember::dist
