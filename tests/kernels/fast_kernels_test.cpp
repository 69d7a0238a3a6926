// The non-exact variants against the reference, within bounds derived from
// what they change: `avx2_fast` quantizes each block of 32 activations to int8
// (|x - d q| <= d / 2 = amax / 254 per element) before the MXFP4 dot, sums the
// dense matmuls with FMA in another order (float rounding only), and for many
// tokens runs a float GEMM (within the same bounds); `avx512_fast` and
// `amx_fast` (run here also as their portable builds, `*_emu`) do the same for
// MXFP4 and round the activations to BF16 for the dense BF16 matmuls (checked
// against that product). Every shape of the dispatch is covered: decode (4-row
// passes and the remainder), token tiles with remainders, both MXFP4 layouts,
// odd block counts (the one-block fallback).
#include <gtest/gtest.h>

#include <cmath>
#include <string_view>
#include <utility>

#include "kernel_test_util.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"

namespace quarry::kernels {
namespace {

using testing::random_bytes;
using testing::random_floats;

const char* const kFastVariants[] = {"avx2_fast", "avx512_fast", "avx512_emu", "amx_fast",
                                     "amx_emu"};

class FastKernels : public testing::VariantTest {};

INSTANTIATE_TEST_SUITE_P(Variants, FastKernels, ::testing::ValuesIn(kFastVariants),
                         [](const auto& p) { return std::string(p.param); });

struct Shape {
  size_t n_tok, d_in, n_rows;
};
// From {9, ...} on: the AMX tiles (8+ tokens, partial token and row tiles,
// token tiles in pairs and alone, 32+ rows for BF16 with a remainder) and
// avx2_fast's float GEMM (BF16 from 12 tokens, Q8 from 16, MXFP4 from 32:
// partial 16-token tiles of up to 8 and of 9-15, partial 6-row groups).
const Shape kShapes[] = {{1, 2880, 9},   {1, 96, 4},  {2, 64, 5},    {3, 128, 3},  {4, 288, 6},
                         {5, 64, 7},     {9, 512, 4}, {6, 2880, 3},  {17, 96, 37}, {40, 64, 70},
                         {16, 2880, 33}, {64, 96, 7}, {77, 288, 13}, {29, 64, 8}};

TEST_P(FastKernels, Mxfp4WithinTheInt8ActivationBound) {
  // Plus 2, 3, 7 and 10 tokens (packed tiles of 4 and 2 tokens, plain ones
  // of 3, after a first tile or not) over more than one group of 4 rows and a
  // tail.
  std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
  shapes.insert(shapes.end(), {{3, 64, 9}, {2, 96, 10}, {7, 64, 4}, {10, 64, 6}});
  for (const Shape& s : shapes) {
    const size_t G = s.d_in / 32, ldx = s.d_in + 5, ldy = s.n_rows + 1;
    const auto x = random_floats(s.n_tok * ldx, 31);
    const auto codes = random_bytes(s.n_rows * G * 16, 32);
    const auto scales = random_bytes(s.n_rows * G, 33, 110, 135);
    const auto bias = random_floats(s.n_rows, 34);
    std::vector<uint8_t> ggml(s.n_rows * G * 17);
    std::vector<float> w(s.n_rows * s.d_in);  // decoded weights, element order
    for (size_t b = 0; b < s.n_rows * G; ++b) {
      testing::hf_to_ggml_block(&codes[b * 16], scales[b], &ggml[b * 17]);
      mxfp4_decode_block_hf(&codes[b * 16], scales[b], &w[b * 32]);
    }
    // The bound per output: sum over blocks of amax/254 * sum |w|, plus float
    // rounding on the magnitude of the dot.
    std::vector<double> bound(s.n_tok * s.n_rows);
    for (size_t t = 0; t < s.n_tok; ++t) {
      for (size_t r = 0; r < s.n_rows; ++r) {
        double b = 0.0, mag = 0.0;
        for (size_t g = 0; g < G; ++g) {
          double amax = 0.0, wsum = 0.0;
          for (size_t i = g * 32; i < g * 32 + 32; ++i) {
            amax = std::max(amax, std::fabs(static_cast<double>(x[t * ldx + i])));
            wsum += std::fabs(w[r * s.d_in + i]);
            mag += std::fabs(static_cast<double>(x[t * ldx + i]) * w[r * s.d_in + i]);
          }
          b += amax / 254.0 * wsum;
        }
        bound[t * s.n_rows + r] = b * 1.001 + mag * 1e-5 + 1e-6;
      }
    }
    const Mxfp4Matrix hf{
        Mxfp4Layout::kHF, codes.data(), scales.data(), s.n_rows, s.d_in, G * 16, G};
    const Mxfp4Matrix gg{Mxfp4Layout::kGgml, ggml.data(), nullptr, s.n_rows, s.d_in, G * 17, 0};
    for (const Mxfp4Matrix* m : {&hf, &gg}) {
      SCOPED_TRACE(std::string(m == &hf ? "HF" : "ggml") + " tokens " + std::to_string(s.n_tok) +
                   " d_in " + std::to_string(s.d_in) + " rows " + std::to_string(s.n_rows));
      std::vector<float> ya(s.n_tok * ldy, -1.0f), yb(ya);
      ref_ops().moe_matmul_f32_mxfp4w(x.data(), ldx, s.n_tok, *m, bias.data(), ya.data(), ldy);
      ops_->moe_matmul_f32_mxfp4w(x.data(), ldx, s.n_tok, *m, bias.data(), yb.data(), ldy);
      double worst = 0.0;
      for (size_t t = 0; t < s.n_tok; ++t) {
        for (size_t r = 0; r < s.n_rows; ++r) {
          const double err = std::fabs(static_cast<double>(ya[t * ldy + r]) - yb[t * ldy + r]);
          ASSERT_LE(err, bound[t * s.n_rows + r]) << "token " << t << " row " << r;
          worst = std::max(worst, err / bound[t * s.n_rows + r]);
        }
        EXPECT_EQ(yb[t * ldy + s.n_rows], -1.0f) << "wrote past the rows";
      }
      // Not trivially equal either: the int8 path really ran.
      EXPECT_GT(worst, 0.0);
    }
  }
}

TEST_P(FastKernels, DenseBf16WithinRounding) {
  // Plus widths that leave 8 and 7 inputs after the vector loops, or no
  // vector step at all, and 13 tokens (three full tiles and one token).
  std::vector<Shape> shapes(std::begin(kShapes), std::end(kShapes));
  shapes.insert(shapes.end(), {{7, 72, 5}, {2, 39, 3}, {11, 2880, 9}, {3, 10, 4}, {13, 48, 5}});
  for (const Shape& s : shapes) {
    const size_t ldx = s.d_in + 3, ldy = s.n_rows + 2;
    const auto x = random_floats(s.n_tok * ldx, 41);
    const auto wf = random_floats(s.n_rows * s.d_in, 42, 0.05f);
    const auto bias = random_floats(s.n_rows, 43);
    std::vector<uint16_t> wb(wf.size());
    for (size_t i = 0; i < wf.size(); ++i) wb[i] = f32_to_bf16(wf[i]);
    const DenseMatrix m{wb.data(), ElemType::kBF16, s.n_rows, s.d_in, s.d_in};
    // The variants that round activations to BF16 (all but the columns past
    // the last multiple of 32) are held to that product (in double): what
    // remains is float rounding, as for the others.
    const std::string_view name = GetParam();
    const bool bf16_acts = name.starts_with("avx512") || name.starts_with("amx");
    const size_t n_rounded = s.d_in / 32 * 32;
    std::vector<float> ya(s.n_tok * ldy), yb(ya);
    ref_ops().matmul_f32_bf16w(x.data(), ldx, s.n_tok, m, bias.data(), ya.data(), ldy);
    ops_->matmul_f32_bf16w(x.data(), ldx, s.n_tok, m, bias.data(), yb.data(), ldy);
    for (size_t t = 0; t < s.n_tok; ++t) {
      for (size_t r = 0; r < s.n_rows; ++r) {
        double mag = std::fabs(bias[r]), rounded = bias[r];
        for (size_t i = 0; i < s.d_in; ++i) {
          const float xi = x[t * ldx + i], wi = bf16_to_f32(wb[r * s.d_in + i]);
          mag += std::fabs(static_cast<double>(xi) * wi);
          rounded += static_cast<double>(i < n_rounded ? bf16_to_f32(f32_to_bf16(xi)) : xi) * wi;
        }
        const double want = bf16_acts ? rounded : ya[t * ldy + r];
        ASSERT_NEAR(want, yb[t * ldy + r], mag * 1e-5 + 1e-6) << "token " << t << " row " << r;
      }
    }
  }
}

// Attention: the fast tables update the softmax per chunk of 8 keys with a
// polynomial exp and FMA; the output (a weighted mean of value rows) stays
// within float rounding of the reference. The shapes of BitExact's test plus
// a large score scale (weights spanning many orders of magnitude, rescaling).
TEST_P(FastKernels, AttentionWithinRounding) {
  struct Case {
    size_t n_head, n_kv, d, bs;
    float scale;
  };
  for (const Case& c :
       {Case{64, 8, 64, 16, 0.125f}, Case{6, 2, 12, 3, 0.125f}, Case{8, 2, 64, 4, 3.0f}}) {
    const size_t n_blocks = 24, row = c.n_kv * c.d, n_pos = n_blocks * c.bs;
    std::vector<int32_t> table(n_blocks);
    for (size_t b = 0; b < n_blocks; ++b) table[b] = static_cast<int32_t>((b * 7 + 3) % n_blocks);
    const auto k = random_floats(n_blocks * c.bs * row, 61);
    const auto v = random_floats(n_blocks * c.bs * row, 62);
    const auto q = random_floats(c.n_head * c.d, 63);
    const auto sinks = random_floats(c.n_head, 64);
    float vmax = 0.0f;
    for (float x : v) vmax = std::max(vmax, std::fabs(x));
    const KvLayerView kv{k.data(), v.data(), table.data(), c.bs, row};
    for (size_t window : {size_t{0}, size_t{5}, size_t{128}}) {
      for (size_t pos : {size_t{0}, size_t{6}, size_t{8}, size_t{130}, n_pos - 1}) {
        if (pos >= n_pos) continue;
        const AttentionShape s{c.n_head, c.n_kv, c.d, c.scale, window};
        for (auto [h0, h1] : {std::pair<size_t, size_t>{0, c.n_head}, {1, c.n_head - 1}}) {
          SCOPED_TRACE("d " + std::to_string(c.d) + " window " + std::to_string(window) + " pos " +
                       std::to_string(pos) + " heads " + std::to_string(h0) + ".." +
                       std::to_string(h1));
          std::vector<float> ya(c.n_head * c.d, 3.0f), yb(ya);
          ref_ops().attention_sink_swa_f32(q.data(), kv, pos, sinks.data(), s, h0, h1, ya.data());
          ops_->attention_sink_swa_f32(q.data(), kv, pos, sinks.data(), s, h0, h1, yb.data());
          for (size_t i = 0; i < ya.size(); ++i) {
            ASSERT_NEAR(ya[i], yb[i], vmax * 2e-6f) << "element " << i;
          }
        }
      }
    }
  }
}

// Q8 weights: the exact kernel quantizes activations to int8 per block, the
// GEMM keeps them float; both lie within the int8 activation bound of the
// float product (plus float rounding).
TEST_P(FastKernels, DenseQ8WithinTheInt8ActivationBound) {
  for (const Shape& s : kShapes) {
    const size_t G = s.d_in / 32, ldx = s.d_in + 3, ldy = s.n_rows + 2;
    const auto x = random_floats(s.n_tok * ldx, 51);
    const auto codes = random_bytes(s.n_rows * s.d_in, 52);
    const auto scales = random_floats(s.n_rows * G, 53, 0.01f);
    const auto bias = random_floats(s.n_rows, 54);
    DenseMatrix m{codes.data(), ElemType::kQ8, s.n_rows, s.d_in, s.d_in};
    m.scales = scales.data();
    m.scales_row_stride = G;
    std::vector<float> y(s.n_tok * ldy, -1.0f);
    ops_->matmul_f32_q8w(x.data(), ldx, s.n_tok, m, bias.data(), y.data(), ldy);
    for (size_t t = 0; t < s.n_tok; ++t) {
      for (size_t r = 0; r < s.n_rows; ++r) {
        double want = bias[r], bound = 0.0, mag = std::fabs(bias[r]);
        for (size_t g = 0; g < G; ++g) {
          double amax = 0.0, wsum = 0.0;
          for (size_t i = g * 32; i < g * 32 + 32; ++i) {
            const double xi = x[t * ldx + i];
            const double wi =
                static_cast<double>(scales[r * G + g]) * static_cast<int8_t>(codes[r * s.d_in + i]);
            want += xi * wi;
            amax = std::max(amax, std::fabs(xi));
            wsum += std::fabs(wi);
            mag += std::fabs(xi * wi);
          }
          bound += amax / 254.0 * wsum;
        }
        ASSERT_NEAR(want, y[t * ldy + r], bound * 1.001 + mag * 1e-5 + 1e-6)
            << "tokens " << s.n_tok << " d_in " << s.d_in << " token " << t << " row " << r;
      }
      EXPECT_EQ(y[t * ldy + s.n_rows], -1.0f) << "wrote past the rows";
    }
  }
}

}  // namespace
}  // namespace quarry::kernels
