// Optimizers against 100 steps of PyTorch on a fixed float64 MLP
// (tests/data/optim_reference.txt from scripts/gen_optim_reference.py),
// convergence, validation, state save/resume, schedulers, clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include <ember/ember.h>

#include "test_util.h"

namespace {
using namespace ember;

struct Reference {
  nn::NamedTensors initial;
  std::map<std::string, Tensor> data;
  std::map<std::string, nn::NamedTensors> finals;
};

Tensor read_values(std::istream& in) {
  std::int64_t ndim = 0, count = 0;
  in >> ndim;
  Shape shape(static_cast<std::size_t>(ndim));
  for (auto& d : shape) in >> d;
  in >> count;
  std::vector<double> v(static_cast<std::size_t>(count));
  for (auto& x : v) in >> x;
  return from_vector(v, shape);
}

const Reference& reference() {
  static const Reference ref = [] {
    Reference r;
    std::ifstream in(EMBER_TEST_DATA_DIR "/optim_reference.txt");
    EXPECT_TRUE(in.good());
    std::string tag, name, current;
    while (in >> tag) {
      if (tag[0] == '#') {
        std::getline(in, tag);
      } else if (tag == "param") {
        in >> name;
        r.initial.emplace_back(name, read_values(in));
      } else if (tag == "data") {
        in >> name;
        r.data[name] = read_values(in);
      } else if (tag == "case") {
        in >> current;
      } else if (tag == "final") {
        in >> name;
        r.finals[current].emplace_back(name, read_values(in));
      } else if (tag == "loss") {
        double a, b;
        in >> a >> b;
      }
    }
    return r;
  }();
  return ref;
}

std::shared_ptr<nn::SequentialImpl> mlp() {
  auto m = std::make_shared<nn::SequentialImpl>(nn::Linear(4, 5), nn::Tanh(), nn::Linear(5, 3));
  m->to(DType::Float64);
  m->load_state_dict(reference().initial);
  return m;
}

using Factory = std::function<std::unique_ptr<optim::Optimizer>(const TensorList&)>;

const std::map<std::string, Factory>& cases() {
  using namespace optim;
  static const std::map<std::string, Factory> c = {
      {"sgd", [](const TensorList& p) { return std::make_unique<SGD>(p, SGDOptions(0.1)); }},
      {"sgd_momentum", [](const TensorList& p) { return std::make_unique<SGD>(p, SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(1e-3)); }},
      {"sgd_nesterov", [](const TensorList& p) { return std::make_unique<SGD>(p, SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-2)); }},
      {"adam", [](const TensorList& p) { return std::make_unique<Adam>(p, AdamOptions(1e-2)); }},
      {"adam_amsgrad_wd", [](const TensorList& p) { return std::make_unique<Adam>(p, AdamOptions(1e-2).beta1(0.8).beta2(0.99).weight_decay(1e-2).amsgrad(true)); }},
      {"adamw", [](const TensorList& p) { return std::make_unique<AdamW>(p, AdamWOptions(1e-2).weight_decay(0.1)); }},
      {"adamw_amsgrad", [](const TensorList& p) { return std::make_unique<AdamW>(p, AdamWOptions(1e-2).amsgrad(true)); }},
      {"rmsprop", [](const TensorList& p) { return std::make_unique<RMSprop>(p, RMSpropOptions(1e-2)); }},
      {"rmsprop_centered_momentum", [](const TensorList& p) { return std::make_unique<RMSprop>(p, RMSpropOptions(1e-2).alpha(0.9).centered(true).momentum(0.5).weight_decay(1e-2)); }},
      {"adagrad", [](const TensorList& p) { return std::make_unique<Adagrad>(p, AdagradOptions(0.1).lr_decay(0.01).weight_decay(0.01).initial_accumulator_value(0.1)); }},
      {"adadelta", [](const TensorList& p) { return std::make_unique<Adadelta>(p, AdadeltaOptions(1.0)); }},
      {"adadelta_wd", [](const TensorList& p) { return std::make_unique<Adadelta>(p, AdadeltaOptions(0.5).rho(0.95).eps(1e-5).weight_decay(0.01)); }},
      {"adam_groups", [](const TensorList& p) {
         return std::make_unique<Adam>(std::vector<ParamGroup>{ParamGroup({p[0], p[1]}, AdamOptions(3e-2)), ParamGroup({p[2], p[3]})},
                                       AdamOptions(1e-2));
       }},
  };
  return c;
}

void train(nn::SequentialImpl& m, optim::Optimizer& opt, int steps) {
  const Tensor x = reference().data.at("x"), y = reference().data.at("y");
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    nn::F::mse_loss(m.forward(x), y).backward();
    opt.step();
  }
}

class OptimizerMatchesPyTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerMatchesPyTorch, After100Steps) {
  auto m = mlp();
  auto opt = cases().at(GetParam())(m->parameters());
  train(*m, *opt, 100);
  const auto& expected = reference().finals.at(GetParam());
  const auto actual = m->state_dict();
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(actual[i].first, expected[i].first);
    auto a = actual[i].second.to_vector<double>(), e = expected[i].second.to_vector<double>();
    for (std::size_t k = 0; k < a.size(); ++k)
      EXPECT_NEAR(a[k], e[k], 1e-8 * std::max(1.0, std::abs(e[k]))) << GetParam() << " " << actual[i].first << "[" << k << "]";
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> n;
  for (const auto& [k, _] : cases()) n.push_back(k);
  return n;
}
INSTANTIATE_TEST_SUITE_P(Optim, OptimizerMatchesPyTorch, ::testing::ValuesIn(case_names()));

TEST(Optim, EveryReferenceCaseIsTested) {
  for (const auto& [name, _] : reference().finals) EXPECT_TRUE(cases().count(name)) << name;
}

