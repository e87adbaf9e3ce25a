// safetensors reading and writing. The reader trusts nothing in the header: every
// size and offset is checked against the bytes present before anything is allocated,
// and the JSON is read by a small strict parser (below) that rejects duplicate keys,
// which a general JSON library would silently resolve to the last one.
#include "ember/nn/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ember/io/atomic_file.h"

namespace ember::safetensors {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and Ember copies it byte for byte");

namespace {

constexpr std::uint64_t kMaxHeaderSize = 100'000'000;  // the reference reader's limit
constexpr std::string_view kMetadataKey = "__metadata__";

// Every dtype name the reference knows, in its order (increasing alignment), with the
// element size in bits. `dtype` is set for the ones Ember can hold.
struct DTypeInfo {
  std::string_view name;
  std::uint64_t bits;
  std::optional<DType> dtype;
};
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 8, DType::Bool},  {"F4", 4, {}},
    {"F6_E2M3", 6, {}},        {"F6_E3M2", 6, {}},
    {"U8", 8, DType::UInt8},   {"I8", 8, {}},
    {"F8_E5M2", 8, {}},        {"F8_E4M3", 8, {}},
    {"F8_E8M0", 8, {}},        {"I16", 16, {}},
    {"U16", 16, {}},           {"F16", 16, {}},
    {"BF16", 16, {}},          {"I32", 32, {}},
    {"U32", 32, {}},           {"F32", 32, DType::Float32},
    {"C64", 64, {}},           {"F64", 64, DType::Float64},
    {"I64", 64, DType::Int64}, {"U64", 64, {}},
};

const DTypeInfo* find_dtype(std::string_view name) {
  for (const auto& d : kDTypes)
    if (d.name == name) return &d;
  return nullptr;
}

// Index of an Ember dtype in kDTypes: the writer puts higher indices (wider types) first.
std::size_t dtype_rank(DType t) {
  for (std::size_t i = 0; i < std::size(kDTypes); ++i)
    if (kDTypes[i].dtype == t) return i;
  throw Error(fmt::format("safetensors: no safetensors name for dtype {}", t));
}

// Length of the well-formed UTF-8 sequence starting at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when it is not well formed.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<std::uint8_t>(s[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c == 0xE0)
    len = 3, lo = 0xA0;
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
    len = 3;
  else if (c == 0xED)
    len = 3, hi = 0x9F;
  else if (c == 0xF0)
    len = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3)
    len = 4;
  else if (c == 0xF4)
    len = 4, hi = 0x8F;
  else
    return 0;
  if (s.size() - i < len) return 0;
  const auto c1 = static_cast<std::uint8_t>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((static_cast<std::uint8_t>(s[i + k]) & 0xC0) != 0x80) return 0;
  return len;
}

