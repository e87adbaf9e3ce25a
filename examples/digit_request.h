#pragma once
// The body of digit_server's POST /predict, as an image: a PNG (or JPEG, PGM)
// upload, or JSON pixels {"width": W, "height": H, "pixels": [v, ...]} with
// gray values 0..255 row by row. Kept apart from the server so a fuzz target
// (tests/fuzz/fuzz_digit_request.cpp) can drive it without sockets.
#include <cctype>
#include <charconv>
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

/// The image a POST /predict body holds: JSON pixels when the content type says
/// JSON (or the body starts with '{'), else an image file. Throws ember::Error
/// with a message for the client.
inline ember::Tensor parse_predict_body(std::string_view content_type, std::string_view body) {
  EMBER_CHECK(!body.empty(), "empty body (send a PNG, or JSON {{\"width\", \"height\", \"pixels\"}})");
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
