// Scalar number formats: bf16, IEEE half, MXFP4 (E2M1 codes with E8M0 scales).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace quarry::kernels {

inline float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

// Round to nearest even; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // +-0
  } else {        // subnormal: renormalise
    uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mant & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

// E2M1 code -> value (bit 3 is the sign).
inline constexpr float kFp4Values[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                         -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// E8M0 scale byte s -> 2^(s-127), exactly as ldexp gives it (s = 0 is the
// subnormal 2^-127; s = 255 gives +inf, which the references do not special-case).
inline float e8m0_to_f32(uint8_t s) {
  if (s == 0) return std::bit_cast<float>(0x00400000u);
  if (s == 255) return std::bit_cast<float>(0x7F800000u);
  return std::bit_cast<float>(static_cast<uint32_t>(s) << 23);
}

// Decodes one block of 32 values.
inline void mxfp4_decode_block_hf(const uint8_t codes[16], uint8_t scale, float out[32]) {
  const float s = e8m0_to_f32(scale);
  for (int j = 0; j < 16; ++j) {
    out[2 * j] = kFp4Values[codes[j] & 0x0F] * s;
    out[2 * j + 1] = kFp4Values[codes[j] >> 4] * s;
  }
}
inline void mxfp4_decode_block_ggml(const uint8_t block[17], float out[32]) {
  const float s = e8m0_to_f32(block[0]);
  for (int j = 0; j < 16; ++j) {
    out[j] = kFp4Values[block[1 + j] & 0x0F] * s;
    out[j + 16] = kFp4Values[block[1 + j] >> 4] * s;
  }
}

// Q8 blocks: 32 values as int8 codes in [-127, 127] times one f32 scale,
// scale = max|x| / 127 and code = round-to-nearest-even(x * (127 / max|x|)).
// Weights (at load) and activations (per matmul) are quantized by this one
// function, so every kernel variant sees the same codes.
inline void quantize_block_q8(const float* x, int8_t* q, float* scale) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  if (!(amax > 0.0f) || !std::isfinite(amax)) {
    for (int i = 0; i < 32; ++i) q[i] = 0;
    *scale = std::isfinite(amax) ? 0.0f : amax;
    return;
  }
  const float inv = 127.0f / amax;
  for (int i = 0; i < 32; ++i) {
    const float v = std::nearbyint(x[i] * inv);
    q[i] = static_cast<int8_t>(v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v));
  }
  *scale = amax / 127.0f;
}

}  // namespace quarry::kernels
