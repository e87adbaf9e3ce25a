// An MLP for a CSV table: pick the target column, and the program builds
// the features (numbers standardised on the training split, strings one-hot
// with reserved unknown/missing slots), splits off a validation set with
// random_split, trains Linear-BatchNorm-ReLU-Dropout blocks with Adam, stops
// early when the validation loss stops improving and restores the best
// weights. It prints the validation accuracy (or RMSE) beside two baselines on
// the same split and encoding: the training split's majority class (or mean),
// and a linear model, logistic regression (or ridge regression), as forecast
// prints AR(p) beside its LSTM. It says when the MLP loses to either. Columns
// that count the rows (an id) are left out, and a number column made text by
// one cell is named with its line, before training.
//
//   tabular --csv fair.csv --target-expr "affairs > 0"
//   tabular --csv wine_data.csv --skip-rows 1 --no-header --target 13
//   tabular --csv modechoice.csv --target choice --drop individual
//   tabular --csv train.csv --target Survived --id PassengerId --test test.csv --out predictions.csv
#include <cmath>
#include <limits>
#include <sstream>

#include <ember/ember.h>
#include <ember/io/atomic_file.h>

#include "flags.h"

using namespace ember;
using examples::Check;

// Linear -> BatchNorm1d -> ReLU -> Dropout, `layers` times, then a Linear head.
struct MlpImpl : nn::Module {
  MlpImpl(std::int64_t in, std::int64_t hidden, std::int64_t layers, double dropout, std::int64_t out) {
    std::int64_t width = in;
    for (std::int64_t i = 0; i < layers; ++i) {
      body->push_back(nn::Linear(width, hidden));
      body->push_back(nn::BatchNorm1d(hidden));
      body->push_back(nn::ReLU());
      body->push_back(nn::Dropout(dropout));
      width = hidden;
    }
    register_module("body", body);
    head = register_module("head", nn::Linear(width, out));
  }
  Tensor forward(const Tensor& x) { return head(body->forward(x)); }
  nn::Sequential body;
  nn::Linear head{nullptr};
};
EMBER_MODULE(Mlp);

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

Tensor loss_of(const data::TabularPreprocessor& prep, const Tensor& out, const Tensor& y) {
  return prep.classification() ? nn::F::cross_entropy(out, y) : nn::F::mse_loss(out.squeeze(1), y);
}

// One pass over the training split.
double train(Mlp& model, const data::DataLoader& loader, optim::Optimizer& optimizer, const data::TabularPreprocessor& prep) {
  model->train();
  double total = 0;
  std::int64_t seen = 0;
  for (const data::Example& batch : loader) {
    if (batch.data.size(0) < 2) continue;  // batch norm needs two rows in training
    optimizer.zero_grad();
    Tensor loss = loss_of(prep, model(batch.data), batch.target);
    loss.backward();
    optimizer.step();
    total += loss.item<double>() * static_cast<double>(batch.data.size(0));
    seen += batch.data.size(0);
  }
  return total / static_cast<double>(std::max<std::int64_t>(seen, 1));
}

struct Score {
  double loss = 0, metric = 0;  // metric: accuracy, or RMSE in the target's units
};

// Loss and accuracy (classification) or RMSE (regression) on a split.
Score test(Mlp& model, const data::DataLoader& loader, const data::TabularPreprocessor& prep) {
  model->eval();
  NoGradGuard no_grad;
  double loss = 0, metric = 0;
  std::int64_t seen = 0;
  for (const data::Example& batch : loader) {
    const Tensor out = model(batch.data);
    const double n = static_cast<double>(batch.data.size(0));
    loss += loss_of(prep, out, batch.target).item<double>() * n;
    if (prep.classification()) {
      metric += (argmax(out, 1) == batch.target).to(DType::Int64).sum().item<double>();
    } else {
      const Tensor d = out.squeeze(1) - batch.target;
      metric += (d * d).sum().item<double>();
    }
    seen += batch.data.size(0);
  }
  const double n = static_cast<double>(std::max<std::int64_t>(seen, 1));
  if (prep.classification()) return {loss / n, metric / n};
  return {loss / n, std::sqrt(metric / n) * std::abs(prep.unscale(1) - prep.unscale(0))};
}

