// dist/: collectives and DistributedDataParallel, run under
// `mpirun -np 2` (and 3) by CTest. Every rank runs every test; the expected
// values are computed locally from what each rank knows it contributed.
#include <gtest/gtest.h>

#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include <ember/dist/dist.h>
#include <ember/dist/shared_reduce.h>
#include <ember/dist/transport.h>
#include <ember/ember.h>

namespace {
using namespace ember;

int R() { return dist::rank(); }
int W() { return dist::world_size(); }

void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], tol) << what << " element " << i << " rank " << R();
}

TEST(Collectives, RankAndWorld) {
  EXPECT_TRUE(dist::is_initialized());
  EXPECT_GE(W(), 2);
  EXPECT_GE(R(), 0);
  EXPECT_LT(R(), W());
  EXPECT_LE(dist::local_size(), W());
}

TEST(Collectives, AllReduceSumMeanMaxMin) {
  const double r = R(), w = W();
  // sum over r of (r + 1) * [1, 2, 3] = w (w + 1) / 2 * [1, 2, 3]
  Tensor f = tensor({1.0, 2.0, 3.0}) * (r + 1.0);
  const void* before = f.raw_data();
  dist::all_reduce(f);
  EXPECT_EQ(f.raw_data(), before);  // in place
  expect_close(f, tensor({1.0, 2.0, 3.0}) * (w * (w + 1) / 2), 1e-5, "sum f32");
  Tensor d = full({2, 2}, r, DType::Float64);
  dist::all_reduce(d, dist::ReduceOp::Mean);
  expect_close(d, full({2, 2}, (w - 1) / 2, DType::Float64), 1e-12, "mean f64");
  Tensor i = tensor({R() * 1.0, -R() * 1.0}, DType::Int64);
  dist::all_reduce(i, dist::ReduceOp::Max);
  EXPECT_EQ(i.to_vector<std::int64_t>(), (std::vector<std::int64_t>{W() - 1, 0}));
  Tensor m = tensor({R() + 10.0});
  dist::all_reduce(m, dist::ReduceOp::Min);
  EXPECT_EQ(m.item<double>(), 10.0);
  Tensor b = tensor({R() == 1 ? 1.0 : 0.0}).to(DType::Bool);
  dist::all_reduce(b, dist::ReduceOp::Max);  // any
  EXPECT_TRUE(b.item<bool>());
  // Async: started, then waited for.
  Tensor a = full({5}, 1.0);
  dist::Work work = dist::all_reduce_async(a);
  work.wait();
  EXPECT_TRUE(work.is_completed());
  expect_close(a, full({5}, w), 0, "async");
}

TEST(Collectives, NonContiguousTensorsAreReducedInPlace) {
  Tensor base = arange(6, DType::Float32).reshape({2, 3}) + static_cast<double>(R());
  Tensor view = base.t();  // [3, 2], not contiguous
  ASSERT_FALSE(view.is_contiguous());
  dist::all_reduce(view);
  // base[i][j] = sum_r (3i + j + r) = W (3i + j) + W (W - 1) / 2
  Tensor expected = arange(6, DType::Float32).reshape({2, 3}) * static_cast<double>(W()) + W() * (W() - 1) / 2.0;
  expect_close(base, expected, 1e-5, "through the view");
}

TEST(Collectives, Broadcast) {
  const int root = W() - 1;
  Tensor t = full({3}, R() * 1.5);
  dist::broadcast(t, root);
  expect_close(t, full({3}, root * 1.5), 0, "broadcast f32");
  Tensor base = full({2, 4}, static_cast<double>(R()), DType::Int64);
  Tensor cols = base.narrow(1, 1, 2);  // not contiguous
  if (R() == 0) cols.fill_(7.0);
  dist::broadcast(cols, 0);
  EXPECT_EQ(base.to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{R(), 7, 7, R(), R(), 7, 7, R()}));
  EXPECT_THROW(dist::broadcast(t, W()), Error);
}

