// The `avx512_fast` table: `avx2_fast` with its MXFP4 and BF16 matmuls
// replaced by AVX-512 VNNI and AVX512-BF16 ones (raw.cpp). This file is built
// with the project's ordinary flags: it prepares the activations (int8 per
// block in nibble order, or BF16) and calls the raw loops. Compiled a second
// time as avx512_emu for the tests (raw.h).
#include <vector>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/avx512/raw.h"
#include "kernels/numeric.h"

namespace quarry::kernels::QUARRY_AVX512_NS {
namespace {

constexpr int kOffset = 12;  // raw.cpp's lookup table adds it to the weights

// The table whose other entries this one keeps.
const Ops& base() { return avx2::fast_supported() ? avx2::fast_ops() : ref_ops(); }

struct Acts {
  std::vector<int8_t> q;
  std::vector<int32_t> half_corr;
  std::vector<float> d;
};

// Quantizes each block of 32 by quantize_block_q8 and lays the tokens out as
// raw.h's PairActs.
void prepare(const float* x, size_t ldx, size_t n_tok, size_t n_pairs, Mxfp4Layout layout,
             Acts& a) {
  a.q.resize(n_tok * n_pairs * 64);
  a.half_corr.assign(n_tok * n_pairs * 8, 0);
  a.d.resize(n_tok * n_pairs * 8);
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t b = 0; b < 2 * n_pairs; ++b) {
      int8_t q[32];
      float d;
      quantize_block_q8(x + t * ldx + b * 32, q, &d);
      int32_t sum = 0;
      for (int i = 0; i < 32; ++i) sum += q[i];
      const size_t at = t * n_pairs + b / 2, h = b % 2;  // h: the block's half of the pair
      for (int j = 0; j < 16; ++j) {
        // Byte j of the block: its low nibble, then its high nibble.
        const int lo = layout == Mxfp4Layout::kGgml ? j : 2 * j;
        const int hi = layout == Mxfp4Layout::kGgml ? j + 16 : 2 * j + 1;
        a.q[at * 64 + h * 16 + j] = q[lo];
        a.q[at * 64 + 32 + h * 16 + j] = q[hi];
      }
      a.half_corr[at * 8 + h * 4] = -(kOffset / 2) * sum;
      for (int k = 0; k < 4; ++k) a.d[at * 8 + h * 4 + k] = d;
    }
  }
}

void moe_matmul(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w, const float* bias,
                float* y, size_t ldy) {
  if (w.n_blocks() % 2 != 0) return base().moe_matmul_f32_mxfp4w(x, ldx, n_tok, w, bias, y, ldy);
  const size_t n_pairs = w.n_blocks() / 2;
  thread_local Acts a;
  prepare(x, ldx, n_tok, n_pairs, w.layout, a);
  const Mxfp4Rows rows{
      w.codes, w.codes_row_stride,          w.scales, w.scales_row_stride, w.n_rows,
      n_pairs, w.layout == Mxfp4Layout::kHF};
  mxfp4_pairs(PairActs{a.q.data(), a.half_corr.data(), a.d.data()}, n_tok, rows,
              avx2::half_scales(), bias, y, ldy);
}

// Dense BF16: activations rounded to BF16, the first multiple of 32 columns
// by raw.cpp, the rest (none for gpt-oss) here in float.
void matmul_bf16(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w, const float* bias,
                 float* y, size_t ldy) {
  const size_t n = w.d_in, nv = n / 32 * 32;
  thread_local std::vector<uint16_t> xb;
  xb.resize(n_tok * nv);
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t i = 0; i < nv; ++i) xb[t * nv + i] = f32_to_bf16(x[t * ldx + i]);
  }
  const auto* wd = static_cast<const uint16_t*>(w.data);
  if (nv > 0) {
    bf16_rows(xb.data(), nv, n_tok, wd, w.row_stride, w.n_rows, nv, y, ldy);
  } else {
    for (size_t t = 0; t < n_tok; ++t) {
      for (size_t r = 0; r < w.n_rows; ++r) y[t * ldy + r] = 0.0f;
    }
  }
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t r = 0; r < w.n_rows; ++r) {
      float v = y[t * ldy + r];
      for (size_t i = nv; i < n; ++i) v += x[t * ldx + i] * bf16_to_f32(wd[r * w.row_stride + i]);
      y[t * ldy + r] = bias != nullptr ? v + bias[r] : v;
    }
  }
}

Ops make_ops(const char* name) {
  Ops o = base();
  o.isa = name;
  o.exact = false;
  o.moe_matmul_f32_mxfp4w = moe_matmul;
  o.matmul_f32_bf16w = matmul_bf16;
  return o;
}

}  // namespace

#ifdef QUARRY_AVX512_EMU
const Ops& fast_ops() {
  static const Ops o = make_ops("avx512_emu");
  return o;
}
#else
bool fast_supported() {
  return avx2::fast_supported() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16");
}

const Ops& fast_ops() {
  static const Ops o = make_ops("avx512_fast");
  return o;
}
#endif

}  // namespace quarry::kernels::QUARRY_AVX512_NS