TEST(Optim, StateSaveAndLoadResumesExactly) {
  for (const auto& name : {"adam", "sgd_momentum", "adadelta", "rmsprop_centered_momentum", "adagrad"}) {
    auto straight = mlp();
    auto opt = cases().at(name)(straight->parameters());
    train(*straight, *opt, 20);

    auto first = mlp();
    auto opt1 = cases().at(name)(first->parameters());
    train(*first, *opt1, 10);
    const auto model_state = first->state_dict();
    const auto opt_state = opt1->state_dict();
    auto resumed = mlp();
    resumed->load_state_dict(model_state);
    auto opt2 = cases().at(name)(resumed->parameters());
    opt2->load_state_dict(opt_state);
    train(*resumed, *opt2, 10);
    const auto a = straight->state_dict(), b = resumed->state_dict();
    for (std::size_t i = 0; i < a.size(); ++i)
      EXPECT_EQ(a[i].second.to_vector<double>(), b[i].second.to_vector<double>()) << name << " " << a[i].first;
  }
}

TEST(Optim, CheckpointFileResumesARun) {
  auto straight = mlp();
  auto opt = cases().at("adam")(straight->parameters());
  train(*straight, *opt, 20);

  auto first = mlp();
  auto opt1 = cases().at("adam")(first->parameters());
  train(*first, *opt1, 10);
  const std::string path = (std::filesystem::temp_directory_path() / "ember_checkpoint.safetensors").string();
  optim::save_checkpoint(path, *first, *opt1, {{"epoch", "10"}});
  auto resumed = mlp();
  auto opt2 = cases().at("adam")(resumed->parameters());
  EXPECT_EQ(optim::load_checkpoint(path, *resumed, *opt2).at("epoch"), "10");
  train(*resumed, *opt2, 10);
  for (std::size_t i = 0; i < straight->state_dict().size(); ++i)
    EXPECT_EQ(straight->state_dict()[i].second.to_vector<double>(), resumed->state_dict()[i].second.to_vector<double>());
  std::filesystem::remove(path);
}

// ---- hostile state_dicts (issue 17, finding 4) ----

// The message load_state_dict throws, or "<no error>".
std::string load_error(optim::Optimizer& opt, const optim::NamedTensors& state) {
  try {
    opt.load_state_dict(state);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_HAS(message, ...)                                                                         \
  do {                                                                                                   \
    const std::string msg_ = (message);                                                                  \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__})                               \
      EXPECT_NE(msg_.find(part_), std::string::npos) << "message: " << msg_ << "\nmissing: " << part_; \
  } while (0)

Tensor int64_scalar(std::int64_t v) { return from_vector(std::vector<std::int64_t>{v}, Shape{}); }

// `state` with the entry `name` replaced by (or, if absent, given) `t`.
optim::NamedTensors with(optim::NamedTensors state, const std::string& name, const Tensor& t) {
  for (auto& [k, v] : state)
    if (k == name) return v = t, state;
  state.emplace_back(name, t);
  return state;
}

// Two float64 parameters with Adam and Adagrad state after one step.
struct Hostile : ::testing::Test {
  Tensor a = from_vector(std::vector<double>{1, 2, 3}).requires_grad_();
  Tensor b = from_vector(std::vector<double>{4, 5, 6, 7}, Shape{2, 2}).requires_grad_();
  optim::Adam adam{{a, b}, optim::AdamOptions(0.1)};
  optim::Adagrad adagrad{{a, b}, optim::AdagradOptions(0.1).lr_decay(0.5)};
  void SetUp() override {
    ((a * a).sum() + (b * b).sum()).backward();
    adam.step();
    adagrad.step();
  }
};

TEST_F(Hostile, StepCountsThatWouldOverflowAreRefused) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  for (optim::Optimizer* opt : {static_cast<optim::Optimizer*>(&adam), static_cast<optim::Optimizer*>(&adagrad)}) {
    const auto good = opt->state_dict();
    // ++step (and Adagrad's step - 1) overflowed; 1e300 overflowed the conversion to int64.
    const std::string m1 = load_error(*opt, with(good, "state.0.1.step", int64_scalar(kMax)));
    EXPECT_HAS(m1, opt->name() + ": load_state_dict", "parameter 1 of group 0", "\"step\"",
               "9223372036854775807 is out of range [0, 2^53]");
    const std::string m2 = load_error(*opt, with(good, "state.0.0.step", scalar_tensor(1e300, DType::Float64)));
    EXPECT_HAS(m2, opt->name(), "parameter 0 of group 0", "\"step\"", "1e+300 is not a whole number");
    for (double bad : {-1.0, 2.5, std::nan(""), std::numeric_limits<double>::infinity(), 9007199254740994.0})
      EXPECT_HAS(load_error(*opt, with(good, "state.0.0.step", scalar_tensor(bad, DType::Float64))),
                 "not a whole number in [0, 2^53]");
    EXPECT_HAS(load_error(*opt, with(good, "state.0.0.step", int64_scalar(-1))), "-1 is out of range");
    EXPECT_HAS(load_error(*opt, with(good, "state.0.0.step", int64_scalar((std::int64_t{1} << 53) + 1))),
               "out of range");
    EXPECT_HAS(load_error(*opt, with(good, "state.0.0.step", scalar_tensor(1, DType::Bool))), "dtype bool");
    EXPECT_HAS(load_error(*opt, with(good, "state.0.0.step", zeros({2}, DType::Int64))), "one number",
               "shape [2]");
    // The largest allowed, and a float step as PyTorch writes it, load and run.
    const auto edge = with(good, "state.0.0.step", int64_scalar(std::int64_t{1} << 53));
    EXPECT_EQ(load_error(*opt, with(edge, "state.0.1.step", scalar_tensor(7, DType::Float32))), "<no error>");
    opt->step();
    std::map<std::string, std::int64_t> steps;
    for (const auto& [k, v] : opt->state_dict())
      if (k.ends_with(".step")) steps[k] = v.item<std::int64_t>();
    EXPECT_EQ(steps["state.0.0.step"], (std::int64_t{1} << 53) + 1);
    EXPECT_EQ(steps["state.0.1.step"], 8);
    EXPECT_TRUE(std::isfinite(a.sum().item<double>()) && std::isfinite(b.sum().item<double>()));
  }
}

