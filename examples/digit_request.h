#pragma once
// What digit_server reads from a client, kept apart from the sockets so a fuzz
// target (tests/fuzz/fuzz_digit_request.cpp) can drive all of it:
// - the request head (request line and headers), strictly: a line without a
//   colon, a repeated Content-Length or too many headers is refused;
// - the body's framing: Content-Length, or Transfer-Encoding: chunked decoded
//   with the same byte limit;
// - the body of POST /predict, as an image: a PNG (or JPEG, PGM) upload, a
//   multipart/form-data file (curl -F file=@digit.png, a browser form), or JSON
//   pixels {"width": W, "height": H, "pixels": [v, ...]} with gray values
//   0..255 row by row.
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ember/ember.h>

namespace examples {

/// Largest image a request may carry (width x height); bigger is refused before decoding.
constexpr std::int64_t kMaxRequestPixels = 2048 * 2048;

namespace detail {

// Just enough JSON for {"width": 280, "height": 280, "pixels": [0, 255, ...]}:
// an object of numbers and one array of numbers, any key order, whitespace anywhere.
class PixelJson {
 public:
  explicit PixelJson(std::string_view s) : s_(s) {}

  ember::Tensor parse() {
    std::int64_t width = -1, height = -1;
    std::vector<std::uint8_t> pixels;
    bool have_pixels = false;
    expect('{');
    if (!peek('}')) {
      do {
        const std::string key = string();
        expect(':');
        if (key == "pixels") {
          have_pixels = true;
          expect('[');
          if (!peek(']')) {
            do {
              const double v = number();
              EMBER_CHECK(v >= 0 && v <= 255, "pixel {} is {}, outside 0..255", pixels.size(), v);
              EMBER_CHECK(static_cast<std::int64_t>(pixels.size()) < kMaxRequestPixels,
                          "more than {} pixels", kMaxRequestPixels);
              pixels.push_back(static_cast<std::uint8_t>(v + 0.5));
            } while (accept(','));
          }
          expect(']');
        } else if (key == "width" || key == "height") {
          const double v = number();
          EMBER_CHECK(v >= 1 && v <= 65536 && v == static_cast<double>(static_cast<std::int64_t>(v)),
                      "{} must be a whole number in 1..65536, got {}", key, v);
          (key == "width" ? width : height) = static_cast<std::int64_t>(v);
        } else {
          throw ember::Error("unknown key \"" + key + "\" (expected width, height, pixels)");
        }
      } while (accept(','));
    }
    expect('}');
    skip();
    EMBER_CHECK(pos_ == s_.size(), "unexpected text after the JSON object at byte {}", pos_);
    EMBER_CHECK(width > 0 && height > 0 && have_pixels, "expected width, height and pixels");
    EMBER_CHECK(width * height <= kMaxRequestPixels, "image {}x{} is larger than {} pixels", width, height,
                kMaxRequestPixels);
    EMBER_CHECK(static_cast<std::int64_t>(pixels.size()) == width * height, "{} pixels for a {}x{} image (needs {})",
                pixels.size(), width, height, width * height);
    return ember::from_vector(pixels, ember::Shape{1, height, width});
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool peek(char c) {
    skip();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool accept(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    EMBER_CHECK(accept(c), "expected '{}' at byte {}", c, pos_);
  }
  std::string string() {
    expect('"');
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      EMBER_CHECK(s_[pos_] != '\\' && out.size() < 64, "unsupported key at byte {}", pos_);
      out += s_[pos_++];
    }
    expect('"');
    return out;
  }
  double number() {
    skip();
    double v = 0;
    const auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), v);
    EMBER_CHECK(ec == std::errc() && end != s_.data() + pos_, "expected a number at byte {}", pos_);
    pos_ = static_cast<std::size_t>(end - s_.data());
    return v;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace detail

/// A request refused before any handler sees it: the HTTP status to answer
/// (400, 405, 408, 413, 431, 501, 505) and why.
class HttpRefusal : public ember::Error {
 public:
  HttpRefusal(int status, const std::string& why) : ember::Error(why), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

namespace detail {

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// RFC 9110 token characters (method and header names).
inline bool is_token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The next line of `s` from `pos` without its CRLF (or LF); npos in `pos` when none is complete.
inline std::optional<std::string_view> next_line(std::string_view s, std::size_t& pos) {
  const std::size_t nl = s.find('\n', pos);
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = s.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = nl + 1;
  return line;
}

}  // namespace detail

/// Limits on a request head.
struct HeadLimits {
  std::size_t max_bytes = 16 * 1024;  // request line and headers together
  std::size_t max_headers = 64;
};

/// A parsed request line and headers.
struct RequestHead {
  std::string method, target, version;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;

