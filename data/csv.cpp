// The CSV reader. The file is mapped and cut into one chunk per thread at a
// line end. The threads first count the line ends of their chunks, which sizes
// one block for every number column and gives each chunk the row its numbers
// start at (see parse_body); then each parses its chunk on the guess that the
// cut is not inside a quoted field, records of plain integers on a fast path. The guess is checked afterwards: chunk i is kept only
// if chunk i-1's last record ends exactly where chunk i starts (then, chunk 0
// starting at a true record boundary, every kept chunk does too); otherwise
// the main thread parses that stretch again from the true boundary. Errors are
// reported from the first kept chunk that has one, so they are the errors a
// one-thread parse would find first.
//
// Columns of type Auto are parsed as numbers on a first pass; a column that
// meets a value that is neither a number nor a missing marker is parsed again
// as strings on a second pass over the file (only that column is stored).
#include "ember/data/csv.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "ember/core/error.h"
#include "ember/core/factory.h"
#include "ember/core/parallel.h"

namespace ember::data {

std::vector<std::string> default_na_values() {
  return {"",     "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
          "<NA>", "N/A",  "NA",       "NULL", "NaN",    "None",     "n/a",  "nan",  "null"};
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The text of a field for a message: at most 60 bytes, control bytes escaped.
std::string quote_text(std::string_view s) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(s.size(), 60);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (s.size() > n) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

// The file's bytes: mapped for a regular file, else read (pipes).
class FileBytes {
 public:
  explicit FileBytes(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EMBER_CHECK(fd >= 0, "read_csv: cannot open {}: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      throw Error(fmt::format("read_csv: cannot stat {}: {}", path, std::strerror(e)));
    }
    if (S_ISREG(st.st_mode)) {
      size_ = static_cast<std::size_t>(st.st_size);
      if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
          const int e = errno;
          ::close(fd);
          throw Error(fmt::format("read_csv: cannot map {} ({} bytes): {}", path, size_, std::strerror(e)));
        }
        ::madvise(p, size_, MADV_SEQUENTIAL);
#ifdef MADV_POPULATE_READ
        // Map the whole file in one call rather than a fault per 64 KiB; not for huge
        // files, where a bad first record should fail after reading max_record_bytes.
        if (size_ <= (std::size_t{1} << 30)) ::madvise(p, size_, MADV_POPULATE_READ);
#endif
        map_ = static_cast<const char*>(p);
      }
      ::close(fd);
      return;
    }
    // Not a regular file: read it, up to 4 GiB.
    constexpr std::size_t kMaxStream = std::size_t{4} << 30;
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int e = errno;
        ::close(fd);
        throw Error(fmt::format("read_csv: cannot read {}: {}", path, std::strerror(e)));
      }
      if (n == 0) break;
      if (copy_.size() + static_cast<std::size_t>(n) > kMaxStream) {
        ::close(fd);
        throw Error(fmt::format("read_csv: {} is a stream longer than {} bytes", path, kMaxStream));
      }
      copy_.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    size_ = copy_.size();
  }
  ~FileBytes() {
    if (map_) ::munmap(const_cast<char*>(map_), size_);
  }
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  std::string_view view() const { return map_ ? std::string_view(map_, size_) : std::string_view(copy_); }

 private:
  const char* map_ = nullptr;
  std::size_t size_ = 0;
  std::string copy_;
};

// The block that holds every number column of a table, `doubles` values,
// uninitialised. A large block is mapped on its own, 2 MiB aligned, and asks
// for transparent huge pages: on this kind of paravirtualised machine a 4 KiB
// page fault costs ~10 us, more than parsing the bytes that fill the page, and
// a 785-column table of 60,000 rows would take ~90,000 of them (perf: 60% of
// the time in memset and the fault path). Without huge pages it still works,
// with 4 KiB faults.
std::shared_ptr<void> number_block(std::size_t doubles, const std::string& name, double*& data) {
  EMBER_CHECK(doubles <= (std::numeric_limits<std::size_t>::max() >> 4), "read_csv: {}: {} numbers do not fit in memory",
              name, doubles);
  const std::size_t bytes = std::max<std::size_t>(doubles, 1) * sizeof(double);
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (bytes < 2 * kHuge) {
    double* p = new double[std::max<std::size_t>(doubles, 1)];
    data = p;
    return std::shared_ptr<void>(p, [](void* q) { delete[] static_cast<double*>(q); });
  }
  const std::size_t len = bytes + kHuge;
  void* m = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  EMBER_CHECK(m != MAP_FAILED, "read_csv: {}: cannot allocate {} bytes for the number columns: {}", name, bytes,
              std::strerror(errno));
  char* a = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(m) + kHuge - 1) & ~(kHuge - 1));
#ifdef MADV_HUGEPAGE
  ::madvise(a, (bytes + kHuge - 1) & ~(kHuge - 1), MADV_HUGEPAGE);
#endif
  data = reinterpret_cast<double*>(a);
  return std::shared_ptr<void>(m, [len](void* q) { ::munmap(q, len); });
}

// What a pass stores for a column.
enum class Mode : std::uint8_t { Skip, Number, Auto, String };

// A parse error at a byte offset; the line is counted when it is reported.
struct ErrorAt {
  std::size_t offset = 0;
  std::string what;
};

struct Context {
  std::string_view text;  // the whole file
  std::string name;
  char delim = ',';
  char quote = '"';
  bool decimal_comma = false;  // "2,5" is 2.5 as well as "2.5"
  bool row_offsets = false;    // keep where each record starts (CsvOptions::row_lines)
  std::size_t max_record = 0;
  std::vector<std::string> header;  // names of every field in the file's records
  std::vector<Mode> modes;          // by field
  std::size_t slots = 0;            // fields that are Number or Auto
  std::unordered_set<std::string_view> na;
  bool na_numeric = false;  // some NA marker looks like a number: no integer fast path
  double* numbers = nullptr;  // slot s, row r at numbers[s * cap + r]
  std::size_t cap = 0;        // rows of room per slot