TEST(Collectives, AllGatherAndBarrier) {
  Tensor t = tensor({R() * 1.0, R() * 2.0});
  TensorList parts = dist::all_gather(t);
  ASSERT_EQ(parts.size(), static_cast<std::size_t>(W()));
  for (int r = 0; r < W(); ++r) expect_close(parts[r], tensor({r * 1.0, r * 2.0}), 0, "all_gather");
  // Different shapes on different ranks: every rank throws (no rank reads past a buffer).
  Tensor uneven = zeros({R() + 1});
  EXPECT_THROW(dist::all_gather(uneven), Error);
  dist::barrier();
}

TEST(Collectives, Errors) {
  Tensor i = tensor({1}, DType::Int64);
  EXPECT_THROW(dist::all_reduce(i, dist::ReduceOp::Mean), Error);
  Tensor b = tensor({1.0}).to(DType::Bool);
  EXPECT_THROW(dist::all_reduce(b, dist::ReduceOp::Sum), Error);
  Tensor undefined;
  EXPECT_THROW(dist::all_reduce(undefined), Error);
  EXPECT_THROW(dist::set_timeout(std::chrono::milliseconds(0)), Error);
}

TEST(Collectives, APeerThatDoesNotComeTimesOut) {
  // Rank 0 waits 0.3 s at a barrier that the others reach only after 1.5 s.
  const auto saved = dist::timeout();
  dist::set_timeout(std::chrono::milliseconds(300));
  if (R() == 0) {
    try {
      dist::barrier();
      ADD_FAILURE() << "the barrier did not time out";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("MPI_Ibarrier timed out"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("rank 0 of"), std::string::npos) << e.what();
    }
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    dist::barrier();  // meets rank 0's abandoned barrier
  }
  dist::set_timeout(saved);
  dist::barrier();
}

// Single copy (CMA) is off unless asked for, and then only if it works, copies
// correctly and is fast enough; the user's own OpenMPI setting wins over all.
TEST(Transport, SingleCopyOnlyWhenAskedForAndSound) {
  using dist::detail::choose_transport;
  using dist::detail::SingleCopyProbe;
  int probes = 0;
  auto probe = [&](SingleCopyProbe p) { return [&probes, p] { ++probes; return p; }; };
  const SingleCopyProbe fast{true, true, 0.9}, slow{true, true, 0.1}, refused{false, false, 0.0}, wrong{true, false, 0.9};
  EXPECT_EQ(choose_transport(nullptr, nullptr, probe(fast)).single_copy, "none");
  EXPECT_EQ(choose_transport(nullptr, "0", probe(fast)).single_copy, "none");
  EXPECT_EQ(probes, 0) << "the default does not probe";
  EXPECT_EQ(choose_transport(nullptr, "1", probe(fast)).single_copy, "cma");
  EXPECT_EQ(choose_transport(nullptr, "1", probe(slow)).single_copy, "none");
  EXPECT_EQ(choose_transport(nullptr, "1", probe(refused)).single_copy, "none");
  const auto bad = choose_transport(nullptr, "1", probe(wrong));
  EXPECT_EQ(bad.single_copy, "none");
  EXPECT_NE(bad.why.find("wrong bytes"), std::string::npos) << bad.why;
  EXPECT_EQ(probes, 4);
  const auto user = choose_transport("cma", nullptr, probe(refused));
  EXPECT_EQ(user.single_copy, "");
  EXPECT_NE(user.why.find("OMPI_MCA_btl_vader_single_copy_mechanism=cma"), std::string::npos) << user.why;
  EXPECT_EQ(probes, 4);
}

TEST(Transport, TheProbeChecksTheBytes) {
  const auto p = dist::detail::probe_single_copy(std::size_t{1} << 20);
  if (p.works) {
    EXPECT_TRUE(p.correct);
    EXPECT_GT(p.speed, 0.0);
  }
}

// ---- DistributedDataParallel ----