  /// The value of header `name` (any case), or "" when absent.
  std::string get(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (detail::iequals(k, name)) return v;
    return {};
  }
};

/// Where the head in `buf` ends (just past its blank line), or npos while it is incomplete.
inline std::size_t find_head_end(std::string_view buf) {
  for (std::size_t pos = 0;;) {
    const std::size_t nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) return std::string_view::npos;
    const std::string_view line = buf.substr(pos, nl - pos);
    if (line.empty() || line == "\r") return nl + 1;
    pos = nl + 1;
  }
}

/// Parses a request head (everything up to and including its blank line).
/// Throws HttpRefusal: 431 for too many or too long headers, 400 for a line
/// without a colon, a bad or repeated Content-Length, Content-Length beside
/// chunked, or a malformed request line; 501 for a transfer coding other than
/// chunked; 505 for a version other than HTTP/1.0 or 1.1.
inline RequestHead parse_request_head(std::string_view head, const HeadLimits& limits = {}) {
  if (head.size() > limits.max_bytes)
    throw HttpRefusal(431, fmt::format("request head of {} bytes is over {}", head.size(), limits.max_bytes));
  RequestHead r;
  std::size_t pos = 0;
  auto line = detail::next_line(head, pos);
  if (!line || line->empty()) throw HttpRefusal(400, "no request line");
  {
    const std::string_view l = *line;
    const std::size_t a = l.find(' '), b = a == std::string_view::npos ? a : l.find(' ', a + 1);
    if (b == std::string_view::npos || l.find(' ', b + 1) != std::string_view::npos || a == 0 || b == a + 1)
      throw HttpRefusal(400, "request line is not METHOD TARGET HTTP/1.x");
    r.method = std::string(l.substr(0, a));
    r.target = std::string(l.substr(a + 1, b - a - 1));
    r.version = std::string(l.substr(b + 1));
    for (unsigned char c : r.method)
      if (!detail::is_token_char(c)) throw HttpRefusal(400, "bad character in the method");
    for (unsigned char c : r.target)
      if (c <= 0x20 || c == 0x7f) throw HttpRefusal(400, "bad character in the request target");
    if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0") {
      if (r.version.rfind("HTTP/", 0) == 0) throw HttpRefusal(505, "only HTTP/1.0 and HTTP/1.1 are served");
      throw HttpRefusal(400, "request line is not METHOD TARGET HTTP/1.x");
    }
  }
  r.keep_alive = r.version == "HTTP/1.1";
  bool have_te = false;
  while (true) {
    line = detail::next_line(head, pos);
    if (!line) throw HttpRefusal(400, "request head does not end with a blank line");
    if (line->empty()) break;
    if (r.headers.size() >= limits.max_headers)
      throw HttpRefusal(431, fmt::format("more than {} headers", limits.max_headers));
    const std::string_view l = *line;
    if (l.front() == ' ' || l.front() == '\t') throw HttpRefusal(400, "folded header line");
    const std::size_t colon = l.find(':');
    if (colon == std::string_view::npos)
      throw HttpRefusal(400, fmt::format("header line {} has no colon", r.headers.size() + 1));
    const std::string_view name = l.substr(0, colon), value = detail::trim(l.substr(colon + 1));
    if (name.empty()) throw HttpRefusal(400, "empty header name");
    for (unsigned char c : name)
      if (!detail::is_token_char(c)) throw HttpRefusal(400, "bad character in a header name");
    for (unsigned char c : value)
      if ((c < 0x20 && c != '\t') || c == 0x7f) throw HttpRefusal(400, "control character in a header value");
    if (detail::iequals(name, "Content-Length")) {
      if (r.content_length) throw HttpRefusal(400, "Content-Length is repeated");
      std::uint64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || value.front() == '+')
        throw HttpRefusal(400, "Content-Length is not a number");
      r.content_length = n;
    } else if (detail::iequals(name, "Transfer-Encoding")) {
      if (have_te) throw HttpRefusal(400, "Transfer-Encoding is repeated");
      have_te = true;
      if (!detail::iequals(value, "chunked")) throw HttpRefusal(501, "the only transfer coding served is chunked");
      r.chunked = true;
    } else if (detail::iequals(name, "Connection")) {
      if (value.find("close") != std::string_view::npos || value.find("Close") != std::string_view::npos)
        r.keep_alive = false;
      else if (detail::iequals(value, "keep-alive"))
        r.keep_alive = true;
    }
    r.headers.emplace_back(std::string(name), std::string(value));
  }
  if (r.chunked && r.content_length) throw HttpRefusal(400, "both Content-Length and Transfer-Encoding");
  if (r.chunked && r.version == "HTTP/1.0") throw HttpRefusal(400, "chunked in an HTTP/1.0 request");
  return r;
}

/// Decodes a Transfer-Encoding: chunked body as its bytes arrive, keeping at
/// most `max_body` decoded bytes: past that it throws HttpRefusal 413 at once,
/// whatever the chunk sizes claim. Malformed framing throws HttpRefusal 400.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(std::size_t max_body) : max_body_(max_body) {}

