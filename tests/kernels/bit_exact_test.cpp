// Every faster variant's matmuls against the reference, bit for bit: they
// follow its summation order, so the exact mode keeps its numbers whichever
// variant runs. Variants this CPU lacks are skipped with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "kernel_test_util.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"

namespace quarry::kernels {
namespace {

using testing::random_bytes;
using testing::random_floats;

// Every variant but ref, compiled in or not, so a missing ISA shows as a skip.
const char* const kVariants[] = {"avx2"};

class BitExact : public testing::VariantTest {};

INSTANTIATE_TEST_SUITE_P(Variants, BitExact, ::testing::ValuesIn(kVariants),
                         [](const auto& p) { return std::string(p.param); });

struct Shape {
  size_t n_tok, d_in, n_rows;
};
// Decode (1 token), token tiles with remainders, the release's width (2880 =
// 11 chunks of 256 + 64), a width that is not a multiple of 8.
const Shape kShapes[] = {{1, 2880, 5}, {3, 64, 7}, {4, 288, 3}, {9, 512, 4}, {6, 70, 5}};

void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    uint32_t ua, ub;
    std::memcpy(&ua, &a[i], 4);
    std::memcpy(&ub, &b[i], 4);
    ASSERT_EQ(ua, ub) << "element " << i << ": " << a[i] << " vs " << b[i];
  }
}

TEST_P(BitExact, DenseMatmuls) {
  for (const Shape& s : kShapes) {
    const size_t ldx = s.d_in + 3, ldy = s.n_rows + 2;
    const auto x = random_floats(s.n_tok * ldx, 11);
    const auto wf = random_floats(s.n_rows * s.d_in, 12, 0.05f);
    const auto bias = random_floats(s.n_rows, 13);
    std::vector<uint16_t> wb(wf.size()), wh(wf.size());
    for (size_t i = 0; i < wf.size(); ++i) {
      wb[i] = f32_to_bf16(wf[i]);
      wh[i] = static_cast<uint16_t>(random_bytes(1, static_cast<uint32_t>(i))[0] | 0x3000);
    }
    wh[0] = 0x0001;  // a subnormal half
    for (ElemType type : {ElemType::kBF16, ElemType::kF16, ElemType::kF32}) {
      const void* data = type == ElemType::kBF16  ? static_cast<const void*>(wb.data())
                         : type == ElemType::kF16 ? static_cast<const void*>(wh.data())
                                                  : static_cast<const void*>(wf.data());
      const DenseMatrix w{data, type, s.n_rows, s.d_in, s.d_in};
      for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
        std::vector<float> ya(s.n_tok * ldy, -7.0f), yb(ya);
        matmul(ref_ops(), x.data(), ldx, s.n_tok, w, b, ya.data(), ldy);
        matmul(*ops_, x.data(), ldx, s.n_tok, w, b, yb.data(), ldy);
        SCOPED_TRACE(std::string(elem_type_name(type)) + " d_in " + std::to_string(s.d_in));
        expect_same_bits(ya, yb);
      }
    }
  }
}

// Q8 weights (--weights-int8): codes and scales as quantize_block_q8 makes them.
struct Q8 {
  std::vector<int8_t> codes;
  std::vector<float> scales;
  DenseMatrix view(size_t n_rows, size_t d_in) const {
    DenseMatrix w{codes.data(), ElemType::kQ8, n_rows, d_in, d_in};
    w.scales = scales.data();
    w.scales_row_stride = d_in / 32;
    return w;
  }
};
Q8 quantize(const std::vector<float>& wf, size_t n_rows, size_t d_in) {
  Q8 q;
  q.codes.resize(n_rows * d_in);
  q.scales.resize(n_rows * d_in / 32);
  for (size_t b = 0; b < n_rows * d_in / 32; ++b) {
    quantize_block_q8(&wf[b * 32], &q.codes[b * 32], &q.scales[b]);
  }
  return q;
}

TEST_P(BitExact, Q8Matmul) {
  const Shape shapes[] = {{1, 2880, 13}, {3, 64, 8}, {4, 288, 17}, {9, 512, 16}, {5, 4096, 9}};
  for (const Shape& s : shapes) {
    const size_t ldx = s.d_in + 3, ldy = s.n_rows + 2;
    auto x = random_floats(s.n_tok * ldx, 21);
    for (size_t i = 0; i < 32; ++i) x[i] = 0.0f;  // an all-zero activation block
    auto wf = random_floats(s.n_rows * s.d_in, 22, 0.05f);
    for (size_t i = 32; i < 64; ++i) wf[i] = 0.0f;  // an all-zero weight block
    const auto bias = random_floats(s.n_rows, 23);
    const Q8 q = quantize(wf, s.n_rows, s.d_in);
    // Rows [1, n) as a matrix of their own: the scales move with the codes.
    for (const DenseMatrix& w :
         {q.view(s.n_rows, s.d_in), q.view(s.n_rows, s.d_in).rows(1, s.n_rows)}) {
      for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
        std::vector<float> ya(s.n_tok * ldy, -7.0f), yb(ya);
        matmul(ref_ops(), x.data(), ldx, s.n_tok, w, b, ya.data(), ldy);
        matmul(*ops_, x.data(), ldx, s.n_tok, w, b, yb.data(), ldy);
        SCOPED_TRACE("Q8 d_in " + std::to_string(s.d_in) + " rows " + std::to_string(w.n_rows));
        expect_same_bits(ya, yb);
      }
    }
  }
}