struct TwoLayerImpl : nn::Module {
  TwoLayerImpl() {
    fc1 = register_module("fc1", nn::Linear(4, 8));
    fc2 = register_module("fc2", nn::Linear(8, 3));
    unused = register_module("unused", nn::Linear(2, 2));
    extra = register_module("extra", nn::Linear(3, 3));
  }
  // `extra` is used only where use_extra is true (rank-dependent control flow).
  Tensor forward(const Tensor& x) {
    Tensor y = fc2(relu(fc1(x)));
    return use_extra ? extra(y) : y;
  }
  bool use_extra = false;
  nn::Linear fc1{nullptr}, fc2{nullptr}, unused{nullptr}, extra{nullptr};
};
EMBER_MODULE(TwoLayer);

// The gradients DDP must produce: the average over ranks of each rank's own
// gradient (zeros where a rank did not use a parameter), computed here on a
// copy of the model from every rank's input, which each rank can regenerate.
Tensor input_of(int r) {
  manual_seed(100 + static_cast<std::uint64_t>(r));
  return randn({5, 4});
}

std::vector<Tensor> expected_grads_when(const TwoLayer& model, const std::function<bool(int)>& uses_extra) {
  TwoLayer copy;
  copy->load_state_dict(model->state_dict());
  const TensorList params = copy->parameters();
  std::vector<Tensor> sum(params.size());
  for (int r = 0; r < W(); ++r) {
    copy->use_extra = uses_extra(r);
    for (const Tensor& p : params) p.set_grad(Tensor());
    nn::call(*copy, input_of(r)).pow(2).sum().backward();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor g = params[i].grad();
      if (!g.defined()) continue;
      sum[i] = sum[i].defined() ? sum[i] + g : g.clone();
    }
  }
  for (Tensor& s : sum)
    if (s.defined()) s = s / static_cast<double>(W());
  return sum;
}

std::vector<Tensor> expected_grads(const TwoLayer& model, bool extra_on_rank0_only) {
  return expected_grads_when(model, [&](int r) { return extra_on_rank0_only && r == 0; });
}

// Through shared memory (all test ranks share this machine) and through MPI messages.
void check_ddp_with(dist::DistributedDataParallelOptions options, bool extra_on_rank0_only, bool set_to_none) {
  manual_seed(static_cast<std::uint64_t>(R()));  // a different init on every rank
  TwoLayer model;
  dist::DistributedDataParallel ddp(model, options);
  EXPECT_EQ(ddp.reducer().stats().shared_memory, options.shared_memory());
  // Rank 0's parameters everywhere now.
  for (const Tensor& p : model->parameters()) {
    TensorList all = dist::all_gather(p.detach());
    for (int r = 1; r < W(); ++r) expect_close(all[r], all[0], 0, "initial broadcast");
  }
  const std::vector<Tensor> expected = expected_grads(model, extra_on_rank0_only);
  for (int step = 0; step < 3; ++step) {  // more than once: the reducer resets between passes
    model->zero_grad(set_to_none);
    model->use_extra = extra_on_rank0_only && R() == 0;
    ddp(input_of(R())).pow(2).sum().backward();
    const NamedTensors named = model->named_parameters();
    for (std::size_t i = 0; i < named.size(); ++i) {
      const auto& [name, p] = named[i];
      if (!expected[i].defined()) {
        if (set_to_none) EXPECT_FALSE(p.grad().defined()) << name << ": no rank used it";
        else if (p.grad().defined()) expect_close(p.grad(), zeros_like(p), 0, name + ": zeroed, and no rank used it");
      } else {
        ASSERT_TRUE(p.grad().defined()) << name << " on rank " << R();
        expect_close(p.grad(), expected[i], 1e-5, name);
      }
    }
  }
  EXPECT_EQ(ddp.reducer().stats().steps, 3);
}

void check_ddp(dist::DistributedDataParallelOptions options, bool extra_on_rank0_only, bool set_to_none = true) {
  for (bool shared : {true, false}) {
    SCOPED_TRACE(shared ? "shared memory" : "MPI messages");
    check_ddp_with(dist::DistributedDataParallelOptions(options).shared_memory(shared), extra_on_rank0_only,
                   set_to_none);
  }
}

