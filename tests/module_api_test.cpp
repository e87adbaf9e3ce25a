// The module API of issue 9: modules called like functions, forwards of any
// signature, holders, AnyModule, Sequential by value, ModuleDict, hooks, clone, fmt.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <ember/ember.h>

// Counts allocations, so a test can check that calling a module adds none.
// (g++ 12 takes the malloc/free pair below for a mismatch once it inlines std::function.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
static std::atomic<long> g_allocations{0};
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The nothrow form too (std::stable_sort's buffer uses it): otherwise the
// runtime's nothrow new would meet the free above (ASan: alloc-dealloc-mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {
using namespace ember;

std::vector<std::string> names_of(const nn::NamedTensors& tensors) {
  std::vector<std::string> out;
  for (const auto& [n, _] : tensors) out.push_back(n);
  return out;
}

bool same_values(const Tensor& a, const Tensor& b) { return a.to_vector<double>() == b.to_vector<double>(); }

// A model with a two-input forward, written as in LibTorch: NameImpl plus its holder.
struct TwoTowerImpl : nn::Cloneable<TwoTowerImpl> {
  TwoTowerImpl() { reset(); }
  void reset() {
    left = register_module("left", nn::Linear(4, 3));
    right = register_module("right", nn::Linear(2, 3));
  }
  Tensor forward(const Tensor& a, const Tensor& b) { return relu(left(a) + right(b)); }
  nn::Linear left{nullptr}, right{nullptr};
};
EMBER_MODULE(TwoTower);

// The shape of an LSTM cell's interface: a tuple out, an optional state in.
using State = std::tuple<Tensor, Tensor>;
struct ToyCellImpl : nn::Cloneable<ToyCellImpl> {
  ToyCellImpl() { reset(); }
  void reset() { fc = register_module("fc", nn::Linear(3, 3)); }
  std::tuple<Tensor, State> forward(const Tensor& x, std::optional<State> state) {
    const auto [h, c] = state ? *state : State{zeros({x.size(0), 3}), zeros({x.size(0), 3})};
    Tensor c2 = c + tanh(fc(x));
    Tensor h2 = tanh(c2) + h;
    return {h2, State{h2, c2}};
  }
  nn::Linear fc{nullptr};
};
EMBER_MODULE(ToyCell);

// An old-style model: derived from Module, no name string, no reset().
struct Plain : nn::Module {
  Plain() { fc = register_module("fc", nn::Linear(4, 2)); }
  Tensor forward(const Tensor& x) { return fc(x); }
  nn::Linear fc{nullptr};
};

TEST(ModuleApi, ModulesAreCalledLikeFunctions) {
  manual_seed(3);
  const Tensor x = randn({5, 4});
  nn::Linear fc(4, 3);
  EXPECT_TRUE(same_values(fc(x), fc->forward(x)));
  EXPECT_EQ(fc->weight.sizes(), (Shape{3, 4}));
  nn::LinearImpl by_value(4, 3);  // a module used without a holder is called the same way
  EXPECT_EQ(by_value(x).sizes(), (Shape{5, 3}));
  auto made = nn::make<nn::Linear>(4, 3);  // the old spelling gives the holder
  static_assert(std::is_same_v<decltype(made), nn::Linear>);
  EXPECT_EQ(made(x).sizes(), (Shape{5, 3}));
  nn::ReLU relu_module;
  EXPECT_EQ(relu_module(tensor({-1.0, 2.0})).to_vector<float>(), (std::vector<float>{0, 2}));

  nn::ModuleHolder<Plain> plain;  // any module, held
  EXPECT_EQ(plain(x).sizes(), (Shape{5, 2}));
  EXPECT_EQ(nn::call(*plain, x).sizes(), (Shape{5, 2}));
  nn::Linear empty{nullptr};
  EXPECT_TRUE(empty.is_empty());
  EXPECT_THROW(empty(x), Error);
}

// The call path (holder, nn::call, Sequential's chain) allocates nothing of its own
// when no hook is registered: the same count as calling the layers' forward directly.
template <class F>
long allocations_of(F&& f) {
  f();  // warm up caches
  const long before = g_allocations.load();
  f();
  return g_allocations.load() - before;
}

TEST(ModuleApi, CallingAddsNoAllocations) {
  NoGradGuard no_grad;
  const Tensor x = randn({2, 8});
  nn::Linear fc(8, 4);
  EXPECT_EQ(allocations_of([&] { (void)fc(x); }), allocations_of([&] { (void)fc->forward(x); }));
  nn::Sequential seq(nn::Linear(8, 4), nn::ReLU());
  auto& lin = seq->at<nn::LinearImpl>(0);
  auto& act = seq->at<nn::ReLUImpl>(1);
  EXPECT_EQ(allocations_of([&] { (void)seq(x); }), allocations_of([&] { (void)act.forward(lin.forward(x)); }));
  auto handle = fc->register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) {});
  handle.remove();  // an emptied hook list is skipped too
  EXPECT_EQ(allocations_of([&] { (void)fc(x); }), allocations_of([&] { (void)fc->forward(x); }));
}