TEST(Q8, QuantizeBlock) {
  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16) * 0.25f;
  int8_t q[32];
  float scale = 0.0f;
  quantize_block_q8(x, q, &scale);
  EXPECT_FLOAT_EQ(scale, 4.0f / 127.0f);
  EXPECT_EQ(q[0], -127);
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(q[i] * scale, x[i], scale / 2 + 1e-7f);
  float zero[32] = {};
  quantize_block_q8(zero, q, &scale);
  EXPECT_EQ(scale, 0.0f);
  EXPECT_EQ(q[5], 0);
}

TEST_P(BitExact, Mxfp4MatmulBothLayouts) {
  for (const Shape& s : kShapes) {
    if (s.d_in % 32 != 0) continue;
    const size_t G = s.d_in / 32, ldx = s.d_in, ldy = s.n_rows;
    const auto x = random_floats(s.n_tok * ldx, 21);
    const auto codes = random_bytes(s.n_rows * G * 16, 22);
    auto scales = random_bytes(s.n_rows * G, 23, 100, 140);
    scales[0] = 0;  // the subnormal end
    if (scales.size() > 1) scales[1] = 254;
    const auto bias = random_floats(s.n_rows, 24);
    std::vector<uint8_t> ggml(s.n_rows * G * 17);
    for (size_t b = 0; b < s.n_rows * G; ++b) {
      testing::hf_to_ggml_block(&codes[b * 16], scales[b], &ggml[b * 17]);
    }
    const Mxfp4Matrix hf{
        Mxfp4Layout::kHF, codes.data(), scales.data(), s.n_rows, s.d_in, G * 16, G};
    const Mxfp4Matrix gg{Mxfp4Layout::kGgml, ggml.data(), nullptr, s.n_rows, s.d_in, G * 17, 0};
    for (const Mxfp4Matrix* w : {&hf, &gg}) {
      std::vector<float> ya(s.n_tok * ldy), yb(ya);
      ref_ops().moe_matmul_f32_mxfp4w(x.data(), ldx, s.n_tok, *w, bias.data(), ya.data(), ldy);
      ops_->moe_matmul_f32_mxfp4w(x.data(), ldx, s.n_tok, *w, bias.data(), yb.data(), ldy);
      SCOPED_TRACE((w == &hf ? "HF d_in " : "ggml d_in ") + std::to_string(s.d_in));
      expect_same_bits(ya, yb);
    }
  }
}

// Attention over a shuffled paged table: the release's head shape (64 query
// heads over 8 KV heads of 64) and an odd one (head width 12, not a multiple of
// 8), windows, positions that end mid-chunk, head ranges across KV groups.
TEST_P(BitExact, AttentionSinkSlidingWindowPaged) {
  struct Case {
    size_t n_head, n_kv, d, bs;
  };
  for (const Case& c : {Case{64, 8, 64, 16}, Case{6, 2, 12, 3}}) {
    const size_t n_blocks = 24, row = c.n_kv * c.d, n_pos = n_blocks * c.bs;
    std::vector<int32_t> table(n_blocks);
    for (size_t b = 0; b < n_blocks; ++b) table[b] = static_cast<int32_t>((b * 7 + 3) % n_blocks);
    const auto k = random_floats(n_blocks * c.bs * row, 51);
    const auto v = random_floats(n_blocks * c.bs * row, 52);
    const auto q = random_floats(c.n_head * c.d, 53);
    const auto sinks = random_floats(c.n_head, 54);
    const KvLayerView kv{k.data(), v.data(), table.data(), c.bs, row};
    for (size_t window : {size_t{0}, size_t{5}, size_t{128}}) {
      for (size_t pos : {size_t{0}, size_t{6}, size_t{8}, size_t{130}, n_pos - 1}) {
        if (pos >= n_pos) continue;
        const AttentionShape s{c.n_head, c.n_kv, c.d, 0.125f, window};
        for (auto [h0, h1] : {std::pair<size_t, size_t>{0, c.n_head}, {1, c.n_head - 1}}) {
          SCOPED_TRACE("d " + std::to_string(c.d) + " window " + std::to_string(window) + " pos " +
                       std::to_string(pos) + " heads " + std::to_string(h0) + ".." +
                       std::to_string(h1));
          std::vector<float> ya(c.n_head * c.d, 3.0f), yb(ya);
          ref_ops().attention_sink_swa_f32(q.data(), kv, pos, sinks.data(), s, h0, h1, ya.data());
          ops_->attention_sink_swa_f32(q.data(), kv, pos, sinks.data(), s, h0, h1, yb.data());
          expect_same_bits(ya, yb);
        }
      }
    }
  }
}

TEST_P(BitExact, Conversions) {
  std::vector<uint16_t> h(1001);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i * 65.537);
  std::vector<float> a(h.size()), b(h.size());
  for (auto fn : {&Ops::bf16_to_f32, &Ops::f16_to_f32}) {
    (ref_ops().*fn)(h.data(), h.size(), a.data());
    (ops_->*fn)(h.data(), h.size(), b.data());
    // Exact conversions; a NaN stays a NaN (F16C quiets signalling ones).
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::isnan(a[i])) {
        EXPECT_TRUE(std::isnan(b[i])) << i;
      } else {
        EXPECT_EQ(std::memcmp(&a[i], &b[i], 4), 0) << i << ": " << a[i] << " vs " << b[i];
      }
    }
  }
}

}  // namespace
}  // namespace quarry::kernels