TEST_F(Hostile, StateTensorsMustMatchTheirParameter) {
  const auto good = adam.state_dict();
  EXPECT_HAS(load_error(adam, with(good, "state.0.1.exp_avg", zeros({4}, DType::Float64))), "Adam",
             "parameter 1 of group 0", "\"exp_avg\"", "shape [4] but the parameter has [2, 2]");
  EXPECT_HAS(load_error(adam, with(good, "state.0.0.exp_avg_sq", zeros({3}, DType::Float32))), "parameter 0",
             "\"exp_avg_sq\"", "dtype float32 but the parameter has float64");
  EXPECT_HAS(load_error(adam, with(good, "state.0.0.exp_avg_sq", zeros({3}, DType::Int64))), "dtype int64");
  EXPECT_HAS(load_error(adam, with(good, "state.0.0.momentum_buffer", zeros({3}, DType::Float64))),
             "\"momentum_buffer\": not a state Adam keeps", "exp_avg, exp_avg_sq, max_exp_avg_sq");
  EXPECT_HAS(load_error(adagrad, with(adagrad.state_dict(), "state.0.1.sum", zeros({2, 3}, DType::Float64))),
             "Adagrad", "parameter 1", "\"sum\"", "[2, 3]");
}

TEST_F(Hostile, EntryNamesAndOptionsAreCheckedExactly) {
  const auto good = adam.state_dict();
  const Tensor one = int64_scalar(1);
  for (const char* name : {"state.0.2.step", "state.1.0.step"})
    EXPECT_HAS(load_error(adam, with(good, name, one)), "does not have");
  for (const char* name : {"state.-1.0.step", "state.0.0.", "state. 0.0.step", "state.0.0", "state.0x0.0.step",
                           "param_groups.0.nope", "param_groups.1.lr", "param_groups.0", "weights.0"})
    EXPECT_HAS(load_error(adam, with(good, name, one)), "unexpected entry", name);
  auto twice = good;
  twice.emplace_back("state.0.00.step", one);  // the same step as state.0.0.step
  EXPECT_HAS(load_error(adam, twice), "\"state.0.00.step\" is a second entry");
  EXPECT_HAS(load_error(adam, with(good, "param_groups.0.lr", zeros({2}, DType::Float64))), "option \"lr\"",
             "one number", "shape [2]");
  EXPECT_HAS(load_error(adam, with(good, "param_groups.0.lr", scalar_tensor(NAN, DType::Float64))), "invalid learning rate: nan");
  EXPECT_HAS(load_error(adam, with(good, "state.0.0.exp_avg", Tensor())), "undefined");
}

TEST_F(Hostile, AFailedLoadChangesNothing) {
  const auto before = adam.state_dict();
  auto bad = with(before, "param_groups.0.lr", scalar_tensor(0.5, DType::Float64));
  bad = with(bad, "state.0.1.step", int64_scalar(-5));
  EXPECT_NE(load_error(adam, bad), "<no error>");
  const auto after = adam.state_dict();
  ASSERT_EQ(before.size(), after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].first, after[i].first);
    EXPECT_EQ(before[i].second.to_vector<double>(), after[i].second.to_vector<double>()) << before[i].first;
  }
}

TEST(Optim, HostileCheckpointFileIsRefused) {
  Tensor w = zeros({2}, DType::Float64).requires_grad_();
  optim::Adam opt({w}, optim::AdamOptions());
  nn::LinearImpl model(2, 1);
  const std::string path = (std::filesystem::temp_directory_path() / "ember_hostile_checkpoint.safetensors").string();
  safetensors::NamedTensors entries;
  for (auto& [k, t] : model.state_dict()) entries.emplace_back("model." + k, t);
  entries.emplace_back("optimizer.type", from_vector(std::vector<std::uint8_t>{'A', 'd', 'a', 'm'}));
  entries.emplace_back("optimizer.state.0.0.step", int64_scalar(std::numeric_limits<std::int64_t>::max()));
  safetensors::save(path, entries);
  EXPECT_HAS(test_util::message_of([&] { optim::load_checkpoint(path, model, opt); }), "Adam: load_state_dict",
             "parameter 0 of group 0", "out of range");
  std::filesystem::remove(path);
}

// A checkpoint the untyped optimizers wrote (the old tests/fuzz seed: Linear(3, 2)
// as "fc", two Adam steps) is refused with a message naming the old format.
TEST(Optim, CheckpointOfTheOldFormatIsRefusedClearly) {
  struct Net : nn::Module {
    Net() { fc = register_module("fc", nn::Linear(3, 2)); }
    nn::Linear fc{nullptr};
  } net;
  optim::Adam opt(net.parameters(), optim::AdamOptions(1e-3).amsgrad(true));
  EXPECT_HAS(test_util::message_of([&] {
               optim::load_checkpoint(EMBER_TEST_DATA_DIR "/old_format_adam_checkpoint.safetensors", net, opt);
             }),
             "Adam: load_state_dict: the state has no \"type\" entry", "old untyped optimizer format");
}