// The majority class's accuracy, or the mean's RMSE, on `val` with the statistic from `train`.
double baseline(const data::TabularPreprocessor& prep, const Tensor& y, const std::vector<std::int64_t>& train,
                const std::vector<std::int64_t>& val) {
  if (prep.classification()) {
    std::vector<std::int64_t> counts(prep.classes().size(), 0);
    for (std::int64_t r : train) ++counts[static_cast<std::size_t>(y.data_ptr<std::int64_t>()[r])];
    const std::int64_t major = std::max_element(counts.begin(), counts.end()) - counts.begin();
    double hit = 0;
    for (std::int64_t r : val) hit += y.data_ptr<std::int64_t>()[r] == major;
    return hit / static_cast<double>(val.size());
  }
  double mean = 0, sq = 0;
  for (std::int64_t r : train) mean += y.data_ptr<float>()[r];
  mean /= static_cast<double>(train.size());
  for (std::int64_t r : val) sq += (y.data_ptr<float>()[r] - mean) * (y.data_ptr<float>()[r] - mean);
  return std::sqrt(sq / static_cast<double>(val.size())) * std::abs(prep.unscale(1) - prep.unscale(0));
}

// Ridge regression (scikit-learn's Ridge, alpha 1) on the encoded training rows, in closed
// form: (Xc'Xc + alpha I) w = Xc'(y - mean(y)), Xc the columns centred on their training
// means, so the intercept is not penalised; solved by Cholesky. Returns the validation RMSE
// in the target's units, or NaN when the encoding is too wide for a dense solve.
double ridge_rmse(const data::TabularPreprocessor& prep, const Tensor& x, const Tensor& y,
                  const std::vector<std::int64_t>& train, const std::vector<std::int64_t>& val, double alpha = 1.0) {
  const std::int64_t w = x.size(1);
  if (w > 2000) return std::numeric_limits<double>::quiet_NaN();
  const float* px = x.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  const std::size_t W = static_cast<std::size_t>(w);
  std::vector<double> mx(W, 0.0), a(W * W, 0.0), b(W, 0.0), row(W);
  double my = 0;
  for (std::int64_t r : train) {
    for (std::size_t j = 0; j < W; ++j) mx[j] += px[r * w + static_cast<std::int64_t>(j)];
    my += py[r];
  }
  const double n = static_cast<double>(train.size());
  for (double& v : mx) v /= n;
  my /= n;
  for (std::int64_t r : train) {
    for (std::size_t j = 0; j < W; ++j) row[j] = px[r * w + static_cast<std::int64_t>(j)] - mx[j];
    const double yc = py[r] - my;
    for (std::size_t i = 0; i < W; ++i) {
      if (row[i] == 0) continue;  // one-hot columns are mostly (near) constant
      b[i] += row[i] * yc;
      for (std::size_t j = 0; j <= i; ++j) a[i * W + j] += row[i] * row[j];
    }
  }
  for (std::size_t i = 0; i < W; ++i) a[i * W + i] += alpha;
  for (std::size_t j = 0; j < W; ++j) {  // Cholesky, lower triangle in place: a = L L'
    double d = a[j * W + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * W + k] * a[j * W + k];
    a[j * W + j] = std::sqrt(std::max(d, 1e-300));
    for (std::size_t i = j + 1; i < W; ++i) {
      double v = a[i * W + j];
      for (std::size_t k = 0; k < j; ++k) v -= a[i * W + k] * a[j * W + k];
      a[i * W + j] = v / a[j * W + j];
    }
  }
  for (std::size_t i = 0; i < W; ++i) {  // L z = b, then L' w = z
    for (std::size_t k = 0; k < i; ++k) b[i] -= a[i * W + k] * b[k];
    b[i] /= a[i * W + i];
  }
  for (std::size_t i = W; i-- > 0;) {
    for (std::size_t k = i + 1; k < W; ++k) b[i] -= a[k * W + i] * b[k];
    b[i] /= a[i * W + i];
  }
  double sq = 0;
  for (std::int64_t r : val) {
    double pred = my;
    for (std::size_t j = 0; j < W; ++j) pred += (px[r * w + static_cast<std::int64_t>(j)] - mx[j]) * b[j];
    sq += (pred - py[r]) * (pred - py[r]);
  }
  return std::sqrt(sq / static_cast<double>(val.size())) * std::abs(prep.unscale(1) - prep.unscale(0));
}

