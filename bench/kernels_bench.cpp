// Kernel throughput, every variant this CPU runs side by side in one process
// (Google Benchmark): the matvec shapes of one gpt-oss-20b decode step (an
// expert's 2880x2880 MXFP4 projection, the BF16 q projection 4096x2880) and a
// prefill tile of 64 tokens; and decode over weights streamed from memory
// (many experts in turn, far more than the last-level cache, in the HF and GGML
// layouts), which is what a decode step sees; and avx2_fast's float GEMM on
// its own at 8-64 tokens, to place its thresholds; one layer's attention for
// one decoded token at 128-4096 cached positions. Counters: weight bytes per
// second. Compare the variants' ratios, not absolute numbers, on a shared
// machine.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"

namespace {

using namespace quarry::kernels;

constexpr size_t kH = 2880;

std::vector<float> floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<uint8_t> bytes(size_t n, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

using Mxfp4Fn = decltype(Ops::moe_matmul_f32_mxfp4w);
using DenseFn = decltype(Ops::matmul_f32_bf16w);

void mxfp4(benchmark::State& state, Mxfp4Fn fn, size_t n_tok) {
  const size_t rows = kH, G = kH / 32;
  const auto codes = bytes(rows * G * 16, 1, 0, 255);
  const auto scales = bytes(rows * G, 2, 118, 122);
  const auto x = floats(n_tok * kH, 3);
  std::vector<float> y(n_tok * rows);
  const Mxfp4Matrix w{Mxfp4Layout::kHF, codes.data(), scales.data(), rows, kH, G * 16, G};
  for (auto _ : state) {
    fn(x.data(), kH, n_tok, w, nullptr, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_B/s"] = benchmark::Counter(
      static_cast<double>(codes.size() + scales.size()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// One token against 48 experts' 2880x2880 matrices in turn (212-220 MB).
void mxfp4_stream(benchmark::State& state, const Ops* ops, Mxfp4Layout layout) {
  constexpr size_t kExperts = 48;
  const size_t rows = kH, G = kH / 32, per = rows * G * (layout == Mxfp4Layout::kHF ? 16 : 17);
  const auto codes = bytes(kExperts * per, 1, 0, 255);
  const auto scales = bytes(kExperts * rows * G, 2, 118, 122);
  const auto x = floats(kH, 3);
  std::vector<float> y(rows);
  size_t e = 0;
  for (auto _ : state) {
    Mxfp4Matrix w{layout, codes.data() + e * per, nullptr, rows, kH, per / rows, 0};
    if (layout == Mxfp4Layout::kHF) {
      w.scales = scales.data() + e * rows * G;
      w.scales_row_stride = G;
    }
    ops->moe_matmul_f32_mxfp4w(x.data(), kH, 1, w, nullptr, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
    e = (e + 1) % kExperts;
  }
  const size_t bytes_per = per + (layout == Mxfp4Layout::kHF ? rows * G : 0);
  state.counters["weight_B/s"] =
      benchmark::Counter(static_cast<double>(bytes_per) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void bf16(benchmark::State& state, DenseFn fn, size_t n_tok) {
  const size_t rows = 4096;
  const auto wf = floats(rows * kH, 4);
  std::vector<uint16_t> wb(wf.size());
  for (size_t i = 0; i < wf.size(); ++i) wb[i] = f32_to_bf16(wf[i] * 0.02f);
  const auto x = floats(n_tok * kH, 5);
  std::vector<float> y(n_tok * rows);
  const DenseMatrix w{wb.data(), ElemType::kBF16, rows, kH, kH};
  for (auto _ : state) {
    fn(x.data(), kH, n_tok, w, nullptr, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_B/s"] = benchmark::Counter(
      static_cast<double>(wb.size() * 2) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// The int8 dense weights of --weights-int8: 4096 x 2880, one scale per 32.
void q8(benchmark::State& state, DenseFn fn, size_t n_tok) {
  const size_t rows = 4096, G = kH / 32;
  const auto wf = floats(rows * kH, 4);
  std::vector<int8_t> codes(wf.size());
  std::vector<float> scales(rows * G);
  for (size_t b = 0; b < rows * G; ++b) quantize_block_q8(&wf[b * 32], &codes[b * 32], &scales[b]);
  const auto x = floats(n_tok * kH, 5);
  std::vector<float> y(n_tok * rows);
  DenseMatrix w{codes.data(), ElemType::kQ8, rows, kH, kH};
  w.scales = scales.data();
  w.scales_row_stride = G;
  for (auto _ : state) {
    fn(x.data(), kH, n_tok, w, nullptr, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_B/s"] =
      benchmark::Counter(static_cast<double>(codes.size() + scales.size() * 4) *
                             static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// One decode step's attention for a layer (64 query heads over 8 KV heads of
// 64) against n_keys cached positions.
void attention(benchmark::State& state, const Ops* ops, size_t n_keys) {
  constexpr size_t kHeads = 64, kKv = 8, kD = 64, kBlock = 16;
  const size_t n_blocks = (n_keys + kBlock - 1) / kBlock, row = kKv * kD;
  const auto k = floats(n_blocks * kBlock * row, 6);
  const auto v = floats(n_blocks * kBlock * row, 7);
  const auto q = floats(kHeads * kD, 8);
  const auto sinks = floats(kHeads, 9);
  std::vector<int32_t> table(n_blocks);
  for (size_t b = 0; b < n_blocks; ++b) table[b] = static_cast<int32_t>(b);
  std::vector<float> out(kHeads * kD);
  const KvLayerView kv{k.data(), v.data(), table.data(), kBlock, row};
  const AttentionShape shape{kHeads, kKv, kD, 0.125f, 0};
  for (auto _ : state) {
    ops->attention_sink_swa_f32(q.data(), kv, n_keys - 1, sinks.data(), shape, 0, kHeads,
                                out.data());
    benchmark::DoNotOptimize(out.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (std::string_view isa : available_isas()) {
    const Ops* ops = find_ops(isa).value();
    for (size_t n_tok : {1, 8, 16, 32, 64}) {
      const std::string tag = std::string(isa) + "/tokens:" + std::to_string(n_tok);
      benchmark::RegisterBenchmark(("mxfp4_2880x2880/" + tag).c_str(), mxfp4,
                                   ops->moe_matmul_f32_mxfp4w, n_tok)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("bf16_4096x2880/" + tag).c_str(), bf16, ops->matmul_f32_bf16w,
                                   n_tok)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("q8_4096x2880/" + tag).c_str(), q8, ops->matmul_f32_q8w, n_tok)
          ->Unit(benchmark::kMillisecond);
    }
    for (size_t n_keys : {128, 1024, 4096}) {
      benchmark::RegisterBenchmark(
          ("attention_64x8x64/" + std::string(isa) + "/keys:" + std::to_string(n_keys)).c_str(),
          attention, ops, n_keys)
          ->Unit(benchmark::kMillisecond);
    }
    for (Mxfp4Layout layout : {Mxfp4Layout::kHF, Mxfp4Layout::kGgml}) {
      const std::string name = std::string("mxfp4_stream_48x2880x2880/") +
                               (layout == Mxfp4Layout::kHF ? "hf/" : "ggml/") + std::string(isa);
      benchmark::RegisterBenchmark(name.c_str(), mxfp4_stream, ops, layout)
          ->Unit(benchmark::kMillisecond);
    }
  }
  // avx2_fast's kernels on their own, against the table's choice above: the
  // float GEMM (it takes over from 16 tokens for BF16 and Q8, from 32 for
  // MXFP4) and the BF16 row-triple kernel (1 to 15 tokens).
  if (quarry::kernels::avx2::fast_supported()) {
    for (size_t n_tok : {8, 16, 24, 32, 64}) {
      const std::string tag = "avx2_gemm/tokens:" + std::to_string(n_tok);
      benchmark::RegisterBenchmark(("mxfp4_2880x2880/" + tag).c_str(), mxfp4,
                                   quarry::kernels::avx2::moe_matmul_gemm, n_tok)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("bf16_4096x2880/" + tag).c_str(), bf16,
                                   quarry::kernels::avx2::matmul_bf16_gemm, n_tok)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("q8_4096x2880/" + tag).c_str(), q8,
                                   quarry::kernels::avx2::matmul_q8_gemm, n_tok)
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(
          ("bf16_4096x2880/avx2_rows/tokens:" + std::to_string(n_tok)).c_str(), bf16,
          quarry::kernels::avx2::matmul_bf16_rows, n_tok)
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