// Offset of the first byte that is not well-formed UTF-8, or nullopt.
std::optional<std::size_t> invalid_utf8_at(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

// A name or snippet for an error message: quoted, control and ill-formed bytes as \xNN,
// cut after 60 bytes.
std::string display(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax;) {
    const char c = s[i];
    const std::size_t n = utf8_sequence(s, i);
    if (c == '"' || c == '\\') {
      out += '\\', out += c, ++i;
    } else if (n == 0 || static_cast<std::uint8_t>(c) < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", static_cast<std::uint8_t>(c)), ++i;
    } else {
      out.append(s.substr(i, n)), i += n;
    }
  }
  out += s.size() > kMax ? "\"..." : "\"";
  return out;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

// ---- the header: a strict JSON reader driven by the format's schema ----

struct Entry {
  std::string name;
  const DTypeInfo* dtype = nullptr;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

std::string shape_text(const std::vector<std::uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// Reads the JSON header straight into entries and metadata. It knows the subset of
// JSON the format uses: objects, arrays, strings (every escape, surrogate pairs) and
// non-negative integers; anything else (true, false, null, signs, fractions, exponents,
// a value of the wrong kind, an unknown field) is an error. Since each value must have
// the kind the schema expects, nesting is never deeper than three levels and nothing
// is built for values the format does not use. The text must already be valid UTF-8.
class HeaderReader {
 public:
  HeaderReader(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  void read(std::vector<Entry>& entries, std::map<std::string, std::string>& metadata) {
    skip_ws();
    check(next_is('{'), [&] { return "the header must be a JSON object, found " + found(); });
    members([&](const std::string& key) {
      if (key == kMetadataKey)
        read_metadata(metadata);
      else
        entries.push_back(read_tensor(key));
    });
    skip_ws();
    check(at_end(), "malformed JSON: trailing characters after the header object");
  }

 private:
  // Offsets in messages count from the start of the file (the header begins at byte 8).
  // `what` is the message, or a callable making it (so no message is built on success).
  template <class What>
  void check(bool ok, const What& what) const {
    if (ok) return;
    std::string message;
    if constexpr (std::is_invocable_v<What>)
      message = what();
    else
      message = what;
    EMBER_CHECK(false, "safetensors: {}: bad header at byte {}: {} (at {})", file_, 8 + i_, message,
                at_end() ? std::string("the end of the header") : display(text_.substr(i_, 16)));
  }
  bool at_end() const { return i_ >= text_.size(); }
  bool next_is(char c) const { return !at_end() && text_[i_] == c; }
  bool next_is_digit() const { return !at_end() && text_[i_] >= '0' && text_[i_] <= '9'; }
  void skip_ws() {
    while (next_is(' ') || next_is('\t') || next_is('\n') || next_is('\r')) ++i_;
  }
  // What kind of value starts here, for messages.
  std::string found() const {
    if (at_end()) return "nothing";
    switch (text_[i_]) {
      case '{':
        return "an object";
      case '[':
        return "an array";
      case '"':
        return "a string";
      case '-':
        return "a negative number";
      case 't':
      case 'f':
        return "a boolean";
      case 'n':
        return "null";
      default:
        return next_is_digit() ? "an integer" : "an unexpected character";
    }
  }

  // Calls f(key) for each member of the object starting here; f reads the value.
  template <class F>
  void members(F&& f) {
    ++i_;  // '{'
    skip_ws();
    if (next_is('}')) return void(++i_);
    std::set<std::string> seen;
    for (;;) {
      skip_ws();
      check(next_is('"'), "malformed JSON: expected a string key");
      const std::size_t key_at = i_;
      std::string key = string();
      if (!seen.insert(key).second) {
        i_ = key_at;
        check(false, fmt::format("duplicate key {}", display(key)));
      }
      skip_ws();
      check(next_is(':'), "malformed JSON: expected ':' after a key");
      ++i_;
      skip_ws();
      f(key);
      skip_ws();
      check(next_is(',') || next_is('}'), "malformed JSON: expected ',' or '}' in an object");
      if (text_[i_++] == '}') return;
    }
  }

  void read_metadata(std::map<std::string, std::string>& metadata) {
    check(next_is('{'), [&] { return "__metadata__ must be an object of strings, found " + found(); });
    members([&](const std::string& key) {
      check(next_is('"'), [&] {
        return fmt::format("__metadata__ value for key {} must be a string, found {}", display(key), found());
      });
      metadata.emplace(key, string());
    });
  }

  Entry read_tensor(const std::string& name) {
    check(next_is('{'), [&] { return fmt::format("tensor {} must be an object, found {}", display(name), found()); });
    Entry e;
    e.name = name;
    bool has_shape = false, has_offsets = false;
    members([&](const std::string& key) {
      if (key == "dtype") {
        check(next_is('"'),
              [&] { return fmt::format("dtype of tensor {} must be a string, found {}", display(name), found()); });
        const std::size_t at = i_;
        const std::string dtype = string();
        e.dtype = find_dtype(dtype);
        i_ = e.dtype ? i_ : at;
        check(e.dtype != nullptr,
              [&] { return fmt::format("unknown dtype {} for tensor {}", display(dtype), display(name)); });
      } else if (key == "shape") {
        e.shape = integers(name, "shape", SIZE_MAX);
        has_shape = true;
      } else if (key == "data_offsets") {
        const std::size_t at = i_;
        const auto o = integers(name, "data_offsets", 2);
        i_ = o.size() == 2 ? i_ : at;
        check(o.size() == 2,
              [&] { return fmt::format("data_offsets of tensor {} must be [BEGIN, END]", display(name)); });
        e.begin = o[0], e.end = o[1];
        has_offsets = true;
      } else {
        check(false, fmt::format("unknown field {} in tensor {} (expected dtype, shape, data_offsets)", display(key),
                                 display(name)));
      }
    });
    const char* missing = !e.dtype ? "dtype" : !has_shape ? "shape" : !has_offsets ? "data_offsets" : nullptr;
    check(missing == nullptr,
          [&] { return fmt::format("tensor {} has no \"{}\"", display(name), missing ? missing : ""); });
    return e;
  }

  // An array of at most `max` non-negative integers: the `field` of tensor `name`.
  std::vector<std::uint64_t> integers(const std::string& name, const char* field, std::size_t max) {
    const auto what = [&] { return fmt::format("{} of tensor {}", field, display(name)); };
    check(next_is('['),
          [&] { return fmt::format("{} must be an array of non-negative integers, found {}", what(), found()); });
    ++i_;
    std::vector<std::uint64_t> out;
    skip_ws();
    if (next_is(']')) return ++i_, out;
    for (;;) {
      skip_ws();
      check(next_is_digit(),
            [&] { return fmt::format("{} must be an array of non-negative integers, found {}", what(), found()); });
      check(out.size() < max, [&] { return fmt::format("{} has more than {} entries", what(), max); });
      out.push_back(integer());
      skip_ws();
      check(next_is(',') || next_is(']'), "malformed JSON: expected ',' or ']' in an array");
      if (text_[i_++] == ']') return out;
    }
  }

  std::uint64_t integer() {
    std::uint64_t v = 0;
    if (next_is('0')) {
      ++i_;
      check(!next_is_digit(), "malformed JSON: leading zeros are not allowed");
    } else {
      while (next_is_digit()) {
        const auto d = static_cast<std::uint64_t>(text_[i_] - '0');
        check(v <= (std::numeric_limits<std::uint64_t>::max() - d) / 10, "integer too large");
        v = v * 10 + d, ++i_;
      }
    }
    check(!next_is('.') && !next_is('e') && !next_is('E'), "only non-negative integers are allowed");
    return v;
  }

  std::uint32_t hex4() {
    check(text_.size() - i_ >= 4, "malformed JSON: truncated \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k, ++i_) {
      const char c = text_[i_];
      std::uint32_t d = 0;
      if (c >= '0' && c <= '9')
        d = static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      else
        check(false, "malformed JSON: invalid hex digit in a \\u escape");
      v = v * 16 + d;
    }
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++i_;  // '"'
    std::string out;
    for (;;) {
      check(!at_end(), "malformed JSON: unterminated string");
      const char c = text_[i_];
      if (c == '"') return ++i_, out;
      check(static_cast<std::uint8_t>(c) >= 0x20, "malformed JSON: unescaped control character in a string");
      if (c != '\\') {
        out += c, ++i_;
        continue;
      }
      check(i_ + 1 < text_.size(), "malformed JSON: unterminated escape");
      const char e = text_[i_ + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const std::size_t at = i_;
          i_ += 2;
          std::uint32_t cp = hex4();
          const bool high = cp >= 0xD800 && cp <= 0xDBFF;
          const bool paired = high && text_.size() - i_ >= 6 && text_[i_] == '\\' && text_[i_ + 1] == 'u';
          if (paired) {
            i_ += 2;
            const std::uint32_t low = hex4();
            cp = low >= 0xDC00 && low <= 0xDFFF ? 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00) : 0xD800;
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) {
            i_ = at;
            check(false, "malformed JSON: unpaired surrogate in a \\u escape");
          }
          append_utf8(out, cp);
          continue;  // i_ is past the escape
        }
        default:
          check(false, "malformed JSON: invalid escape in a string");
      }
      i_ += 2;
    }
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t i_ = 0;
};

// Bytes a tensor of `e`'s dtype and shape holds, with every product checked.
std::uint64_t tensor_nbytes(const std::string& file, const Entry& e) {
  // The product of the non-zero dims bounds every stride Ember computes, so it must
  // fit an int64 even when a zero dim makes the element count 0.
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t bound = 1, count = 1;
  for (std::uint64_t d : e.shape) {
    const std::uint64_t f = std::max<std::uint64_t>(d, 1);
    EMBER_CHECK(bound <= kMax / f, "safetensors: {}: element count of tensor {} with shape {} overflows", file,
                display(e.name), shape_text(e.shape));
    bound *= f;
    count = d == 0 ? 0 : count * d;
  }
  EMBER_CHECK(count <= std::numeric_limits<std::uint64_t>::max() / e.dtype->bits,
              "safetensors: {}: byte size of tensor {} ({} elements of {}) overflows", file, display(e.name), count,
              e.dtype->name);
  const std::uint64_t bits = count * e.dtype->bits;
  EMBER_CHECK(bits % 8 == 0, "safetensors: {}: tensor {} of dtype {} and shape {} is not a whole number of bytes", file,
              display(e.name), e.dtype->name, shape_text(e.shape));
  return bits / 8;
}

// Sorts by offsets and checks that the tensors tile the data exactly, as the reference does.
void check_layout(const std::string& file, std::vector<Entry>& entries, std::uint64_t data_size) {
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const auto name = display(e.name);
    EMBER_CHECK(i > 0 || e.begin == 0,
                "safetensors: {}: data_offsets [{}, {}] of tensor {} do not start at 0 (the first tensor must)", file,
                e.begin, e.end, name);
    if (i > 0) {
      const Entry& p = entries[i - 1];
      EMBER_CHECK(e.begin <= expected,
                  "safetensors: {}: gap of {} bytes in the data between tensor {} [{}, {}] and tensor {} [{}, {}]",
                  file, e.begin - expected, display(p.name), p.begin, p.end, name, e.begin, e.end);
      EMBER_CHECK(e.begin >= expected,
                  "safetensors: {}: tensor {} at data_offsets [{}, {}] overlaps tensor {} at [{}, {}]", file, name,
                  e.begin, e.end, display(p.name), p.begin, p.end);
    }
    EMBER_CHECK(e.end >= e.begin, "safetensors: {}: data_offsets [{}, {}] of tensor {} end before they begin", file,
                e.begin, e.end, name);
    EMBER_CHECK(
        e.end <= data_size,
        "safetensors: {}: tensor {} ends at data offset {}, past the end of the file ({} data bytes after the header)",
        file, name, e.end, data_size);
    const std::uint64_t nbytes = tensor_nbytes(file, e);
    EMBER_CHECK(
        e.end - e.begin == nbytes,
        "safetensors: {}: tensor {} of dtype {} and shape {} needs {} bytes but its data_offsets [{}, {}] span {}",
        file, name, e.dtype->name, shape_text(e.shape), nbytes, e.begin, e.end, e.end - e.begin);
    expected = e.end;
  }
  EMBER_CHECK(expected == data_size,
              "safetensors: {}: {} trailing bytes after the last tensor (the tensors cover data offsets [0, {}) of {})",
              file, data_size - expected, expected, data_size);
}

// ---- writing ----

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<std::uint8_t>(c) < 0x20)
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    else
      out += c;
  }
  out += '"';
}

