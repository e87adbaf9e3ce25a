#pragma once
/// A minimal protocol-buffer wire-format encoder: just what the few messages of
/// TensorBoard's event files need (varint, 64-bit, 32-bit and length-delimited
/// fields). Internal to log/; the messages themselves are built in events.cpp.
///
/// Why by hand and not libprotobuf: the messages are six, append-only and tiny;
/// encoding them takes ~100 lines, where libprotobuf would add a build-time
/// protoc step, a runtime library and its ABI to every program that logs.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ember::logging::proto {

/// Appends fields to a message buffer. Nested messages are encoded into their
/// own Message and added with `message(field, sub)`.
class Message {
 public:
  /// Wire type 0: int32/int64/bool/enum (negative int64 as ten bytes, as protobuf does).
  Message& varint(int field, std::uint64_t v) {
    key(field, 0);
    put_varint(v);
    return *this;
  }
  /// Wire type 1: double.
  Message& fixed64(int field, double v) {
    key(field, 1);
    put_raw(&v, 8);
    return *this;
  }
  /// Wire type 5: float.
  Message& fixed32(int field, float v) {
    key(field, 5);
    put_raw(&v, 4);
    return *this;
  }
  /// Wire type 2: string, bytes or an embedded message.
  Message& bytes(int field, std::string_view v) {
    key(field, 2);
    put_varint(v.size());
    buf_.append(v.data(), v.size());
    return *this;
  }
  Message& message(int field, const Message& m) { return bytes(field, m.buf_); }
  /// A packed repeated double (wire type 2 holding 8-byte values).
  template <class It>
  Message& packed_doubles(int field, It begin, It end) {
    key(field, 2);
    put_varint(static_cast<std::uint64_t>(end - begin) * 8);
    for (It it = begin; it != end; ++it) {
      const double d = *it;
      put_raw(&d, 8);
    }
    return *this;
  }

  const std::string& str() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  void key(int field, int wire) { put_varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(wire)); }
  void put_varint(std::uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  // Little-endian, as the wire format is (every target Ember builds for is little-endian).
  void put_raw(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }

  std::string buf_;
};

}  // namespace ember::logging::proto
