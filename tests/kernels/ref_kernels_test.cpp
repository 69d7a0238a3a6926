// Every op of every available variant against naive fp64 loops (ref is the
// only variant today; later ones run through the same tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "kernel_test_util.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"

namespace quarry::kernels {
namespace {

using testing::random_bytes;
using testing::random_floats;

class OpsTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  const Ops& ops() const { return *find_ops(GetParam()).value(); }
};

std::string isa_name(const ::testing::TestParamInfo<std::string_view>& p) {
  return std::string(p.param);
}
INSTANTIATE_TEST_SUITE_P(Isa, OpsTest, ::testing::ValuesIn(available_isas()), isa_name);

// y[t][r] = b[r] + sum_i x[t][i] * W(r, i) in fp64.
template <class W>
std::vector<double> naive_matmul(const std::vector<float>& x, size_t n_tok, size_t d_in,
                                 size_t n_rows, W w, const float* bias) {
  std::vector<double> y(n_tok * n_rows);
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t r = 0; r < n_rows; ++r) {
      double s = bias ? bias[r] : 0.0;
      for (size_t i = 0; i < d_in; ++i) s += static_cast<double>(x[t * d_in + i]) * w(r, i);
      y[t * n_rows + r] = s;
    }
  }
  return y;
}

TEST_P(OpsTest, DenseMatmulAllWeightTypes) {
  const size_t n_tok = 6, d_in = 70, n_rows = 13, ldy = 17;  // d_in not a multiple of 8
  const auto x = random_floats(n_tok * d_in, 1);
  const auto wf = random_floats(n_rows * d_in, 2, 0.3f);
  const auto bias = random_floats(n_rows, 3);
  std::vector<uint16_t> wb(wf.size()), wh(wf.size());
  std::vector<float> wbf(wf.size());
  for (size_t i = 0; i < wf.size(); ++i) {
    wb[i] = f32_to_bf16(wf[i]);
    wbf[i] = bf16_to_f32(wb[i]);
    wh[i] = wb[i] & 0x8000;  // f16 of a few exact values: +-1, +-0.5, 0
    wh[i] |= (i % 3 == 0) ? 0x3C00 : (i % 3 == 1) ? 0x3800 : 0;
  }
  struct Case {
    ElemType type;
    const void* data;
    std::function<double(size_t, size_t)> w;
  };
  const Case cases[] = {
      {ElemType::kF32, wf.data(), [&](size_t r, size_t i) { return wf[r * d_in + i]; }},
      {ElemType::kBF16, wb.data(), [&](size_t r, size_t i) { return wbf[r * d_in + i]; }},
      {ElemType::kF16, wh.data(), [&](size_t r, size_t i) { return f16_to_f32(wh[r * d_in + i]); }},
  };
  for (const Case& c : cases) {
    DenseMatrix w{c.data, c.type, n_rows, d_in, d_in};
    const auto want = naive_matmul(x, n_tok, d_in, n_rows, c.w, bias.data());
    std::vector<float> y(n_tok * ldy, -99.0f);
    matmul(ops(), x.data(), d_in, n_tok, w, bias.data(), y.data(), ldy);
    for (size_t t = 0; t < n_tok; ++t) {
      for (size_t r = 0; r < n_rows; ++r) {
        EXPECT_NEAR(y[t * ldy + r], want[t * n_rows + r], 1e-4) << elem_type_name(c.type);
      }
      EXPECT_EQ(y[t * ldy + n_rows], -99.0f);  // nothing written past n_rows
    }
    // A row sub-range gives the same numbers (the split the thread pool makes).
    std::vector<float> y2(n_tok * ldy, 0.0f);
    matmul(ops(), x.data(), d_in, n_tok, w.rows(4, 11), bias.data() + 4, y2.data() + 4, ldy);
    for (size_t t = 0; t < n_tok; ++t) {
      for (size_t r = 4; r < 11; ++r) EXPECT_EQ(y2[t * ldy + r], y[t * ldy + r]);
    }
  }
}