TEST(DistributedDataParallel, AveragesGradientsOneBucket) { check_ddp({}, false); }
TEST(DistributedDataParallel, AParameterUsedOnOneRankOnly) { check_ddp({}, true); }
TEST(DistributedDataParallel, ManySmallBuckets) {
  // 100 bytes a bucket: about one parameter each, reduced while backward runs.
  check_ddp(dist::DistributedDataParallelOptions().bucket_cap_mb(1e-4).first_bucket_mb(1e-4), true);
}
TEST(DistributedDataParallel, AfterBackwardOnly) {
  check_ddp(dist::DistributedDataParallelOptions().overlap(false).bucket_cap_mb(1e-4), false);
}

TEST(DistributedDataParallel, GradientAsBucketView) {
  const auto view = dist::DistributedDataParallelOptions().gradient_as_bucket_view(true);
  check_ddp(view, true);
  check_ddp(view, true, /*set_to_none=*/false);  // zero_() and backward() write into the bucket itself
  check_ddp(dist::DistributedDataParallelOptions(view).bucket_cap_mb(1e-4).first_bucket_mb(1e-4), false, false);
  // After a synchronised backward the gradients of one bucket share its memory.
  TwoLayer model;
  dist::DistributedDataParallel ddp(model, view);
  model->use_extra = true;
  ddp(input_of(R())).pow(2).sum().backward();
  EXPECT_TRUE(model->fc1->weight.grad().shares_storage(model->fc2->bias.grad()));
  // A bucket-view .grad that no rank uses in the next pass keeps its value
  // (the next pass zeroes the parameter's slot in the bucket).
  ASSERT_TRUE(model->extra->weight.grad().shares_storage(model->fc1->weight.grad()));
  const Tensor kept = model->extra->weight.grad().clone();
  model->use_extra = false;
  ddp(input_of(R())).pow(2).sum().backward();  // no zero_grad: fc1 and fc2 accumulate in place
  expect_close(model->extra->weight.grad(), kept, 0, "unused bucket view");
}

TEST(DistributedDataParallel, NoSyncUseCountsWhenTheSyncPassSkipsAParameter) {
  // `extra` gets its gradient in the no_sync pass only: that gradient is still
  // averaged; the other parameters get the average of both passes' sum. With
  // the view, a first synchronised step makes the gradients bucket views, and
  // zero_grad(false) keeps them so, so the no_sync pass accumulates into the bucket.
  for (int mode = 0; mode < 4; ++mode) {
    const bool view = mode & 1, shared = mode & 2;
    TwoLayer model;
    dist::DistributedDataParallel ddp(
        model, dist::DistributedDataParallelOptions().gradient_as_bucket_view(view).shared_memory(shared));
    const std::vector<Tensor> with_extra = expected_grads_when(model, [](int) { return true; });
    const std::vector<Tensor> without = expected_grads_when(model, [](int) { return false; });
    model->use_extra = true;
    ddp(input_of(R())).pow(2).sum().backward();
    model->zero_grad(/*set_to_none=*/false);
    {
      auto guard = ddp.no_sync();
      model->use_extra = true;
      ddp(input_of(R())).pow(2).sum().backward();
    }
    model->use_extra = false;
    ddp(input_of(R())).pow(2).sum().backward();
    const NamedTensors named = model->named_parameters();
    for (std::size_t i = 0; i < named.size(); ++i) {
      const auto& [name, p] = named[i];
      if (name.rfind("extra.", 0) == 0) expect_close(p.grad(), with_extra[i], 1e-5, name);
      else if (without[i].defined()) expect_close(p.grad(), with_extra[i] + without[i], 1e-5, name);
    }
  }
}

TEST(DistributedDataParallel, GradientsThatAreBucketViewsOutliveTheReducer) {
  // With shared memory the buckets are a mapping that each .grad view keeps alive.
  TwoLayer model;
  auto ddp = std::make_unique<dist::DistributedDataParallel<TwoLayer>>(
      model, dist::DistributedDataParallelOptions().gradient_as_bucket_view(true));
  ASSERT_TRUE(ddp->reducer().stats().shared_memory);
  const std::vector<Tensor> expected = expected_grads(model, false);  // from rank 0's parameters
  (*ddp)(input_of(R())).pow(2).sum().backward();
  ddp.reset();
  const TensorList params = model->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!expected[i].defined()) continue;
    expect_close(params[i].grad(), expected[i], 1e-5, "after the reducer is gone");
    params[i].grad().mul_(2.0);  // still writable memory
    expect_close(params[i].grad(), expected[i] * 2.0, 1e-5, "written after the reducer is gone");
  }
}

