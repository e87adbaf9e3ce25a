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
///   const std::vector<double>& y = t["label"].numbers;
///
/// Every error names the file, the line and the column and quotes the text
/// found ("train.csv:1042: column pixel17: 'x3' is not a number"). Nothing is
/// skipped or zero-filled, except blank lines. Large files are mapped and parsed
/// on several threads; a record longer than max_record_bytes is an error found
/// after reading at most that many bytes of it, so no line makes memory grow
/// without bound.
#include <cstddef>
#include <cstdint>
#include <map>
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
  /// The field separator; '\0' (the default) detects ',', ';' or '\t' from the first record.
  EMBER_OPTION(CsvOptions, char, delimiter, '\0')
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

/// One column: numbers (type Number) or strings with a missing flag (type String).
struct CsvColumn {
  std::string name;
  CsvType type = CsvType::Number;
  std::vector<double> numbers;        ///< Number: one per row, NaN where missing
  std::vector<std::string> strings;   ///< String: one per row, "" where missing
  std::vector<std::uint8_t> missing;  ///< String: 1 where the field was a missing value
  /// True for a Number column.
  bool is_number() const { return type == CsvType::Number; }
};

/// The columns read from one file, in the file's order, all with rows() entries.
class CsvTable {
 public:
  CsvTable() = default;
  CsvTable(std::string source, std::vector<CsvColumn> columns, std::int64_t rows);
  /// The number of data rows.
  std::int64_t rows() const { return rows_; }
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
};

/// Reads the CSV file at `path`; errors name the file, line and column.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

/// Parses CSV text held in memory; `name` stands for the file in messages.
CsvTable parse_csv(std::string_view text, const CsvOptions& options = {}, const std::string& name = "<csv>");

}  // namespace ember::data
