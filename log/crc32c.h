#pragma once
/// CRC-32C (Castagnoli), the checksum of TFRecord framing, and TensorFlow's
/// "masked" form of it that event files store.
#include <cstddef>
#include <cstdint>

namespace ember::logging {

/// CRC-32C of n bytes (reflected polynomial 0x82F63B78): crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(const void* data, std::size_t n);

/// TensorFlow's mask, so that a CRC of data holding CRCs stays well distributed:
/// ((crc >> 15) | (crc << 17)) + 0xa282ead8.
inline std::uint32_t masked_crc32c(const void* data, std::size_t n) {
  const std::uint32_t crc = crc32c(data, n);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace ember::logging