// A refused checkpoint changes nothing: not the model when the optimizer state
// is another optimizer's, not the optimizer when the model state is wrong.
TEST(Optim, ARefusedCheckpointChangesNothing) {
  const auto values = [](const optim::NamedTensors& state) {
    std::vector<std::vector<double>> out;
    for (const auto& [k, t] : state)
      if (is_floating(t.dtype())) out.push_back(t.to(DType::Float64).contiguous().to_vector<double>());
    return out;
  };
  auto m = mlp();
  auto adam = cases().at("adam")(m->parameters());
  train(*m, *adam, 3);
  const std::string path = (std::filesystem::temp_directory_path() / "ember_refused_checkpoint.safetensors").string();
  optim::save_checkpoint(path, *m, *adam);

  auto other = mlp();
  auto sgd = cases().at("sgd_momentum")(other->parameters());
  train(*other, *sgd, 2);
  const auto model_before = values(other->state_dict()), sgd_before = values(sgd->state_dict());
  EXPECT_HAS(test_util::message_of([&] { optim::load_checkpoint(path, *other, *sgd); }), "it is Adam state, not SGD");
  EXPECT_EQ(values(other->state_dict()), model_before);

  // Valid Adam state beside a model state with a parameter left out.
  auto adam2 = cases().at("adam")(other->parameters());
  train(*other, *adam2, 1);
  const auto adam_before = values(adam2->state_dict());
  optim::StepLR sched(*adam2, 2);
  sched.step();
  NamedTensors entries;
  for (auto& [k, t] : m->state_dict())
    if (k != "2.bias") entries.emplace_back("model." + k, t);
  for (auto& [k, t] : adam->state_dict()) entries.emplace_back("optimizer." + k, t);
  optim::StepLR fresh(*adam, 2);
  for (auto& [k, t] : fresh.state_dict()) entries.emplace_back("scheduler." + k, t);
  safetensors::save(path, entries);
  EXPECT_HAS(test_util::message_of([&] { optim::load_checkpoint(path, *other, *adam2, sched); }), "missing keys: 2.bias");
  EXPECT_EQ(values(adam2->state_dict()), adam_before);
  EXPECT_EQ(sched.last_epoch(), 1);
  EXPECT_EQ(adam2->param_groups()[0].options().lr(), 1e-2);
  std::filesystem::remove(path);
}

TEST(Optim, LearnsXor) {
  manual_seed(0);
  auto m = std::make_shared<nn::SequentialImpl>(nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1));
  const Tensor x = tensor({{0., 0.}, {0., 1.}, {1., 0.}, {1., 1.}}), y = from_vector(std::vector<float>{0, 1, 1, 0}, Shape{4, 1});
  optim::Adam opt(m->parameters(), optim::AdamOptions(0.05));
  for (int i = 0; i < 500; ++i) {
    opt.zero_grad();
    nn::F::binary_cross_entropy_with_logits(m->forward(x), y).backward();
    opt.step();
  }
  const auto p = sigmoid(m->forward(x)).to_vector<float>();
  EXPECT_LT(p[0], 0.1f);
  EXPECT_GT(p[1], 0.9f);
  EXPECT_GT(p[2], 0.9f);
  EXPECT_LT(p[3], 0.1f);
}

TEST(Optim, ValidatesHyperparameters) {
  Tensor w = zeros({2}).requires_grad_();
  try {
    optim::Adam opt({w}, optim::AdamOptions(-1));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Adam: invalid learning rate: -1");
  }
  EXPECT_THROW(optim::Adam({w}, optim::AdamOptions().beta1(1.0)), Error);
  EXPECT_THROW(optim::SGD({w}, optim::SGDOptions(0.1).nesterov(true)), Error);
  EXPECT_THROW(optim::SGD({w, w}, optim::SGDOptions(0.1)), Error);  // a parameter twice
  EXPECT_THROW(optim::Adadelta({w}, optim::AdadeltaOptions().rho(1.5)), Error);
  EXPECT_THROW(optim::SGD(TensorList{}, optim::SGDOptions(0.1)), Error);
}

TEST(Optim, TypedOptionsRejectBadValuesByName) {
  Tensor w = zeros({2}).requires_grad_();
  const auto message = [&](auto make) { return test_util::message_of(make); };
  EXPECT_EQ(message([&] { optim::Adam({w}, optim::AdamOptions().betas({1.5, 0.999})); }), "Adam: invalid beta1: 1.5");
  EXPECT_EQ(message([&] { optim::Adam({w}, optim::AdamOptions().beta2(-0.1)); }), "Adam: invalid beta2: -0.1");
  EXPECT_EQ(message([&] { optim::SGD({w}, optim::SGDOptions(-1)); }), "SGD: invalid learning rate: -1");
  EXPECT_EQ(message([&] { optim::SGD({w}, optim::SGDOptions(0.1).momentum(-0.5)); }), "SGD: invalid momentum value: -0.5");
  EXPECT_HAS(message([&] { optim::SGD({w}, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); }),
             "SGD: nesterov momentum requires a momentum and zero dampening", "dampening 0.1");
  EXPECT_EQ(message([&] { optim::AdamW({w}, optim::AdamWOptions().eps(-1)); }), "AdamW: invalid epsilon value: -1");
  EXPECT_EQ(message([&] { optim::RMSprop({w}, optim::RMSpropOptions().alpha(-1)); }), "RMSprop: invalid alpha value: -1");
  EXPECT_EQ(message([&] { optim::Adagrad({w}, optim::AdagradOptions().lr_decay(-1)); }),
            "Adagrad: invalid lr_decay value: -1");
  EXPECT_EQ(message([&] { optim::Adadelta({w}, optim::AdadeltaOptions().weight_decay(-2)); }),
            "Adadelta: invalid weight_decay value: -2");
  // A group's own options are validated too, and must be the optimizer's own type.
  Tensor v = zeros({2}).requires_grad_();
  EXPECT_EQ(message([&] { optim::Adam({optim::ParamGroup({w}), optim::ParamGroup({v}, optim::AdamOptions(-3))}); }),
            "Adam: invalid learning rate: -3");
  EXPECT_HAS(message([&] { optim::Adam({optim::ParamGroup({w}, optim::SGDOptions(0.1))}); }),
             "Adam: got options of another optimizer");
}

