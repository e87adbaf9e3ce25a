#include "ember/data/tabular.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "ember/core/error.h"
#include "ember/core/factory.h"
#include "ember/ops/ops.h"

namespace ember::data {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

const CsvColumn& column(const CsvTable& t, const std::string& name, const char* role) {
  EMBER_CHECK(t.has(name), "{}: no {} column '{}'; the columns are: {}", t.source(), role, name, join(t.names()));
  return t[name];
}

// The text of a number as the file would most likely hold it ("3", "0.5").
std::string number_text(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

// "affairs > 0" -> ("affairs", ">", "0").
void parse_expr(const std::string& e, std::string& col, std::string& op, std::string& value) {
  static const char* ops[] = {">=", "<=", "==", "!=", ">", "<"};
  for (const char* o : ops) {
    const std::size_t at = e.find(o);
    if (at == std::string::npos) continue;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    col = trim(e.substr(0, at));
    op = o;
    value = trim(e.substr(at + std::string(o).size()));
    EMBER_CHECK(!col.empty() && !value.empty(), "target_expr: '{}' is not COLUMN OP VALUE", e);
    return;
  }
  throw Error(fmt::format("target_expr: '{}' has no comparison (> >= < <= == !=)", e));
}

bool compare(double a, const std::string& op, double b) {
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == "==") return a == b;
  return a != b;
}

// Escapes tabs, newlines and backslashes so a field fits in one tab-separated line.
std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\') o += "\\\\";
    else if (c == '\t') o += "\\t";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}
std::string unesc(const std::string& s) {
  std::string o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char n = s[++i];
      o += n == 't' ? '\t' : n == 'n' ? '\n' : n;
    } else {
      o += s[i];
    }
  }
  return o;
}
std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (;;) {
    const std::size_t t = line.find('\t', at);
    out.push_back(unesc(line.substr(at, t == std::string::npos ? std::string::npos : t - at)));
    if (t == std::string::npos) return out;
    at = t + 1;
  }
}
// True for a column of numbers k, k+1, ..., one per row in row order: a row id.
bool counts_rows(const CsvColumn& c) {
  if (!c.is_number() || c.numbers.size() < 3) return false;
  const double first = c.numbers[0];
  if (!(first == std::floor(first)) || std::abs(first) > 1e15) return false;
  for (std::size_t i = 0; i < c.numbers.size(); ++i)
    if (c.numbers[i] != first + static_cast<double>(i)) return false;
  return true;
}

// True if the whole of s is a number.
bool is_number_text(const std::string& s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

double to_double(const std::string& s) {
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  EMBER_CHECK(ec == std::errc() && p == s.data() + s.size(), "TabularPreprocessor::from_string: '{}' is not a number", s);
  return v;
}

}  // namespace

