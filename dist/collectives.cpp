// MPI behind dist/collectives.h. Three decisions:
// - Every collective is the non-blocking MPI call plus a wait that polls with
//   a deadline, so a peer that stopped answering gives an ember::Error
//   ("timed out") rather than a hang; blocking MPI calls cannot time out.
// - COMM_WORLD returns errors (MPI_ERRORS_RETURN) instead of aborting inside
//   MPI, and each return code is turned into an Error naming the call and rank.
// - A contiguous tensor's own buffer goes to MPI (no copy); any other is
//   reduced in a contiguous copy that wait() writes back.
#include "ember/dist/collectives.h"

#include <mpi.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <thread>

#include "ember/autograd/grad_mode.h"
#include "ember/core/parallel.h"
#include "ember/dist/transport.h"

namespace ember::dist {
namespace {

struct State {
  bool initialized = false;
  bool we_initialized = false;  // MPI_Finalize is ours to call
  int rank = 0, world = 1, local_rank = 0, local_size = 1;
  std::chrono::milliseconds timeout{300'000};
  std::terminate_handler previous_terminate = nullptr;
  std::string transport = "shared-memory transport: MPI was initialised before dist::Init";
};
State g;

std::string mpi_error(int rc) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, buf, &len) != MPI_SUCCESS) return fmt::format("MPI error {}", rc);
  return std::string(buf, static_cast<std::size_t>(len));
}

void check(int rc, const char* call) {
  EMBER_CHECK(rc == MPI_SUCCESS, "dist: {} failed on rank {} of {}: {}", call, g.rank, g.world, mpi_error(rc));
}

void require_init(const char* call) {
  EMBER_CHECK(g.initialized, "dist: {} before dist::Init (or after it was destroyed)", call);
}

MPI_Datatype mpi_type(DType t, const char* call) {
  switch (t) {
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    case DType::Int64: return MPI_INT64_T;
    case DType::Int32: return MPI_INT32_T;
    case DType::Float16:
    case DType::BFloat16: break;  // storage dtypes: convert to float32 first
    case DType::UInt8:
    case DType::Bool: return MPI_UINT8_T;
  }
  throw Error(fmt::format("dist: {}: unsupported dtype {}", call, t));
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: return MPI_SUM;
    case ReduceOp::Max: return MPI_MAX;
    case ReduceOp::Min: return MPI_MIN;
  }
  return MPI_SUM;
}

const char* op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "?";
}

// Waits for `req`, polling: OpenMPI moves a non-blocking collective on only
// inside MPI calls, so the loop calls MPI_Test back to back for the first
// 20 ms (a bucket's all-reduce takes about a millisecond), then yields the
// core between tests, and after a second sleeps 100 us, until the deadline.
void wait_request(MPI_Request& req, const char* call) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + g.timeout;
  for (std::uint64_t spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), call);
    if (done) return;
    if ((spins & 255) != 0) continue;
    const auto now = std::chrono::steady_clock::now();
    if (now > deadline)
      throw Error(fmt::format("dist: {} timed out after {:.1f} s on rank {} of {}: a peer rank has stopped, "
                              "or is not making the same calls (EMBER_DIST_TIMEOUT sets the bound)",
                              call, std::chrono::duration<double>(g.timeout).count(), g.rank, g.world));
    if (now - start < std::chrono::milliseconds(20)) continue;
    if (now - start < std::chrono::seconds(1)) sched_yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

[[noreturn]] void terminate_handler() {
  std::string what = "std::terminate called";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = fmt::format("uncaught exception: {}", ex.what());
    } catch (...) {
      what = "uncaught exception of unknown type";
    }
  }
  abort(what);
}