TEST(SharedReduce, SumsEveryBufferOverTheRanksBitwiseAlike) {
  using dist::detail::SharedReduce;
  // Empty, one element, and more than one 1024-element chunk per rank, in both dtypes.
  const std::vector<SharedReduce::Spec> specs = {
      {0, DType::Float32}, {1, DType::Float64}, {1000, DType::Float32}, {5003, DType::Float64}};
  SharedReduce reduce(specs);
  auto ramp = [](const SharedReduce::Spec& s) {  // 1, 2, ..., numel
    return arange(1.0, static_cast<double>(s.numel) + 1.0, 1.0, s.dtype);
  };
  for (int round = 0; round < 2; ++round) {  // buffers are reused
    for (std::size_t k = 0; k < specs.size(); ++k) {
      Tensor b = reduce.buffer(k);
      ASSERT_EQ(b.numel(), specs[k].numel);
      ASSERT_EQ(b.dtype(), specs[k].dtype);
      NoGradGuard no_grad;
      b.copy_(ramp(specs[k]) * static_cast<double>(R() + 1 + round));
    }
    reduce.sum(0.5);
    for (std::size_t k = 0; k < specs.size(); ++k) {
      const Tensor b = reduce.buffer(k);
      // 0.5 * sum over r of (r + 1 + round) * (j + 1): small integers and halves, exact in float.
      const double factor = 0.5 * (W() * (W() + 1) / 2 + W() * round);
      const Tensor want = ramp(specs[k]) * factor;
      expect_close(b, want, 0, fmt::format("buffer {} round {}", k, round));
      const TensorList all = dist::all_gather(b);
      for (int r = 1; r < W(); ++r) expect_close(all[r], all[0], 0, "the same on every rank");
    }
  }
}

// Rank 0 names the shared-memory objects after its pid: none may be left.
void expect_nothing_in_dev_shm() {
  Tensor pid = full({1}, static_cast<double>(getpid()), DType::Int64);
  dist::broadcast(pid, 0);
  const std::string prefix = fmt::format("ember-dist-{}-", pid.item<std::int64_t>());
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm"))
    EXPECT_NE(entry.path().filename().string().rfind(prefix, 0), 0u) << entry.path();
}

TEST(SharedReduce, LeavesNothingInDevShm) {
  using dist::detail::SharedReduce;
  SharedReduce reduce({{16, DType::Float32}});
  expect_nothing_in_dev_shm();  // once every rank has it mapped the name is gone
  reduce.sum(1.0);
}

TEST(SharedReduce, MoreThanDevShmHoldsIsAnErrorOnEveryRank) {
  // Twice the size of /dev/shm: rank 0's posix_fallocate refuses it at once
  // (tmpfs checks the size before it allocates), and every rank throws.
  struct statvfs fs {};
  std::int64_t numel = 0;
  if (R() == 0 && statvfs("/dev/shm", &fs) == 0) numel = static_cast<std::int64_t>(fs.f_blocks * fs.f_frsize / 2);
  Tensor n = full({1}, static_cast<double>(numel), DType::Int64);
  dist::broadcast(n, 0);
  if (n.item<std::int64_t>() == 0) GTEST_SKIP() << "no /dev/shm to measure";
  try {
    dist::detail::SharedReduce reduce({{n.item<std::int64_t>(), DType::Float32}});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no shared-memory all-reduce"), std::string::npos) << e.what();
  }
  expect_nothing_in_dev_shm();  // the object rank 0 created and could not fill is gone too
}

TEST(SharedReduce, NeedsFloatingBuffers) {
  EXPECT_THROW(dist::detail::SharedReduce({{4, DType::Int64}}), Error);
}