TabularPreprocessor TabularPreprocessor::fit(const CsvTable& t, const std::vector<std::int64_t>& rows,
                                             const TabularOptions& o) {
  EMBER_CHECK(o.target().empty() != o.target_expr().empty(), "{}: give either a target column or a target_expr", t.source());
  EMBER_CHECK(!rows.empty(), "{}: no training rows to fit on", t.source());
  for (std::int64_t r : rows) EMBER_CHECK(r >= 0 && r < t.rows(), "{}: row {} is out of range ({} rows)", t.source(), r, t.rows());
  TabularPreprocessor p;
  std::vector<std::string> skip = o.drop();
  if (!o.target_expr().empty()) {
    p.target_ = o.target_expr();
    parse_expr(o.target_expr(), p.expr_col_, p.expr_op_, p.expr_value_);
    const CsvColumn& c = column(t, p.expr_col_, "target_expr");
    if (c.is_number() || p.expr_op_ == "==" || p.expr_op_ == "!=") {
      if (c.is_number()) (void)to_double(p.expr_value_);
    } else {
      throw Error(fmt::format("{}: target_expr '{}': column {} holds text, which only == and != compare", t.source(),
                              o.target_expr(), p.expr_col_));
    }
    EMBER_CHECK(o.task() != TabularTask::Regression, "{}: target_expr gives a binary target, not a regression one", t.source());
    p.classification_ = true;
    p.classes_ = {"false", "true"};
    skip.push_back(p.expr_col_);
  } else {
    p.target_ = o.target();
    const CsvColumn& c = column(t, o.target(), "target");
    skip.push_back(o.target());
    p.string_target_ = !c.is_number();
    if (o.task() == TabularTask::Regression) {
      if (!c.is_number()) {
        std::size_t i = 0;
        while (i < c.strings.size() && c.missing[i]) ++i;
        throw Error(fmt::format("{}: target {} holds text (e.g. '{}' in data row {}); regression needs numbers",
                                t.source(), o.target(), i < c.strings.size() ? c.strings[i] : "", i + 1));
      }
      p.classification_ = false;
    } else if (o.task() == TabularTask::Classification || !c.is_number()) {
      p.classification_ = true;
    } else {
      std::set<double> values;
      bool whole = true;
      for (std::int64_t r : rows) {
        const double v = c.numbers[static_cast<std::size_t>(r)];
        if (std::isnan(v)) continue;
        whole &= v == std::floor(v);
        values.insert(v);
      }
      p.classification_ = whole && static_cast<std::int64_t>(values.size()) <= o.max_classes();
    }
    if (p.classification_) {
      if (c.is_number()) {
        std::set<double> values;
        for (std::int64_t r : rows)
          if (!std::isnan(c.numbers[static_cast<std::size_t>(r)])) values.insert(c.numbers[static_cast<std::size_t>(r)]);
        for (double v : values) p.classes_.push_back(number_text(v));
      } else {
        std::set<std::string> values;
        for (std::int64_t r : rows)
          if (!c.missing[static_cast<std::size_t>(r)]) values.insert(c.strings[static_cast<std::size_t>(r)]);
        p.classes_.assign(values.begin(), values.end());
      }
      EMBER_CHECK(p.classes_.size() >= 2, "{}: target {} has {} class{} in the training rows; a classifier needs 2 or more",
                  t.source(), o.target(), p.classes_.size(), p.classes_.size() == 1 ? "" : "es");
    } else {
      double sum = 0, sq = 0;
      std::int64_t n = 0;
      for (std::int64_t r : rows) {
        const double v = c.numbers[static_cast<std::size_t>(r)];
        if (std::isnan(v)) continue;
        sum += v;
        sq += v * v;
        ++n;
      }
      EMBER_CHECK(n > 0, "{}: target {} is missing in every training row", t.source(), o.target());
      p.target_mean_ = sum / static_cast<double>(n);
      const double var = std::max(0.0, sq / static_cast<double>(n) - p.target_mean_ * p.target_mean_);
      p.target_std_ = var > 0 ? std::sqrt(var) : 1.0;
    }
  }
  for (const std::string& d : o.drop()) (void)column(t, d, "drop");
  std::vector<std::string> names = o.features();
  if (names.empty()) {
    for (const std::string& n : t.names()) {
      if (std::find(skip.begin(), skip.end(), n) != skip.end()) continue;
      const CsvColumn& c = t[n];
      if (o.drop_ids() && counts_rows(c)) {
        p.notes_.push_back(fmt::format("{}: left out column {}: it counts the rows ({} to {} in row order), an id, not a "
                                       "feature (name it as a feature to keep it)",
                                       t.source(), n, number_text(c.numbers.front()), number_text(c.numbers.back())));
        continue;
      }
      names.push_back(n);
    }
  }
  EMBER_CHECK(!names.empty(), "{}: no feature columns left (the columns are: {})", t.source(), join(t.names()));
  for (const std::string& cat : o.categorical()) (void)column(t, cat, "categorical");
  for (const std::string& n : names) {
    const CsvColumn& c = column(t, n, "feature");
    EMBER_CHECK(n != (p.expr_col_.empty() ? p.target_ : p.expr_col_), "{}: feature {} is also the target", t.source(), n);
    Feature f;
    f.name = n;
    f.categorical = !c.is_number() || std::find(o.categorical().begin(), o.categorical().end(), n) != o.categorical().end();
    if (f.categorical) {
      std::map<std::string, std::int64_t> counts;
      for (std::int64_t r : rows) {
        const std::size_t i = static_cast<std::size_t>(r);
        if (c.is_number()) {
          if (!std::isnan(c.numbers[i])) ++counts[number_text(c.numbers[i])];
        } else if (!c.missing[i]) {
          ++counts[c.strings[i]];
        }
      }
      for (const auto& kv : counts) f.categories.push_back(kv.first);
      if (!c.is_number() && c.text_line > 0) {
        // Mostly numbers, but a text cell made the reader keep the column as text.
        std::int64_t present = 0, numeric = 0;
        for (std::size_t i = 0; i < c.strings.size(); ++i) {
          if (c.missing[i]) continue;
          ++present;
          numeric += is_number_text(c.strings[i]);
        }
        if (numeric > 0 && 2 * numeric >= present) {
          p.notes_.push_back(fmt::format(
              "{}:{}: column {} holds '{}', not a number, so the column is read as text: {} one-hot categories "
              "instead of one number ({} of its {} values are numbers); fix the cell, or declare it a missing value",
              t.source(), c.text_line, n, c.text_value, f.categories.size(), numeric, present));
        }
      }
    } else {
      std::vector<double> v;
      for (std::int64_t r : rows)
        if (!std::isnan(c.numbers[static_cast<std::size_t>(r)])) v.push_back(c.numbers[static_cast<std::size_t>(r)]);
      if (v.empty()) {
        f.fill = 0;
      } else if (o.impute() == Impute::Median) {
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
        f.fill = v[v.size() / 2];
      } else {
        double s = 0;
        for (double x : v) s += x;
        f.fill = s / static_cast<double>(v.size());
      }
      double s = 0, sq = 0;
      for (double x : v) s += x;
      const double n_ = static_cast<double>(std::max<std::size_t>(v.size(), 1));
      f.mean = s / n_;
      for (double x : v) sq += (x - f.mean) * (x - f.mean);
      f.std = v.size() > 0 && sq > 0 ? std::sqrt(sq / n_) : 1.0;
    }
    p.features_.push_back(std::move(f));
  }
  return p;
}