  std::int64_t line_of(std::size_t offset) const {
    offset = std::min(offset, text.size());
    return 1 + std::count(text.data(), text.data() + offset, '\n');
  }
  [[noreturn]] void fail(const ErrorAt& e) const {
    throw Error(fmt::format("{}:{}: {}", name, line_of(e.offset), e.what));
  }
};

// The result of parsing a stretch of whole records.
struct Chunk {
  std::size_t begin = 0;  // where parsing started
  std::size_t end = 0;    // where its last record ended
  std::int64_t rows = 0;
  std::size_t base = 0;   // its first record's row in Context::numbers
  std::vector<std::vector<std::string>> strings;  // by field (String)
  std::vector<std::vector<std::uint8_t>> missing;  // by field (String)
  std::vector<std::uint8_t> not_numeric;          // by field (Auto): met a text
  std::vector<std::size_t> text_at;               // by field (Auto): where the first text starts
  std::vector<std::string> text_value;            // by field (Auto): that text
  std::vector<std::size_t> record_at;             // where each record starts (Context::row_offsets)
  std::optional<ErrorAt> error;
};

class Parser {
 public:
  Parser(const Context& ctx, Chunk& out) : c_(ctx), out_(out) {
    const std::size_t n = ctx.modes.size();
    out_.strings.resize(n);
    out_.missing.resize(n);
    out_.not_numeric.assign(n, 0);
    out_.text_at.assign(n, 0);
    out_.text_value.resize(n);
    block_.resize(kBlock * ctx.slots);
    fast_ = std::endian::native == std::endian::little && ctx.slots > 0 && !ctx.na_numeric &&
            std::none_of(ctx.modes.begin(), ctx.modes.end(), [](Mode m) { return m == Mode::String; });
  }

