// nn: the Module tree, the layers' defaults, state_dict and checkpoints.
#include <gtest/gtest.h>

#include <sstream>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <ember/ember.h>

namespace {
using namespace ember;

// The PyTorch examples MNIST net, as the CNN example builds it.
struct Net : nn::Module {
  Net() {
    conv1 = register_module("conv1", nn::make<nn::Conv2d>(nn::Conv2dOptions(1, 32, 3)));
    conv2 = register_module("conv2", nn::make<nn::Conv2d>(nn::Conv2dOptions(32, 64, 3)));
    fc1 = register_module("fc1", nn::make<nn::Linear>(9216, 128));
    fc2 = register_module("fc2", nn::make<nn::Linear>(128, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = relu(conv2->forward(relu(conv1->forward(x))));
    h = dropout(max_pool2d(h, {2, 2}).flatten(1), 0.25, is_training());
    return log_softmax(fc2->forward(dropout(relu(fc1->forward(h)), 0.5, is_training())), 1);
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

TEST(Module, NamesCountsAndTree) {
  auto net = std::make_shared<Net>();
  EXPECT_EQ(net->num_parameters(), 1199882);  // PyTorch's count for this net
  std::vector<std::string> names;
  for (auto& [n, _] : net->named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                                             "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(net->children().size(), 4u);
  EXPECT_EQ(net->modules().size(), 5u);
  EXPECT_EQ(net->named_modules()[2].first, "conv2");
  EXPECT_EQ(net->to_string(),
            "Net(\n"
            "  (conv1): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))\n"
            "  (conv2): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1))\n"
            "  (fc1): Linear(in_features=9216, out_features=128, bias=True)\n"
            "  (fc2): Linear(in_features=128, out_features=10, bias=True)\n"
            ")");
  int visited = 0;
  net->apply([&](nn::Module&) { ++visited; });
  EXPECT_EQ(visited, 5);
  net->eval();
  EXPECT_FALSE(net->fc1->is_training());
  net->train();
  EXPECT_TRUE(net->conv2->is_training());
  Tensor out = net->forward(randn({2, 1, 28, 28}));
  EXPECT_EQ(out.sizes(), (Shape{2, 10}));
  out.sum().backward();
  EXPECT_TRUE(net->fc1->weight.grad().defined());
  net->zero_grad();
  EXPECT_FALSE(net->fc1->weight.grad().defined());
}

TEST(Module, RejectsBadNames) {
  nn::Module m;
  EXPECT_THROW(m.register_parameter("", zeros({1})), Error);
  EXPECT_THROW(m.register_parameter("a.b", zeros({1})), Error);
  m.register_parameter("w", zeros({1}));
  EXPECT_THROW(m.register_buffer("w", zeros({1})), Error);
  EXPECT_THROW(m.register_module("w", nn::make<nn::ReLU>()), Error);
}

TEST(Layers, DefaultInitialisationBounds) {
  manual_seed(1);
  nn::LinearImpl lin(784, 512);
  const double bound = 1.0 / std::sqrt(784.0);  // kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in))
  EXPECT_LE(lin.weight.abs().max().item<double>(), bound);
  EXPECT_GT(lin.weight.abs().max().item<double>(), 0.99 * bound);
  EXPECT_LE(lin.bias.abs().max().item<double>(), bound);
  EXPECT_NEAR(ember::std(lin.weight).item<double>(), bound / std::sqrt(3.0), 2e-3 * bound * 10);
  nn::Conv2dImpl conv(nn::Conv2dOptions(32, 64, 3).stride(2).padding(1).bias(false));
  EXPECT_EQ(conv.weight.sizes(), (Shape{64, 32, 3, 3}));
  EXPECT_FALSE(conv.bias.defined());
  EXPECT_EQ(conv.forward(zeros({1, 32, 8, 8})).sizes(), (Shape{1, 64, 4, 4}));
  Tensor w = empty({100, 50});
  nn::init::xavier_uniform_(w);
  EXPECT_LE(w.abs().max().item<double>(), std::sqrt(6.0 / 150));
  nn::init::kaiming_normal_(w, 0, "fan_in", "relu");
  EXPECT_NEAR(ember::std(w).item<double>(), std::sqrt(2.0 / 50), 0.02);
}

TEST(Layers, BatchNormTrainEvalAndBuffers) {
  nn::BatchNorm2dImpl bn(3);
  Tensor x = randn({8, 3, 4, 4}) * 3.0 + 2.0;
  Tensor y = bn.forward(x);
  EXPECT_NEAR(y.mean().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(bn.running_mean.mean().item<double>(), 0.2, 0.1);  // moved 10% toward ~2
  EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 1);
  bn.eval();
  Tensor before = bn.running_mean.clone();
  bn.forward(x);
  EXPECT_EQ(bn.running_mean.to_vector<float>(), before.to_vector<float>());
  std::vector<std::string> names;
  for (auto& [n, _] : bn.state_dict()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_THROW(bn.forward(randn({2, 3})), Error);
}

TEST(Layers, DropoutFollowsTrainingMode) {
  nn::DropoutImpl d(0.5);
  Tensor x = ones({1000});
  EXPECT_GT((d.forward(x) == 0.0).to(DType::Float32).sum().item<float>(), 300.0f);
  d.eval();
  EXPECT_TRUE(d.forward(x).is_same(x));
}

TEST(Layers, SequentialNamesChildrenByPosition) {
  nn::Sequential seq{nn::make<nn::Linear>(4, 3), nn::make<nn::ReLU>(), nn::make<nn::Linear>(3, 2)};
  std::vector<std::string> names;
  for (auto& [n, _] : seq->named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(seq->forward(randn({5, 4})).sizes(), (Shape{5, 2}));
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_THROW(seq[3], Error);
}

std::string temp_path(const char* name) { return (std::filesystem::temp_directory_path() / name).string(); }

TEST(StateDict, RoundTripThroughSafetensors) {
  auto a = std::make_shared<Net>(), b = std::make_shared<Net>();
  const std::string path = temp_path("ember_nn_roundtrip.safetensors");
  a->save(path, {{"arch", "Net"}});
  auto meta = b->load(path);
  EXPECT_EQ(meta.at("arch"), "Net");
  const auto sa = a->state_dict(), sb = b->state_dict();
  for (std::size_t i = 0; i < sa.size(); ++i) EXPECT_EQ(sa[i].second.to_vector<float>(), sb[i].second.to_vector<float>());
  std::remove(path.c_str());
}

TEST(StateDict, StrictLoadSaysWhatDiffers) {
  nn::SequentialImpl m{nn::make<nn::Linear>(4, 3)};
  nn::NamedTensors state{{"0.weight", zeros({3, 5})}, {"0.extra", zeros({1})}};
  try {
    m.load_state_dict(state);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "load_state_dict: error(s) loading state_dict for Sequential:\n"
                 "  missing keys: 0.bias\n"
                 "  unexpected keys: 0.extra\n"
                 "  size or dtype mismatch: 0.weight: checkpoint [3, 5] float32 vs model [3, 4] float32");
  }
  // Non-strict still refuses a wrong shape, but accepts a partial state.
  EXPECT_THROW(m.load_state_dict(state, false), Error);
  m.load_state_dict({{"0.bias", ones({3})}}, false);
  EXPECT_EQ(m.state_dict()[1].second.to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

// Issue 17, finding 7: a file with 1.7M unexpected keys printed all of them.
TEST(StateDict, LongKeyListsAreCutInTheMessage) {
  nn::SequentialImpl m{nn::make<nn::Linear>(4, 3)};
  nn::NamedTensors state{{"0.weight", zeros({3, 4})}, {"0.bias", zeros({3})}};
  for (int i = 0; i < 200000; ++i) state.emplace_back(fmt::format("junk.{:06d}", i), Tensor());
  for (int i = 0; i < 12; ++i) state.emplace_back("0.bias", zeros({3}));  // duplicates
  std::string msg;
  try {
    m.load_state_dict(state);
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("\n  unexpected keys: junk.000000, junk.000001, "), std::string::npos) << msg;
  EXPECT_NE(msg.find("junk.000009, ... and 199990 more"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("junk.000010"), std::string::npos) << msg;
  EXPECT_NE(msg.find("duplicate keys: 0.bias, 0.bias"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0.bias, ... and 2 more"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 1000u);
}

// The same small net as scripts/gen_interop_reference.py builds in PyTorch.
struct SmallNet : nn::Module {
  SmallNet() {
    conv1 = register_module("conv1", nn::make<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3)));
    bn1 = register_module("bn1", nn::make<nn::BatchNorm2d>(4));
    fc1 = register_module("fc1", nn::make<nn::Linear>(36, 5));
    fc2 = register_module("fc2", nn::make<nn::Linear>(5, 3));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = max_pool2d(relu(bn1(conv1(x))), {2, 2});
    return fc2(relu(fc1(h.flatten(1))));
  }
  nn::Conv2d conv1{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

TEST(StateDict, WeightsFromPyTorchLoadAndGiveTheSameOutput) {
  SmallNet net;
  const auto meta = net.load(EMBER_TEST_DATA_DIR "/torch_small_net.safetensors");
  EXPECT_EQ(meta.at("framework").rfind("pytorch", 0), 0u);
  net.eval();
  const auto io = safetensors::load(EMBER_TEST_DATA_DIR "/torch_small_net_io.safetensors").tensors;
  Tensor input, expected;
  for (const auto& [name, t] : io) (name == "input" ? input : expected) = t;
  const auto out = net.forward(input).to_vector<float>(), want = expected.to_vector<float>();
  ASSERT_EQ(out.size(), want.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-5) << i;
}

// ---- issue 10 part A: half-precision checkpoints written by PyTorch ----
// model.half() / model.bfloat16() state_dicts: refused with a hint by default,
// converted on request, and then the output of PyTorch's rounded weights.
TEST(StateDict, HalfPrecisionCheckpointsFromPyTorchLoadWhenAskedToConvert) {
  for (const char* tag : {"f16", "bf16"}) {
    const std::string path = std::string(EMBER_TEST_DATA_DIR "/torch_small_net_") + tag + ".safetensors";
    const auto file = safetensors::load(path);
    bool saw_half = false;
    for (const auto& [name, t] : file.tensors)
      saw_half = saw_half || t.dtype() == (std::string(tag) == "f16" ? DType::Float16 : DType::BFloat16);
    EXPECT_TRUE(saw_half) << tag;
    SmallNet refuses;
    try {
      refuses.load(path);
      ADD_FAILURE() << tag << ": a half checkpoint loaded into a float32 model without being asked to convert";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("convert_dtypes(true)"), std::string::npos) << e.what();
    }
    SmallNet net;
    const auto meta = net.load(path, nn::LoadOptions().convert_dtypes(true));
    for (const auto& [name, t] : net.named_parameters()) EXPECT_EQ(t.dtype(), DType::Float32) << name;
    net.eval();
    Tensor input;
    for (const auto& [name, t] : safetensors::load(EMBER_TEST_DATA_DIR "/torch_small_net_io.safetensors").tensors)
      if (name == "input") input = t;
    const auto out = net.forward(input).to_vector<float>();
    std::vector<float> want;
    std::istringstream words(meta.at("output"));
    for (float v; words >> v;) want.push_back(v);
    ASSERT_EQ(out.size(), want.size()) << tag;
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-5) << tag << " " << i;
    // and back: a half model saved by Ember reads as the same bits
    net.to(std::string(tag) == "f16" ? DType::Float16 : DType::BFloat16);
    const std::string again = testing::TempDir() + "/ember_half_" + tag + ".safetensors";
    net.save(again);
    const auto reread = safetensors::load(again).tensors;
    for (const auto& [name, t] : reread)
      for (const auto& [n0, t0] : file.tensors)
        if (n0 == name) {
          EXPECT_EQ(t.to(DType::Float64).to_vector<double>(), t0.to(DType::Float64).to_vector<double>()) << name;
        }
  }
}

TEST(StateDict, Int32TensorsFromPyTorchRoundTrip) {
  const auto file = safetensors::load(EMBER_TEST_DATA_DIR "/torch_int32.safetensors");
  ASSERT_EQ(file.tensors.size(), 1u);
  const Tensor& t = file.tensors[0].second;
  EXPECT_EQ(t.dtype(), DType::Int32);
  EXPECT_EQ(t.to(DType::Int64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{1, -2, 3, 2147483647, -2147483648LL, 0}));
  EXPECT_EQ((t - t).dtype(), DType::Int32);  // (t + t would overflow 2147483647: undefined in C++, wrapped in PyTorch)
  const std::string path = testing::TempDir() + "/ember_int32.safetensors";
  safetensors::save(path, {{"counts", t}});
  EXPECT_EQ(safetensors::load(path).tensors[0].second.to(DType::Int64).to_vector<std::int64_t>(),
            t.to(DType::Int64).to_vector<std::int64_t>());
}

TEST(DTypes, HalfTypesConvertBothWaysAndComputeInFloat32) {
  Tensor x = tensor({0.1, -2.5, 65504.0, 1e-5, 70000.0, NAN});
  Tensor h = x.to(DType::Float16), b = x.to(DType::BFloat16);
  EXPECT_EQ(h.dtype(), DType::Float16);
  const auto hv = h.to(DType::Float32).to_vector<float>();
  EXPECT_FLOAT_EQ(hv[0], 0.0999755859375f);  // PyTorch: torch.tensor(0.1).half().float()
  EXPECT_EQ(hv[2], 65504.0f);
  EXPECT_FLOAT_EQ(hv[3], 1.0013580322265625e-05f);
  EXPECT_TRUE(std::isinf(hv[4]));
  EXPECT_TRUE(std::isnan(hv[5]));
  EXPECT_FLOAT_EQ(b.to(DType::Float32).to_vector<float>()[0], 0.10009765625f);
  Tensor s = h + h;  // elementwise arithmetic reads the halves and computes in float32
  EXPECT_EQ(s.dtype(), DType::Float32);
  EXPECT_FLOAT_EQ(s.to_vector<float>()[1], -5.0f);
  EXPECT_EQ(exp(b).dtype(), DType::Float32);
  EXPECT_EQ(zeros({2}, DType::Float16).to(DType::Float64).to_vector<double>(), (std::vector<double>{0.0, 0.0}));
  EXPECT_EQ(h.t().contiguous().dtype(), DType::Float16);
  EXPECT_EQ(ones({2, 2}).to(DType::Int32).dtype(), DType::Int32);
  EXPECT_EQ(promote_types(DType::Float16, DType::BFloat16), DType::Float32);
  EXPECT_EQ(promote_types(DType::Int32, DType::Int64), DType::Int64);
  EXPECT_EQ(promote_types(DType::UInt8, DType::Int32), DType::Int32);
}
// ---- end of issue 10 part A ----

TEST(Losses, NllLossWithEveryTargetIgnored) {
  Tensor lp = log_softmax(randn({3, 4}), 1).detach().requires_grad_();
  Tensor loss = nn::F::nll_loss(lp, tensor({1.0, 1.0, 1.0}).to(DType::Int64), nn::F::NLLLossFuncOptions().ignore_index(1));
  EXPECT_TRUE(std::isnan(loss.item<double>()));  // PyTorch: mean over no rows
  loss.backward();
  for (float g : lp.grad().to_vector<float>()) EXPECT_EQ(g, 0.0f);  // PyTorch: zero gradient, not NaN
}

TEST(Losses, CrossEntropyIsStableAndMatchesNll) {
  Tensor logits = tensor({{1e4, 0, -1e4}, {3, 1, 2}}), targets = tensor({2, 0}, DType::Int64);
  const double ce = nn::F::cross_entropy(logits, targets).item<double>();
  EXPECT_TRUE(std::isfinite(ce));
  EXPECT_NEAR(ce, nn::F::nll_loss(log_softmax(logits, 1), targets).item<double>(), 1e-3);
  nn::CrossEntropyLoss loss;
  EXPECT_NEAR(loss(logits, targets).item<double>(), ce, 1e-6);
  EXPECT_THROW(nn::F::cross_entropy(logits, tensor({3, 0}, DType::Int64)), Error);
  EXPECT_THROW(nn::F::cross_entropy(logits, tensor({1.0, 0.0})), Error);
}

}  // namespace

// mse_loss and l1_loss warn, once, when target and input shapes differ and
// would broadcast (PyTorch's warning); equal shapes say nothing.
TEST(Losses, WarnOnceWhenTargetBroadcastsAgainstInput) {
  std::vector<std::string> heard;
  auto old = set_warning_handler([&](const std::string& m) { heard.push_back(m); });
  const Tensor input = zeros({4, 1}), target = zeros({4});
  nn::F::mse_loss(input, zeros({4, 1}));
  EXPECT_TRUE(heard.empty());
  nn::F::mse_loss(input, target);
  nn::F::mse_loss(input, target);
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], "mse_loss: using a target size ([4]) that is different to the input size ([4, 1]); this will "
                      "likely lead to incorrect results due to broadcasting. Please ensure they have the same size.");
  nn::F::l1_loss(input, target);
  EXPECT_EQ(heard.size(), 2u);
  set_warning_handler(old);
}

// The three spellings of a loss agree: the module with chained options, the
// functional form with its FuncOptions, and LibTorch's positional top-level form.
TEST(Losses, OptionsModulesFunctionalAndTopLevelAgree) {
  manual_seed(3);
  const Tensor logits = randn({5, 4}, DType::Float64), targets = tensor({0, 3, 2, 2, 1}, DType::Int64);
  const Tensor weight = tensor({1.0, 2.0, 0.5, 1.5}, DType::Float64);
  const auto same = [](const Tensor& a, const Tensor& b) { return a.item<double>() == b.item<double>(); };

  nn::CrossEntropyLoss ce(nn::CrossEntropyLossOptions().weight(weight).ignore_index(2).label_smoothing(0.1).reduction(nn::kSum));
  EXPECT_EQ(ce->options.ignore_index(), 2);
  EXPECT_EQ(ce->options.reduction(), nn::kSum);
  const Tensor by_module = ce(logits, targets);
  EXPECT_TRUE(same(by_module, nn::F::cross_entropy(logits, targets, nn::F::CrossEntropyFuncOptions().weight(weight).ignore_index(2).label_smoothing(0.1).reduction(nn::kSum))));
  EXPECT_TRUE(same(by_module, cross_entropy_loss(logits, targets, weight, Reduction::Sum, 2, 0.1)));

  const Tensor lp = log_softmax(logits, 1);
  EXPECT_TRUE(same(nll_loss(lp, targets, {}, Reduction::Sum), nn::F::nll_loss(lp, targets, nn::kSum)));
  EXPECT_TRUE(same(nll_loss(lp, targets, weight, Reduction::Mean, 3), nn::NLLLoss(nn::NLLLossOptions().weight(weight).ignore_index(3))(lp, targets)));
  // The sum is not the mean: the reduction really reaches the loss.
  EXPECT_NEAR(nll_loss(lp, targets, {}, Reduction::Sum).item<double>(), 5.0 * nll_loss(lp, targets).item<double>(), 1e-12);

  const Tensor x = randn({3, 2}, DType::Float64), y = randn({3, 2}, DType::Float64);
  EXPECT_TRUE(same(nn::MSELoss(nn::kSum)(x, y), mse_loss(x, y, Reduction::Sum)));
  EXPECT_TRUE(same(nn::L1Loss(nn::L1LossOptions().reduction(nn::kSum))(x, y), l1_loss(x, y, Reduction::Sum)));
  const Tensor p = sigmoid(x), t = (y > 0.0).to(DType::Float64), pw = tensor({2.0, 0.5}, DType::Float64);
  EXPECT_TRUE(same(nn::BCELoss(nn::BCELossOptions().weight(t + 1.0))(p, t), binary_cross_entropy(p, t, t + 1.0)));
  EXPECT_TRUE(same(nn::BCEWithLogitsLoss(nn::BCEWithLogitsLossOptions().pos_weight(pw).reduction(nn::kNone))(x, t).sum(),
                   binary_cross_entropy_with_logits(x, t, {}, pw, Reduction::Sum)));
}

// nn::functional's LibTorch option forms agree with the ops they unpack into.
TEST(Functional, LibTorchOptionForms) {
  auto same = [](const Tensor& a, const Tensor& b) {
    return a.sizes() == b.sizes() && (a - b).abs().max().item<float>() == 0.0f;
  };
  manual_seed(1);
  const Tensor x = randn({2, 3, 6, 6});
  EXPECT_TRUE(same(nn::F::max_pool2d(x, nn::F::MaxPool2dFuncOptions(2)), ember::max_pool2d(x, {2, 2})));
  EXPECT_TRUE(same(nn::F::max_pool2d(x, nn::F::MaxPool2dFuncOptions(3).stride(2).padding(1)),
                    ember::max_pool2d(x, {3, 3}, Int2{2, 2}, {1, 1})));
  EXPECT_TRUE(same(nn::F::avg_pool2d(x, nn::F::AvgPool2dFuncOptions(2)), ember::avg_pool2d(x, {2, 2})));
  EXPECT_TRUE(same(nn::F::dropout(x, nn::F::DropoutFuncOptions().p(0.3).training(false)), x));
  const Tensor d = nn::F::dropout(x, nn::F::DropoutFuncOptions().p(0.5));
  EXPECT_NEAR(d.eq(0).to(DType::Float32).mean().item<float>(), 0.5, 0.15);
  Tensor y = x.clone();
  nn::F::dropout(y, nn::F::DropoutFuncOptions().p(1.0).inplace(true));
  EXPECT_EQ(y.abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(nn::F::interpolate(x, nn::F::InterpolateFuncOptions().size({3, 3})).sizes(), (Shape{2, 3, 3, 3}));
  const Tensor v = tensor({{3., 4.}, {0., 0.}});
  EXPECT_EQ(nn::F::normalize(v).to_vector<float>(), (std::vector<float>{0.6f, 0.8f, 0, 0}));
  EXPECT_EQ(nn::F::normalize(v, nn::F::NormalizeFuncOptions().p(1).dim(0)).to_vector<float>(),
            (std::vector<float>{1, 1, 0, 0}));
}