std::chrono::milliseconds timeout_from_env() {
  if (const char* s = std::getenv("EMBER_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double secs = std::strtod(s, &end);
    EMBER_CHECK(end != s && *end == '\0' && secs > 0,
                "dist: EMBER_DIST_TIMEOUT must be a positive number of seconds, got '{}'", s);
    return std::chrono::milliseconds(static_cast<std::int64_t>(secs * 1000.0));
  }
  return std::chrono::milliseconds(300'000);
}

void initialize(int* argc, char*** argv) {
  EMBER_CHECK(!g.initialized, "dist::Init: MPI is already initialised by another dist::Init");
  g.timeout = timeout_from_env();
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    // OpenMPI's non-blocking all-reduce defaults to an algorithm that ran at
    // half the blocking one's speed here (2.68 MB on 2 ranks: 4.7 ms against
    // 2.4); Rabenseifner's (reduce-scatter, then all-gather) took 2.2 ms. The
    // user's own setting wins (setenv does not overwrite).
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);
    // Single copy or copies through the shared segment: measured (transport.cpp).
    g.transport = detail::choose_shared_memory_transport();
    int provided = 0;
    // SERIALIZED: any thread may call MPI, one at a time (backward may run on a user's thread).
    const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    EMBER_CHECK(rc == MPI_SUCCESS, "dist: MPI_Init_thread failed: {}", mpi_error(rc));
    g.we_initialized = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &g.rank), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &g.world), "MPI_Comm_size");
  MPI_Comm local;
  check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &local),
        "MPI_Comm_split_type");
  MPI_Comm_rank(local, &g.local_rank);
  MPI_Comm_size(local, &g.local_size);
  MPI_Comm_free(&local);
  g.initialized = true;
  g.previous_terminate = std::set_terminate(terminate_handler);
  // N ranks on one machine each running all its cores would fight over them.
  if (!std::getenv("OMP_NUM_THREADS")) set_num_threads(std::max(1, get_num_threads() / g.local_size));
  if (detail::verbose() && g.rank == 0)
    fmt::print(stderr, "ember.dist: {} ranks, {} on this machine; {}\n", g.world, g.local_size, g.transport);
}

}  // namespace

bool detail::verbose() {
  const char* v = std::getenv("EMBER_DIST_VERBOSE");
  return v && *v && std::string(v) != "0";
}

// ---- Init ----
Init::Init(int& argc, char**& argv) { initialize(&argc, &argv); }
Init::Init() { initialize(nullptr, nullptr); }
Init::~Init() {
  if (!g.initialized) return;
  if (std::uncaught_exceptions() > 0)
    abort("an exception is leaving the scope of dist::Init; ending the job so that the other ranks do not wait");
  std::set_terminate(g.previous_terminate);
  g.initialized = false;
  if (g.we_initialized) MPI_Finalize();
}

bool is_initialized() { return g.initialized; }
int rank() { require_init("rank"); return g.rank; }
int world_size() { require_init("world_size"); return g.world; }
int local_rank() { require_init("local_rank"); return g.local_rank; }
int local_size() { require_init("local_size"); return g.local_size; }

void set_timeout(std::chrono::milliseconds t) {
  EMBER_CHECK(t.count() > 0, "dist::set_timeout: the timeout must be positive, got {} ms", t.count());
  g.timeout = t;
}
std::chrono::milliseconds timeout() { return g.timeout; }