// Q8: the result is the float product with the dequantized weights, up to
// the activations' own int8 rounding (half a step of max|x|/127 per block).
TEST_P(OpsTest, Q8MatmulCloseToFloat) {
  const size_t n_tok = 3, d_in = 256, n_rows = 11, ldy = 12;
  const auto x = random_floats(n_tok * d_in, 5);
  const auto wf = random_floats(n_rows * d_in, 6, 0.3f);
  const auto bias = random_floats(n_rows, 7);
  std::vector<int8_t> codes(wf.size());
  std::vector<float> scales(wf.size() / 32), wdq(wf.size());
  for (size_t b = 0; b < scales.size(); ++b) {
    quantize_block_q8(&wf[b * 32], &codes[b * 32], &scales[b]);
  }
  for (size_t i = 0; i < wf.size(); ++i) wdq[i] = scales[i / 32] * codes[i];
  DenseMatrix w{codes.data(), ElemType::kQ8, n_rows, d_in, d_in};
  w.scales = scales.data();
  w.scales_row_stride = d_in / 32;
  const auto want = naive_matmul(
      x, n_tok, d_in, n_rows, [&](size_t r, size_t i) { return wdq[r * d_in + i]; }, bias.data());
  std::vector<float> y(n_tok * ldy, -99.0f);
  matmul(ops(), x.data(), d_in, n_tok, w, bias.data(), y.data(), ldy);
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t r = 0; r < n_rows; ++r) {
      double mag = 0.0;
      for (size_t i = 0; i < d_in; ++i) mag += std::fabs(x[t * d_in + i] * wdq[r * d_in + i]);
      EXPECT_NEAR(y[t * ldy + r], want[t * n_rows + r], 0.01 * mag + 1e-5);
    }
    EXPECT_EQ(y[t * ldy + n_rows], -99.0f);
  }
}

TEST_P(OpsTest, Mxfp4MatmulBothLayoutsWithInterleavedRows) {
  // A (2 * n_unit, d_in) HF tensor whose even rows are "gate", odd rows "up".
  // One token (decode, 4-row tiles plus a remainder) and a multi-token tile.
  for (const size_t n_tok : {size_t{1}, size_t{7}}) {
    const size_t n_unit = 5, rows = 2 * n_unit, d_in = 96, G = d_in / 32;
    const auto codes = random_bytes(rows * G * 16, 4);
    const auto scales = random_bytes(rows * G, 5, 118, 130);
    std::vector<uint8_t> ggml(rows * G * 17);
    for (size_t b = 0; b < rows * G; ++b) {
      testing::hf_to_ggml_block(&codes[b * 16], scales[b], &ggml[b * 17]);
    }
    auto value = [&](size_t r, size_t i) {
      const uint8_t byte = codes[(r * G + i / 32) * 16 + (i % 32) / 2];
      const uint8_t code = (i % 2 == 0) ? byte & 0x0F : byte >> 4;
      return static_cast<double>(kFp4Values[code]) * std::ldexp(1.0, scales[r * G + i / 32] - 127);
    };
    const auto x = random_floats(n_tok * d_in, 6);
    const auto bias = random_floats(n_unit, 7);
    for (int parity = 0; parity < 2; ++parity) {
      Mxfp4Matrix hf;
      hf.layout = Mxfp4Layout::kHF;
      hf.codes = codes.data() + parity * G * 16;
      hf.scales = scales.data() + parity * G;
      hf.n_rows = n_unit;
      hf.d_in = d_in;
      hf.codes_row_stride = 2 * G * 16;
      hf.scales_row_stride = 2 * G;
      // The same rows as a ggml tensor with the rows de-interleaved by stride.
      Mxfp4Matrix gg;
      gg.layout = Mxfp4Layout::kGgml;
      gg.codes = ggml.data() + parity * G * 17;
      gg.n_rows = n_unit;
      gg.d_in = d_in;
      gg.codes_row_stride = 2 * G * 17;
      const auto want = naive_matmul(
          x, n_tok, d_in, n_unit, [&](size_t r, size_t i) { return value(2 * r + parity, i); },
          bias.data());
      std::vector<float> y1(n_tok * n_unit), y2(n_tok * n_unit);
      ops().moe_matmul_f32_mxfp4w(x.data(), d_in, n_tok, hf, bias.data(), y1.data(), n_unit);
      ops().moe_matmul_f32_mxfp4w(x.data(), d_in, n_tok, gg, bias.data(), y2.data(), n_unit);
      for (size_t i = 0; i < y1.size(); ++i) {
        // Exact variants: fp32 rounding only. Others quantize x to int8 per
        // block of 32 (error <= amax / 254 per element): bounded by the sum of
        // amax(block) |w| over the row.
        double tol = 1e-4 * (1 + std::abs(want[i]));
        if (!ops().exact) {
          const size_t t = i / n_unit, r = i % n_unit;
          for (size_t k = 0; k < d_in; ++k) {
            double amax = 0;
            for (size_t j = k / 32 * 32; j < k / 32 * 32 + 32; ++j) {
              amax = std::max(amax, static_cast<double>(std::abs(x[t * d_in + j])));
            }
            tol += amax / 254.0 * std::abs(value(2 * r + parity, k));
          }
        }
        EXPECT_NEAR(y1[i], want[i], tol);
        EXPECT_EQ(y1[i], y2[i]);  // same values, same summation order
      }
      // Sub-range of rows.
      std::vector<float> y3(n_tok * n_unit, 0.0f);
      ops().moe_matmul_f32_mxfp4w(x.data(), d_in, n_tok, hf.rows(2, 5), bias.data() + 2,
                                  y3.data() + 2, n_unit);
      for (size_t t = 0; t < n_tok; ++t) {
        for (size_t r = 2; r < 5; ++r) EXPECT_EQ(y3[t * n_unit + r], y1[t * n_unit + r]);
      }
    }
  }
}

