// Data-parallel training speed (issue 16): steps of the examples' MLP
// (784-512-512-10, dropout 0.2, Adam) or CNN (the PyTorch example's, Adadelta)
// on MNIST with a global batch of 64, either in one process or under
// `mpirun -np N` (batch 64 / N per rank, DistributedDataParallel).
//
//   OMP_NUM_THREADS=1 ember_ddp_bench --model mlp --steps 300
//   OMP_NUM_THREADS=2 ember_ddp_bench --model mlp --steps 300
//   mpirun --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 ember_ddp_bench --model mlp --steps 300 [--overlap 0] [--bucket-view 0] [--shared-memory 0]
//
//   mpirun ... ember_ddp_bench --model allreduce:2.68 --steps 200   # the all-reduce alone
//
// Prints one line (rank 0): samples/s, ms per step, and the reducer's time per
// step (copies + all-reduce + waiting, on the backward thread) and bytes per step.
#include <chrono>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include <ember/dist/dist.h>
#include <ember/ember.h>

using namespace ember;
using Clock = std::chrono::steady_clock;

namespace {
struct MlpImpl : nn::Module {
  MlpImpl() {
    fc1 = register_module("fc1", nn::Linear(784, 512));
    fc2 = register_module("fc2", nn::Linear(512, 512));
    fc3 = register_module("fc3", nn::Linear(512, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = dropout(relu(fc1(x.flatten(1))), 0.2, is_training());
    h = dropout(relu(fc2(h)), 0.2, is_training());
    return log_softmax(fc3(h), 1);
  }
  nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};
EMBER_MODULE(Mlp);

struct CnnImpl : nn::Module {
  CnnImpl() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3)));
    fc1 = register_module("fc1", nn::Linear(9216, 128));
    fc2 = register_module("fc2", nn::Linear(128, 10));
  }
  Tensor forward(const Tensor& input) {
    Tensor x = max_pool2d(relu(conv2(relu(conv1(input)))), {2, 2});
    x = dropout(x, 0.25, is_training()).flatten(1);
    x = dropout(relu(fc1(x)), 0.5, is_training());
    return log_softmax(fc2(x), 1);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};
EMBER_MODULE(Cnn);

template <class Net>
void run(Net net, std::unique_ptr<optim::Optimizer> opt, const std::string& name, std::int64_t steps,
         std::int64_t batch, dist::DistributedDataParallelOptions options, const std::string& data_dir) {
  const int world = dist::world_size(), rank = dist::rank();
  data::MNIST train(data_dir, true);
  train.transform(data::Normalize{0.1307, 0.3081, 1.0});
  auto sampler = std::make_shared<data::DistributedSampler>(world, rank, true, 1);
  data::DataLoader loader(train, data::DataLoaderOptions().batch_size(batch / world).sampler(sampler));
  std::unique_ptr<dist::DistributedDataParallel<Net>> ddp;
  if (world > 1)
    ddp = std::make_unique<dist::DistributedDataParallel<Net>>(net, options);
  const std::int64_t warmup = 10;
  std::int64_t step = 0;
  Clock::time_point t0;
  double loss_sum = 0;
  for (int epoch = 0; step < warmup + steps; ++epoch) {
    sampler->set_epoch(epoch);
    for (const data::Example& b : loader) {
      if (step == warmup) {
        if (ddp) {
          dist::barrier();
          ddp->reducer().reset_stats();
        }
        t0 = Clock::now();
      }
      if (step == warmup + steps) break;
      opt->zero_grad();
      Tensor loss = nn::F::nll_loss(ddp ? (*ddp)(b.data) : net(b.data), b.target);
      loss.backward();
      opt->step();
      if (step >= warmup) loss_sum += loss.item<double>();
      ++step;
    }
  }
  if (ddp) dist::barrier();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  // Every rank's wait after backward: the rank that waits least is the one the others wait for.
  std::vector<double> waits;
  if (ddp) {
    const auto& st = ddp->reducer().stats();
    const double n = static_cast<double>(std::max<std::int64_t>(st.steps, 1));
    for (const Tensor& w : dist::all_gather(tensor({st.wait_seconds * 1e3 / n}, DType::Float64)))
      waits.push_back(w.item<double>());
  }
  if (rank != 0) return;
  const double ms_step = secs * 1e3 / static_cast<double>(steps);
  std::string reducer = "no reducer (one process)";
  if (ddp) {
    const auto& st = ddp->reducer().stats();
    const double n = static_cast<double>(std::max<std::int64_t>(st.steps, 1));
    reducer = fmt::format("reducer {:.2f} ms/step (waiting {:.2f}, copies {:.2f}; waiting by rank {:.2f}), {:.2f} MB "
                          "all-reduced per step through {}, overlap {}, gradient as bucket view {}",
                          st.seconds * 1e3 / n, st.wait_seconds * 1e3 / n, st.copy_seconds * 1e3 / n,
                          fmt::join(waits, " "), st.bytes_per_step / 1e6,
                          st.shared_memory ? "shared memory" : "MPI messages", options.overlap() ? "on" : "off", options.gradient_as_bucket_view() ? "on" : "off");
  }
  fmt::print("{} ranks={} threads/rank={} global batch {}: {:.0f} samples/s, {:.2f} ms/step; {}; mean loss {:.3f}\n",
             name, world, get_num_threads(), batch, static_cast<double>(steps * batch) / secs, ms_step, reducer,
             loss_sum / static_cast<double>(steps));
}
}  // namespace

int main(int argc, char** argv) {
  dist::Init mpi(argc, argv);
  std::string model = "mlp", data_dir = "build/mnist";
  std::int64_t steps = 200, batch = 64;
  // As the examples' --distributed: overlap on, gradients as views into the buckets.
  auto options = dist::DistributedDataParallelOptions().gradient_as_bucket_view(true);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model = v;
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--batch-size") batch = std::stoll(v);
    else if (k == "--overlap") options.overlap(v != "0");
    else if (k == "--bucket-view") options.gradient_as_bucket_view(v != "0");
    else if (k == "--shared-memory") options.shared_memory(v != "0");
    else if (k == "--data") data_dir = v;
    else throw Error("ddp_bench: unknown flag " + k);
  }
  manual_seed(1);
  if (model.rfind("allreduce:", 0) == 0) {  // allreduce:MB -- the collective alone, float32
    const double mb = std::stod(model.substr(10));
    Tensor t = ones({static_cast<std::int64_t>(mb * 1e6 / 4)});
    for (int i = 0; i < 5; ++i) dist::all_reduce(t);
    dist::barrier();
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < steps; ++i) dist::all_reduce(t);
    const double ms = std::chrono::duration<double>(Clock::now() - t0).count() * 1e3 / static_cast<double>(steps);
    if (dist::rank() == 0)
      fmt::print("all_reduce {:.2f} MB float32 on {} ranks: {:.3f} ms ({:.2f} GB/s of algorithm bandwidth)\n", mb,
                 dist::world_size(), ms, mb / ms);
    return 0;
  }
  if (model == "mlp") {
    Mlp net;
    run(net, std::make_unique<optim::Adam>(net->parameters(), optim::AdamOptions(1e-3)), model, steps, batch, options,
        data_dir);
  } else if (model == "cnn") {
    Cnn net;
    run(net, std::make_unique<optim::Adadelta>(net->parameters(), optim::AdadeltaOptions(1.0)), model, steps, batch,
        options, data_dir);
  } else {
    throw Error("ddp_bench: --model mlp or cnn");
  }
}