TEST(Optim, OptionsReadLikeLibTorch) {
  const auto o = optim::AdamOptions().lr(1e-3).betas({0.8, 0.99}).weight_decay(0).amsgrad(true);
  EXPECT_EQ(o.lr(), 1e-3);
  EXPECT_EQ(std::get<0>(o.betas()), 0.8);
  EXPECT_EQ(o.beta2(), 0.99);
  EXPECT_TRUE(o.amsgrad());
  EXPECT_EQ(optim::AdamWOptions().weight_decay(), 1e-2);  // AdamW's own default, as PyTorch
  EXPECT_EQ(optim::AdamWOptions().weight_decay(0).weight_decay(), 0.0);  // and zero can be asked for

  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  optim::Adam opt({optim::ParamGroup({a}), optim::ParamGroup({b}, optim::AdamOptions(0.5).amsgrad(true))},
                  optim::AdamOptions(0.1));
  ASSERT_EQ(opt.param_groups().size(), 2u);
  EXPECT_EQ(opt.param_groups()[0].options().lr(), 0.1);  // the defaults
  EXPECT_EQ(opt.param_groups()[1].options().lr(), 0.5);
  EXPECT_TRUE(dynamic_cast<const optim::AdamOptions&>(opt.param_groups()[1].options()).amsgrad());
  opt.param_groups()[0].options().set_lr(0.25);
  EXPECT_EQ(opt.param_groups()[0].options().lr(), 0.25);
  EXPECT_EQ(opt.defaults().lr(), 0.1);
  // LibTorch's spellings: a group from a unique_ptr of options, get_lr().
  Tensor c = ones({2}).requires_grad_();
  opt.add_param_group(optim::OptimizerParamGroup({c}, std::make_unique<optim::AdamOptions>(0.75)));
  EXPECT_EQ(opt.param_groups()[2].options().get_lr(), 0.75);

  EXPECT_EQ(opt.state(a), nullptr);
  (a.sum() + b.sum()).backward();
  opt.step();
  auto* s = dynamic_cast<optim::AdamParamState*>(opt.state(b));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->step, 1);
  EXPECT_TRUE(s->exp_avg.defined() && s->exp_avg_sq.defined() && s->max_exp_avg_sq.defined());
  EXPECT_FALSE(dynamic_cast<optim::AdamParamState&>(*opt.state(a)).max_exp_avg_sq.defined());  // no amsgrad there
}

TEST(Optim, StateDictKeepsPyTorchsStructureAndTypedValues) {
  Tensor a = ones({3}, DType::Float64).requires_grad_();
  optim::Adam opt({a}, optim::AdamOptions(0.1).betas({0.8, 0.9}).amsgrad(true));
  a.sum().backward();
  opt.step();
  std::map<std::string, Tensor> sd;
  for (const auto& [k, t] : opt.state_dict()) sd[k] = t;
  std::vector<std::string> keys;
  for (const auto& [k, _] : sd) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"param_groups.0.amsgrad", "param_groups.0.betas", "param_groups.0.eps",
                                            "param_groups.0.lr", "param_groups.0.weight_decay", "state.0.0.exp_avg",
                                            "state.0.0.exp_avg_sq", "state.0.0.max_exp_avg_sq", "state.0.0.step",
                                            "type"}));
  EXPECT_EQ(sd["type"].to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{'A', 'd', 'a', 'm'}));
  EXPECT_EQ(sd["param_groups.0.amsgrad"].dtype(), DType::Bool);  // a bool, not 0/1
  EXPECT_EQ(sd["param_groups.0.betas"].to_vector<double>(), (std::vector<double>{0.8, 0.9}));
  EXPECT_EQ(sd["state.0.0.step"].item<std::int64_t>(), 1);
}

TEST(Optim, StateOfAnotherOptimizerOrTheOldFormatIsRefusedClearly) {
  Tensor a = ones({3}, DType::Float64).requires_grad_();
  optim::Adam adam({a}, optim::AdamOptions(0.1));
  optim::SGD sgd({a}, optim::SGDOptions(0.1).momentum(0.9));
  a.sum().backward();
  adam.step();
  EXPECT_EQ(load_error(sgd, adam.state_dict()),
            "SGD: load_state_dict: the state belongs to another optimizer: it is Adam state, not SGD");
  EXPECT_HAS(load_error(adam, sgd.state_dict()), "it is SGD state, not Adam");
  // What the untyped optimizers wrote: no "type", options as float64 0/1.
  const optim::NamedTensors old = {{"param_groups.0.lr", scalar_tensor(0.1, DType::Float64)},
                                   {"param_groups.0.amsgrad", scalar_tensor(0, DType::Float64)},
                                   {"state.0.0.step", int64_scalar(1)}};
  EXPECT_HAS(load_error(adam, old), "Adam: load_state_dict", "no \"type\" entry", "old untyped optimizer format");
  EXPECT_HAS(load_error(adam, with(adam.state_dict(), "type", from_vector(std::vector<std::uint8_t>{1, 2}))),
             "\"type\" is not a class name");
  EXPECT_HAS(load_error(adam, with(adam.state_dict(), "param_groups.0.amsgrad", scalar_tensor(1, DType::Float64))),
             "option \"amsgrad\" of group 0 must be one bool");
  EXPECT_HAS(load_error(adam, with(adam.state_dict(), "param_groups.0.betas", zeros({3}, DType::Float64))),
             "option \"betas\" of group 0 must be two floating-point numbers");
  EXPECT_HAS(load_error(adam, with(adam.state_dict(), "param_groups.0.betas", from_vector(std::vector<double>{1.5, 0.9}))),
             "Adam: invalid beta1: 1.5");
}