TEST(ModuleApi, NamesDefaultToTheClassName) {
  EXPECT_EQ(Plain().type_name(), "Plain");
  EXPECT_EQ(TwoTower()->type_name(), "TwoTower");
  EXPECT_EQ(nn::Linear(2, 2)->type_name(), "Linear");
  EXPECT_EQ(nn::BatchNorm1d(2)->type_name(), "BatchNorm1d");
  EXPECT_EQ(nn::Module("Custom").type_name(), "Custom");
  EXPECT_EQ(Plain().to_string(), "Plain(\n  (fc): Linear(in_features=4, out_features=2, bias=True)\n)");
}

TEST(ModuleApi, TwoInputForward) {
  TwoTower model;
  const Tensor out = model(randn({6, 4}), randn({6, 2}));
  EXPECT_EQ(out.sizes(), (Shape{6, 3}));
  out.sum().backward();
  EXPECT_TRUE(model->left->weight.grad().defined());
  EXPECT_TRUE(model->right->bias.grad().defined());
  EXPECT_EQ(names_of(model->named_parameters()),
            (std::vector<std::string>{"left.weight", "left.bias", "right.weight", "right.bias"}));
}

TEST(ModuleApi, TupleForwardsComposeWithoutSequential) {
  ToyCell cell;
  const Tensor x = randn({2, 3});
  auto [h1, s1] = cell(x, std::nullopt);
  // A hook sees the inputs as forward takes them: the optional state, not std::nullopt_t.
  int calls = 0;
  cell->register_forward_hook(
      [&](nn::Module&, const Tensor&, const std::optional<State>& state, const std::tuple<Tensor, State>&) {
        calls += state ? 10 : 1;
      });
  auto [h2, s2] = cell(x, s1);  // the state of the first step goes into the second
  cell(x, std::nullopt);
  EXPECT_EQ(calls, 11);
  EXPECT_EQ(h2.sizes(), (Shape{2, 3}));
  EXPECT_TRUE(same_values(std::get<0>(s2), h2));
  EXPECT_FALSE(same_values(h1, h2));
  (h2.sum() + std::get<1>(s2).sum()).backward();
  EXPECT_TRUE(cell->fc->weight.grad().defined());
}

