#pragma once
/// A strict, fast CSV reader (RFC 4180): quoted fields with embedded
/// delimiters, doubled quotes and newlines; a header row; comma, semicolon or
/// tab, detected from the header line or set; CRLF or LF; a UTF-8 BOM; missing
/// values (empty, NA, NaN, ... and a configurable set). Columns are numbers
/// (float64, NaN where missing) or strings (with a missing flag), inferred or
/// declared per column.
///
///   auto t = data::read_csv("train.csv", data::CsvOptions().default_type(data::CsvType::Number));
///   Tensor pixels = t.to_tensor(t.names_except({"label"}));    // float32 [rows, 784]
///   const data::NumberColumn& y = t["label"].numbers;          // float64, like a std::vector<double>
///
/// Every error names the file, the line and the column and quotes the text
/// found ("train.csv:1042: column pixel17: 'x3' is not a number"). Nothing is
/// skipped or zero-filled, except blank lines. Large files are mapped and parsed
/// on several threads; a record longer than max_record_bytes is an error found
/// after reading at most that many bytes of it, so no line makes memory grow
/// without bound.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ember/core/options.h"
#include "ember/core/tensor.h"

namespace ember::data {

/// How a column is read: Auto (numbers if every present value is one, else
/// strings), Number (a value that is not a number is an error) or String.
enum class CsvType : std::uint8_t { Auto, Number, String };

/// pandas' default missing-value markers: "", "NA", "NaN", "nan", "N/A", "null", ...
std::vector<std::string> default_na_values();

/// Options with chained setters: CsvOptions().delimiter(';').skip_rows(1).header(false).
class CsvOptions {
  using Types = std::map<std::string, CsvType>;
  /// The field separator; '\0' (the default) detects ',', ';' or '\t' from the first record (or ' '
  /// when that record has none of them and starts with a quoted field, as R's write.table writes).
  EMBER_OPTION(CsvOptions, char, delimiter, '\0')
  /// The quote character (pandas' quotechar); '\0' (the default) is '"', or '\'' when the first
  /// record holds no '"' and starts and ends with '\'' (statsmodels' 'OBS' 'GPA' ...).
  EMBER_OPTION(CsvOptions, char, quote, '\0')
  /// The decimal mark of numbers besides '.': ',' reads "2,5" as 2.5. '\0' (the default) takes
  /// ',' too where the delimiter is ';' (the European layout); '.' takes only '.'.
  EMBER_OPTION(CsvOptions, char, decimal, '\0')
  /// Keep the file line each data row starts on (CsvTable::line), for messages (default false).
  EMBER_OPTION(CsvOptions, bool, row_lines, false)
  /// The first record (after skip_rows) names the columns (default true).
  EMBER_OPTION(CsvOptions, bool, header, true)
  /// Column names when header(false); default "0", "1", ... (pandas' header=None).
  EMBER_OPTION(CsvOptions, std::vector<std::string>, names, {})
  /// Physical lines skipped before the header, e.g. sklearn's count line (default 0).
  EMBER_OPTION(CsvOptions, std::int64_t, skip_rows, 0)
  /// Texts that mean "missing" (compared after unquoting, before trimming).
  EMBER_OPTION(CsvOptions, std::vector<std::string>, na_values, default_na_values())
  /// The type of every column not named in types() (default Auto).
  EMBER_OPTION(CsvOptions, CsvType, default_type, CsvType::Auto)
  /// Declared types by column name; a name the file lacks is an error.
  EMBER_OPTION(CsvOptions, Types, types, {})
  /// Read only these columns, in the file's order (all when empty); unknown names are errors.
  EMBER_OPTION(CsvOptions, std::vector<std::string>, usecols, {})
  /// Threads used to parse (0: get_num_threads()); small files use one.
  EMBER_OPTION(CsvOptions, int, threads, 0)
  /// The least bytes a thread parses: files under 2x this use one thread (default 1 MiB).
  EMBER_OPTION(CsvOptions, std::size_t, min_chunk_bytes, std::size_t{1} << 20)
  /// The longest record allowed, in bytes (default 64 MiB).
  EMBER_OPTION(CsvOptions, std::size_t, max_record_bytes, std::size_t{64} << 20)
  /// Accept a file with a header and no data rows (default false: an error).
  EMBER_OPTION(CsvOptions, bool, allow_empty, false)

 public:
  /// Declares one column's type: CsvOptions().type("Name", CsvType::String).
  CsvOptions& type(const std::string& column, CsvType t) {
    types_[column] = t;
    return *this;
  }
};

/// The values of a Number column: float64, with std::vector<double>'s reading
/// interface (size, [], data, begin/end, front/back, ==) and its growing
/// members, and converting to std::vector<double>. read_csv places all the
/// number columns of a table side by side in one block of memory (on huge pages
/// where the kernel has them), so a 785-column file costs a few hundred page
/// faults rather than ~90,000; a column then views its part of that block.
/// Copying a column copies its values; writing through one column never changes
/// another.
class NumberColumn {
 public:
  using value_type = double;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = double&;
  using const_reference = const double&;
  using pointer = double*;
  using const_pointer = const double*;
  using iterator = double*;
  using const_iterator = const double*;