void check_utf8(const std::string& path, const char* what, const std::string& s) {
  const auto bad = invalid_utf8_at(s);
  EMBER_CHECK(!bad, "safetensors: {}: {} {} is not valid UTF-8 (byte {})", path, what, display(s), bad.value_or(0));
}

}  // namespace

void save(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  struct Item {
    const std::string* name;
    Tensor data;  // contiguous
    std::size_t rank;
  };
  std::vector<Item> items;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    EMBER_CHECK(!name.empty(), "safetensors: {}: tensor #{} has an empty name", path, i);
    EMBER_CHECK(name != kMetadataKey, "safetensors: {}: the tensor name \"__metadata__\" is reserved", path);
    EMBER_CHECK(seen.insert(name).second, "safetensors: {}: duplicate tensor name {}", path, display(name));
    check_utf8(path, "tensor name", name);
    EMBER_CHECK(t.defined(), "safetensors: {}: tensor {} is undefined", path, display(name));
    items.push_back({&name, t.detach().contiguous(), dtype_rank(t.dtype())});
  }
  for (const auto& [k, v] : metadata) {
    check_utf8(path, "metadata key", k);
    check_utf8(path, "metadata value", v);
  }
  // The reference writer's order: widest dtype first (so the data stays aligned), then by name.
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.rank != b.rank ? a.rank > b.rank : *a.name < *b.name; });

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (header.back() != '{') header += ',';
      append_json_string(header, k);
      header += ':';
      append_json_string(header, v);
    }
    header += '}';
  }
  std::uint64_t offset = 0;
  for (const Item& it : items) {
    const std::uint64_t nbytes = static_cast<std::uint64_t>(it.data.numel()) * itemsize(it.data.dtype());
    if (header.size() > 1) header += ',';
    append_json_string(header, *it.name);
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", kDTypes[it.rank].name,
                          fmt::join(it.data.sizes(), ","), offset, offset + nbytes);
    offset += nbytes;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  EMBER_CHECK(header.size() <= kMaxHeaderSize, "safetensors: {}: header of {} bytes is over the limit of {}", path,
              header.size(), kMaxHeaderSize);

  std::uint8_t length[8];
  for (int k = 0; k < 8; ++k) length[k] = static_cast<std::uint8_t>(header.size() >> (8 * k));
  AtomicFile out(path, "safetensors");
  out.write(length, sizeof length);
  out.write(header.data(), header.size());
  for (const Item& it : items)
    out.write(it.data.raw_data(), static_cast<std::size_t>(it.data.numel()) * itemsize(it.data.dtype()));
  out.commit();
}