  /// Feeds the next bytes; returns how many were used (fewer than given only once done()).
  std::size_t feed(std::string_view in) {
    std::size_t i = 0;
    while (i < in.size() && state_ != State::Done) {
      const char c = in[i];
      switch (state_) {
        case State::Size:
        case State::Trailer:
          if (c == '\n') {
            end_line();
          } else {
            if (++line_len_ > kMaxLine) throw HttpRefusal(400, "chunk size or trailer line too long");
            line_ += c;
          }
          ++i;
          break;
        case State::Data: {
          const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, in.size() - i));
          body_.append(in.data() + i, n);
          i += n;
          left_ -= n;
          if (left_ == 0) state_ = State::DataEnd;
          break;
        }
        case State::DataEnd:
          if (c == '\r' && !saw_cr_) {
            saw_cr_ = true;
          } else if (c == '\n') {
            saw_cr_ = false;
            state_ = State::Size;
          } else {
            throw HttpRefusal(400, "chunk data does not end with CRLF");
          }
          ++i;
          break;
        case State::Done: break;
      }
    }
    return i;
  }
  bool done() const { return state_ == State::Done; }
  /// The decoded body so far.
  std::string& body() { return body_; }

 private:
  enum class State { Size, Data, DataEnd, Trailer, Done };
  static constexpr std::size_t kMaxLine = 4096;

  void end_line() {
    std::string_view l = line_;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (state_ == State::Trailer) {
      if (l.empty()) state_ = State::Done;
      else if (++trailers_ > 64) throw HttpRefusal(431, "more than 64 trailer lines");
      else if (l.find(':') == std::string_view::npos) throw HttpRefusal(400, "trailer line has no colon");
    } else {
      const std::string_view hex = l.substr(0, std::min(l.find(';'), l.size()));
      const std::string_view digits = detail::trim(hex);
      std::uint64_t n = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
        throw HttpRefusal(400, "bad chunk size");
      if (n > max_body_ - body_.size())
        throw HttpRefusal(413, fmt::format("chunked body over the limit of {} bytes", max_body_));
      left_ = n;
      state_ = n == 0 ? State::Trailer : State::Data;
      if (n > 0) body_.reserve(body_.size() + static_cast<std::size_t>(n));
    }
    line_.clear();
    line_len_ = 0;
  }

  std::size_t max_body_;
  State state_ = State::Size;
  std::string line_, body_;
  std::size_t line_len_ = 0, trailers_ = 0;
  std::uint64_t left_ = 0;
  bool saw_cr_ = false;
};