std::int64_t TabularPreprocessor::width() const {
  std::int64_t w = 0;
  for (const Feature& f : features_) w += f.categorical ? 2 + static_cast<std::int64_t>(f.categories.size()) : 1;
  return w;
}

Tensor TabularPreprocessor::features(const CsvTable& t) const {
  const std::int64_t w = width(), n = t.rows();
  Tensor x = zeros({n, w}, DType::Float32);
  float* px = x.data_ptr<float>();
  std::int64_t at = 0;
  for (const Feature& f : features_) {
    const CsvColumn& c = column(t, f.name, "feature");
    if (!f.categorical) {
      EMBER_CHECK(c.is_number(), "{}: feature {} was numeric in training but holds text here (e.g. '{}')", t.source(),
                  f.name, c.strings.empty() ? "" : c.strings[0]);
      for (std::int64_t r = 0; r < n; ++r) {
        double v = c.numbers[static_cast<std::size_t>(r)];
        if (std::isnan(v)) v = f.fill;
        px[r * w + at] = static_cast<float>((v - f.mean) / f.std);
      }
      at += 1;
      continue;
    }
    for (std::int64_t r = 0; r < n; ++r) {
      const std::size_t i = static_cast<std::size_t>(r);
      std::int64_t slot;
      const bool missing = c.is_number() ? std::isnan(c.numbers[i]) : c.missing[i] != 0;
      if (missing) {
        slot = 1;
      } else {
        const std::string key = c.is_number() ? number_text(c.numbers[i]) : c.strings[i];
        const auto it = std::lower_bound(f.categories.begin(), f.categories.end(), key);
        slot = it != f.categories.end() && *it == key ? 2 + (it - f.categories.begin()) : 0;
      }
      px[r * w + at + slot] = 1.0f;
    }
    at += 2 + static_cast<std::int64_t>(f.categories.size());
  }
  return x;
}

bool TabularPreprocessor::has_target(const CsvTable& t) const {
  return t.has(expr_col_.empty() ? target_ : expr_col_);
}

double TabularPreprocessor::target_value(const CsvTable& t, std::int64_t row, bool& missing, std::string& text) const {
  const std::size_t i = static_cast<std::size_t>(row);
  const CsvColumn& c = column(t, expr_col_.empty() ? target_ : expr_col_, "target");
  missing = c.is_number() ? std::isnan(c.numbers[i]) : c.missing[i] != 0;
  if (missing) return 0;
  if (!expr_col_.empty()) {
    if (c.is_number()) return compare(c.numbers[i], expr_op_, to_double(expr_value_)) ? 1 : 0;
    const bool eq = c.strings[i] == expr_value_;
    return (expr_op_ == "==") == eq ? 1 : 0;
  }
  if (c.is_number()) {
    text = number_text(c.numbers[i]);
    return c.numbers[i];
  }
  EMBER_CHECK(classification_, "{}: target {} holds text ('{}' in data row {}); regression needs numbers", t.source(),
              target_, c.strings[i], row + 1);
  text = c.strings[i];
  return 0;
}

Tensor TabularPreprocessor::targets(const CsvTable& t) const {
  const std::int64_t n = t.rows();
  Tensor y = classification_ ? zeros({n}, DType::Int64) : zeros({n}, DType::Float32);
  for (std::int64_t r = 0; r < n; ++r) {
    bool missing = false;
    std::string text;
    const double v = target_value(t, r, missing, text);
    EMBER_CHECK(!missing, "{}: the target {} is missing in data row {}", t.source(), target_, r + 1);
    if (!classification_) {
      y.data_ptr<float>()[r] = static_cast<float>((v - target_mean_) / target_std_);
    } else if (!expr_col_.empty()) {
      y.data_ptr<std::int64_t>()[r] = static_cast<std::int64_t>(v);
    } else {
      const auto it = std::find(classes_.begin(), classes_.end(), text);
      EMBER_CHECK(it != classes_.end(), "{}: data row {}: target {} = '{}' is not a class seen in training ({})",
                  t.source(), r + 1, target_, text, join(classes_));
      y.data_ptr<std::int64_t>()[r] = it - classes_.begin();
    }
  }
  return y;
}