TEST_P(OpsTest, RmsNorm) {
  const size_t d = 40;
  auto x = random_floats(2 * d, 8, 3.0f);
  const auto g = random_floats(d, 9);
  std::vector<float> y(2 * d);
  ops().rmsnorm_f32(x.data(), 2, d, g.data(), 1e-5f, y.data());
  for (size_t t = 0; t < 2; ++t) {
    double ss = 0;
    for (size_t i = 0; i < d; ++i) ss += double(x[t * d + i]) * x[t * d + i];
    const double inv = 1.0 / std::sqrt(ss / d + 1e-5);
    for (size_t i = 0; i < d; ++i) EXPECT_NEAR(y[t * d + i], x[t * d + i] * inv * g[i], 1e-6);
  }
  ops().rmsnorm_f32(x.data(), 2, d, g.data(), 1e-5f, x.data());  // in place
  EXPECT_EQ(x, y);
}

TEST_P(OpsTest, SwigluClampAndPlusOne) {
  const float gate[] = {0.0f, 1.0f, -2.0f, 9.0f, 3.0f, -50.0f};
  const float up[] = {0.0f, 2.0f, -9.0f, 0.5f, 8.0f, 1.0f};
  float out[6];
  ops().swiglu_clamp_f32(gate, up, 6, 1.702f, 7.0f, out);
  auto want = [](double g, double u) {
    g = std::min(g, 7.0);
    u = std::clamp(u, -7.0, 7.0);
    return g / (1.0 + std::exp(-1.702 * g)) * (u + 1.0);
  };
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(out[i], want(gate[i], up[i]), 1e-5) << i;
  EXPECT_NEAR(out[3], 7.0 / (1.0 + std::exp(-1.702 * 7.0)) * 1.5, 1e-5);  // gate clamped to 7
  EXPECT_NEAR(out[2], -2.0 / (1.0 + std::exp(3.404)) * -6.0, 1e-5);       // up clamped to -7
  EXPECT_EQ(out[0], 0.0f);
}

TEST_P(OpsTest, TopkTiesToLowerIdAndSoftmaxOverSelected) {
  const float logits[] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 2.0f};
  int32_t ids[3];
  float w[3];
  ops().topk_softmax_f32(logits, 6, 3, ids, w);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 3);
  EXPECT_EQ(ids[2], 2);
  const double z = 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(w[0], std::exp(3.0) / z, 1e-7);
  EXPECT_NEAR(w[1], std::exp(3.0) / z, 1e-7);
  EXPECT_NEAR(w[2], std::exp(2.0) / z, 1e-7);
}