  // Parses records starting at `begin` while a record starts before `soft_end`
  // (records may run past it), storing numbers from row `row` of Context::numbers on.
  void run(std::size_t begin, std::size_t soft_end, std::size_t row) {
    const char* const base = c_.text.data();
    const char* const end = base + c_.text.size();
    const char* p = base + begin;
    const char* const soft = base + soft_end;
    out_.begin = begin;
    out_.base = row;
    try {
      while (p < soft) {
        if (*p == '\n') {  // blank line
          ++p;
          continue;
        }
        if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
          p += (p + 1 == end) ? 1 : 2;
          continue;
        }
        if (c_.row_offsets) out_.record_at.push_back(static_cast<std::size_t>(p - base));
        const char* r = fast_ ? fast_record(p, end) : nullptr;
        p = r ? r : record(p, end);
        ++out_.rows;
        if (++block_rows_ == kBlock) flush();
      }
      flush();
    } catch (ErrorAt& e) {
      out_.error = std::move(e);
    }
    out_.end = static_cast<std::size_t>(p - base);
  }

 private:
  // Numbers are gathered row-major in a small block (kBlock rows) and then
  // copied to their columns, so each column is written a cache line at a time:
  // writing 785 columns field by field missed the TLB on every value.
  void flush() {
    if (block_rows_ == 0) return;
    const std::size_t row = out_.base + static_cast<std::size_t>(out_.rows) - block_rows_;
    if (c_.slots) {
      EMBER_CHECK(row + block_rows_ <= c_.cap, "read_csv: {}: internal error: row {} past the {} rows of room", c_.name,
                  row + block_rows_, c_.cap);
    }
    for (std::size_t s = 0; s < c_.slots; ++s) {
      double* dst = c_.numbers + s * c_.cap + row;
      for (std::size_t r = 0; r < block_rows_; ++r) dst[r] = block_[r * c_.slots + s];
    }
    block_rows_ = 0;
    block_fill_ = 0;
  }

  // The common case of a numeric file, fast: a record whose fields are all
  // plain integers or decimals (an optional '-', 1-7 digits, and optionally a
  // point and 1-7 digits) in Number, Auto or Skipped columns. Eight bytes are read at once and the digits found and converted
  // without a branch per byte (SWAR, as in simdjson and fast_float). Anything
  // else (more digits, exponents, '+', quotes, missing values, a wrong field
  // count, the last 16 bytes of the file) returns nullptr before storing a
  // value, and the record is parsed again by record(), which owns every error.
  const char* fast_record(const char* p, const char* end) {
    const std::size_t ncols = c_.modes.size();
    const char delim = c_.delim;
    double* out = block_.data() + block_fill_;
    const char* q = p;
    for (std::size_t col = 0; col < ncols; ++col) {
      if (end - q < 27) return nullptr;
      std::uint64_t w;
      std::memcpy(&w, q, 8);
      // The sign is tested on the loaded word, off the load -> length -> next field
      // chain that bounds the speed (a byte load and add on it cost a third more).
      const bool neg = (w & 0xFF) == '-';
      if (neg) [[unlikely]] {
        ++q;
        std::memcpy(&w, q, 8);
      }
      // Bytes that are not '0'-'9' are nonzero here. A carry out of a byte >= 0xfa
      // can only disturb the bytes after it, past the first non-digit.
      const std::uint64_t nd = ((w & 0xF0F0F0F0F0F0F0F0u) ^ 0x3030303030303030u) |
                               (((w + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) ^ 0x3030303030303030u);
      if (nd == 0) return nullptr;  // eight digits or more
      unsigned len = static_cast<unsigned>(std::countr_zero(nd)) >> 3;
      if (len == 0) return nullptr;
      // Digit values in the top `len` bytes, leading zero bytes below, then combined
      // pairwise: 8 -> 4 -> 2 -> 1 (fast_float's parse_eight_digits_unrolled).
      std::uint64_t d = (w - 0x3030303030303030u) << (64 - 8 * len);
      d = d * 10 + (d >> 8);
      d = (((d & 0x000000FF000000FFu) * 0x000F424000000064u) + (((d >> 16) & 0x000000FF000000FFu) * 0x0000271000000001u)) >> 32;
      double v = static_cast<double>(static_cast<std::uint32_t>(d));
      char t = q[len];
      if (t == '.') {
        // A decimal: 1-7 more digits F after the point give (I * 10^k + F) / 10^k, both
        // exact in a double (under 2^53 and 10^22), so one division rounds correctly,
        // exactly as from_chars does (Clinger's fast path).
        const char* f = q + len + 1;
        std::uint64_t fw;
        std::memcpy(&fw, f, 8);
        const std::uint64_t fnd = ((fw & 0xF0F0F0F0F0F0F0F0u) ^ 0x3030303030303030u) |
                                  (((fw + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) ^ 0x3030303030303030u);
        if (fnd == 0) return nullptr;
        const unsigned flen = static_cast<unsigned>(std::countr_zero(fnd)) >> 3;
        if (flen == 0) return nullptr;
        std::uint64_t e = (fw - 0x3030303030303030u) << (64 - 8 * flen);
        e = e * 10 + (e >> 8);
        e = (((e & 0x000000FF000000FFu) * 0x000F424000000064u) + (((e >> 16) & 0x000000FF000000FFu) * 0x0000271000000001u)) >> 32;
        static constexpr double kPow10[8] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
        const std::uint64_t m = static_cast<std::uint64_t>(static_cast<std::uint32_t>(d)) * static_cast<std::uint64_t>(kPow10[flen]) +
                                static_cast<std::uint32_t>(e);
        v = static_cast<double>(m) / kPow10[flen];
        len += flen + 1;
        t = q[len];
      }
      if (col + 1 < ncols) {
        if (t != delim) return nullptr;
        q += len + 1;
      } else if (t == '\n') {
        q += len + 1;
      } else if (t == '\r' && q[len + 1] == '\n') {
        q += len + 2;
      } else {
        return nullptr;
      }
      const Mode m = c_.modes[col];
      if (m != Mode::Skip) *out++ = neg ? -v : v;
    }
    if (static_cast<std::size_t>(q - p) > c_.max_record) return nullptr;
    block_fill_ = static_cast<std::size_t>(out - block_.data());
    return q;
  }

  std::size_t off(const char* p) const { return static_cast<std::size_t>(p - c_.text.data()); }

  [[noreturn]] void fail_at(const char* p, std::string what) const { throw ErrorAt{off(p), std::move(what)}; }

  std::string col_name(std::size_t col) const {
    return col < c_.header.size() ? "column " + c_.header[col] : fmt::format("field {}", col + 1);
  }

  // One record at p; returns the position after its line end.
  const char* record(const char* p, const char* end) {
    const char* const rs = p;
    const std::size_t ncols = c_.modes.size();
    const char* const stop = (static_cast<std::size_t>(end - p) > c_.max_record) ? p + c_.max_record : end;
    const char delim = c_.delim;
    const char quote = c_.quote;
    std::size_t col = 0;
    for (;;) {
      const Mode m = col < ncols ? c_.modes[col] : Mode::Skip;
      const char* fs = p;
      const char* fe;  // field end: at the delimiter, line end, or end
      std::string_view field;
      bool have_value = false;
      double value = 0;
      if (p < stop && *p == quote) {
        scratch_.clear();
        const char* q = p + 1;
        for (;;) {
          const void* hit = std::memchr(q, quote, static_cast<std::size_t>(stop - q));
          if (!hit) {
            if (stop < end) too_long(rs);
            fail_at(fs, fmt::format("{}: unterminated quote: the quoted field runs to the end of the file", col_name(col)));
          }
          const char* h = static_cast<const char*>(hit);
          if (const void* nul = std::memchr(q, '\0', static_cast<std::size_t>(h - q))) {
            nul_byte(static_cast<const char*>(nul), col, std::string_view(fs, static_cast<std::size_t>(h + 1 - fs)));
          }
          scratch_.append(q, static_cast<std::size_t>(h - q));
          if (h + 1 < stop && h[1] == quote) {
            scratch_ += quote;
            q = h + 2;
            continue;
          }
          fe = h + 1;
          break;
        }
        if (fe < stop && !(*fe == delim || *fe == '\n' || (*fe == '\r' && (fe + 1 == end || fe[1] == '\n')))) {
          const char* te = fe;
          while (te < stop && *te != delim && *te != '\n') ++te;
          fail_at(fs, fmt::format("{}: text after a closing quote: '{}'", col_name(col),
                                  quote_text(std::string_view(fs, static_cast<std::size_t>(te - fs)))));
        }
        field = scratch_;
      } else {
        if ((m == Mode::Number || m == Mode::Auto) && !c_.na_numeric) {
          // Fast path: a plain integer of up to 18 digits.
          const char* q = p;
          bool neg = false;
          if (q < stop && (*q == '-' || *q == '+')) neg = *q++ == '-';
          const char* ds = q;
          std::uint64_t v = 0;
          while (q < stop && static_cast<unsigned>(*q - '0') < 10u && q - ds < 18) {
            v = v * 10 + static_cast<unsigned>(*q - '0');
            ++q;
          }
          if (q > ds && (q == end || (q < stop && (*q == delim || *q == '\n' ||
                                                   (*q == '\r' && (q + 1 == end || q[1] == '\n')))))) {
            value = neg ? -static_cast<double>(v) : static_cast<double>(v);
            have_value = true;
            fe = q;
          }
        }
        if (!have_value) {
          const char* q = p;
          while (q < stop) {
            const char ch = *q;
            if (ch == delim || ch == '\n') break;
            if (ch == '\r' && (q + 1 == end || q[1] == '\n')) break;
            if (ch == '\0') {
              const char* te = q;
              while (te < stop && *te != delim && *te != '\n') ++te;
              nul_byte(q, col, std::string_view(fs, static_cast<std::size_t>(te - fs)));
            }
            if (ch == quote) {
              const char* te = q;
              while (te < stop && *te != delim && *te != '\n') ++te;
              fail_at(fs, fmt::format("{}: a quote inside an unquoted field: '{}'", col_name(col),
                                      quote_text(std::string_view(fs, static_cast<std::size_t>(te - fs)))));
            }
            ++q;
          }
          fe = q;
          field = std::string_view(fs, static_cast<std::size_t>(fe - fs));
        }
      }
      if (fe == stop && stop < end) too_long(rs);
      if (col < ncols && m != Mode::Skip) store(col, m, field, have_value, value, fs);
      ++col;
      if (fe == end) {
        p = end;
        break;
      }
      if (*fe == delim) {
        p = fe + 1;
        continue;
      }
      p = fe + (*fe == '\r' ? (fe + 1 == end ? 1 : 2) : 1);
      break;
    }
    if (col != ncols) {
      throw ErrorAt{off(rs), fmt::format("a row with {} field{} where the header has {}", col, col == 1 ? "" : "s",
                                         ncols)};
    }
    return p;
  }

  // NUL is no text: a binary file, or a UTF-16 one read as bytes.
  [[noreturn]] void nul_byte(const char* at, std::size_t col, std::string_view field) const {
    fail_at(at, fmt::format("{}: a NUL byte (\\x00) in '{}'; is this a binary or UTF-16 file?", col_name(col),
                            quote_text(field)));
  }

  [[noreturn]] void too_long(const char* rs) const {
    fail_at(rs, fmt::format("a record longer than {} bytes (CsvOptions::max_record_bytes); is the delimiter or "
                            "a quote wrong, or the line end missing?",
                            c_.max_record));
  }

  void store(std::size_t col, Mode m, std::string_view field, bool have_value, double value, const char* fs) {
    if (m == Mode::String) {
      const bool na = c_.na.count(field) != 0;
      out_.strings[col].emplace_back(na ? std::string_view() : field);
      out_.missing[col].push_back(na ? 1 : 0);
      return;
    }
    if (!have_value) {
      if (c_.na.count(field)) {
        value = kNaN;
      } else if (!parse_number(field, value)) {
        if (m == Mode::Number) {
          fail_at(fs, fmt::format("{}: '{}' is not a number", col_name(col), quote_text(field)));
        }
        if (!out_.not_numeric[col]) {
          out_.text_at[col] = off(fs);
          out_.text_value[col] = std::string(field);
        }
        out_.not_numeric[col] = 1;
        value = kNaN;
      }
    }
    block_[block_fill_++] = value;
  }

  // A decimal number with optional spaces around it and an optional sign.
  bool parse_number(std::string_view s, double& v) const {
    auto is_space = [this](char ch) { return (ch == ' ' || ch == '\t') && ch != c_.delim; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty() || s.front() == '+') return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (ptr != s.data() + s.size() && c_.decimal_comma && s.size() < 64 && s.find(',') != std::string_view::npos &&
        s.find('.') == std::string_view::npos) {
      // "2,5": the same number with a point (one comma at most, else it is no number).
      char buf[64];
      std::memcpy(buf, s.data(), s.size());
      std::replace(buf, buf + s.size(), ',', '.');
      if (std::count(buf, buf + s.size(), '.') != 1) return false;
      const auto r = std::from_chars(buf, buf + s.size(), v, std::chars_format::general);
      if (r.ptr != buf + s.size()) return false;
      if (r.ec == std::errc::result_out_of_range) v = std::strtod(std::string(buf, s.size()).c_str(), nullptr);
      return r.ec == std::errc() || r.ec == std::errc::result_out_of_range;
    }
    if (ptr != s.data() + s.size()) return false;
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves v unset on overflow/underflow; strtod gives inf or 0 as pandas does.
      v = std::strtod(std::string(s).c_str(), nullptr);
      return true;
    }
    return ec == std::errc();
  }

  static constexpr std::size_t kBlock = 32;
  bool fast_ = false;
  const Context& c_;
  Chunk& out_;
  std::string scratch_;
  std::vector<double> block_;  // kBlock rows x slots
  std::size_t block_rows_ = 0, block_fill_ = 0;
};

