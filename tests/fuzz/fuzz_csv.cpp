// The CSV reader on arbitrary bytes: with delimiter detection and each fixed
// delimiter, inferred and all-numeric types, a small record cap, and 1 and 3
// threads (the threaded parse must agree with the one-thread parse, error or
// not, down to the row lines and the text that made a column text), quote
// characters and decimal marks. A table read must have unique column names and
// no NUL byte in a name or a field. Then the tabular encoding of whatever table
// came out.
#include <ember/data/csv.h>
#include <ember/data/tabular.h>

#include <cstdlib>
#include <memory>
#include <set>

#include "fuzz_util.h"

namespace {
using namespace ember;

std::string outcome(const std::string& path, const data::CsvOptions& opt) {
  try {
    const data::CsvTable t = data::read_csv(path, opt);
    std::string s = fmt::format("{}x{}", t.rows(), t.cols());
    std::set<std::string> names;
    for (const data::CsvColumn& c : t.columns()) {
      if (!names.insert(c.name).second || c.name.find('\0') != std::string::npos) std::abort();
      for (const std::string& v : c.strings)
        if (v.find('\0') != std::string::npos) std::abort();
      s += fmt::format("|{}@{}:{}", c.name, c.text_line, c.text_value);
      if (c.is_number()) {
        for (double v : c.numbers) s += fmt::format(",{}", v);
      } else {
        for (const std::string& v : c.strings) s += "," + v;
      }
    }
    for (std::int64_t r = 0; r < t.rows(); ++r) s += fmt::format(";{}", t.line(r));
    return s;
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::MemFile file(data, size);
  const char delims[] = {'\0', ',', ';', '\t'};
  const char d = size ? delims[data[0] % 4] : '\0';
  data::CsvOptions opt = data::CsvOptions().delimiter(d).max_record_bytes(size % 2 ? 4096 : 64);
  if (size > 1 && data[1] % 3 == 0) opt.default_type(data::CsvType::Number);
  if (size > 2 && data[2] % 5 == 0) opt.header(false).skip_rows(data[2] % 2);
  if (size > 3) {
    const char quotes[] = {'\0', '"', '\'', '|'};
    const char decimals[] = {'\0', '.', ','};
    opt.quote(quotes[data[3] % 4]).decimal(decimals[(data[3] >> 2) % 3]).row_lines(data[3] & 0x20);
  }
  const std::string one = outcome(file.path(), data::CsvOptions(opt).threads(1));
  // min_chunk_bytes(1): even a tiny input is cut into three chunks.
  const std::string three = outcome(file.path(), data::CsvOptions(opt).threads(3).min_chunk_bytes(1));
  if (one != three) std::abort();
  fuzz::expect_ember_errors_only([&] {
    auto table = std::make_shared<data::CsvTable>(data::read_csv(file.path(), opt));
    if (table->cols() < 2) return;
    data::TabularDataset set(table, data::TabularOptions().target(table->names().back()));
    std::vector<std::int64_t> rows;
    for (std::int64_t r = 0; r < table->rows(); ++r) rows.push_back(r);
    set.fit(rows);
    (void)data::TabularPreprocessor::from_string(set.preprocessor().to_string()).width();
  });
  return 0;
}