/// The file in a multipart/form-data body: the first part with a filename (or,
/// failing that, the first part), as its content type and bytes. Throws
/// ember::Error when the boundary or the parts are malformed.
inline std::pair<std::string, std::string_view> multipart_file(std::string_view content_type, std::string_view body) {
  const std::size_t b = content_type.find("boundary=");
  EMBER_CHECK(b != std::string_view::npos, "multipart/form-data without a boundary");
  std::string_view boundary = content_type.substr(b + 9);
  boundary = boundary.substr(0, std::min(boundary.find(';'), boundary.size()));
  boundary = detail::trim(boundary);
  if (boundary.size() >= 2 && boundary.front() == '"' && boundary.back() == '"')
    boundary = boundary.substr(1, boundary.size() - 2);
  EMBER_CHECK(!boundary.empty() && boundary.size() <= 70, "multipart boundary must be 1..70 characters");
  const std::string delim = "--" + std::string(boundary);
  std::size_t pos = body.find(delim);
  EMBER_CHECK(pos != std::string_view::npos, "multipart body does not contain its boundary");
  std::optional<std::pair<std::string, std::string_view>> first;
  for (int part = 0; part < 64; ++part) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") break;  // the closing delimiter
    // The part's headers, after the delimiter line.
    const std::size_t eol = body.find('\n', pos);
    EMBER_CHECK(eol != std::string_view::npos, "multipart part {} is cut off", part + 1);
    std::size_t p = eol + 1;
    std::string type = "application/octet-stream";
    bool has_filename = false;
    for (int h = 0;; ++h) {
      EMBER_CHECK(h < 16, "multipart part {} has more than 16 headers", part + 1);
      const auto line = detail::next_line(body, p);
      EMBER_CHECK(line.has_value(), "multipart part {} is cut off in its headers", part + 1);
      if (line->empty()) break;
      const std::size_t colon = line->find(':');
      EMBER_CHECK(colon != std::string_view::npos, "multipart part {}: header line has no colon", part + 1);
      const std::string_view name = detail::trim(line->substr(0, colon)), value = detail::trim(line->substr(colon + 1));
      if (detail::iequals(name, "Content-Type")) type = std::string(value);
      if (detail::iequals(name, "Content-Disposition") && value.find("filename=") != std::string_view::npos)
        has_filename = true;
    }
    const std::size_t end = body.find("\r\n" + delim, p);
    EMBER_CHECK(end != std::string_view::npos, "multipart part {} has no closing boundary", part + 1);
    std::pair<std::string, std::string_view> found{type, body.substr(p, end - p)};
    if (has_filename) return found;
    if (!first) first = found;
    pos = end + 2;
  }
  EMBER_CHECK(first.has_value(), "multipart body has no parts");
  return *first;
}

/// The image a POST /predict body holds: JSON pixels when the content type says
/// JSON (or the body starts with '{'), the file part of a multipart/form-data
/// body, else an image file. Throws ember::Error with a message for the client.
inline ember::Tensor parse_predict_body(std::string_view content_type, std::string_view body) {
  EMBER_CHECK(!body.empty(), "empty body (send a PNG, or JSON {{\"width\", \"height\", \"pixels\"}})");
  if (content_type.size() >= 19 && detail::iequals(content_type.substr(0, 19), "multipart/form-data")) {
    const auto [type, file] = multipart_file(content_type, body);
    EMBER_CHECK(type.find("multipart") == std::string::npos, "nested multipart bodies are not read");
    return parse_predict_body(type, file);
  }
  std::size_t i = 0;
  while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  if (content_type.find("json") != std::string_view::npos || (i < body.size() && body[i] == '{')) {
    try {
      return detail::PixelJson(body).parse();
    } catch (const ember::Error& e) {
      throw ember::Error(std::string("bad JSON pixels: ") + e.what());
    }
  }
  return ember::io::decode_image(body, ember::io::ImageReadOptions().max_pixels(kMaxRequestPixels), "request body");
}

}  // namespace examples
