// Reference matmuls: y = x W^T + b for BF16, F16, F32 and MXFP4 weight rows.
//
// Summation order (fixed, so faster variants can reproduce it): element i of
// the dot product goes to lane i % 8; each lane sums in increasing i; the lanes
// are combined as ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)); then the bias is added.
#include <algorithm>
#include <vector>

#include "kernels/numeric.h"
#include "kernels/ref/ref_kernels.h"

namespace quarry::kernels::ref {
namespace {

constexpr size_t kLanes = 8;
constexpr size_t kTokTile = 4;  // tokens sharing one decoded weight chunk
constexpr size_t kChunk = 256;  // weights decoded at a time (a multiple of 32)

// load(r, i0, n, out) writes W[r][i0 .. i0+n) as floats.
template <class Load>
void matmul_rows(const float* x, size_t ldx, size_t n_tok, size_t n_rows, size_t d_in, Load load,
                 const float* bias, float* y, size_t ldy) {
  float wbuf[kChunk];
  for (size_t t0 = 0; t0 < n_tok; t0 += kTokTile) {
    const size_t nt = std::min(kTokTile, n_tok - t0);
    for (size_t r = 0; r < n_rows; ++r) {
      float acc[kTokTile][kLanes] = {};
      for (size_t i0 = 0; i0 < d_in; i0 += kChunk) {
        const size_t n = std::min(kChunk, d_in - i0);
        load(r, i0, n, wbuf);
        for (size_t t = 0; t < nt; ++t) {
          const float* xt = x + (t0 + t) * ldx + i0;
          float* a = acc[t];
          size_t i = 0;
          for (; i + kLanes <= n; i += kLanes) {
            for (size_t l = 0; l < kLanes; ++l) a[l] += xt[i + l] * wbuf[i + l];
          }
          for (; i < n; ++i) a[i % kLanes] += xt[i] * wbuf[i];
        }
      }
      for (size_t t = 0; t < nt; ++t) {
        const float* a = acc[t];
        const float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
        y[(t0 + t) * ldy + r] = bias != nullptr ? s + bias[r] : s;
      }
    }
  }
}

}  // namespace

void bf16_to_f32(const uint16_t* x, size_t n, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = kernels::bf16_to_f32(x[i]);
}

void f16_to_f32(const uint16_t* x, size_t n, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = kernels::f16_to_f32(x[i]);
}

void matmul_f32_bf16w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                      const float* bias, float* y, size_t ldy) {
  auto load = [&](size_t r, size_t i0, size_t n, float* out) {
    bf16_to_f32(reinterpret_cast<const uint16_t*>(w.row_ptr(r)) + i0, n, out);
  };
  matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
}

void matmul_f32_f16w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                     const float* bias, float* y, size_t ldy) {
  auto load = [&](size_t r, size_t i0, size_t n, float* out) {
    f16_to_f32(reinterpret_cast<const uint16_t*>(w.row_ptr(r)) + i0, n, out);
  };
  matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
}

void matmul_f32_f32w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                     const float* bias, float* y, size_t ldy) {
  auto load = [&](size_t r, size_t i0, size_t n, float* out) {
    std::copy_n(reinterpret_cast<const float*>(w.row_ptr(r)) + i0, n, out);
  };
  matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
}

void matmul_f32_q8w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                    const float* bias, float* y, size_t ldy) {
  const size_t nb = w.d_in / 32;
  thread_local std::vector<int8_t> qx;
  thread_local std::vector<float> sx;
  qx.resize(w.d_in);
  sx.resize(nb);
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t b = 0; b < nb; ++b) quantize_block_q8(x + t * ldx + b * 32, &qx[b * 32], &sx[b]);
    for (size_t r = 0; r < w.n_rows; ++r) {
      const auto* q = reinterpret_cast<const int8_t*>(w.row_ptr(r));
      const float* s = w.scales + r * w.scales_row_stride;
      float acc = 0.0f;
      for (size_t b = 0; b < nb; ++b) {
        int32_t dot = 0;
        for (size_t i = b * 32; i < b * 32 + 32; ++i) dot += int32_t{q[i]} * int32_t{qx[i]};
        acc += (s[b] * sx[b]) * static_cast<float>(dot);
      }
      y[t * ldy + r] = bias != nullptr ? acc + bias[r] : acc;
    }
  }
}

void moe_matmul_f32_mxfp4w(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                           const float* bias, float* y, size_t ldy) {
  if (w.layout == Mxfp4Layout::kHF) {
    auto load = [&](size_t r, size_t i0, size_t n, float* out) {
      const uint8_t* codes = w.codes + r * w.codes_row_stride;
      const uint8_t* scales = w.scales + r * w.scales_row_stride;
      for (size_t k = 0; k < n; k += 32) {
        const size_t g = (i0 + k) / 32;
        mxfp4_decode_block_hf(codes + g * 16, scales[g], out + k);
      }
    };
    matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
  } else {
    auto load = [&](size_t r, size_t i0, size_t n, float* out) {
      const uint8_t* blocks = w.codes + r * w.codes_row_stride;
      for (size_t k = 0; k < n; k += 32) {
        mxfp4_decode_block_ggml(blocks + (i0 + k) / 32 * 17, out + k);
      }
    };
    matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
  }
}

}  // namespace quarry::kernels::ref
