#pragma once
/// float16 (IEEE binary16) and bfloat16 as 16-bit storage: conversion to and
/// from float, rounding to nearest even, NaN kept NaN. Ember stores these
/// dtypes but computes in float32 (see DType).
#include <cstdint>
#include <cstring>

namespace ember {

/// The bits of an IEEE binary16 value.
struct Half {
  std::uint16_t bits = 0;
};
/// The bits of a bfloat16 value (the top half of a float32).
struct BFloat16 {
  std::uint16_t bits = 0;
};

inline float half_to_float(Half h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h.bits & 0x8000u) << 16;
  std::uint32_t exp = (h.bits >> 10) & 0x1Fu, man = h.bits & 0x3FFu, out;
  if (exp == 0x1F) {
    out = sign | 0x7F800000u | (man << 13);  // inf or NaN
  } else if (exp == 0) {
    if (man == 0) {
      out = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      out = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
    }
  } else {
    out = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &out, 4);
  return f;
}

inline Half float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return {static_cast<std::uint16_t>(sign | 0x7E00u)};  // NaN
  if (abs >= 0x477FF000u) return {static_cast<std::uint16_t>(sign | 0x7C00u)};  // rounds to inf (or is inf)
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (abs < 0x33000000u) return {sign};  // under half the smallest subnormal
    const std::uint32_t e = abs >> 23, m = (abs & 0x7FFFFFu) | 0x800000u;
    const std::uint32_t shift = 126 - e;  // 14 + (112 - e) - ... : aligns to 2^-24 units
    std::uint32_t v = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (v & 1u))) ++v;
    return {static_cast<std::uint16_t>(sign | v)};
  }
  std::uint32_t v = ((abs >> 13) - (112u << 10));
  const std::uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (v & 1u))) ++v;
  return {static_cast<std::uint16_t>(sign | v)};
}

inline float bfloat16_to_float(BFloat16 b) {
  const std::uint32_t x = static_cast<std::uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

inline BFloat16 float_to_bfloat16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return {static_cast<std::uint16_t>((x >> 16) | 0x40u)};  // quiet NaN
  x += 0x7FFFu + ((x >> 16) & 1u);  // round to nearest even
  return {static_cast<std::uint16_t>(x >> 16)};
}

}  // namespace ember