// The fields of the record at `pos` as strings (for the header), and where it ends.
std::vector<std::string> split_record(const Context& ctx, std::size_t& pos) {
  Context c = ctx;
  c.modes.clear();
  c.na.clear();  // a header field "NA" is a name
  c.row_offsets = false;
  // Count the fields first with a permissive scan, then parse with that many String fields.
  const std::string_view t = ctx.text;
  std::size_t n = 1;
  bool inq = false;
  const std::size_t stop = std::min(t.size(), pos + ctx.max_record);
  std::size_t i = pos;
  for (; i < stop; ++i) {
    const char ch = t[i];
    if (ch == ctx.quote) inq = !inq;
    else if (!inq && ch == ctx.delim) ++n;
    else if (!inq && ch == '\n') break;
  }
  c.modes.assign(n, Mode::String);
  c.header.clear();
  Chunk chunk;
  Parser parser(c, chunk);
  // One record: a soft end just after its start.
  parser.run(pos, pos + 1, 0);
  if (chunk.error) c.fail(*chunk.error);
  pos = chunk.end;
  std::vector<std::string> fields;
  fields.reserve(n);
  for (std::size_t k = 0; k < n; ++k) fields.push_back(std::move(chunk.strings[k][0]));
  return fields;
}

// ',', ';' or '\t': the one found most often outside quotes in the record at pos; ' ' when
// none is and the record starts with a quoted field followed by a space ("a" "b", 'a' 'b').
char detect_delimiter(std::string_view t, std::size_t pos, std::size_t max_record, char quote) {
  const char cands[3] = {',', ';', '\t'};
  std::size_t counts[3] = {0, 0, 0};
  bool inq = false;
  const std::size_t stop = std::min(t.size(), pos + max_record);
  std::size_t first_close = 0;  // just past the first quoted field's closing quote
  for (std::size_t i = pos; i < stop; ++i) {
    const char ch = t[i];
    if (ch == quote) {
      inq = !inq;
      if (!inq && first_close == 0) first_close = i + 1;
    }
    if (inq) continue;
    if (ch == '\n') break;
    for (int k = 0; k < 3; ++k) counts[k] += ch == cands[k];
  }
  int best = 0;
  for (int k = 1; k < 3; ++k)
    if (counts[k] > counts[best]) best = k;
  if (counts[best] == 0 && pos < t.size() && t[pos] == quote && first_close > 0 && first_close < t.size() &&
      t[first_close] == ' ')
    return ' ';
  return cands[best];
}