// Attention with sinks, GQA and a sliding window, over a shuffled block table.
TEST_P(OpsTest, AttentionSinkSlidingWindowPaged) {
  const size_t n_head = 4, n_kv = 2, d = 8, bs = 3, n_pos = 11, n_blocks = 6;
  const size_t row = n_kv * d;
  const int32_t table[] = {4, 1, 5, 0};  // positions 0..11 over blocks in this order
  auto k = random_floats(n_blocks * bs * row, 10);
  auto v = random_floats(n_blocks * bs * row, 11);
  const auto q = random_floats(n_head * d, 12);
  const float sinks[] = {0.5f, -1.0f, 2.0f, 0.0f};
  KvLayerView kv{k.data(), v.data(), table, bs, row};
  for (size_t window : {size_t{0}, size_t{4}}) {
    for (size_t pos : {size_t{0}, size_t{3}, n_pos - 1}) {
      AttentionShape s{n_head, n_kv, d, 0.35f, window};
      std::vector<float> out(n_head * d, 0.0f);
      ops().attention_sink_swa_f32(q.data(), kv, pos, sinks, s, 0, n_head, out.data());
      for (size_t h = 0; h < n_head; ++h) {
        const size_t kvh = h / (n_head / n_kv);
        std::vector<double> sc;
        std::vector<size_t> ts;
        for (size_t t = 0; t <= pos; ++t) {
          if (window > 0 && pos - t >= window) continue;
          const size_t off = (table[t / bs] * bs + t % bs) * row + kvh * d;
          double dot = 0;
          for (size_t i = 0; i < d; ++i) dot += double(q[h * d + i]) * k[off + i];
          sc.push_back(dot * 0.35f);
          ts.push_back(off);
        }
        double mx = sinks[h];
        for (double x : sc) mx = std::max(mx, x);
        double den = std::exp(sinks[h] - mx);
        for (double x : sc) den += std::exp(x - mx);
        for (size_t i = 0; i < d; ++i) {
          double o = 0;
          for (size_t j = 0; j < sc.size(); ++j) o += std::exp(sc[j] - mx) / den * v[ts[j] + i];
          EXPECT_NEAR(out[h * d + i], o, 1e-5) << "h " << h << " pos " << pos << " w " << window;
        }
      }
      // A head sub-range writes only its heads, with the same values.
      std::vector<float> part(n_head * d, 7.0f);
      ops().attention_sink_swa_f32(q.data(), kv, pos, sinks, s, 1, 3, part.data());
      for (size_t i = 0; i < n_head * d; ++i) {
        EXPECT_EQ(part[i], (i >= d && i < 3 * d) ? out[i] : 7.0f);
      }
    }
  }
}

TEST_P(OpsTest, EveryEntryFilled) {
  const Ops& o = ops();
  const void* entries[] = {reinterpret_cast<const void*>(o.bf16_to_f32),
                           reinterpret_cast<const void*>(o.f16_to_f32),
                           reinterpret_cast<const void*>(o.matmul_f32_bf16w),
                           reinterpret_cast<const void*>(o.matmul_f32_f16w),
                           reinterpret_cast<const void*>(o.matmul_f32_f32w),
                           reinterpret_cast<const void*>(o.matmul_f32_q8w),
                           reinterpret_cast<const void*>(o.moe_matmul_f32_mxfp4w),
                           reinterpret_cast<const void*>(o.rmsnorm_f32),
                           reinterpret_cast<const void*>(o.rope_yarn_f32),
                           reinterpret_cast<const void*>(o.attention_sink_swa_f32),
                           reinterpret_cast<const void*>(o.swiglu_clamp_f32),
                           reinterpret_cast<const void*>(o.topk_softmax_f32),
                           reinterpret_cast<const void*>(o.axpy_f32)};
  for (const void* e : entries) EXPECT_NE(e, nullptr);
  EXPECT_EQ(std::string_view(o.isa), GetParam());
}

TEST(Dispatch, RefAlwaysAvailableAndEnvOverride) {
  const auto isas = available_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.back(), "ref");
  EXPECT_EQ(find_ops("ref").value(), &ref_ops());
  auto bad = find_ops("nonesuch");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("available: "), std::string::npos);
  unsetenv("QUARRY_ISA");
  EXPECT_TRUE(ops_from_env().value()->exact) << "the default table must be exact";
  setenv("QUARRY_ISA", "ref", 1);
  EXPECT_EQ(ops_from_env().value(), &ref_ops());
  setenv("QUARRY_ISA", "nonesuch", 1);
  EXPECT_FALSE(ops_from_env().ok());
  unsetenv("QUARRY_ISA");
  EXPECT_TRUE(ops_from_env().ok());
}

}  // namespace
}  // namespace quarry::kernels
