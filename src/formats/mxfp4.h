// MXFP4 (OCP microscaling FP4): 32 E2M1 values sharing one E8M0 scale.
//  - HF release: `*_blocks` (U8, [..., G, 16]) and `*_scales` (U8, [..., G]);
//    in block byte j the low nibble is element 2j, the high nibble element 2j+1.
//  - ggml block_mxfp4 {u8 e; u8 qs[16]}: element j is the low nibble of qs[j],
//    element j+16 its high nibble.
// Value = FP4[code] * 2^(scale - 127). Scale 255 (NaN in OCP) is invalid input.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "formats/tensor.h"

namespace quarry::formats {

inline constexpr uint32_t kMxfp4BlockElems = 32;
inline constexpr uint32_t kMxfp4HfBlockBytes = 16;    // codes only; the scale is separate
inline constexpr uint32_t kMxfp4GgmlBlockBytes = 17;  // scale first, then 16 code bytes
inline constexpr uint8_t kMxfp4InvalidScale = 255;

// E2M1 code -> value: 0, .5, 1, 1.5, 2, 3, 4, 6 and their negatives (8..15).
extern const float kFp4E2M1[16];

// 2^(scale - 127) (exact; scale 0 gives the subnormal 2^-127). Undefined for 255.
float mxfp4_scale(uint8_t scale);

// One HF block (16 code bytes and its scale) -> 32 floats.
void mxfp4_decode_hf_block(const uint8_t codes[16], uint8_t scale, float out[32]);
// One ggml block_mxfp4 (17 bytes) -> 32 floats.
void mxfp4_decode_ggml_block(const uint8_t block[17], float out[32]);
// HF block -> ggml block: out[0] = scale, out[1 + j] = code[j] | code[j + 16] << 4.
void mxfp4_hf_to_ggml_block(const uint8_t codes[16], uint8_t scale, uint8_t out[17]);
// ggml block -> HF block (the inverse).
void mxfp4_ggml_to_hf_block(const uint8_t block[17], uint8_t codes[16], uint8_t* scale);

// Validation at load time: every scale byte must differ from 255. The error
// names the tensor, the block index and the byte offset in its file.
// `scales`: an HF *_scales tensor (U8); `blocks`: a ggml MXFP4 tensor.
Status mxfp4_check_hf_scales(const TensorInfo& scales);
Status mxfp4_check_ggml_scales(const TensorInfo& blocks);
// Checks that an HF pair fits together: blocks U8 [..., G, 16], scales U8
// [..., G] with the same leading dimensions. Names both tensors on error.
Status mxfp4_check_hf_pair(const TensorInfo& blocks, const TensorInfo& scales);

// Converts n_blocks HF blocks (codes: n_blocks x 16 bytes, scales: n_blocks
// bytes) into ggml blocks (out: n_blocks x 17 bytes); an error when the sizes
// do not agree.
Status mxfp4_hf_to_ggml(std::span<const uint8_t> codes, std::span<const uint8_t> scales,
                        std::span<uint8_t> out);

}  // namespace quarry::formats