// Multinomial logistic regression (scikit-learn's LogisticRegression, C = 1: the summed
// cross-entropy plus |W|^2 / 2) on the encoded training rows, by full-batch Adam to near
// convergence; the weights start at zero, so no random numbers are drawn. Returns the
// validation accuracy.
double logistic_accuracy(const data::TabularPreprocessor& prep, const Tensor& x, const Tensor& y,
                         const std::vector<std::int64_t>& train, const std::vector<std::int64_t>& val) {
  const std::int64_t k = static_cast<std::int64_t>(prep.classes().size());
  const Tensor xt = index_select(x, 0, from_vector(train)), yt = index_select(y, 0, from_vector(train));
  Tensor w = zeros({x.size(1), k}).requires_grad_(true), b = zeros({k}).requires_grad_(true);
  optim::Adam opt({w, b}, optim::AdamOptions(0.05));
  const double l2 = 0.5 / static_cast<double>(train.size());  // |W|^2 / 2 over the mean loss's n
  for (int step = 0; step < 500; ++step) {
    opt.zero_grad();
    Tensor loss = nn::F::cross_entropy(matmul(xt, w) + b, yt) + (w * w).sum() * l2;
    loss.backward();
    opt.step();
  }
  NoGradGuard no_grad;
  const Tensor xv = index_select(x, 0, from_vector(val)), yv = index_select(y, 0, from_vector(val));
  return (argmax(matmul(xv, w) + b, 1) == yv).to(DType::Int64).sum().item<double>() / static_cast<double>(val.size());
}

struct Args {
  std::string csv, target, target_expr, id, drop, categorical, task = "auto", delimiter, quote, decimal, impute = "mean";
  std::string test_csv, out = "predictions.csv", save, split_out;
  std::int64_t skip_rows = 0, epochs = 300, patience = 20, hidden = 64, layers = 2, batch_size = 32, seed = 1;
  double val = 0.2, dropout = 0.2, lr = 1e-3, weight_decay = 1e-4, expect_accuracy = 0;
  bool no_header = false, keep_ids = false;
  int threads = 1;
};

data::CsvOptions csv_options(const Args& a) {
  data::CsvOptions o = data::CsvOptions().skip_rows(a.skip_rows).header(!a.no_header);
  if (a.delimiter == "tab") o.delimiter('\t');
  else if (a.delimiter == "space") o.delimiter(' ');
  else if (!a.delimiter.empty()) o.delimiter(a.delimiter[0]);
  if (!a.quote.empty()) o.quote(a.quote[0]);
  if (!a.decimal.empty()) o.decimal(a.decimal[0]);
  if (!a.id.empty()) o.type(a.id, data::CsvType::String);
  return o;
}