TEST(Optim, SkipsParametersWithoutGradients) {
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  optim::SGD opt({a, b}, optim::SGDOptions(0.5));
  (a * 2.0).sum().backward();
  opt.step();
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{1, 1}));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Schedulers, FollowTheirFormulas) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(1.0));
  optim::StepLR step(opt, 2, 0.5);
  std::vector<double> lrs;
  for (int i = 0; i < 5; ++i) {
    step.step();
    lrs.push_back(step.get_last_lr()[0]);
  }
  EXPECT_EQ(lrs, (std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25}));

  optim::SGD opt2({w}, optim::SGDOptions(1.0));
  optim::MultiStepLR ms(opt2, {2, 4}, 0.1);
  for (int i = 0; i < 4; ++i) ms.step();
  EXPECT_NEAR(ms.get_last_lr()[0], 0.01, 1e-15);

  optim::SGD opt3({w}, optim::SGDOptions(1.0));
  optim::CosineAnnealingLR cos(opt3, 10, 0.1);
  for (int i = 0; i < 5; ++i) cos.step();
  EXPECT_NEAR(cos.get_last_lr()[0], 0.55, 1e-12);

  optim::SGD opt4({w}, optim::SGDOptions(0.1));
  optim::ReduceLROnPlateau plateau(opt4, optim::ReduceLROnPlateau::Mode::Min, 0.5, 1);
  for (double metric : {1.0, 0.9, 0.95, 0.95}) plateau.step(metric);
  EXPECT_NEAR(plateau.get_last_lr()[0], 0.05, 1e-15);

  optim::Adam opt5({w}, optim::AdamOptions(1.0));
  optim::OneCycleLR one(opt5, 0.1, 10);
  EXPECT_NEAR(one.get_last_lr()[0], 0.1 / 25, 1e-12);  // starts at max_lr / div_factor
  for (int i = 0; i < 2; ++i) one.step();
  EXPECT_NEAR(one.get_last_lr()[0], 0.1, 1e-12);  // peak at pct_start * total - 1
  EXPECT_NEAR(dynamic_cast<const optim::AdamOptions&>(opt5.param_groups()[0].options()).beta1(), 0.85, 1e-12);
  for (int i = 0; i < 7; ++i) one.step();
  EXPECT_NEAR(one.get_last_lr()[0], 0.1 / 25 / 1e4, 1e-12);
}

// A run resumed from a checkpoint mid-schedule matches the uninterrupted run bit
// for bit. Before schedulers had state, the rebuilt StepLR restarted at epoch 0
// and continued at lr 0.025 where the uninterrupted run had 0.0125.
TEST(Schedulers, ResumedFromACheckpointMidScheduleMatchesExactly) {
  const auto make_opt = [](const TensorList& p) {
    return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1).momentum(0.9));
  };
  const auto epoch = [](nn::SequentialImpl& m, optim::Optimizer& opt, optim::StepLR& sched, std::vector<double>& lrs) {
    train(m, opt, 3);
    sched.step();
    lrs.push_back(sched.get_last_lr()[0]);
  };
  auto straight = mlp();
  auto opt = make_opt(straight->parameters());
  optim::StepLR sched(*opt, 2, 0.5);
  std::vector<double> straight_lrs;
  for (int e = 0; e < 8; ++e) epoch(*straight, *opt, sched, straight_lrs);

  auto first = mlp();
  auto opt1 = make_opt(first->parameters());
  optim::StepLR sched1(*opt1, 2, 0.5);
  std::vector<double> resumed_lrs;
  for (int e = 0; e < 4; ++e) epoch(*first, *opt1, sched1, resumed_lrs);
  const std::string path = (std::filesystem::temp_directory_path() / "ember_sched_checkpoint.safetensors").string();
  optim::save_checkpoint(path, *first, *opt1, sched1, {{"epoch", "4"}});

  auto resumed = mlp();  // everything rebuilt, as a new process would
  auto opt2 = make_opt(resumed->parameters());
  optim::StepLR sched2(*opt2, 2, 0.5);
  EXPECT_EQ(optim::load_checkpoint(path, *resumed, *opt2, sched2).at("epoch"), "4");
  EXPECT_EQ(sched2.last_epoch(), 4);
  EXPECT_EQ(sched2.base_lrs(), (std::vector<double>{0.1}));
  for (int e = 0; e < 4; ++e) epoch(*resumed, *opt2, sched2, resumed_lrs);
  EXPECT_EQ(resumed_lrs, straight_lrs);
  EXPECT_EQ(resumed_lrs[5], 0.0125);
  const auto a = straight->state_dict(), b = resumed->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].second.to_vector<double>(), b[i].second.to_vector<double>()) << a[i].first;

  // Scheduler state is not dropped silently, nor invented.
  auto other = mlp();
  auto opt3 = make_opt(other->parameters());
  EXPECT_HAS(test_util::message_of([&] { optim::load_checkpoint(path, *other, *opt3); }),
             "holds scheduler state; pass the scheduler");
  const std::string plain = path + ".plain";
  optim::save_checkpoint(plain, *first, *opt1);
  optim::StepLR sched3(*opt3, 2, 0.5);
  EXPECT_HAS(test_util::message_of([&] { optim::load_checkpoint(plain, *other, *opt3, sched3); }),
             "holds no scheduler state for the StepLR given");
  std::filesystem::remove(path);
  std::filesystem::remove(plain);
}