namespace {

// The header length N from a file's first 8 bytes, checked against the file's size.
std::uint64_t header_length(const std::uint8_t* first8, std::uint64_t size, const std::string& file) {
  EMBER_CHECK(size >= 8, "safetensors: {}: file is {} bytes, too short for the 8-byte header length", file, size);
  std::uint64_t n = 0;
  for (int k = 0; k < 8; ++k) n |= static_cast<std::uint64_t>(first8[k]) << (8 * k);
  EMBER_CHECK(n <= kMaxHeaderSize, "safetensors: {}: header length {} is over the limit of {} bytes", file, n,
              kMaxHeaderSize);
  EMBER_CHECK(n <= size - 8, "safetensors: {}: header length {} runs past the end of the file ({} bytes)", file, n,
              size);
  return n;
}

// The tensors the header `text` describes, sorted by offset and checked to tile the
// `data_size` bytes after it exactly; fills `metadata`.
std::vector<Entry> read_header(std::string_view text, std::uint64_t data_size, const std::string& file,
                               std::map<std::string, std::string>& metadata) {
  const auto bad = invalid_utf8_at(text);
  EMBER_CHECK(!bad, "safetensors: {}: header is not valid UTF-8 at byte {} ({})", file, 8 + bad.value_or(0),
              display(text.substr(bad.value_or(0), 8)));
  std::vector<Entry> entries;
  HeaderReader(text, file).read(entries, metadata);
  check_layout(file, entries, data_size);
  for (const Entry& e : entries)
    EMBER_CHECK(e.dtype->dtype.has_value(),
                "safetensors: {}: unsupported dtype {} for tensor {} (Ember reads F32, F64, I64, U8 and BOOL)", file,
                e.dtype->name, display(e.name));
  return entries;
}

// A new contiguous tensor of the entry's dtype and shape, its data not yet filled.
Tensor empty_for(const Entry& e) {
  return empty(Shape(e.shape.begin(), e.shape.end()), *e.dtype->dtype);  // each dim fits an int64 (tensor_nbytes)
}

std::size_t nbytes_of(const Entry& e) { return static_cast<std::size_t>(e.end - e.begin); }

// Checks that a BOOL tensor's bytes (its data, now in memory) are all 0 or 1.
void check_bools(const std::string& file, const Entry& e, const std::uint8_t* data) {
  if (*e.dtype->dtype != DType::Bool) return;
  const std::uint8_t* end = data + nbytes_of(e);
  const auto* bad_byte = std::find_if(data, end, [](std::uint8_t b) { return b > 1; });
  EMBER_CHECK(bad_byte == end,
              "safetensors: {}: BOOL tensor {} holds byte 0x{:02x} at data offset {} (expected 0 or 1)", file,
              display(e.name), *bad_byte, e.begin + static_cast<std::uint64_t>(bad_byte - data));
}

// Reads up to n bytes from fd into dst, retrying short reads; fewer only at the end of the file.
std::size_t read_up_to(int fd, void* dst, std::size_t n, const std::string& path) {
  auto* p = static_cast<std::uint8_t*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const ::ssize_t r = ::read(fd, p + done, std::min<std::size_t>(n - done, std::size_t{1} << 30));
    const int err = errno;
    if (r < 0 && err == EINTR) continue;
    EMBER_CHECK(r >= 0, "safetensors: {}: cannot read: {}", path, errno_text(err));
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return done;
}

// Reads exactly n bytes, or names what was being read and how the file changed.
void read_exactly(int fd, void* dst, std::size_t n, const std::string& path, std::uint64_t at, std::uint64_t size) {
  const std::size_t got = read_up_to(fd, dst, n, path);
  EMBER_CHECK(got == n,
              "safetensors: {}: the file ends at byte {}, but it was {} bytes when opened (changed while "
              "reading?)",
              path, at + got, size);
}

// The whole of a file that is not a regular file (a pipe: no size to plan with).
std::vector<std::uint8_t> read_all(int fd, const std::string& path) {
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  std::vector<std::uint8_t> buf;
  std::size_t used = 0;
  for (;;) {
    buf.resize(used + kChunk);
    const std::size_t got = read_up_to(fd, buf.data() + used, kChunk, path);
    used += got;
    if (got < kChunk) break;
  }
  buf.resize(used);
  return buf;
}

}  // namespace

