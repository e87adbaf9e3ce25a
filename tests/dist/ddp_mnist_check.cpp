// The data-parallel correctness check (issue 16), run by CTest as
//   mpirun -np 2 ember_ddp_mnist_check --data DIR --limit 1024
// Every rank trains a small CNN + MLP with DistributedDataParallel on its
// DistributedSampler shard, batch 64 / world per rank; the loss of each step is
// all-reduced (the mean over the global batch). Then rank 0 alone trains the
// same model from the same seed with one process's batch of 64 over the same
// shuffled order, and compares the two loss curves and the final parameters.
//
// --fail MODE --fail-rank R --fail-step S makes rank R fail at step S
// (MODE: kill = SIGKILL, throw = an uncaught ember::Error, hang = sleep), for
// the failure tests: the job must end, naming the rank, within a bound.
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include <ember/dist/dist.h>
#include <ember/ember.h>

using namespace ember;

namespace {

struct NetImpl : nn::Module {
  NetImpl() {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(1, 4, 5)));
    fc1 = register_module("fc1", nn::Linear(4 * 12 * 12, 32));
    fc2 = register_module("fc2", nn::Linear(32, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = max_pool2d(relu(conv(x)), {2, 2}).flatten(1);
    return log_softmax(fc2(relu(fc1(h))), 1);
  }
  nn::Conv2d conv{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};
EMBER_MODULE(Net);

struct Args {
  std::string data = "build/mnist";
  std::int64_t limit = 1024, batch = 64, seed = 1;
  std::string fail;
  int fail_rank = 1, fail_step = 2;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--data") a.data = v;
    else if (k == "--limit") a.limit = std::stoll(v);
    else if (k == "--batch-size") a.batch = std::stoll(v);
    else if (k == "--seed") a.seed = std::stoll(v);
    else if (k == "--fail") a.fail = v;
    else if (k == "--fail-rank") a.fail_rank = std::stoi(v);
    else if (k == "--fail-step") a.fail_step = std::stoi(v);
    else throw Error("ddp_mnist_check: unknown flag " + k);
  }
  return a;
}

std::shared_ptr<data::TensorDataset> subset(const Args& a) {
  data::MNIST full(a.data, true);
  auto ds = std::make_shared<data::TensorDataset>(full.data().narrow(0, 0, a.limit).contiguous(),
                                                  full.targets().narrow(0, 0, a.limit).contiguous());
  ds->transform(data::Normalize{0.1307, 0.3081, 1.0 / 255});
  return ds;
}

void maybe_fail(const Args& a, int step) {
  if (a.fail.empty() || dist::rank() != a.fail_rank || step != a.fail_step) return;
  if (a.fail == "kill") std::raise(SIGKILL);
  if (a.fail == "throw") throw Error(fmt::format("a deliberate failure at step {}", step));
  if (a.fail == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
}

// One epoch; world > 1 trains through DDP on this rank's shard. Returns the loss per step.
std::vector<double> train(const Args& a, std::int64_t world, std::int64_t rank, Net& out) {
  manual_seed(static_cast<std::uint64_t>(a.seed));
  Net net;
  auto sampler = std::make_shared<data::DistributedSampler>(world, rank, true, static_cast<std::uint64_t>(a.seed));
  sampler->set_epoch(0);
  data::DataLoader loader(subset(a), data::DataLoaderOptions().batch_size(a.batch / world).sampler(sampler));
  optim::SGD opt(net->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  std::unique_ptr<dist::DistributedDataParallel<Net>> ddp;
  if (world > 1) ddp = std::make_unique<dist::DistributedDataParallel<Net>>(net);
  std::vector<double> losses;
  int step = 0;
  for (const data::Example& batch : loader) {
    maybe_fail(a, step);
    opt.zero_grad();
    Tensor loss = nn::F::nll_loss(ddp ? (*ddp)(batch.data) : net(batch.data), batch.target);
    loss.backward();
    opt.step();
    Tensor l = loss.detach().clone();
    if (ddp) dist::all_reduce(l, dist::ReduceOp::Mean);
    losses.push_back(l.item<double>());
    ++step;
  }
  out = net;
  return losses;
}

}  // namespace

int main(int argc, char** argv) {
  dist::Init mpi(argc, argv);
  const Args a = parse(argc, argv);
  const int world = dist::world_size(), rank = dist::rank();
  EMBER_CHECK(a.batch % world == 0, "ddp_mnist_check: batch {} is not a multiple of the world size {}", a.batch, world);
  Net ddp_net{nullptr};
  const std::vector<double> curve = train(a, world, rank, ddp_net);
  if (rank != 0) {
    dist::barrier();
    return 0;
  }
  // Rank 0: the same training in one process with the whole batch.
  Net ref_net{nullptr};
  const std::vector<double> ref = train(a, 1, 0, ref_net);
  int bad = 0;
  if (curve.size() != ref.size()) {
    fmt::print("FAIL: {} steps with {} ranks, {} in one process\n", curve.size(), world, ref.size());
    bad = 1;
  }
  double worst = 0;
  for (std::size_t i = 0; i < std::min(curve.size(), ref.size()); ++i) {
    const double diff = std::abs(curve[i] - ref[i]);
    worst = std::max(worst, diff / std::max(1.0, std::abs(ref[i])));
    fmt::print("step {:3d}  loss {} ranks {:.7f}  1 process {:.7f}  diff {:.2e}\n", i, world, curve[i], ref[i], diff);
    if (diff > 1e-4 * std::max(1.0, std::abs(ref[i]))) bad = 1;
  }
  double worst_param = 0;
  const NamedTensors pa = ddp_net->named_parameters(), pb = ref_net->named_parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    worst_param = std::max(worst_param, (pa[i].second - pb[i].second).abs().max().item<double>());
  if (worst_param > 1e-4) bad = 1;
  fmt::print("{}: {} steps, largest relative loss difference {:.2e}, largest parameter difference {:.2e}\n",
             bad ? "FAIL" : "OK", curve.size(), worst, worst_param);
  dist::barrier();
  return bad;
}
