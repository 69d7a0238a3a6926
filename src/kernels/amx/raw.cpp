// The `amx_fast` tile loops (see raw.h for how they are built).
//
// MXFP4: one weight tile is 16 rows; its codes are decoded once per call into
// int8 tiles of 16 rows x 32 (one block, nibble order, doubled E2M1 values),
// the A operand. Each block's TDPBSSD against a token tile's B gives 16 x 16
// integer dots; those are scaled by w_scale * x_scale and added to float
// accumulators (one 16-token vector per row), since every block has its own
// scales.
//
// BF16: the weights are the A operand as they lie in memory (16 rows x 32
// elements per tile); 2 weight tiles x 2 token tiles accumulate in the four
// C tiles over the whole row, then are written out transposed.
#include "kernels/amx/raw.h"

#include <cstring>

#include "kernels/amx/tiles.h"
#include "kernels/avx512/simd.h"

namespace quarry::kernels::QUARRY_AMX_NS {
namespace {

using F = simde__m512;

using simd512::min_size;
using simd512::to_float;

// Rows [r0, r0 + 16) of w as A tiles: codes [b][16][32] (rows past the end
// zero) and scales [b][16].
void decode_weight_tile(const Mxfp4Rows& w, size_t r0, const float* half, int8_t* codes,
                        float* scales) {
  const simde__m128i lut =
      simde_mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  const simde__m128i mask = simde_mm_set1_epi8(0x0F);
  const size_t G = w.n_blocks;
  for (size_t r = 0; r < kTile; ++r) {
    if (r0 + r >= w.n_rows) {
      for (size_t b = 0; b < G; ++b) {
        std::memset(codes + (b * kTile + r) * 32, 0, 32);
        scales[b * kTile + r] = 0.0f;
      }
      continue;
    }
    const uint8_t* row = w.codes + (r0 + r) * w.codes_stride;
    for (size_t b = 0; b < G; ++b) {
      const uint8_t* c = w.hf ? row + b * 16 : row + b * 17 + 1;
      const uint8_t s = w.hf ? w.scales[(r0 + r) * w.scales_stride + b] : row[b * 17];
      const simde__m128i bytes = simde_mm_loadu_si128(c);
      const simde__m128i lo = simde_mm_shuffle_epi8(lut, simde_mm_and_si128(bytes, mask));
      const simde__m128i hi =
          simde_mm_shuffle_epi8(lut, simde_mm_and_si128(simde_mm_srli_epi16(bytes, 4), mask));
      int8_t* out = codes + (b * kTile + r) * 32;
      simde_mm_storeu_si128(out, lo);
      simde_mm_storeu_si128(out + 16, hi);
      scales[b * kTile + r] = half[s];
    }
  }
}

// Writes a 16 x 16 block (rows of w x tokens) transposed into y, the valid
// part only, with the bias.
void write_tile(const float* c, size_t ldc, size_t r0, size_t n_rows, size_t t0, size_t n_tok,
                const float* bias, float* y, size_t ldy) {
  const size_t nr = min_size(kTile, n_rows - r0), nt = min_size(kTile, n_tok - t0);
  for (size_t r = 0; r < nr; ++r) {
    const float b = bias != nullptr ? bias[r0 + r] : 0.0f;
    for (size_t t = 0; t < nt; ++t) y[(t0 + t) * ldy + r0 + r] = c[r * ldc + t] + b;
  }
}

}  // namespace

void mxfp4_tiles(const TileActs& a, size_t n_tok, const Mxfp4Rows& w, const float* half,
                 const float* bias, float* y, size_t ldy, uint8_t* scratch) {
  const size_t G = w.n_blocks, n_tiles = (n_tok + kTile - 1) / kTile;
  int8_t* codes = reinterpret_cast<int8_t*>(scratch);
  float* scales = reinterpret_cast<float*>(scratch + G * kTile * 32);
  tiles::Config cfg;
  tiles::set_tile(cfg, 0, 16, 32);  // A: 16 weight rows x one block
  tiles::set_tile(cfg, 1, 8, 64);   // B: the block's 32 codes x 16 tokens, 4 per dword
  tiles::set_tile(cfg, 2, 16, 64);  // C: 16 rows x 16 tokens, int32
  QUARRY_TILE_CONFIG(cfg);
  alignas(64) int32_t dots[kTile * kTile];
  alignas(64) float out[kTile * kTile];
  for (size_t r0 = 0; r0 < w.n_rows; r0 += kTile) {
    decode_weight_tile(w, r0, half, codes, scales);
    for (size_t j = 0; j < n_tiles; ++j) {
      F acc[kTile];
#pragma GCC unroll 16
      for (size_t r = 0; r < kTile; ++r) acc[r] = simde_mm512_setzero_ps();
      for (size_t b = 0; b < G; ++b) {
        QUARRY_TILE_LOAD(0, codes + b * kTile * 32, 32);
        QUARRY_TILE_LOAD(1, a.q + (j * G + b) * 512, 64);
        QUARRY_TILE_ZERO(2);
        QUARRY_TILE_DPBSSD(2, 0, 1);
        QUARRY_TILE_STORE(2, dots, 64);
        const F sx = simde_mm512_loadu_ps(a.d + (j * G + b) * kTile);
#pragma GCC unroll 16
        for (size_t r = 0; r < kTile; ++r) {
          const F s = simde_mm512_mul_ps(simde_mm512_set1_ps(scales[b * kTile + r]), sx);
          acc[r] =
              simde_mm512_fmadd_ps(to_float(simde_mm512_loadu_si512(dots + r * kTile)), s, acc[r]);
        }
      }
#pragma GCC unroll 16
      for (size_t r = 0; r < kTile; ++r) simde_mm512_storeu_ps(out + r * kTile, acc[r]);
      write_tile(out, kTile, r0, w.n_rows, j * kTile, n_tok, bias, y, ldy);
    }
  }
  QUARRY_TILE_RELEASE();
}

void bf16_tiles(const uint16_t* x, size_t n_tok, const uint16_t* w, size_t ldw, size_t n_rows,
                size_t n, const float* bias, float* y, size_t ldy) {
  const size_t n_tiles = (n_tok + kTile - 1) / kTile, n_chunks = n / 32;
  tiles::Config cfg;
  for (int t = 0; t < 8; ++t) tiles::set_tile(cfg, t, 16, 64);
  QUARRY_TILE_CONFIG(cfg);
  alignas(64) float out[kTile * kTile];
  const size_t wstride = ldw * sizeof(uint16_t);
  for (size_t r0 = 0; r0 + 2 * kTile <= n_rows; r0 += 2 * kTile) {
    const uint16_t* w0 = w + r0 * ldw;
    const uint16_t* w1 = w + (r0 + kTile) * ldw;
    for (size_t j = 0; j < n_tiles; j += 2) {
      const bool two = j + 1 < n_tiles;
      const uint16_t* x0 = x + j * n_chunks * 512;
      const uint16_t* x1 = x0 + n_chunks * 512;
      // C tiles 4, 5: rows r0.. x tokens of tile j, j + 1; 6, 7: rows r0 + 16..
      QUARRY_TILE_ZERO(4);
      QUARRY_TILE_ZERO(5);
      QUARRY_TILE_ZERO(6);
      QUARRY_TILE_ZERO(7);
      for (size_t c = 0; c < n_chunks; ++c) {
        QUARRY_TILE_LOAD(0, w0 + c * 32, wstride);
        QUARRY_TILE_LOAD(1, w1 + c * 32, wstride);
        QUARRY_TILE_LOAD(2, x0 + c * 512, 64);
        QUARRY_TILE_DPBF16PS(4, 0, 2);
        QUARRY_TILE_DPBF16PS(6, 1, 2);
        if (two) {
          QUARRY_TILE_LOAD(3, x1 + c * 512, 64);
          QUARRY_TILE_DPBF16PS(5, 0, 3);
          QUARRY_TILE_DPBF16PS(7, 1, 3);
        }
      }
      QUARRY_TILE_STORE(4, out, 64);
      write_tile(out, kTile, r0, n_rows, j * kTile, n_tok, bias, y, ldy);
      QUARRY_TILE_STORE(6, out, 64);
      write_tile(out, kTile, r0 + kTile, n_rows, j * kTile, n_tok, bias, y, ldy);
      if (two) {
        QUARRY_TILE_STORE(5, out, 64);
        write_tile(out, kTile, r0, n_rows, (j + 1) * kTile, n_tok, bias, y, ldy);
        QUARRY_TILE_STORE(7, out, 64);
        write_tile(out, kTile, r0 + kTile, n_rows, (j + 1) * kTile, n_tok, bias, y, ldy);
      }
    }
  }
  QUARRY_TILE_RELEASE();
}

}  // namespace quarry::kernels::QUARRY_AMX_NS