  NumberColumn() = default;
  /// Owns a copy of `values`.
  NumberColumn(std::vector<double> values) : own_(std::move(values)), data_(own_.data()), size_(own_.size()) {}  // NOLINT
  NumberColumn(std::initializer_list<double> values) : NumberColumn(std::vector<double>(values)) {}
  /// Views `size` values at `data` inside `block`, which it keeps alive.
  NumberColumn(std::shared_ptr<void> block, double* data, std::size_t size)
      : block_(std::move(block)), data_(data), size_(size) {}
  NumberColumn(const NumberColumn& o) : NumberColumn(o.to_vector()) {}
  NumberColumn(NumberColumn&& o) noexcept { swap(o); }
  NumberColumn& operator=(NumberColumn o) noexcept {
    swap(o);
    return *this;
  }
  void swap(NumberColumn& o) noexcept {
    block_.swap(o.block_);
    own_.swap(o.own_);
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  double* data() { return data_; }
  const double* data() const { return data_; }
  double& operator[](std::size_t i) { return data_[i]; }
  const double& operator[](std::size_t i) const { return data_[i]; }
  /// operator[] with a bounds check (throws ember::Error).
  const double& at(std::size_t i) const;
  double* begin() { return data_; }
  double* end() { return data_ + size_; }
  const double* begin() const { return data_; }
  const double* end() const { return data_ + size_; }
  const double* cbegin() const { return data_; }
  const double* cend() const { return data_ + size_; }
  double& front() { return data_[0]; }
  double& back() { return data_[size_ - 1]; }
  const double& front() const { return data_[0]; }
  const double& back() const { return data_[size_ - 1]; }

  /// Growing or shrinking makes the column own its values (a copy, once).
  void push_back(double v) {
    owned().push_back(v);
    sync();
  }
  void resize(std::size_t n, double v = 0.0) {
    owned().resize(n, v);
    sync();
  }
  void reserve(std::size_t n) {
    owned().reserve(n);
    sync();
  }
  void clear() { *this = NumberColumn(); }

  /// A copy as a std::vector<double>.
  std::vector<double> to_vector() const { return std::vector<double>(begin(), end()); }
  operator std::vector<double>() const { return to_vector(); }  // NOLINT: reads like the vector it replaced

  friend bool operator==(const NumberColumn& a, const NumberColumn& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const NumberColumn& a, const std::vector<double>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::vector<double>& owned() {
    if (block_ || data_ != own_.data()) {
      own_.assign(begin(), end());
      block_.reset();
    }
    return own_;
  }
  void sync() {
    data_ = own_.data();
    size_ = own_.size();
  }

  std::shared_ptr<void> block_;  // the shared block data_ points into (read_csv), or null
  std::vector<double> own_;      // the values when the column owns them
  double* data_ = nullptr;
  std::size_t size_ = 0;
};

/// One column: numbers (type Number) or strings with a missing flag (type String).
struct CsvColumn {
  std::string name;
  CsvType type = CsvType::Number;
  NumberColumn numbers;               ///< Number: one per row, NaN where missing
  std::vector<std::string> strings;   ///< String: one per row, "" where missing
  std::vector<std::uint8_t> missing;  ///< String: 1 where the field was a missing value
  /// An Auto column read as strings: the first line holding a value that is not a number, and
  /// that value (0 and "" otherwise), so a caller can say what made the column text.
  std::int64_t text_line = 0;
  std::string text_value;
  /// True for a Number column.
  bool is_number() const { return type == CsvType::Number; }
};

/// The columns read from one file, in the file's order, all with rows() entries.
class CsvTable {
 public:
  CsvTable() = default;
  CsvTable(std::string source, std::vector<CsvColumn> columns, std::int64_t rows, std::vector<std::int64_t> lines = {});
  /// The number of data rows.
  std::int64_t rows() const { return rows_; }
  /// The file line data row `row` starts on (CsvOptions::row_lines; else 0).
  std::int64_t line(std::int64_t row) const {
    return row >= 0 && static_cast<std::size_t>(row) < lines_.size() ? lines_[static_cast<std::size_t>(row)] : 0;
  }
  /// The number of columns.
  std::int64_t cols() const { return static_cast<std::int64_t>(columns_.size()); }
  /// The file (or name) the table was read from, for messages.
  const std::string& source() const { return source_; }
  /// All columns, in the file's order.
  const std::vector<CsvColumn>& columns() const { return columns_; }
  std::vector<CsvColumn>& columns() { return columns_; }
  /// True if a column has this name.
  bool has(std::string_view name) const;
  /// The column named `name`; throws naming the columns there are.
  const CsvColumn& operator[](std::string_view name) const;
  /// The column names in order.
  std::vector<std::string> names() const;
  /// The column names in order, without `drop` (each of which must exist).
  std::vector<std::string> names_except(const std::vector<std::string>& drop) const;
  /// The Number columns `names` side by side as a [rows, names.size()] tensor
  /// (float32 or float64; NaN where missing). Throws for a String column.
  Tensor to_tensor(const std::vector<std::string>& names, DType dtype = DType::Float32) const;

 private:
  std::string source_;
  std::vector<CsvColumn> columns_;
  std::int64_t rows_ = 0;
  std::vector<std::int64_t> lines_;  // by row, when read with row_lines
};

/// Reads the CSV file at `path`; errors name the file, line and column.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

/// Parses CSV text held in memory; `name` stands for the file in messages.
CsvTable parse_csv(std::string_view text, const CsvOptions& options = {}, const std::string& name = "<csv>");

}  // namespace ember::data