int main(int argc, char** argv) try {
  Args a;
  examples::Flags flags("tabular", "An MLP classifier or regressor for a CSV table, with early stopping.");
  flags.add("csv", a.csv, "the training table")
      .add("target", a.target, "the target column")
      .add("target-expr", a.target_expr, "a binary target instead: \"COLUMN OP VALUE\", OP one of > >= < <= == !=")
      .add("id", a.id, "an id column: not a feature; written beside each prediction")
      .add("drop", a.drop, "comma-separated columns that are not features")
      .add("categorical", a.categorical, "comma-separated numeric columns to one-hot as categories")
      .add("task", a.task, "what the target is", {"auto", "classification", "regression"})
      .add("impute", a.impute, "fill for missing numbers (from the training split)", {"mean", "median"})
      .add("delimiter", a.delimiter, "field separator: one character, 'tab' or 'space' (default: detected)")
      .add("quote", a.quote, "the quote character, e.g. \"'\" (default: '\"', or ' when the header is single-quoted)")
      .add("decimal", a.decimal, "the decimal mark besides '.': ',' reads 2,5 (default: ',' too in ';' files)", {"", ".", ","})
      .add("keep-ids", a.keep_ids, "keep columns that count the rows (ids) as features")
      .add("skip-rows", a.skip_rows, "lines to skip before the header (sklearn's count line: 1)", Check::NonNegative)
      .add("no-header", a.no_header, "the first row is data; columns are named 0, 1, ...")
      .add("val", a.val, "fraction of rows held out for validation", Check::Fraction)
      .add("epochs", a.epochs, "most passes over the training split", Check::Positive)
      .add("patience", a.patience, "stop after this many epochs without a better validation loss", Check::Positive)
      .add("hidden", a.hidden, "units per hidden layer", Check::Positive)
      .add("layers", a.layers, "hidden layers", Check::NonNegative)
      .add("dropout", a.dropout, "dropout after each hidden layer", Check::Fraction)
      .add("lr", a.lr, "Adam's learning rate", Check::Positive)
      .add("weight-decay", a.weight_decay, "Adam's weight decay", Check::NonNegative)
      .add("batch-size", a.batch_size, "rows per step", Check::Positive)
      .add("seed", a.seed, "random seed for the split, the weights and shuffling", Check::NonNegative)
      .add("threads", a.threads, "compute threads", Check::Positive)
      .add("test", a.test_csv, "a table to predict (same columns, the target may be absent)")
      .add("out", a.out, "where --test's predictions go")
      .add("save", a.save, "write the best model, with its preprocessing, to this safetensors file")
      .add("split-out", a.split_out, "write the split (row,split) to this CSV, for bench/compare_tabular.py")
      .add("expect-accuracy", a.expect_accuracy, "classification: exit 1 if the validation accuracy is below this",
           Check::Probability);
  flags.parse(argc, argv);
  if (a.csv.empty()) throw examples::UsageError("--csv is required");
  if (a.target.empty() == a.target_expr.empty()) throw examples::UsageError("give one of --target and --target-expr");
  if (a.val <= 0) throw examples::UsageError("--val must be above 0: early stopping needs a validation split");
  manual_seed(static_cast<std::uint64_t>(a.seed));
  set_num_threads(a.threads);

  auto table = std::make_shared<data::CsvTable>(data::read_csv(a.csv, csv_options(a)));
  data::TabularOptions topt = data::TabularOptions().target(a.target).target_expr(a.target_expr)
                                  .categorical(split_list(a.categorical))
                                  .task(a.task == "classification" ? data::TabularTask::Classification
                                        : a.task == "regression"   ? data::TabularTask::Regression
                                                                   : data::TabularTask::Auto)
                                  .impute(a.impute == "median" ? data::Impute::Median : data::Impute::Mean);
  std::vector<std::string> drop = split_list(a.drop);
  if (!a.id.empty()) drop.push_back(a.id);
  topt.drop(drop).drop_ids(!a.keep_ids);
  auto all = std::make_shared<data::TabularDataset>(table, topt);
  auto split = data::random_split(all, {1.0 - a.val, a.val});
  all->fit(split[0]->indices());  // standardisation and categories from the training split only
  const data::TabularPreprocessor& prep = all->preprocessor();
  for (const std::string& note : prep.notes()) fmt::print("note: {}\n", note);
  if (!a.split_out.empty()) {
    std::string text = "row,split\n";
    for (int s = 0; s < 2; ++s)
      for (std::int64_t r : split[static_cast<std::size_t>(s)]->indices()) text += fmt::format("{},{}\n", r, s ? "val" : "train");
    AtomicFile f(a.split_out, "tabular");
    f.write(text.data(), text.size());
    f.commit();
  }

  const std::int64_t outputs = prep.classification() ? static_cast<std::int64_t>(prep.classes().size()) : 1;
  Mlp model(prep.width(), a.hidden, a.layers, a.dropout, outputs);
  optim::Adam optimizer(model->parameters(), optim::AdamOptions(a.lr).weight_decay(a.weight_decay));
  data::DataLoader train_loader(split[0], data::DataLoaderOptions().batch_size(a.batch_size).shuffle(true).prefetch(0));
  data::DataLoader val_loader(split[1], data::DataLoaderOptions().batch_size(1024).prefetch(0));
  fmt::print("{}: {} rows, {} features -> {} inputs; target {} ({}{}); {} training, {} validation rows\n", a.csv,
             table->rows(), prep.feature_list().size(), prep.width(), prep.target_name(),
             prep.classification() ? "classification, " : "regression",
             prep.classification() ? fmt::format("{} classes", prep.classes().size()) : "", split[0]->size(),
             split[1]->size());

  double best = std::numeric_limits<double>::infinity();
  std::int64_t best_epoch = 0;
  NamedTensors best_state;
  Score best_score;
  for (std::int64_t epoch = 1; epoch <= a.epochs; ++epoch) {
    const double train_loss = train(model, train_loader, optimizer, prep);
    const Score s = test(model, val_loader, prep);
    if (s.loss < best) {
      best = s.loss, best_epoch = epoch, best_score = s;
      best_state.clear();
      for (const auto& [name, t] : model->state_dict()) best_state.emplace_back(name, t.clone());
    }
    if (epoch == 1 || epoch % 10 == 0)
      fmt::print("epoch {:3d}  train loss {:.4f}  val loss {:.4f}  val {} {:.4f}\n", epoch, train_loss, s.loss,
                 prep.classification() ? "accuracy" : "RMSE", s.metric);
    if (epoch - best_epoch >= a.patience) {
      fmt::print("early stop at epoch {}: no better validation loss for {} epochs\n", epoch, a.patience);
      break;
    }
  }
  model->load_state_dict(best_state);
  const Score s = test(model, val_loader, prep);
  const double base = baseline(prep, all->targets(), split[0]->indices(), split[1]->indices());
  const double linear = prep.classification()
                            ? logistic_accuracy(prep, all->data(), all->targets(), split[0]->indices(), split[1]->indices())
                            : ridge_rmse(prep, all->data(), all->targets(), split[0]->indices(), split[1]->indices());
  const char* linear_name = prep.classification() ? "logistic regression" : "ridge regression";
  if (prep.classification())
    fmt::print("best epoch {}: validation accuracy {:.2f}%  (majority-class baseline {:.2f}%, {} {:.2f}%)\n", best_epoch,
               100 * s.metric, 100 * base, linear_name, 100 * linear);
  else
    fmt::print("best epoch {}: validation RMSE {:.4g}  (mean baseline {:.4g}, {} {:.4g})\n", best_epoch, s.metric, base,
               linear_name, linear);
  // Say when the MLP does no better than a baseline on the same split.
  const bool worse_than_base = prep.classification() ? s.metric < base : s.metric > base;
  const bool worse_than_linear = !std::isnan(linear) && (prep.classification() ? s.metric < linear : s.metric > linear);
  if (worse_than_base)
    fmt::print("warning: the MLP does worse than the {} baseline on validation; check the notes above, the target and "
               "the features\n", prep.classification() ? "majority-class" : "mean");
  if (worse_than_linear)
    fmt::print("warning: {} does better than the MLP on validation ({}): a linear model suits this table better\n",
               linear_name,
               prep.classification() ? fmt::format("{:.2f}% against {:.2f}%", 100 * linear, 100 * s.metric)
                                     : fmt::format("RMSE {:.4g} against {:.4g}", linear, s.metric));

  if (!a.save.empty()) {
    model->save(a.save, {{"arch", fmt::format("tabular mlp {}x{} -> {}", a.layers, a.hidden, outputs)}, {"tabular", prep.to_string()}});
    fmt::print("saved {}\n", a.save);
  }
  if (!a.test_csv.empty()) {
    auto test_table = std::make_shared<data::CsvTable>(data::read_csv(a.test_csv, csv_options(a)));
    data::TabularDataset test_set(test_table, topt);
    test_set.set_preprocessor(data::TabularPreprocessor::from_string(prep.to_string()));  // as a saved model would
    model->eval();
    NoGradGuard no_grad;
    const Tensor out = model(test_set.data());
    const std::string id_name = a.id.empty() ? "row" : a.id;
    std::string text = fmt::format("{},{}\n", id_name, a.target.empty() ? "target" : a.target);
    const Tensor pred = prep.classification() ? argmax(out, 1).contiguous() : out.squeeze(1).contiguous();
    for (std::int64_t r = 0; r < test_table->rows(); ++r) {
      const std::string id = a.id.empty() ? std::to_string(r + 1) : (*test_table)[a.id].strings[static_cast<std::size_t>(r)];
      const std::string value = prep.classification()
                                    ? prep.classes()[static_cast<std::size_t>(pred.data_ptr<std::int64_t>()[r])]
                                    : fmt::format("{:.6g}", prep.unscale(pred.data_ptr<float>()[r]));
      text += fmt::format("{},{}\n", id, value);
    }
    AtomicFile f(a.out, "tabular");
    f.write(text.data(), text.size());
    f.commit();
    fmt::print("wrote {} ({} rows)\n", a.out, test_table->rows());
  }
  return !prep.classification() || s.metric >= a.expect_accuracy ? 0 : 1;
} catch (const examples::UsageError& e) {
  fmt::print(stderr, "tabular: {} (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  fmt::print(stderr, "tabular: {}\n", e.what());
  return 2;
}