TEST(DistributedDataParallel, BucketsFollowReverseRegistrationOrder) {
  TwoLayer model;
  dist::DistributedDataParallel ddp(model, dist::DistributedDataParallelOptions().bucket_cap_mb(1e-6).first_bucket_mb(1e-6));
  const auto buckets = ddp.reducer().bucket_indices();
  ASSERT_EQ(buckets.size(), 8u);  // 8 parameters, each over the cap
  for (std::size_t k = 0; k < buckets.size(); ++k) EXPECT_EQ(buckets[k], std::vector<std::size_t>{7 - k});
  dist::DistributedDataParallel one(model);
  ASSERT_EQ(one.reducer().bucket_indices().size(), 1u);
  EXPECT_EQ(one.reducer().stats().bytes_per_step, (4 * 8 + 8 + 8 * 3 + 3 + 2 * 2 + 2 + 3 * 3 + 3 + 8) * 4);
}

TEST(DistributedDataParallel, NoSyncAccumulatesLocally) {
  TwoLayer model;
  dist::DistributedDataParallel ddp(model);
  const std::vector<Tensor> expected = expected_grads(model, false);
  model->zero_grad();
  {
    auto guard = ddp.no_sync();
    ddp(input_of(R())).pow(2).sum().backward();  // local only
  }
  ddp(input_of(R())).pow(2).sum().backward();  // accumulates, then averages the sum
  const TensorList params = model->parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    if (expected[i].defined()) expect_close(params[i].grad(), expected[i] * 2.0, 1e-5, "no_sync");
}

TEST(DistributedDataParallel, BackwardTwiceWithoutForwardIsAnError) {
  TwoLayer model;
  dist::DistributedDataParallel ddp(model);
  Tensor loss = ddp(input_of(R())).pow(2).sum();
  loss.backward({}, /*retain_graph=*/true);
  EXPECT_THROW(loss.backward(), Error);  // would leave the replicas apart; no_sync() is the way
  Tensor again = ddp(input_of(R())).pow(2).sum();
  again.backward();  // and the reducer works after the error
}

struct NormNetImpl : nn::Module {
  NormNetImpl() { bn = register_module("bn", nn::BatchNorm1d(3)); }
  Tensor forward(const Tensor& x) { return bn(x); }
  nn::BatchNorm1d bn{nullptr};
};
EMBER_MODULE(NormNet);

TEST(DistributedDataParallel, BuffersComeFromRankZero) {
  NormNet net;
  {
    NoGradGuard no_grad;
    net->bn->running_mean.fill_(static_cast<double>(R()));
  }
  dist::DistributedDataParallel ddp(net);
  expect_close(net->bn->running_mean, zeros({3}), 0, "buffer broadcast at construction");
  ddp(full({4, 3}, 1.0 + R()));  // each rank's running stats move differently ...
  ddp(full({4, 3}, 1.0));        // ... and are broadcast from rank 0 before this forward
  TensorList all = dist::all_gather(net->bn->running_var);
  EXPECT_GT(all.size(), 1u);
}

struct OtherImpl : nn::Module {
  explicit OtherImpl(int n) { fc = register_module("fc", nn::Linear(2, n)); }
  Tensor forward(const Tensor& x) { return fc(x); }
  nn::Linear fc{nullptr};
};
EMBER_MODULE(Other);

TEST(DistributedDataParallel, DifferentModelsOnDifferentRanksAreAnError) {
  Other model(R() == 0 ? 2 : 3);
  try {
    dist::DistributedDataParallel ddp(model);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differs from rank 0"), std::string::npos) << e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ember::dist::Init mpi(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 lists the passing tests; every rank reports its failures.
  if (ember::dist::rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  ember::Tensor f = ember::tensor({static_cast<double>(failed)});
  ember::dist::all_reduce(f, ember::dist::ReduceOp::Max);  // the job fails if any rank failed
  if (ember::dist::rank() != 0 && failed) fmt::print(stderr, "rank {}: tests failed\n", ember::dist::rank());
  return f.item<double>() != 0 ? 1 : 0;
}