TEST(ModuleApi, LossThroughAGenericModule) {
  const Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({1.0, 0.0, 0.0});
  std::vector<nn::AnyModule> losses{nn::MSELoss(), nn::L1Loss(nn::Reduction::Sum)};
  EXPECT_NEAR(losses[0](a, b).item<double>(), (0.0 + 4.0 + 9.0) / 3.0, 1e-6);
  EXPECT_NEAR(losses[1].forward(a, b).item<double>(), 5.0, 1e-6);
  nn::CrossEntropyLoss ce;
  EXPECT_NEAR(ce(tensor({{0.0, 0.0}}), tensor({1}, DType::Int64)).item<double>(), std::log(2.0), 1e-6);
  // Wrong arity or types say what forward takes.
  try {
    losses[0](a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MSELoss: forward takes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(losses[0].forward(a, 1.0), Error);
  // A tuple-returning module through AnyModule.
  nn::AnyModule cell(ToyCell{});
  auto [h, state] = cell.forward<std::tuple<Tensor, State>>(randn({1, 3}), std::optional<State>{});
  EXPECT_EQ(h.sizes(), (Shape{1, 3}));
  EXPECT_EQ(cell.get<ToyCellImpl>().fc->weight.sizes(), (Shape{3, 3}));
}

TEST(ModuleApi, SequentialTakesModulesByValue) {
  nn::Sequential seq(nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
  EXPECT_EQ(seq->to_string(),
            "Sequential(\n"
            "  (0): Linear(in_features=784, out_features=128, bias=True)\n"
            "  (1): ReLU()\n"
            "  (2): Linear(in_features=128, out_features=10, bias=True)\n"
            ")");
  EXPECT_EQ(names_of(seq->state_dict()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(seq(randn({2, 784})).sizes(), (Shape{2, 10}));
  EXPECT_EQ(seq->at<nn::LinearImpl>(2).options.out_features(), 10);
  EXPECT_THROW(seq->at<nn::LinearImpl>(1), Error);

  // The first module may take any arguments; one value is passed along after it.
  nn::Sequential tower{TwoTower(), nn::Tanh()};
  EXPECT_EQ(tower->forward(randn({3, 4}), randn({3, 2})).sizes(), (Shape{3, 3}));
  nn::Sequential nested(nn::Sequential(nn::Linear(2, 2), nn::ReLU()), nn::Linear(2, 1));
  EXPECT_EQ(names_of(nested->state_dict()), (std::vector<std::string>{"0.0.weight", "0.0.bias", "1.weight", "1.bias"}));
  EXPECT_EQ(nested(randn({4, 2})).sizes(), (Shape{4, 1}));
}

TEST(ModuleApi, ModuleDictNamesItsEntries) {
  nn::ModuleDict dict({{"encoder", nn::Linear(4, 3)}, {"act", nn::ReLU()}, {"decoder", nn::Linear(3, 4)}});
  EXPECT_EQ(names_of(dict->state_dict()),
            (std::vector<std::string>{"encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"}));
  EXPECT_EQ(dict->keys(), (std::vector<std::string>{"encoder", "act", "decoder"}));
  EXPECT_TRUE(dict->contains("act"));
  const Tensor h = dict->module("act")(dict->at<nn::LinearImpl>("encoder")(randn({2, 4})));
  EXPECT_EQ(dict->at<nn::LinearImpl>("decoder")(h).sizes(), (Shape{2, 4}));
  EXPECT_THROW(dict->insert("act", nn::Tanh()), Error);  // keys are unique
  EXPECT_THROW(dict->insert("a.b", nn::Tanh()), Error);
  try {
    dict->module("missing");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "ModuleDict: no module \"missing\" (keys: encoder, act, decoder)");
  }
  EXPECT_EQ(dict->to_string().rfind("ModuleDict(\n  (encoder): Linear(", 0), 0u);
}

TEST(ModuleApi, HooksFireInOrderSeeActivationsAndAreRemovable) {
  nn::Sequential seq(nn::Linear(4, 3), nn::ReLU(), nn::Linear(3, 2));
  std::vector<std::string> log;
  Tensor seen_input, seen_output;
  auto relu = seq->at<nn::ReLUImpl>(1).shared_from_this();
  auto h1 = relu->register_forward_pre_hook([&](nn::Module& m, const Tensor& in) {
    log.push_back("pre " + m.type_name());
    seen_input = in;
  });
  auto h2 = relu->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& out) {
    log.push_back("post 1");
    seen_output = out;
  });
  auto h3 = relu->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { log.push_back("post 2"); });
  const Tensor x = randn({5, 4});
  seq(x);
  EXPECT_EQ(log, (std::vector<std::string>{"pre ReLU", "post 1", "post 2"}));
  EXPECT_EQ(seen_input.sizes(), (Shape{5, 3}));
  EXPECT_TRUE(same_values(seen_output, ember::relu(seen_input)));
  EXPECT_GE(seen_output.min().item<double>(), 0.0);

  h2.remove();
  h2.remove();  // twice is harmless
  log.clear();
  seq(x);
  EXPECT_EQ(log, (std::vector<std::string>{"pre ReLU", "post 2"}));
  h1.remove();
  h3.remove();
  log.clear();
  seq(x);
  EXPECT_TRUE(log.empty());
  EXPECT_FALSE(relu->has_hooks());

  // A pre-hook may replace the input and a forward hook the output; a hook may name its module's class.
  nn::Linear fc(2, 2);
  auto scale = fc->register_forward_pre_hook([](nn::Module&, Tensor& in) { in = in * 0.0; });
  auto bias_only = fc->forward(zeros({1, 2}));
  EXPECT_TRUE(same_values(fc(ones({1, 2})), bias_only));
  scale.remove();
  int width = 0;
  auto replace = fc->register_forward_hook([&](nn::LinearImpl& m, const Tensor&, Tensor& out) {
    width = static_cast<int>(m.options.out_features());
    out = out * 0.0;
  });
  EXPECT_EQ(fc(ones({1, 2})).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(width, 2);
  replace.remove();
  // Hooks on a two-input module see both inputs; a hook of the wrong signature is refused by name.
  TwoTower tower;
  std::vector<Shape> shapes;
  tower->register_forward_hook([&](nn::Module&, const Tensor& a, const Tensor& b, const Tensor& out) {
    shapes = {a.sizes(), b.sizes(), out.sizes()};
  });
  tower(randn({2, 4}), randn({2, 2}));
  EXPECT_EQ(shapes, (std::vector<Shape>{{2, 4}, {2, 2}, {2, 3}}));
  auto wrong = fc->register_forward_hook([](nn::Module&, const Tensor&) {});
  EXPECT_THROW(fc(ones({1, 2})), Error);
  wrong.remove();
  // A handle outliving its module does nothing.
  nn::HookHandle orphan;
  {
    nn::Linear gone(1, 1);
    orphan = gone->register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) {});
  }
  orphan.remove();
}

