// The AMX kernels' loops over plain pointers (raw.cpp), for prefill and
// batched decode: 16 tokens per tile. Built like avx512/raw.cpp: raw.cpp with
// -mamx-* and -mavx512* flags and nothing shared with the rest of the program
// but these plain structs and functions; raw_emu.cpp builds the same source
// on a C++ model of the tile instructions (tiles.h) and SIMDe, for the tests.
#pragma once

#include <cstddef>
#include <cstdint>

#ifndef QUARRY_AMX_NS
#define QUARRY_AMX_NS amx
#endif

namespace quarry::kernels::QUARRY_AMX_NS {

constexpr size_t kTile = 16;  // tokens per tile, rows per weight tile

// Rows of an MXFP4 matrix.
struct Mxfp4Rows {
  const uint8_t* codes;   // HF: 16 code bytes per block; GGML: 17-byte blocks
  size_t codes_stride;    // bytes per row
  const uint8_t* scales;  // HF: one E8M0 byte per block; GGML: null
  size_t scales_stride;
  size_t n_rows;
  size_t n_blocks;
  bool hf;
};

// Activations quantized to int8 per block of 32, as the B operand of TDPBSSD:
// for token tile j and block b, q[(j * n_blocks + b) * 512 + 64 k + 4 n + i]
// is token 16 j + n's code at the block's position 4 k + i in nibble order
// (positions 0-15: the low nibbles of code bytes 0-15, 16-31: the high ones);
// d[(j * n_blocks + b) * 16 + n] its scale. Tokens past the last are zero.
struct TileActs {
  const int8_t* q;
  const float* d;
};

// y[t][r] = bias[r] + sum over blocks of w_scale * x_scale * int dot, for
// t < n_tok and r < w.n_rows. half: 2^(s-128) per scale byte. scratch:
// n_blocks * 16 * 36 bytes (one weight tile's decoded codes and scales).
void mxfp4_tiles(const TileActs& a, size_t n_tok, const Mxfp4Rows& w, const float* half,
                 const float* bias, float* y, size_t ldy, uint8_t* scratch);

// y[t][r] = bias[r] + sum over i < n of x[t][i] * w[r][i], BF16 inputs (n a
// multiple of 32, n_rows of 32). x as the B operand of TDPBF16PS: for token
// tile j and columns [32 c, 32 c + 32), x[(j * n / 32 + c) * 512 + 32 k + 2 n + i]
// is token 16 j + n's element 32 c + 2 k + i (zero past the last token).
void bf16_tiles(const uint16_t* x, size_t n_tok, const uint16_t* w, size_t ldw, size_t n_rows,
                size_t n, const float* bias, float* y, size_t ldy);

}  // namespace quarry::kernels::QUARRY_AMX_NS