std::string sched_load_error(optim::Scheduler& s, const optim::NamedTensors& state) {
  return test_util::message_of([&] { s.load_state_dict(state); });
}

TEST(Schedulers, StateDictRoundTripsAndIsCheckedStrictly) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD opt({w}, optim::SGDOptions(1.0).momentum(0.9));
  optim::CosineAnnealingLR cos(opt, 10);
  for (int i = 0; i < 3; ++i) cos.step();
  const auto good = cos.state_dict();
  ASSERT_EQ(good.size(), 3u);
  EXPECT_EQ(good[1].first, "last_epoch");
  EXPECT_EQ(good[2].first, "base_lrs");
  optim::CosineAnnealingLR cos2(opt, 10);
  cos2.load_state_dict(good);
  EXPECT_EQ(cos2.last_epoch(), 3);
  cos.step();
  cos2.step();
  EXPECT_EQ(cos.get_last_lr(), cos2.get_last_lr());

  optim::StepLR steplr(opt, 2);
  EXPECT_HAS(sched_load_error(steplr, good), "StepLR: load_state_dict", "it is CosineAnnealingLR state, not StepLR");
  EXPECT_HAS(sched_load_error(cos2, with(good, "last_epoch", int64_scalar(-1))), "\"last_epoch\"", "-1 is out of range");
  EXPECT_HAS(sched_load_error(cos2, with(good, "last_epoch", scalar_tensor(2.0, DType::Float64))), "must be one int64");
  EXPECT_HAS(sched_load_error(cos2, with(good, "base_lrs", zeros({2}, DType::Float64))), "\"base_lrs\"",
             "1 floating-point numbers");
  EXPECT_HAS(sched_load_error(cos2, with(good, "base_lrs", from_vector(std::vector<double>{-1.0}))),
             "invalid learning rate: -1");
  EXPECT_HAS(sched_load_error(cos2, with(good, "extra", int64_scalar(1))), "unexpected entry \"extra\"");
  EXPECT_HAS(sched_load_error(cos2, optim::NamedTensors(good.begin(), good.end() - 1)), "missing entry \"base_lrs\"");
  EXPECT_HAS(sched_load_error(cos2, optim::NamedTensors(good.begin() + 1, good.end())), "no \"type\" entry");
  EXPECT_EQ(cos2.last_epoch(), 4);  // failed loads changed nothing

  optim::ReduceLROnPlateau plateau(opt, optim::ReduceLROnPlateau::Mode::Min, 0.5, 3);
  for (double metric : {1.0, 0.5, 0.6, 0.7}) plateau.step(metric);
  optim::ReduceLROnPlateau plateau2(opt, optim::ReduceLROnPlateau::Mode::Min, 0.5, 3);
  plateau2.load_state_dict(plateau.state_dict());
  EXPECT_EQ(plateau2.best(), 0.5);
  EXPECT_EQ(plateau2.num_bad_epochs(), 2);
  plateau.step(0.8);
  plateau2.step(0.8);
  EXPECT_EQ(plateau.num_bad_epochs(), plateau2.num_bad_epochs());
  EXPECT_HAS(sched_load_error(plateau2, with(plateau.state_dict(), "best", scalar_tensor(NAN, DType::Float64))),
             "\"best\": is NaN");

  optim::Adam adam({w}, optim::AdamOptions(1.0));
  optim::OneCycleLR one(adam, 0.1, 10);
  for (int i = 0; i < 4; ++i) one.step();
  optim::Adam adam2({w}, optim::AdamOptions(1.0));
  optim::OneCycleLR one2(adam2, 0.1, 10);
  one2.load_state_dict(one.state_dict());
  EXPECT_EQ(one2.last_epoch(), 4);
  EXPECT_EQ(one2.get_last_lr(), one.get_last_lr());
  EXPECT_HAS(sched_load_error(one2, with(one.state_dict(), "last_epoch", int64_scalar(11))), "out of range [0, 10]");

  optim::Adagrad adagrad({w}, optim::AdagradOptions());
  EXPECT_HAS(test_util::message_of([&] { optim::OneCycleLR(adagrad, 0.1, 10); }), "Adagrad has no momentum to cycle");
  EXPECT_NO_THROW(optim::OneCycleLR(adagrad, 0.1, 10, 0.3, 25.0, 1e4, false));
}

TEST(Clip, GradNormAndValue) {
  Tensor a = ones({4}).requires_grad_();
  (a * 3.0).sum().backward();  // grad 3 each, norm 6
  EXPECT_NEAR(nn::utils::clip_grad_norm_({a}, 1.5), 6.0, 1e-6);
  EXPECT_NEAR(ember::sqrt((a.grad() * a.grad()).sum()).item<double>(), 1.5, 1e-5);
  nn::utils::clip_grad_value_({a}, 0.1);
  EXPECT_NEAR(a.grad().max().item<double>(), 0.1, 1e-7);
}


// ---- LambdaLR, LinearLR and SequentialLR against PyTorch 1.13 ----
// The rates of two SGD groups (lr 0.5 and 0.2) before each of 12 steps, dumped from
// torch.optim.lr_scheduler with /usr/bin/python3 (the script is in the commit message).
using LrTable = std::vector<std::vector<double>>;

LrTable lrs_before_steps(optim::LRScheduler& s, int n) {
  LrTable out;
  for (int i = 0; i < n; ++i) {
    out.push_back(s.get_last_lr());
    s.step();
  }
  return out;
}

void expect_table(const LrTable& got, const LrTable& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    for (std::size_t g = 0; g < 2; ++g) EXPECT_NEAR(got[i][g], want[i][g], 1e-12) << "step " << i << " group " << g;
}

