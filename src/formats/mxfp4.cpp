#include "formats/mxfp4.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace quarry::formats {

const float kFp4E2M1[16] = {+0.0f, +0.5f, +1.0f, +1.5f, +2.0f, +3.0f, +4.0f, +6.0f,
                            -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

float mxfp4_scale(uint8_t scale) { return std::ldexp(1.0f, static_cast<int>(scale) - 127); }

void mxfp4_decode_hf_block(const uint8_t codes[16], uint8_t scale, float out[32]) {
  const float s = mxfp4_scale(scale);
  for (int j = 0; j < 16; ++j) {
    out[2 * j] = kFp4E2M1[codes[j] & 0x0F] * s;
    out[2 * j + 1] = kFp4E2M1[codes[j] >> 4] * s;
  }
}

void mxfp4_decode_ggml_block(const uint8_t block[17], float out[32]) {
  const float s = mxfp4_scale(block[0]);
  const uint8_t* qs = block + 1;
  for (int j = 0; j < 16; ++j) {
    out[j] = kFp4E2M1[qs[j] & 0x0F] * s;
    out[j + 16] = kFp4E2M1[qs[j] >> 4] * s;
  }
}

void mxfp4_hf_to_ggml_block(const uint8_t codes[16], uint8_t scale, uint8_t out[17]) {
  uint8_t c[32];
  for (int j = 0; j < 16; ++j) {
    c[2 * j] = codes[j] & 0x0F;
    c[2 * j + 1] = codes[j] >> 4;
  }
  out[0] = scale;
  for (int j = 0; j < 16; ++j) out[1 + j] = static_cast<uint8_t>(c[j] | c[j + 16] << 4);
}

void mxfp4_ggml_to_hf_block(const uint8_t block[17], uint8_t codes[16], uint8_t* scale) {
  uint8_t c[32];
  for (int j = 0; j < 16; ++j) {
    c[j] = block[1 + j] & 0x0F;
    c[j + 16] = block[1 + j] >> 4;
  }
  *scale = block[0];
  for (int j = 0; j < 16; ++j) codes[j] = static_cast<uint8_t>(c[2 * j] | c[2 * j + 1] << 4);
}

namespace {

Status bad_scale(const TensorInfo& t, uint64_t block, uint64_t byte) {
  return make_error(t.file + ": tensor '" + t.name + "': MXFP4 block " + std::to_string(block) +
                    " has the invalid scale 255 (byte offset " +
                    std::to_string(t.file_offset + byte) + ")");
}

}  // namespace

Status mxfp4_check_hf_scales(const TensorInfo& scales) {
  if (scales.dtype != DType::kU8) {
    return make_error(scales.file + ": tensor '" + scales.name +
                      "': MXFP4 scales must be U8, not " + std::string(dtype_name(scales.dtype)));
  }
  for (uint64_t i = 0; i < scales.nbytes; ++i) {
    if (scales.data[i] == kMxfp4InvalidScale) return bad_scale(scales, i, i);
  }
  return Status::Ok();
}

Status mxfp4_check_ggml_scales(const TensorInfo& blocks) {
  if (blocks.dtype != DType::kMXFP4) {
    return make_error(blocks.file + ": tensor '" + blocks.name + "': expected MXFP4, not " +
                      std::string(dtype_name(blocks.dtype)));
  }
  const uint64_t n = blocks.nbytes / kMxfp4GgmlBlockBytes;
  for (uint64_t b = 0; b < n; ++b) {
    if (blocks.data[b * kMxfp4GgmlBlockBytes] == kMxfp4InvalidScale) {
      return bad_scale(blocks, b, b * kMxfp4GgmlBlockBytes);
    }
  }
  return Status::Ok();
}

Status mxfp4_check_hf_pair(const TensorInfo& blocks, const TensorInfo& scales) {
  const auto& b = blocks.shape;
  const auto& s = scales.shape;
  const bool ok = blocks.dtype == DType::kU8 && scales.dtype == DType::kU8 && !b.empty() &&
                  b.back() == kMxfp4HfBlockBytes && s.size() + 1 == b.size() &&
                  std::equal(s.begin(), s.end(), b.begin());
  if (ok) return Status::Ok();
  return make_error(blocks.file + ": MXFP4 tensors '" + blocks.name + "' (" +
                    std::string(dtype_name(blocks.dtype)) + " " + shape_string(b) +
                    ", byte offset " + std::to_string(blocks.file_offset) + ") and '" +
                    scales.name + "' (" + std::string(dtype_name(scales.dtype)) + " " +
                    shape_string(s) + ", " + scales.file + " byte offset " +
                    std::to_string(scales.file_offset) +
                    ") do not pair up: expected U8 [..., G, 16] and U8 [..., G]");
}

Status mxfp4_hf_to_ggml(std::span<const uint8_t> codes, std::span<const uint8_t> scales,
                        std::span<uint8_t> out) {
  const size_t n = scales.size();
  if (codes.size() != n * kMxfp4HfBlockBytes || out.size() != n * kMxfp4GgmlBlockBytes) {
    return make_error("mxfp4_hf_to_ggml: " + std::to_string(n) + " scales need " +
                      std::to_string(n * kMxfp4HfBlockBytes) + " code bytes (got " +
                      std::to_string(codes.size()) + ") and " +
                      std::to_string(n * kMxfp4GgmlBlockBytes) + " output bytes (got " +
                      std::to_string(out.size()) + ")");
  }
  for (size_t i = 0; i < n; ++i) {
    mxfp4_hf_to_ggml_block(codes.data() + i * kMxfp4HfBlockBytes, scales[i],
                           out.data() + i * kMxfp4GgmlBlockBytes);
  }
  return Status::Ok();
}

}  // namespace quarry::formats