// '"', or '\'' when the record at pos holds no '"' and starts and ends with '\''.
char detect_quote(std::string_view t, std::size_t pos, std::size_t max_record) {
  const std::size_t stop = std::min(t.size(), pos + max_record);
  std::size_t e = pos;
  while (e < stop && t[e] != '\n') ++e;
  const std::string_view line = t.substr(pos, e - pos);
  std::size_t n = line.size();
  if (n > 0 && line[n - 1] == '\r') --n;
  if (line.find('"') != std::string_view::npos || n < 2) return '"';
  return line[0] == '\'' && line[n - 1] == '\'' ? '\'' : '"';
}

// pandas' names for duplicate or empty header fields: "a", "a.1", "Unnamed: 3". Each name
// remembers the next suffix to try, so n copies of one name cost O(n), not O(n^2); a suffix
// already taken (a column literally named "a.1") is skipped.
void fix_names(std::vector<std::string>& names) {
  std::unordered_set<std::string> seen;
  std::unordered_map<std::string, std::int64_t> next;  // by base name: the next suffix to try
  seen.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) names[i] = fmt::format("Unnamed: {}", i);
    if (seen.count(names[i])) {
      const std::string base = names[i];
      std::int64_t& k = next.try_emplace(base, 1).first->second;
      while (seen.count(fmt::format("{}.{}", base, k))) ++k;
      names[i] = fmt::format("{}.{}", base, k++);
    }
    seen.insert(names[i]);
  }
}

std::string list_names(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < 50; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 50) s += fmt::format(", ... ({} columns)", names.size());
  return s;
}

constexpr std::size_t kNoCount = std::numeric_limits<std::size_t>::max();

// The '\n' bytes in [b, b + len), eight at a time: a byte of y = word ^ 0x0a..0a
// is zero exactly where the high bit of ~(((y & 0x7f..) + 0x7f..) | y | 0x7f..)
// is set (std::count was not vectorised at -O2 and took a tenth of the time).
std::size_t count_newlines(const char* b, std::size_t len) {
  constexpr std::uint64_t k0a = 0x0A0A0A0A0A0A0A0Au, k7f = 0x7F7F7F7F7F7F7F7Fu;
  std::size_t n = 0, i = 0;
  for (; i + 8 <= len; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b + i, 8);
    const std::uint64_t y = w ^ k0a;
    n += static_cast<std::size_t>(std::popcount(~(((y & k7f) + k7f) | y | k7f)));
  }
  for (; i < len; ++i) n += b[i] == '\n';
  return n;
}

// The line ends in [b, e), or kNoCount on meeting a stretch of more than
// max_record bytes without one (a record too long, or an error before it):
// counting then stops, having read no more than that (and 64 KiB).
std::size_t count_lines(const char* b, const char* e, std::size_t max_record) {
  std::size_t n = 0, run = 0;
  while (b < e) {
    const std::size_t len = std::min<std::size_t>(std::size_t{1} << 16, static_cast<std::size_t>(e - b));
    const std::size_t c = count_newlines(b, len);
    if (c == 0) {
      run += len;
    } else {
      n += c;
      run = len - 1 - static_cast<std::size_t>(static_cast<const char*>(::memrchr(b, '\n', len)) - b);
    }
    if (run > max_record) return kNoCount;
    b += len;
  }
  return n;
}