std::string TabularPreprocessor::to_string() const {
  std::ostringstream s;
  s.precision(17);
  s << "ember-tabular 1\n";
  s << "target\t" << esc(target_) << '\t' << esc(expr_col_) << '\t' << esc(expr_op_) << '\t' << esc(expr_value_) << '\n';
  s << "task\t" << (classification_ ? "classification" : "regression") << '\t' << target_mean_ << '\t' << target_std_ << '\n';
  s << "classes";
  for (const std::string& c : classes_) s << '\t' << esc(c);
  s << '\n';
  for (const Feature& f : features_) {
    if (f.categorical) {
      s << "categorical\t" << esc(f.name);
      for (const std::string& c : f.categories) s << '\t' << esc(c);
    } else {
      s << "numeric\t" << esc(f.name) << '\t' << f.fill << '\t' << f.mean << '\t' << f.std;
    }
    s << '\n';
  }
  return s.str();
}

TabularPreprocessor TabularPreprocessor::from_string(const std::string& text) {
  TabularPreprocessor p;
  std::istringstream in(text);
  std::string line;
  EMBER_CHECK(std::getline(in, line) && line == "ember-tabular 1",
              "TabularPreprocessor::from_string: not a saved preprocessor (first line '{}')", line);
  bool classes_seen = false;
  while (std::getline(in, line)) {
    const std::vector<std::string> f = split_tabs(line);
    const std::string& kind = f[0];
    if (kind == "target" && f.size() == 5) {
      p.target_ = f[1], p.expr_col_ = f[2], p.expr_op_ = f[3], p.expr_value_ = f[4];
    } else if (kind == "task" && f.size() == 4) {
      p.classification_ = f[1] == "classification";
      p.target_mean_ = to_double(f[2]);
      p.target_std_ = to_double(f[3]);
    } else if (kind == "classes") {
      p.classes_.assign(f.begin() + 1, f.end());
      classes_seen = true;
    } else if (kind == "categorical" && f.size() >= 2) {
      Feature ft;
      ft.name = f[1];
      ft.categorical = true;
      ft.categories.assign(f.begin() + 2, f.end());
      EMBER_CHECK(std::is_sorted(ft.categories.begin(), ft.categories.end()),
                  "TabularPreprocessor::from_string: the categories of {} are not sorted", ft.name);
      p.features_.push_back(std::move(ft));
    } else if (kind == "numeric" && f.size() == 5) {
      Feature ft;
      ft.name = f[1];
      ft.fill = to_double(f[2]);
      ft.mean = to_double(f[3]);
      ft.std = to_double(f[4]);
      EMBER_CHECK(ft.std > 0, "TabularPreprocessor::from_string: feature {} has std {}", ft.name, ft.std);
      p.features_.push_back(std::move(ft));
    } else {
      throw Error(fmt::format("TabularPreprocessor::from_string: bad line '{}'", line));
    }
  }
  EMBER_CHECK(classes_seen && !p.features_.empty() && !p.target_.empty(),
              "TabularPreprocessor::from_string: incomplete (no target, classes or features)");
  return p;
}

TabularDataset::TabularDataset(std::shared_ptr<const CsvTable> table, TabularOptions options)
    : table_(std::move(table)), options_(std::move(options)) {
  EMBER_CHECK(table_ != nullptr, "TabularDataset: the table is null");
}

void TabularDataset::fit(const std::vector<std::int64_t>& rows) {
  prep_ = TabularPreprocessor::fit(*table_, rows, options_);
  x_ = prep_.features(*table_);
  y_ = prep_.targets(*table_);
}

void TabularDataset::set_preprocessor(TabularPreprocessor p) {
  prep_ = std::move(p);
  x_ = prep_.features(*table_);
  y_ = prep_.has_target(*table_) ? prep_.targets(*table_) : Tensor();
}

Example TabularDataset::get(std::int64_t i) const {
  EMBER_CHECK(x_.defined(), "TabularDataset: call fit() or set_preprocessor() first");
  EMBER_CHECK(i >= 0 && i < size(), "TabularDataset: index {} is out of range for size {}", i, size());
  return {x_[i], y_.defined() ? y_[i] : Tensor()};
}

Example TabularDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  EMBER_CHECK(x_.defined(), "TabularDataset: call fit() or set_preprocessor() first");
  const Tensor idx = from_vector(indices);
  return {index_select(x_, 0, idx), y_.defined() ? index_select(y_, 0, idx) : Tensor()};
}

}  // namespace ember::data
