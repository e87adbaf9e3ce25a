#pragma once
/// Tables (data/csv.h) as tensors for a model: pick the target and the feature
/// columns by name; numeric features are imputed (mean or median) and
/// standardised with statistics fitted on the training rows only; string
/// features are one-hot encoded over the categories seen in training, with two
/// reserved slots: 0 "<unknown>" for a category first seen at prediction time
/// and 1 "<missing>" for a missing value. The fitted state serialises to a
/// string (to_string / from_string) saved in the model file's metadata, so
/// prediction encodes new rows exactly as training did.
///
///   auto table = std::make_shared<data::CsvTable>(data::read_csv("fair.csv"));
///   auto all = std::make_shared<data::TabularDataset>(table, data::TabularOptions().target_expr("affairs > 0"));
///   auto split = data::random_split(all, {0.8, 0.2});
///   all->fit(split[0]->indices());   // statistics from the training split
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/options.h"
#include "ember/data/csv.h"
#include "ember/data/dataset.h"

namespace ember::data {

/// What the target is: Auto (classification for strings or for a few whole numbers, else regression).
enum class TabularTask : std::uint8_t { Auto, Classification, Regression };
/// How missing numbers are filled: the training mean or median.
enum class Impute : std::uint8_t { Mean, Median };

class TabularOptions {
 public:
  /// The target column (or use target_expr).
  EMBER_OPTION(TabularOptions, std::string, target, "")
  /// A binary target from a comparison "COLUMN OP VALUE", OP one of > >= < <= == != (e.g. "affairs > 0").
  EMBER_OPTION(TabularOptions, std::string, target_expr, "")
  /// Feature columns; empty: every column but the target, the id and drop().
  EMBER_OPTION(TabularOptions, std::vector<std::string>, features, {})
  /// Columns never used as features (e.g. an id).
  EMBER_OPTION(TabularOptions, std::vector<std::string>, drop, {})
  /// Numeric columns to treat as categories (e.g. a code).
  EMBER_OPTION(TabularOptions, std::vector<std::string>, categorical, {})
  EMBER_OPTION(TabularOptions, TabularTask, task, TabularTask::Auto)
  EMBER_OPTION(TabularOptions, Impute, impute, Impute::Mean)
  /// Auto: whole-number targets with at most this many values are classes (default 20).
  EMBER_OPTION(TabularOptions, std::int64_t, max_classes, 20)
  /// With features() empty, leave out a number column that counts the rows (k, k+1, k+2, ...
  /// in row order, no gaps): an id, not a feature (default true; notes() says so).
  EMBER_OPTION(TabularOptions, bool, drop_ids, true)
};

/// The fitted encoding of features and target.
class TabularPreprocessor {
 public:
  struct Feature {
    std::string name;
    bool categorical = false;
    double fill = 0, mean = 0, std = 1;   // numeric: impute value, standardisation
    std::vector<std::string> categories;  // categorical: slots 2.. (0 unknown, 1 missing)
  };
  /// Fits on `rows` of `table` (the training split).
  static TabularPreprocessor fit(const CsvTable& table, const std::vector<std::int64_t>& rows, const TabularOptions& options);
  /// float32 [N, width()]: every row of `table` encoded (the feature columns must exist).
  Tensor features(const CsvTable& table) const;
  /// The target of every row: int64 class indices [N] or float32 standardised values [N].
  /// Throws for a missing target or, in classification, a class not seen in fit.
  Tensor targets(const CsvTable& table) const;
  /// True if the table has what targets() needs.
  bool has_target(const CsvTable& table) const;
  /// Encoded feature width.
  std::int64_t width() const;
  bool classification() const { return classification_; }
  /// Class names (classification), in index order.
  const std::vector<std::string>& classes() const { return classes_; }
  /// A standardised regression output back in the target's units.
  double unscale(double y) const { return y * target_std_ + target_mean_; }
  /// The target's name (or its expression).
  const std::string& target_name() const { return target_; }
  const std::vector<Feature>& feature_list() const { return features_; }
  /// What fit() decided that a user should hear: an id column left out, a column of
  /// numbers read as categories because of a text cell (naming its line and text).
  const std::vector<std::string>& notes() const { return notes_; }
  /// The fitted state as text, and back.
  std::string to_string() const;
  static TabularPreprocessor from_string(const std::string& text);

 private:
  double target_value(const CsvTable& table, std::int64_t row, bool& missing, std::string& text) const;
  std::string target_, expr_col_, expr_op_, expr_value_;
  bool classification_ = true, string_target_ = false;
  std::vector<std::string> classes_;
  double target_mean_ = 0, target_std_ = 1;
  std::vector<Feature> features_;
  std::vector<std::string> notes_;  // from fit(); not saved
};

/// A CsvTable's rows as examples: data float32 [width], target int64 or float32 scalar.
/// Examples are available after fit() (training) or set_preprocessor() (prediction).
class TabularDataset : public Dataset {
 public:
  TabularDataset(std::shared_ptr<const CsvTable> table, TabularOptions options);
  /// Fits the preprocessor on `rows` and encodes every row with it.
  void fit(const std::vector<std::int64_t>& rows);
  /// Encodes every row with an already fitted preprocessor (targets only if the table has them).
  void set_preprocessor(TabularPreprocessor p);
  const TabularPreprocessor& preprocessor() const { return prep_; }
  std::int64_t size() const override { return table_->rows(); }
  Example get(std::int64_t i) const override;
  Example get_batch(const std::vector<std::int64_t>& indices) const override;
  /// All encoded rows [N, width] and targets [N] (undefined before fit).
  const Tensor& data() const { return x_; }
  const Tensor& targets() const { return y_; }
  const CsvTable& table() const { return *table_; }

 private:
  std::shared_ptr<const CsvTable> table_;
  TabularOptions options_;
  TabularPreprocessor prep_;
  Tensor x_, y_;
};

}  // namespace ember::data