std::unique_ptr<optim::SGD> two_groups(Tensor& a, Tensor& b) {
  a = zeros({2}).requires_grad_();
  b = zeros({1}).requires_grad_();
  return std::make_unique<optim::SGD>(
      std::vector<optim::OptimizerParamGroup>{{{a}, optim::SGDOptions(0.5)}, {{b}, optim::SGDOptions(0.2)}},
      optim::SGDOptions(0.5));
}

// The anchor's warm-up then cosine as one factor: 3 warm-up steps, 10 in all, floor 0.2.
double warmup_cosine(std::int64_t step) {
  if (step < 3) return static_cast<double>(step + 1) / 3.0;
  const double r = static_cast<double>(step - 3) / 7.0;
  return 0.2 + 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, r))) * 0.8;
}

TEST(Schedulers, LinearLRMatchesPyTorch) {
  Tensor a, b;
  auto opt = two_groups(a, b);
  optim::LinearLR s(*opt, 0.25, 0.5, 3);
  expect_table(lrs_before_steps(s, 6), {{0.125, 0.05},
                                              {0.16666666666666666, 0.06666666666666667},
                                              {0.20833333333333331, 0.08333333333333333},
                                              {0.24999999999999997, 0.09999999999999999},
                                              {0.24999999999999997, 0.09999999999999999},
                                              {0.24999999999999997, 0.09999999999999999}});
}

TEST(Schedulers, SequentialLinearWarmupThenCosineMatchesPyTorch) {
  Tensor a, b;
  auto opt = two_groups(a, b);
  auto warm = std::make_shared<optim::LinearLR>(*opt, 0.1, 1.0, 4);
  auto cos = std::make_shared<optim::CosineAnnealingLR>(*opt, 6, 0.01);
  optim::SequentialLR s(*opt, {warm, cos}, {4});
  expect_table(lrs_before_steps(s, 12), {{0.05, 0.020000000000000004},
                                               {0.1625, 0.06500000000000002},
                                               {0.275, 0.11000000000000003},
                                               {0.38750000000000007, 0.15500000000000005},
                                               {0.5, 0.2},
                                               {0.4671762239271875, 0.1872724133595217},
                                               {0.3775, 0.1525},
                                               {0.255, 0.10499999999999998},
                                               {0.13250000000000006, 0.057500000000000016},
                                               {0.04282377607281252, 0.022727586640478324},
                                               {0.01, 0.01},
                                               {0.04282377607281252, 0.022727586640478324}});
  EXPECT_HAS(test_util::message_of([&] { optim::SequentialLR(*opt, {warm, cos}, {}); }), "SequentialLR",
             "2 schedulers need 1 milestones, got 0");
  EXPECT_HAS(test_util::message_of([&] { optim::SequentialLR(*opt, {warm, cos}, {0}); }), "SequentialLR",
             "positive and increasing");
}

TEST(Schedulers, LambdaLRMatchesPyTorch) {
  Tensor a, b;
  auto opt = two_groups(a, b);
  optim::LambdaLR s(*opt, warmup_cosine);
  expect_table(lrs_before_steps(s, 12), {{0.16666666666666666, 0.06666666666666667},
                                               {0.3333333333333333, 0.13333333333333333},
                                               {0.5, 0.2},
                                               {0.5, 0.2},
                                               {0.4801937735804839, 0.19207750943219357},
                                               {0.4246979603717468, 0.16987918414869874},
                                               {0.3445041867912629, 0.13780167471650515},
                                               {0.25549581320873715, 0.10219832528349487},
                                               {0.1753020396282533, 0.07012081585130132},
                                               {0.1198062264195162, 0.04792249056780648},
                                               {0.1, 0.04000000000000001},
                                               {0.1, 0.04000000000000001}});
  EXPECT_HAS(test_util::message_of([&] { optim::LambdaLR(*opt, [](std::int64_t) { return -1.0; }); }),
             "LambdaLR: lr_lambda(0) gave -1");
}

// Resumed mid-schedule (state_dict into a scheduler rebuilt on a fresh optimizer), each
// continues with the rates of the uninterrupted run; a LambdaLR's state is not a SequentialLR's.
TEST(Schedulers, LambdaAndSequentialStateDictsResumeMidSchedule) {
  Tensor a, b, c, d;
  auto opt = two_groups(a, b);
  auto opt2 = two_groups(c, d);
  optim::LambdaLR lam(*opt, warmup_cosine);
  for (int i = 0; i < 5; ++i) lam.step();
  optim::LambdaLR lam2(*opt2, warmup_cosine);
  lam2.load_state_dict(lam.state_dict());
  EXPECT_EQ(lam2.last_epoch(), 5);
  lam.step();
  lam2.step();
  EXPECT_EQ(lam.get_last_lr(), lam2.get_last_lr());

  const auto make_seq = [](optim::Optimizer& o) {
    return std::make_unique<optim::SequentialLR>(
        o,
        std::vector<std::shared_ptr<optim::LRScheduler>>{std::make_shared<optim::LinearLR>(o, 0.1, 1.0, 4),
                                                         std::make_shared<optim::CosineAnnealingLR>(o, 6, 0.01)},
        std::vector<std::int64_t>{4});
  };
  auto opt3 = two_groups(a, b);
  auto opt4 = two_groups(c, d);
  auto seq = make_seq(*opt3);
  for (int i = 0; i < 6; ++i) seq->step();
  auto seq2 = make_seq(*opt4);
  seq2->load_state_dict(seq->state_dict());
  seq->step();
  seq2->step();
  EXPECT_EQ(seq->get_last_lr(), seq2->get_last_lr());
  EXPECT_NEAR(seq2->get_last_lr()[0], 0.255, 1e-12);  // PyTorch's rate before step 7
  EXPECT_HAS(sched_load_error(lam2, seq->state_dict()), "it is SequentialLR state, not LambdaLR");
}

}  // namespace