// Runs fn(0), ..., fn(n - 1) on n threads (fn(0) on the caller's), then
// rethrows the first exception one of them threw (e.g. bad_alloc).
template <class F>
void on_threads(std::size_t n, F&& fn) {
  std::vector<std::exception_ptr> errors(n);
  auto work = [&](std::size_t i) noexcept {
    try {
      fn(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < n; ++i) pool.emplace_back(work, i);
  work(0);
  for (auto& th : pool) th.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

// Parses the records in [begin, end) with `threads` threads; returns the kept
// chunks in order. The Number and Auto fields go to one block allocated here
// (`block`, then ctx.numbers and ctx.cap) at their final rows, so nothing is
// appended or copied afterwards. A chunk parsed from byte b stores its records
// from row L(b) on, L(b) being the line ends between `begin` and b: every
// record but the file's last ends with a line end, so no record has more
// records before it than L of its start, and the rows of chunks parsed from
// any starts never overlap (the threads never write the same row, whether or
// not a cut fell inside a quoted field). Blank lines and line ends inside
// quotes make L larger than the record count; such chunks are moved down at
// the end. When one row per line would make the block far larger than the
// file (a file of mostly blank lines and many columns), one thread parses,
// with one row of room per header width of bytes.
std::vector<Chunk> parse_body(Context& ctx, std::size_t begin, int threads, std::shared_ptr<void>& block) {
  const std::string_view t = ctx.text;
  const std::size_t size = t.size() - begin;
  const std::size_t ncols = std::max<std::size_t>(ctx.modes.size(), 1);
  std::vector<std::size_t> starts{begin};
  for (int i = 1; i < threads; ++i) {
    const std::size_t target = begin + size / static_cast<std::size_t>(threads) * static_cast<std::size_t>(i);
    if (target <= starts.back()) continue;
    const std::size_t look = std::min(ctx.max_record, t.size() - target);
    const void* nl = std::memchr(t.data() + target, '\n', look);
    if (!nl) continue;  // no line end near: the previous chunk takes this stretch
    const std::size_t s = static_cast<std::size_t>(static_cast<const char*>(nl) - t.data()) + 1;
    if (s < t.size() && s > starts.back()) starts.push_back(s);
  }
  std::vector<std::size_t> lines(starts.size() + 1, 0);  // line ends before each start, and in all
  bool by_line = false;
  if (ctx.slots) {
    const std::size_t n = starts.size();
    on_threads(n, [&](std::size_t i) {
      lines[i + 1] = count_lines(t.data() + starts[i], t.data() + (i + 1 < n ? starts[i + 1] : t.size()), ctx.max_record);
    });
    bool long_line = false;
    for (std::size_t i = 0; i < n; ++i) {
      long_line |= lines[i + 1] == kNoCount;
      lines[i + 1] = long_line ? 0 : lines[i + 1] + lines[i];
    }
    // At most size / ncols + 1 records fit in the body (each but the last has ncols - 1
    // delimiters and a line end), so their values take at most ~size doubles.
    const std::size_t most = size / ncols + 2;
    by_line = !long_line && lines[n] + 1 <= 4 * most;
    ctx.cap = by_line ? lines[n] + 1 : most;
    if (!by_line) {
      // A record too long (its error is found reading at most max_record bytes of it) or
      // mostly blank lines: one thread, one row of room per record.
      starts.assign(1, begin);
      lines.assign(2, 0);
    }
  }
  const std::size_t n = starts.size();
  if (ctx.slots) block = number_block(ctx.slots * ctx.cap, ctx.name, ctx.numbers);
  // The row chunk i's parse from `pos` stores its first record at.
  auto row_at = [&](std::size_t i, std::size_t pos) -> std::size_t {
    if (ctx.slots == 0 || !by_line) return 0;
    return lines[i] + static_cast<std::size_t>(std::count(t.data() + starts[i], t.data() + pos, '\n'));
  };
  std::vector<Chunk> chunks(n);
  on_threads(n, [&](std::size_t i) {
    Parser(ctx, chunks[i]).run(starts[i], i + 1 < n ? starts[i + 1] : t.size(), row_at(i, starts[i]));
  });
  // Keep chunk i if the kept records before it end exactly at its start; else parse again.
  std::vector<Chunk> kept;
  std::size_t pos = begin;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t soft = i + 1 < n ? starts[i + 1] : t.size();
    if (chunks[i].begin != pos) {
      if (pos >= soft) continue;  // the previous records ran past this whole chunk
      chunks[i] = Chunk{};
      Parser(ctx, chunks[i]).run(pos, soft, row_at(i, pos));
    }
    if (chunks[i].error) ctx.fail(*chunks[i].error);
    pos = chunks[i].end;
    kept.push_back(std::move(chunks[i]));
  }
  // Move rows down over the room left by blank lines and quoted line ends.
  std::size_t row = 0;
  for (Chunk& c : kept) {
    if (c.base != row && c.rows > 0) {
      for (std::size_t s = 0; s < ctx.slots; ++s) {
        double* col = ctx.numbers + s * ctx.cap;
        std::memmove(col + row, col + c.base, static_cast<std::size_t>(c.rows) * sizeof(double));
      }
    }
    c.base = row;
    row += static_cast<std::size_t>(c.rows);
  }
  return kept;
}

CsvTable parse(std::string_view text, const CsvOptions& opt, const std::string& name) {
  EMBER_CHECK(opt.skip_rows() >= 0, "read_csv: {}: skip_rows must be >= 0, got {}", name, opt.skip_rows());
  EMBER_CHECK(opt.max_record_bytes() > 0, "read_csv: {}: max_record_bytes must be > 0", name);
  const char d = opt.delimiter();
  EMBER_CHECK(d != '"' && d != '\n' && d != '\r', "read_csv: {}: the delimiter cannot be a quote or a line end", name);
  const char qc = opt.quote();
  EMBER_CHECK(qc != '\n' && qc != '\r' && (qc == '\0' || qc != d), "read_csv: {}: the quote character cannot be a line end "
              "or the delimiter", name);
  EMBER_CHECK(opt.decimal() == '\0' || opt.decimal() == '.' || opt.decimal() == ',',
              "read_csv: {}: the decimal mark must be '.' or ',', got '{}'", name, quote_text(std::string(1, opt.decimal())));
  Context ctx;
  ctx.text = text;
  ctx.name = name;
  ctx.max_record = opt.max_record_bytes();
  EMBER_CHECK(!text.empty(), "{}: the file is empty", name);
  std::size_t pos = 0;
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) pos = 3;
  for (std::int64_t i = 0; i < opt.skip_rows(); ++i) {
    const std::size_t look = std::min(ctx.max_record, text.size() - pos);
    const void* nl = std::memchr(text.data() + pos, '\n', look);
    if (!nl) {
      EMBER_CHECK(look < ctx.max_record, "{}:{}: a line longer than {} bytes (CsvOptions::max_record_bytes)", name,
                  i + 1, ctx.max_record);
      throw Error(fmt::format("{}: the file has {} line{}, fewer than skip_rows + 1 = {}", name, i + (pos < text.size()),
                              i + (pos < text.size()) == 1 ? "" : "s", opt.skip_rows() + 1));
    }
    pos = static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) + 1;
  }
  // Skip blank lines before the first record.
  while (pos < text.size() && (text[pos] == '\n' || (text[pos] == '\r' && (pos + 1 == text.size() || text[pos + 1] == '\n'))))
    ++pos;
  EMBER_CHECK(pos < text.size(), "{}: the file has no records{}", name, opt.skip_rows() ? " after skip_rows" : "");
  ctx.quote = qc ? qc : detect_quote(text, pos, ctx.max_record);
  ctx.delim = d ? d : detect_delimiter(text, pos, ctx.max_record, ctx.quote);
  EMBER_CHECK(ctx.delim != ctx.quote, "read_csv: {}: the delimiter and the quote character are both '{}'", name, ctx.delim);
  ctx.decimal_comma = opt.decimal() == ',' || (opt.decimal() == '\0' && ctx.delim == ';');
  EMBER_CHECK(!(ctx.decimal_comma && ctx.delim == ','), "read_csv: {}: the decimal mark ',' is also the delimiter", name);
  for (const std::string& s : opt.na_values()) {
    ctx.na.insert(s);
    // The integer fast path skips the marker check: it must not see a marker like "-999".
    const std::size_t b = !s.empty() && (s[0] == '+' || s[0] == '-');
    if (s.size() > b && s.find_first_not_of("0123456789", b) == std::string::npos) ctx.na_numeric = true;
  }

  const std::size_t first = pos;
  std::vector<std::string> fields = split_record(ctx, pos);
  std::vector<std::string> header;
  std::size_t body = pos;
  if (opt.header()) {
    header = std::move(fields);
    fix_names(header);
  } else {
    body = first;
    if (!opt.names().empty()) {
      EMBER_CHECK(opt.names().size() == fields.size(), "{}:{}: the first row has {} fields but {} names were given",
                  name, ctx.line_of(first), fields.size(), opt.names().size());
      header = opt.names();
    } else {
      for (std::size_t i = 0; i < fields.size(); ++i) header.push_back(std::to_string(i));
    }
  }
  if (opt.header() && !opt.names().empty()) {
    EMBER_CHECK(opt.names().size() == header.size(), "{}: {} names were given for {} columns", name,
                opt.names().size(), header.size());
    header = opt.names();
  }
  ctx.header = header;

  // Which columns to keep, and how.
  std::vector<std::uint8_t> keep(header.size(), opt.usecols().empty() ? 1 : 0);
  for (const std::string& u : opt.usecols()) {
    const auto it = std::find(header.begin(), header.end(), u);
    EMBER_CHECK(it != header.end(), "{}: no column '{}' (usecols); the columns are: {}", name, u, list_names(header));
    keep[static_cast<std::size_t>(it - header.begin())] = 1;
  }
  std::vector<CsvType> types(header.size(), opt.default_type());
  for (const auto& [col, ty] : opt.types()) {
    const auto it = std::find(header.begin(), header.end(), col);
    EMBER_CHECK(it != header.end(), "{}: no column '{}' (types); the columns are: {}", name, col, list_names(header));
    types[static_cast<std::size_t>(it - header.begin())] = ty;
  }
  ctx.modes.resize(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    ctx.modes[i] = !keep[i] ? Mode::Skip
                   : types[i] == CsvType::Number ? Mode::Number
                   : types[i] == CsvType::String ? Mode::String
                                                 : Mode::Auto;
    ctx.slots += ctx.modes[i] == Mode::Number || ctx.modes[i] == Mode::Auto;
  }

  int threads = opt.threads() > 0 ? opt.threads() : get_num_threads();
  const std::size_t body_bytes = text.size() - body;
  threads = static_cast<int>(std::clamp<std::size_t>(body_bytes / std::max<std::size_t>(opt.min_chunk_bytes(), 1), 1,
                                                     static_cast<std::size_t>(std::max(threads, 1))));
  std::shared_ptr<void> block;
  ctx.row_offsets = opt.row_lines();
  std::vector<Chunk> chunks = parse_body(ctx, body, threads, block);
  std::int64_t rows = 0;
  for (const Chunk& c : chunks) rows += c.rows;
  EMBER_CHECK(rows > 0 || opt.allow_empty(), "{}: a header and no data rows (CsvOptions::allow_empty)", name);

  // Auto columns that met a text are read again as strings.
  std::vector<std::uint8_t> to_string(header.size(), 0);
  bool again = false;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (ctx.modes[i] != Mode::Auto) continue;
    for (const Chunk& c : chunks) to_string[i] |= c.not_numeric[i];
    again |= to_string[i] != 0;
  }
  std::vector<Chunk> second;
  if (again) {
    Context c2 = ctx;
    for (std::size_t i = 0; i < header.size(); ++i) c2.modes[i] = to_string[i] ? Mode::String : Mode::Skip;
    c2.slots = 0;
    c2.numbers = nullptr;
    c2.cap = 0;
    c2.row_offsets = false;
    std::shared_ptr<void> none;
    second = parse_body(c2, body, threads, none);
  }

  std::vector<std::size_t> slot_of(header.size(), 0);
  for (std::size_t i = 0, k = 0; i < header.size(); ++i)
    if (ctx.modes[i] == Mode::Number || ctx.modes[i] == Mode::Auto) slot_of[i] = k++;
  std::vector<CsvColumn> columns;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (ctx.modes[i] == Mode::Skip) continue;
    CsvColumn col;
    col.name = header[i];
    if (to_string[i]) {
      for (const Chunk& c : chunks) {
        if (!c.not_numeric[i]) continue;
        col.text_line = ctx.line_of(c.text_at[i]);
        col.text_value = c.text_value[i];
        break;
      }
    }
    if (ctx.modes[i] == Mode::String || to_string[i]) {
      col.type = CsvType::String;
      std::vector<Chunk>& src = ctx.modes[i] == Mode::String ? chunks : second;
      col.strings = std::move(src[0].strings[i]);
      col.missing = std::move(src[0].missing[i]);
      for (std::size_t k = 1; k < src.size(); ++k) {
        col.strings.insert(col.strings.end(), std::make_move_iterator(src[k].strings[i].begin()),
                           std::make_move_iterator(src[k].strings[i].end()));
        col.missing.insert(col.missing.end(), src[k].missing[i].begin(), src[k].missing[i].end());
      }
    } else {
      col.type = CsvType::Number;
      col.numbers = NumberColumn(block, ctx.numbers + slot_of[i] * ctx.cap, static_cast<std::size_t>(rows));
    }
    columns.push_back(std::move(col));
  }
  std::vector<std::int64_t> lines;
  if (opt.row_lines()) {
    // One pass over the text: each record's start, counted in line ends.
    lines.reserve(static_cast<std::size_t>(rows));
    std::size_t at = 0;
    std::int64_t line = 1;
    for (const Chunk& c : chunks) {
      for (std::size_t off : c.record_at) {
        line += std::count(text.data() + at, text.data() + off, '\n');
        at = off;
        lines.push_back(line);
      }
    }
  }
  return CsvTable(name, std::move(columns), rows, std::move(lines));
}

}  // namespace