TEST(ModuleApi, CloneCopiesParametersAndBuffers) {
  nn::Sequential seq(nn::Linear(4, 3), nn::BatchNorm1d(3), nn::ReLU(), nn::Linear(3, 2));
  seq->to(DType::Float64);
  seq->at<nn::BatchNorm1dImpl>(1).eval();
  seq->forward(randn({8, 4}).to(DType::Float64));
  auto copy = std::dynamic_pointer_cast<nn::SequentialImpl>(seq->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->to_string(), seq->to_string());
  const auto a = seq->state_dict(), b = copy->state_dict();
  ASSERT_EQ(names_of(a), names_of(b));
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.dtype(), b[i].second.dtype()) << a[i].first;
    EXPECT_TRUE(same_values(a[i].second, b[i].second)) << a[i].first;
    EXPECT_FALSE(a[i].second.shares_storage(b[i].second)) << a[i].first;
  }
  EXPECT_FALSE(copy->at<nn::BatchNorm1dImpl>(1).is_training());
  EXPECT_TRUE(copy->at<nn::LinearImpl>(0).is_training());
  // Changing the clone's weights leaves the original's.
  const Tensor before = seq->at<nn::LinearImpl>(0).weight.clone();
  {
    NoGradGuard no_grad;
    copy->at<nn::LinearImpl>(0).weight.fill_(7.0);
  }
  EXPECT_TRUE(same_values(seq->at<nn::LinearImpl>(0).weight, before));
  EXPECT_TRUE(copy->at<nn::LinearImpl>(0).weight.requires_grad());

  // A user model with reset(), through its holder; its members point at the copy's own layers.
  TwoTower tower;
  auto twin = std::dynamic_pointer_cast<TwoTowerImpl>(tower->clone());
  ASSERT_NE(twin, nullptr);
  EXPECT_TRUE(twin->left->weight.is_same(twin->named_parameters()[0].second));
  EXPECT_TRUE(same_values(twin->left->weight, tower->left->weight));
  {
    NoGradGuard no_grad;
    twin->left->weight.zero_();
  }
  EXPECT_GT(tower->left->weight.abs().sum().item<double>(), 0.0);
  nn::AnyModule any(tower);
  nn::AnyModule any_copy = any.clone();
  EXPECT_NE(any_copy.ptr(), any.ptr());
  // A module not derived from nn::Cloneable says what it needs.
  EXPECT_THROW(Plain().clone(), Error);
}

TEST(ModuleApi, FmtFormatsAnyModule) {
  Plain plain;
  EXPECT_EQ(fmt::format("{}", plain), plain.to_string());
  nn::Linear fc(3, 2);
  EXPECT_EQ(fmt::format("{}", fc), "Linear(in_features=3, out_features=2, bias=True)");
  EXPECT_EQ(fmt::format("{}", *fc), "Linear(in_features=3, out_features=2, bias=True)");
  const nn::Module& base = plain;
  EXPECT_EQ(fmt::format("{}", base), plain.to_string());
  TwoTower tower;
  EXPECT_EQ(fmt::format("{}", tower).rfind("TwoTower(\n  (left): Linear(", 0), 0u);
}

TEST(ModuleApi, OptionsInLibTorchSpelling) {
  EXPECT_FALSE(nn::Linear(nn::LinearOptions(4, 2).bias(false))->bias.defined());
  EXPECT_EQ(nn::Dropout(nn::DropoutOptions(0.2))->options.p(), 0.2);
  EXPECT_EQ(nn::Dropout(0.3)->options.p(), 0.3);
  EXPECT_EQ(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(1))->options.stride().value, (Int2{1, 1}));
  EXPECT_EQ(nn::MaxPool2d(3)->options.kernel_size().value, (Int2{3, 3}));
  EXPECT_EQ(nn::BatchNorm2d(nn::BatchNormOptions(4).eps(1e-3))->options.eps(), 1e-3);
  EXPECT_EQ(nn::Conv2d(1, 10, 5)->weight.sizes(), (Shape{10, 1, 5, 5}));
  EXPECT_THROW(nn::Dropout(1.5), Error);
}

}  // namespace