void abort(const std::string& why, int code) {
  std::fprintf(stderr, "ember.dist: rank %d of %d failed: %s\n", g.rank, g.world, why.c_str());
  std::fflush(stderr);
  if (g.initialized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

// ---- Work ----
struct Work::Impl {
  MPI_Request request = MPI_REQUEST_NULL;
  const char* call = "";
  Tensor target;  // the caller's tensor
  Tensor buffer;  // what MPI works on: target itself, or a contiguous copy of it
  ReduceOp op = ReduceOp::Sum;
  bool done = false;

  void finish() {
    if (done) return;
    done = true;
    NoGradGuard no_grad;
    if (op == ReduceOp::Mean) buffer.div_(static_cast<double>(g.world));
    if (!buffer.is_same(target)) target.copy_(buffer);
  }
};

Work::Work() = default;
Work::~Work() {
  // An abandoned request still owns the buffer: complete it rather than free memory MPI writes to.
  if (impl_ && !impl_->done && impl_->request != MPI_REQUEST_NULL && g.initialized) {
    try {
      wait();
    } catch (...) {
    }
  }
}
Work::Work(Work&&) noexcept = default;
Work& Work::operator=(Work&& o) noexcept {
  if (this != &o) {
    Work dying(std::move(*this));
    impl_ = std::move(o.impl_);
  }
  return *this;
}

Work start(std::unique_ptr<Work::Impl> impl) {
  Work w;
  w.impl_ = std::move(impl);
  return w;
}

void Work::wait() {
  EMBER_CHECK(impl_ != nullptr, "dist::Work::wait: no operation");
  if (impl_->done) return;
  wait_request(impl_->request, impl_->call);
  impl_->finish();
}

bool Work::is_completed() {
  if (!impl_ || impl_->done) return true;
  int flag = 0;
  check(MPI_Test(&impl_->request, &flag, MPI_STATUS_IGNORE), impl_->call);
  if (flag) impl_->finish();
  return flag != 0;
}

namespace {
// The tensor MPI may read and write: `t` itself when dense, else a contiguous copy.
Tensor mpi_buffer(const Tensor& t) {
  t.make_plain();
  if (t.is_contiguous()) return t;
  NoGradGuard no_grad;
  return t.contiguous();
}

int count_of(const Tensor& t, const char* call) {
  EMBER_CHECK(t.numel() <= std::numeric_limits<int>::max(),
              "dist: {}: {} elements exceed MPI's int count; split the tensor", call, t.numel());
  return static_cast<int>(t.numel());
}
}  // namespace

Work all_reduce_async(Tensor& t, ReduceOp op) {
  require_init("all_reduce");
  EMBER_CHECK(t.defined(), "dist: all_reduce of an undefined tensor");
  EMBER_CHECK(op != ReduceOp::Mean || t.is_floating_point(),
              "dist: all_reduce mean needs a floating-point tensor, got {}", t.dtype());
  EMBER_CHECK(t.dtype() != DType::Bool || op == ReduceOp::Max || op == ReduceOp::Min,
              "dist: all_reduce {} of a bool tensor (use max for any, min for all)", op_name(op));
  auto w = std::make_unique<Work::Impl>();
  w->call = "MPI_Iallreduce";
  w->target = t;
  w->buffer = mpi_buffer(t);
  w->op = op;
  check(MPI_Iallreduce(MPI_IN_PLACE, w->buffer.raw_data(), count_of(t, "all_reduce"), mpi_type(t.dtype(), "all_reduce"),
                       mpi_op(op), MPI_COMM_WORLD, &w->request),
        w->call);
  return start(std::move(w));
}

void all_reduce(Tensor& t, ReduceOp op) { all_reduce_async(t, op).wait(); }

void broadcast(Tensor& t, int root) {
  require_init("broadcast");
  EMBER_CHECK(t.defined(), "dist: broadcast of an undefined tensor");
  EMBER_CHECK(root >= 0 && root < g.world, "dist: broadcast from rank {} in a world of {}", root, g.world);
  Tensor buf = mpi_buffer(t);
  MPI_Request req;
  check(MPI_Ibcast(buf.raw_data(), count_of(t, "broadcast"), mpi_type(t.dtype(), "broadcast"), root, MPI_COMM_WORLD,
                   &req),
        "MPI_Ibcast");
  wait_request(req, "MPI_Ibcast");
  if (!buf.is_same(t)) {
    NoGradGuard no_grad;
    t.copy_(buf);
  } else {
    t.bump_version();
  }
}

TensorList all_gather(const Tensor& t) {
  require_init("all_gather");
  EMBER_CHECK(t.defined(), "dist: all_gather of an undefined tensor");
  // Shapes first: a mismatch would make MPI read past a buffer.
  std::vector<std::int64_t> sig = {t.dim(), t.numel(), static_cast<std::int64_t>(t.dtype())};
  std::vector<std::int64_t> all(sig.size() * static_cast<std::size_t>(g.world));
  MPI_Request req;
  check(MPI_Iallgather(sig.data(), 3, MPI_INT64_T, all.data(), 3, MPI_INT64_T, MPI_COMM_WORLD, &req),
        "MPI_Iallgather");
  wait_request(req, "MPI_Iallgather");
  for (int r = 0; r < g.world; ++r) {
    const std::int64_t* s = all.data() + 3 * r;
    EMBER_CHECK(s[0] == sig[0] && s[1] == sig[1] && s[2] == sig[2],
                "dist: all_gather: rank {} has a tensor of {} elements ({} dims, {}), rank {} one of {} ({} dims, {})",
                g.rank, sig[1], sig[0], t.dtype(), r, s[1], s[0], static_cast<DType>(s[2]));
  }
  Tensor src = mpi_buffer(t);
  Shape shape = t.sizes();
  shape.insert(shape.begin(), g.world);
  Tensor out = empty(shape, t.dtype());
  const int n = count_of(t, "all_gather");
  const MPI_Datatype type = mpi_type(t.dtype(), "all_gather");
  check(MPI_Iallgather(src.raw_data(), n, type, out.raw_data(), n, type, MPI_COMM_WORLD, &req), "MPI_Iallgather");
  wait_request(req, "MPI_Iallgather");
  TensorList parts;
  for (int r = 0; r < g.world; ++r) parts.push_back(out.select(0, r));
  return parts;
}

void barrier() {
  require_init("barrier");
  MPI_Request req;
  check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "MPI_Ibarrier");
  wait_request(req, "MPI_Ibarrier");
}

}  // namespace ember::dist