const double& NumberColumn::at(std::size_t i) const {
  EMBER_CHECK(i < size_, "NumberColumn::at: index {} out of range for {} values", i, size_);
  return data_[i];
}

CsvTable::CsvTable(std::string source, std::vector<CsvColumn> columns, std::int64_t rows, std::vector<std::int64_t> lines)
    : source_(std::move(source)), columns_(std::move(columns)), rows_(rows), lines_(std::move(lines)) {
  EMBER_CHECK(lines_.empty() || static_cast<std::int64_t>(lines_.size()) == rows_, "CsvTable: {} row lines for {} rows",
              lines_.size(), rows_);
  for (const CsvColumn& c : columns_) {
    const std::size_t n = c.is_number() ? c.numbers.size() : c.strings.size();
    EMBER_CHECK(static_cast<std::int64_t>(n) == rows_ && (c.is_number() || c.missing.size() == n),
                "CsvTable: column {} has {} values for {} rows", c.name, n, rows_);
  }
}

bool CsvTable::has(std::string_view name) const {
  return std::any_of(columns_.begin(), columns_.end(), [&](const CsvColumn& c) { return c.name == name; });
}

const CsvColumn& CsvTable::operator[](std::string_view name) const {
  for (const CsvColumn& c : columns_)
    if (c.name == name) return c;
  throw Error(fmt::format("{}: no column '{}'; the columns are: {}", source_, name, list_names(names())));
}