File parse(const std::uint8_t* bytes, std::size_t size, const std::string& name_for_errors) {
  const std::string& file = name_for_errors;
  const std::uint64_t n = header_length(bytes, size, file);
  File out;
  const std::string_view text(reinterpret_cast<const char*>(bytes) + 8, static_cast<std::size_t>(n));
  const std::vector<Entry> entries = read_header(text, size - 8 - n, file, out.metadata);
  const std::uint8_t* data = bytes + 8 + n;
  out.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    check_bools(file, e, data + e.begin);
    Tensor t = empty_for(e);
    if (nbytes_of(e) > 0) std::memcpy(t.raw_data(), data + e.begin, nbytes_of(e));
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

// Reads the header, then each tensor's bytes straight into its own storage (in file
// order, which the layout check made contiguous), so loading costs about the file's
// size in memory, not twice that.
File load(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int err = errno;
  EMBER_CHECK(fd >= 0, "safetensors: {}: cannot open: {}", path, errno_text(err));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  err = errno;
  EMBER_CHECK(rc == 0, "safetensors: {}: cannot stat: {}", path, errno_text(err));
  EMBER_CHECK(!S_ISDIR(st.st_mode), "safetensors: {}: is a folder, not a file", path);
  if (!S_ISREG(st.st_mode)) {
    const std::vector<std::uint8_t> all = read_all(fd, path);
    return parse(all.data(), all.size(), path);
  }

  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint8_t first8[8] = {};
  read_exactly(fd, first8, std::min<std::uint64_t>(size, 8), path, 0, size);
  const std::uint64_t n = header_length(first8, size, path);
  std::string text(static_cast<std::size_t>(n), '\0');
  read_exactly(fd, text.data(), text.size(), path, 8, size);
  File out;
  const std::vector<Entry> entries = read_header(text, size - 8 - n, path, out.metadata);
  out.tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    Tensor t = empty_for(e);
    auto* data = static_cast<std::uint8_t*>(t.raw_data());
    read_exactly(fd, data, nbytes_of(e), path, 8 + n + e.begin, size);
    check_bools(path, e, data);
    out.tensors.emplace_back(e.name, std::move(t));
  }
  std::uint8_t extra;
  EMBER_CHECK(read_up_to(fd, &extra, 1, path) == 0,
              "safetensors: {}: the file grew while reading (it was {} bytes when opened)", path, size);
  return out;
}

}  // namespace ember::safetensors
