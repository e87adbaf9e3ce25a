// Netpbm gray and colour maps: P2/P5 (PGM) and P3/P6 (PPM), ASCII or binary,
// maxval 1..65535 (two big-endian bytes a sample above 255), '#' comments in
// the header. Samples are scaled to 0..255. Small enough to read by hand.
#include <cctype>

#include "ember/core/error.h"
#include "ember/io/image_codec.h"

namespace ember::io::detail {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view bytes) : s_(bytes) {}
  // Skips whitespace and comments, then reads a decimal number.
  std::int64_t number(const char* what) {
    skip_space();
    EMBER_CHECK(pos_ < s_.size(), "truncated PNM (the file ends before its {})", what);
    EMBER_CHECK(std::isdigit(static_cast<unsigned char>(s_[pos_])), "corrupt PNM ({} at byte {} is not a number)", what,
                pos_);
    std::int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      v = v * 10 + (s_[pos_++] - '0');
      EMBER_CHECK(v <= (std::int64_t{1} << 40), "corrupt PNM ({} is too large)", what);
    }
    return v;
  }
  void skip_space() {
    while (pos_ < s_.size()) {
      if (s_[pos_] == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else {
        break;
      }
    }
  }
  // Binary formats: exactly one whitespace byte separates the header from the data.
  void one_space() {
    EMBER_CHECK(pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])),
                "corrupt PNM (no whitespace after the header's maxval)");
    ++pos_;
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 2;  // after "P<n>"
};

}  // namespace

DecodedImage decode_pnm(std::string_view bytes, std::int64_t max_pixels) {
  EMBER_CHECK(bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '2' && bytes[1] <= '6' && bytes[1] != '4',
              "not a PGM/PPM file (expected P2, P3, P5 or P6)");
  const char kind = bytes[1];
  const bool binary = kind == '5' || kind == '6';
  const int channels = kind == '3' || kind == '6' ? 3 : 1;
  Reader r(bytes);
  const std::int64_t width = r.number("width"), height = r.number("height");
  check_dimensions(width, height, max_pixels, "PNM");
  const std::int64_t maxval = r.number("maxval");
  EMBER_CHECK(maxval >= 1 && maxval <= 65535, "corrupt PNM (maxval {} is outside 1..65535)", maxval);
  const std::size_t count = static_cast<std::size_t>(width * height * channels);
  auto scale = [maxval](std::int64_t v) { return static_cast<std::uint8_t>((v * 255 + maxval / 2) / maxval); };

  DecodedImage out;
  out.width = width;
  out.height = height;
  out.channels = channels;
  if (binary) {
    r.one_space();
    const std::size_t bps = maxval > 255 ? 2 : 1;
    const std::size_t have = bytes.size() - r.pos();
    EMBER_CHECK(have >= count * bps, "truncated PNM ({} bytes of pixel data, {}x{} needs {})", have, width, height,
                count * bps);
    out.pixels.resize(count);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + r.pos();
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t v = bps == 2 ? (std::int64_t{p[2 * i]} << 8) | p[2 * i + 1] : std::int64_t{p[i]};
      EMBER_CHECK(v <= maxval, "corrupt PNM (sample {} exceeds maxval {})", v, maxval);
      out.pixels[i] = scale(v);
    }
  } else {
    // An ASCII sample takes at least two bytes ("0 "): a short file is refused
    // before the pixel buffer is allocated.
    EMBER_CHECK(bytes.size() - r.pos() + 1 >= 2 * count, "truncated PNM ({}x{} needs {} samples; {} bytes remain)",
                width, height, count, bytes.size() - r.pos());
    out.pixels.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t v = r.number("sample");
      EMBER_CHECK(v <= maxval, "corrupt PNM (sample {} exceeds maxval {})", v, maxval);
      out.pixels[i] = scale(v);
    }
  }
  return out;
}

}  // namespace ember::io::detail