std::vector<std::string> CsvTable::names() const {
  std::vector<std::string> out;
  out.reserve(columns_.size());
  for (const CsvColumn& c : columns_) out.push_back(c.name);
  return out;
}

std::vector<std::string> CsvTable::names_except(const std::vector<std::string>& drop) const {
  for (const std::string& d : drop) (void)(*this)[d];
  std::vector<std::string> out;
  for (const CsvColumn& c : columns_)
    if (std::find(drop.begin(), drop.end(), c.name) == drop.end()) out.push_back(c.name);
  return out;
}

Tensor CsvTable::to_tensor(const std::vector<std::string>& names, DType dtype) const {
  EMBER_CHECK(dtype == DType::Float32 || dtype == DType::Float64, "CsvTable::to_tensor: dtype must be float32 or float64, got {}",
              dtype_name(dtype));
  std::vector<const CsvColumn*> cols;
  for (const std::string& n : names) {
    const CsvColumn& c = (*this)[n];
    EMBER_CHECK(c.is_number(), "{}: column {} holds strings, not numbers (e.g. '{}')", source_, n,
                c.strings.empty() ? std::string() : quote_text(c.strings[0]));
    cols.push_back(&c);
  }
  const std::int64_t k = static_cast<std::int64_t>(cols.size());
  Tensor out = zeros({rows_, k}, dtype);
  auto fill = [&](auto* dst) {
    using T = std::remove_pointer_t<decltype(dst)>;
    // Row blocks keep the writes within a few cache lines per column.
    constexpr std::int64_t kBlock = 64;
    for (std::int64_t r0 = 0; r0 < rows_; r0 += kBlock) {
      const std::int64_t r1 = std::min(rows_, r0 + kBlock);
      for (std::int64_t j = 0; j < k; ++j) {
        const double* src = cols[static_cast<std::size_t>(j)]->numbers.data();
        for (std::int64_t r = r0; r < r1; ++r) dst[r * k + j] = static_cast<T>(src[r]);
      }
    }
  };
  if (dtype == DType::Float32) fill(out.data_ptr<float>());
  else fill(out.data_ptr<double>());
  return out;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  const FileBytes bytes(path);
  return parse(bytes.view(), options, path);
}

CsvTable parse_csv(std::string_view text, const CsvOptions& options, const std::string& name) {
  return parse(text, options, name);
}

}  // namespace ember::data
