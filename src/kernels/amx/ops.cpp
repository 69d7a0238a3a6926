// The `amx_fast` table: `avx512_fast` with AMX tiles for calls with many
// tokens (prefill, batched decode): MXFP4 experts by TDPBSSD (the same int8
// activations as avx512_fast), dense BF16 by TDPBF16PS (the same BF16-rounded
// activations). Calls with few tokens, and shapes the tiles do not cover,
// stay on avx512_fast. Built like avx512/ops.cpp; raw_emu.cpp and
// ops_emu.cpp make the `amx_emu` table for the tests.
#include <vector>

#include "kernels/amx/amx_kernels.h"
#include "kernels/amx/raw.h"
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/numeric.h"

#ifndef QUARRY_AMX_EMU
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace quarry::kernels::QUARRY_AMX_NS {
namespace {

// Below this many tokens a call stays on the AVX-512 loops: a tile computes
// 16 tokens whatever the count.
constexpr size_t kMinTokens = 8;

const Ops& base() {
#ifdef QUARRY_AMX_EMU
  return avx512_emu::fast_ops();
#else
  return avx512::fast_ops();
#endif
}

struct Scratch {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<uint8_t> weights;
  std::vector<uint16_t> xb;
};

// Quantizes each block of 32 by quantize_block_q8 into raw.h's TileActs
// layout.
void prepare(const float* x, size_t ldx, size_t n_tok, size_t G, Mxfp4Layout layout, Scratch& s) {
  const size_t n_tiles = (n_tok + kTile - 1) / kTile;
  s.q.assign(n_tiles * G * 512, 0);
  s.d.assign(n_tiles * G * kTile, 0.0f);
  for (size_t t = 0; t < n_tok; ++t) {
    const size_t j = t / kTile, n = t % kTile;
    for (size_t b = 0; b < G; ++b) {
      int8_t xq[32];
      quantize_block_q8(x + t * ldx + b * 32, xq, &s.d[(j * G + b) * kTile + n]);
      int8_t* q = s.q.data() + (j * G + b) * 512;
      for (int p = 0; p < 32; ++p) {
        // Position p: low nibble of code byte p (p < 16), else the high one of p - 16.
        const int e = layout == Mxfp4Layout::kGgml ? p : p < 16 ? 2 * p : 2 * (p - 16) + 1;
        q[64 * (p / 4) + 4 * n + p % 4] = xq[e];
      }
    }
  }
}

void moe_matmul(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w, const float* bias,
                float* y, size_t ldy) {
  if (n_tok < kMinTokens) return base().moe_matmul_f32_mxfp4w(x, ldx, n_tok, w, bias, y, ldy);
  const size_t G = w.n_blocks();
  thread_local Scratch s;
  prepare(x, ldx, n_tok, G, w.layout, s);
  s.weights.resize(G * kTile * 36);
  const Mxfp4Rows rows{
      w.codes, w.codes_row_stride,          w.scales, w.scales_row_stride, w.n_rows,
      G,       w.layout == Mxfp4Layout::kHF};
  mxfp4_tiles(TileActs{s.q.data(), s.d.data()}, n_tok, rows, avx2::half_scales(), bias, y, ldy,
              s.weights.data());
}

void matmul_bf16(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w, const float* bias,
                 float* y, size_t ldy) {
  const size_t n = w.d_in, tiled_rows = w.n_rows / 32 * 32;
  if (n_tok < kMinTokens || n % 32 != 0 || tiled_rows == 0) {
    return base().matmul_f32_bf16w(x, ldx, n_tok, w, bias, y, ldy);
  }
  const size_t n_tiles = (n_tok + kTile - 1) / kTile, n_chunks = n / 32;
  thread_local Scratch s;
  s.xb.assign(n_tiles * n_chunks * 512, 0);
  for (size_t t = 0; t < n_tok; ++t) {
    const size_t j = t / kTile, col = t % kTile;
    for (size_t i = 0; i < n; ++i) {
      const size_t c = i / 32, k = i % 32;
      s.xb[(j * n_chunks + c) * 512 + 32 * (k / 2) + 2 * col + k % 2] = f32_to_bf16(x[t * ldx + i]);
    }
  }
  bf16_tiles(s.xb.data(), n_tok, static_cast<const uint16_t*>(w.data), w.row_stride, tiled_rows, n,
             bias, y, ldy);
  if (tiled_rows < w.n_rows) {
    base().matmul_f32_bf16w(x, ldx, n_tok, w.rows(tiled_rows, w.n_rows),
                            bias != nullptr ? bias + tiled_rows : nullptr, y + tiled_rows, ldy);
  }
}

Ops make_ops(const char* name) {
  Ops o = base();
  o.isa = name;
  o.moe_matmul_f32_mxfp4w = moe_matmul;
  o.matmul_f32_bf16w = matmul_bf16;
  return o;
}

}  // namespace

#ifdef QUARRY_AMX_EMU
const Ops& fast_ops() {
  static const Ops o = make_ops("amx_emu");
  return o;
}
#else
bool fast_supported() {
  static const bool ok = [] {
    if (!avx512::fast_supported() || !__builtin_cpu_supports("amx-tile") ||
        !__builtin_cpu_supports("amx-int8") || !__builtin_cpu_supports("amx-bf16")) {
      return false;
    }
    // Linux hands out the tile state only on request (ARCH_REQ_XCOMP_PERM for
    // XTILEDATA), once per process.
    constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
  }();
  return ok;
}

const Ops& fast_ops() {
  static const Ops o = make_ops("amx_fast");
  return o;
}
#endif

}  // namespace quarry::kernels::QUARRY_AMX_NS
