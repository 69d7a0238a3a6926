// `quarry bench --model PATH [-p 512] [-n 128] [-t T] [-r 3] [--batch B] [--json] [--profile]`:
// throughput in the manner of llama-bench (pp: one prompt of p tokens in one
// forward call; tg: n tokens decoded one at a time; mean ± sample sd over r
// runs), plus what is needed to judge it: peak RSS, load time, the weight bytes
// one decoded token reads, and the machine's read bandwidth measured in the
// same process, so "% of the bandwidth ceiling" compares like with like.
// --profile splits the timed runs by op, against that probe for decode and
// against a vector FMA probe of the same process for prefill.
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <new>
#include <numeric>
#include <optional>
#include <sstream>

#include "cli/bench_profile.h"
#include "cli/commands.h"
#include "cli/jsonl.h"
#include "cli/progress.h"
#include "cli/text_table.h"
#include "kernels/fma_peak.h"
#include "kernels/ops.h"
#include "model/footprint.h"
#include "model/generate.h"

namespace quarry::cli {
namespace {

struct BenchArgs {
  std::string model;
  // Signed so that a negative value reaches our check (exit 2, naming the
  // option) instead of a CLI11 conversion error.
  int64_t p = 512;
  int64_t n = 128;
  int64_t r = 3;
  int64_t threads = 0;
  int64_t batch = 1;
  int64_t probe_bytes = -1;  // -1: min(1 GiB, a quarter of physical memory)
  bool json = false;
  bool weights_int8 = false;
  bool profile = false;
};

constexpr size_t kWarmupTokens = 4;
constexpr uint64_t kSeed = 0x5eed'b3ac'4000'0001;

[[noreturn]] void fail(const std::string& message, int code = 1) {
  std::cerr << "quarry bench: " << message << "\n";
  throw CLI::RuntimeError(code);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// splitmix64: the same ids on every platform and standard library (the
// std:: distributions are implementation-defined).
class IdStream {
 public:
  explicit IdStream(uint64_t seed) : s_(seed) {}
  int32_t next(size_t n_vocab) {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<int32_t>((z ^ (z >> 31)) % n_vocab);
  }

 private:
  uint64_t s_;
};

struct Stats {
  std::vector<double> runs;  // tokens/s of each run
  double mean() const { return std::accumulate(runs.begin(), runs.end(), 0.0) / runs.size(); }
  // Sample standard deviation; 0 for a single run, as llama-bench reports it.
  double sd() const {
    if (runs.size() < 2) return 0.0;
    const double m = mean();
    double ss = 0.0;
    for (double x : runs) ss += (x - m) * (x - m);
    return std::sqrt(ss / static_cast<double>(runs.size() - 1));
  }
};

// A forward error ends the run (exit 1): a benchmark of a failing pass is meaningless.
void forward_or_exit(model::GptOssForward& fwd, const model::ForwardBatch& b, model::KvCache& kv) {
  if (Status s = fwd.forward(b, kv); !s.ok()) fail(s.message());
}

// Seconds of one forward call over `ids` at positions 0.. in a fresh cache,
// logits for the last row only (what a server needs after a prompt). With
// `profile`, the call's ops are added to it.
double time_prompt(model::GptOssForward& fwd, const std::vector<int32_t>& ids,
                   model::OpProfile* profile = nullptr) {
  const size_t p = ids.size();
  model::KvCache kv = fwd.make_cache(p);
  model::KvSequence seq;
  if (Status s = kv.reserve(seq, p); !s.ok()) fail(s.message());
  model::KvSequence* seqs[] = {&seq};
  std::vector<int32_t> pos(p), sq(p, 0);
  std::iota(pos.begin(), pos.end(), 0);
  const int32_t last[] = {static_cast<int32_t>(p - 1)};
  std::vector<float> logits(fwd.config().n_vocab);
  fwd.set_profile(profile);
  const auto t0 = std::chrono::steady_clock::now();
  forward_or_exit(fwd, {ids, pos, sq, seqs, last, logits.data()}, kv);
  const double seconds = seconds_since(t0);
  fwd.set_profile(nullptr);
  return seconds;
}

// Greedy decode of `n` tokens for each of the sequences started by `first`
// (one token each, at position 0), all sequences in one forward call per step.
// Returns the seconds of the n steps; the untimed first call is the prompt.
// With `profile`, the n steps' ops are added to it.
double time_decode(model::GptOssForward& fwd, const std::vector<int32_t>& first, size_t n,
                   model::OpProfile* profile = nullptr) {
  const size_t B = first.size(), V = fwd.config().n_vocab;
  model::KvCache kv = fwd.make_cache(n + 1, B);
  std::vector<model::KvSequence> seq(B);
  std::vector<model::KvSequence*> seqs(B);
  for (size_t i = 0; i < B; ++i) {
    if (Status s = kv.reserve(seq[i], n + 1); !s.ok()) fail(s.message());
    seqs[i] = &seq[i];
  }
  std::vector<int32_t> tok = first, pos(B, 0), sq(B), rows(B);
  std::iota(sq.begin(), sq.end(), 0);
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<float> logits(B * V);
  auto step = [&] {
    forward_or_exit(fwd, {tok, pos, sq, seqs, rows, logits.data()}, kv);
    for (size_t i = 0; i < B; ++i) {
      tok[i] = static_cast<int32_t>(model::argmax(logits.data() + i * V, V));
      ++pos[i];
    }
  };
  step();  // the one-token prompts
  fwd.set_profile(profile);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t s = 0; s < n; ++s) step();
  const double seconds = seconds_since(t0);
  fwd.set_profile(nullptr);
  return seconds;
}

// --- the STREAM-like read probe ---

// Eight independent accumulators: GCC's -O2 cost model does not vectorise a
// single-accumulator reduction with an unknown trip count, and one serial add
// chain caps a core at one word per cycle, which can be below what it streams.
uint64_t sum_words(const uint64_t* x, size_t n) {
  uint64_t a[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t j = 0; j < 8; ++j) a[j] += x[i + j];
  }
  for (; i < n; ++i) a[0] += x[i];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

volatile uint64_t g_probe_sink;  // keeps the sums observable

uint64_t default_probe_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const uint64_t gib = uint64_t{1} << 30;
  if (pages <= 0 || page <= 0) return gib;
  return std::min(gib, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 4);
}

// The best of 3 passes of a probe, in G units a second: `pass` does the work
// once and returns how many units (bytes, multiply-adds) it processed.
template <class Pass>
double best_rate_of_3(Pass&& pass) {
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    const double units = pass();
    const double s = seconds_since(t0);
    if (s > 0.0) best = std::max(best, units / s / 1e9);
  }
  return best;
}

// GB/s of summing `bytes` with every pool thread reading its own contiguous
// part, best of 3. The buffer is first written by the same split, so each
// thread's pages are faulted in (and, on NUMA machines, placed) where it reads.
double read_bandwidth_gbs(ThreadPool& pool, uint64_t bytes) {
  const size_t n = bytes / sizeof(uint64_t);
  // Left uninitialised (no value-initialisation pass): the first write below
  // is the one that places the pages.
  std::unique_ptr<uint64_t[]> buf(new (std::nothrow) uint64_t[n]);
  if (!buf) fail("cannot allocate " + human_bytes(static_cast<double>(bytes)) + " for the probe");
  const size_t grain = 4096 / sizeof(uint64_t);  // whole pages per thread
  pool.parallel_for(n, grain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) buf[i] = i;
  });
  return best_rate_of_3([&] {
    std::atomic<uint64_t> total{0};
    pool.parallel_for(n, grain, [&](size_t b, size_t e) {
      total.fetch_add(sum_words(buf.get() + b, e - b), std::memory_order_relaxed);
    });
    g_probe_sink = total.load();
    return static_cast<double>(n * sizeof(uint64_t));
  });
}

// --- the vector FMA probe (with --profile) ---

// Multiply-adds per second of every pool thread running the FMA burst at
// once (about 2e8 FMA instructions each), best of 3; none without vector FMA.
std::optional<double> fma_peak_gmacs(ThreadPool& pool) {
  if (kernels::fma_lanes() == 0) return std::nullopt;
  constexpr uint64_t kRounds = uint64_t{1} << 24;
  return best_rate_of_3([&] {
    std::atomic<uint64_t> macs{0};
    pool.parallel_for(pool.size(), 1, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        macs.fetch_add(kernels::fma_burst(kRounds), std::memory_order_relaxed);
      }
    });
    return static_cast<double>(macs.load());
  });
}

uint64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;  // Linux reports kilobytes
}

// --- validation ---

void check_args(const BenchArgs& a) {
  auto bad = [](const std::string& m) { fail(m, 2); };
  if (a.r < 1) bad("-r/--repetitions must be at least 1 (got " + std::to_string(a.r) + ")");
  if (a.p < 0) bad("-p/--n-prompt must be 0 (skip) or more (got " + std::to_string(a.p) + ")");
  if (a.n < 0) bad("-n/--n-gen must be 0 (skip) or more (got " + std::to_string(a.n) + ")");
  if (a.threads < 0 || a.threads > 4096) {
    bad("-t/--threads must be 0 (all hardware threads) to 4096 (got " + std::to_string(a.threads) +
        ")");
  }
  if (a.batch < 1 || a.batch > 4096) {
    bad("--batch must be 1 to 4096 sequences (got " + std::to_string(a.batch) + ")");
  }
  if (a.probe_bytes != -1 && a.probe_bytes != 0 && a.probe_bytes < 4096) {
    bad("--probe-bytes must be 0 (skip the probe) or at least 4096 (got " +
        std::to_string(a.probe_bytes) + ")");
  }
}

// What the loaded model allows: positions, and a KV cache that fits in memory.
void check_against_model(const BenchArgs& a, const model::GptOssForward& fwd) {
  const model::GptOssConfig& c = fwd.config();
  const uint64_t p = static_cast<uint64_t>(a.p), n = static_cast<uint64_t>(a.n);
  if (p + n + 1 > c.max_position) {
    fail("-p " + std::to_string(p) + " + -n " + std::to_string(n) + " + 1 exceeds the model's " +
             std::to_string(c.max_position) + " positions",
         2);
  }
  if (n == 0 || a.batch == 1) return;
  const uint64_t blocks = (n + 1 + 31) / 32 * static_cast<uint64_t>(a.batch);
  const uint64_t kv = blocks * 32 * c.kv_width() * c.n_layer * 2 * sizeof(float);
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0 && kv > static_cast<uint64_t>(pages) * page / 2) {
    fail("--batch " + std::to_string(a.batch) + " x " + std::to_string(n + 1) +
             " positions needs a " + human_bytes(static_cast<double>(kv)) +
             " KV cache, more than half the machine's memory",
         2);
  }
}

// --- the report ---

struct Report {
  std::string model, isa;
  size_t threads = 0;
  uint64_t model_bytes = 0, rss_bytes = 0, probe_bytes = 0;
  double load_seconds = 0.0, fault_in_seconds = 0.0, warmup_seconds = 0.0;
  model::DecodeFootprint footprint;
  std::optional<Stats> pp, tg, batch;
  std::optional<double> read_gbs;
  std::optional<StepProfile> pp_profile, tg_profile, batch_profile;  // with --profile
  std::optional<double> fma_gmacs;                                   // with --profile
};

Json number_or_null(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json to_json(const BenchArgs& a, const Report& r) {
  const double bpt = static_cast<double>(r.footprint.total());
  std::optional<double> pp, pp_sd, tg, tg_sd, bt, bt_sd, speedup, decode_gbs, ceiling, pct;
  if (r.pp) {
    pp = r.pp->mean();
    pp_sd = r.pp->sd();
  }
  if (r.tg) {
    tg = r.tg->mean();
    tg_sd = r.tg->sd();
    decode_gbs = bpt * *tg / 1e9;
  }
  if (r.batch) {
    bt = r.batch->mean();
    bt_sd = r.batch->sd();
  }
  if (bt && tg && *tg > 0.0) speedup = *bt / *tg;
  if (r.read_gbs) ceiling = *r.read_gbs * 1e9 / bpt;
  if (tg && ceiling && *ceiling > 0.0) pct = 100.0 * *tg / *ceiling;
  Json j = Json::object();
  j["model"] = r.model;
  j["isa"] = r.isa;
  j["weights_int8"] = a.weights_int8;
  j["threads"] = r.threads;
  j["p"] = a.p;
  j["n"] = a.n;
  j["r"] = a.r;
  j["batch"] = a.batch;
  j["pp_tps"] = number_or_null(pp);
  j["pp_tps_sd"] = number_or_null(pp_sd);
  j["tg_tps"] = number_or_null(tg);
  j["tg_tps_sd"] = number_or_null(tg_sd);
  j["batch_tps"] = number_or_null(bt);
  j["batch_tps_sd"] = number_or_null(bt_sd);
  j["batch_speedup"] = number_or_null(speedup);
  j["load_seconds"] = r.load_seconds;
  j["fault_in_seconds"] = r.fault_in_seconds;
  j["warmup_seconds"] = r.warmup_seconds;
  j["rss_bytes"] = r.rss_bytes;
  j["model_bytes"] = r.model_bytes;
  j["bytes_per_token"] = r.footprint.total();
  j["decode_bandwidth_gbs"] = number_or_null(decode_gbs);
  j["read_bandwidth_gbs"] = number_or_null(r.read_gbs);
  j["probe_bytes"] = r.probe_bytes;
  j["bandwidth_ceiling_tps"] = number_or_null(ceiling);
  j["tg_pct_of_ceiling"] = number_or_null(pct);
  Json runs = Json::object();
  runs["pp"] = r.pp ? Json(r.pp->runs) : Json(nullptr);
  runs["tg"] = r.tg ? Json(r.tg->runs) : Json(nullptr);
  runs["batch"] = r.batch ? Json(r.batch->runs) : Json(nullptr);
  j["runs_tps"] = std::move(runs);
  if (a.profile) {
    Json prof = Json::object();
    prof["fma_peak_gmacs"] = number_or_null(r.fma_gmacs);
    prof["pp"] = r.pp_profile ? profile_json(*r.pp_profile, ProfileBound::kCompute, r.fma_gmacs)
                              : Json(nullptr);
    prof["tg"] = r.tg_profile ? profile_json(*r.tg_profile, ProfileBound::kMemory, r.read_gbs)
                              : Json(nullptr);
    prof["batch"] = r.batch_profile
                        ? profile_json(*r.batch_profile, ProfileBound::kMemory, r.read_gbs)
                        : Json(nullptr);
    j["profile"] = std::move(prof);
  }
  return j;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A markdown table like llama-bench's, then one line per derived figure.
std::string to_text(const BenchArgs& a, const Report& r) {
  std::vector<std::vector<std::string>> rows = {{"model", "size", "isa", "threads", "test", "t/s"}};
  auto add = [&](const std::string& test, const std::optional<Stats>& s) {
    if (!s) return;
    rows.push_back({r.model, human_bytes(static_cast<double>(r.model_bytes)), r.isa,
                    std::to_string(r.threads), test,
                    fmt("%.2f", s->mean()) + " ± " + fmt("%.2f", s->sd())});
  };
  add("pp" + std::to_string(a.p), r.pp);
  add("tg" + std::to_string(a.n), r.tg);
  add("tg" + std::to_string(a.n) + " x" + std::to_string(a.batch) + " seqs", r.batch);
  std::ostringstream o;
  // Text columns left-aligned, numbers right-aligned, as llama-bench.
  o << markdown_table(rows, {true, false, true});
  const model::DecodeFootprint& f = r.footprint;
  const double bpt = static_cast<double>(f.total());
  o << "\nload " << fmt("%.2f s", r.load_seconds) << ", weights faulted in "
    << fmt("%.2f s", r.fault_in_seconds) << ", warm-up " << fmt("%.2f s", r.warmup_seconds)
    << ", peak RSS " << human_bytes(static_cast<double>(r.rss_bytes)) << ", model file "
    << human_bytes(static_cast<double>(r.model_bytes)) << "\n";
  o << "weights read per decoded token: " << human_bytes(bpt) << " (experts "
    << human_bytes(static_cast<double>(f.experts)) << ", attention "
    << human_bytes(static_cast<double>(f.attention)) << ", lm_head "
    << human_bytes(static_cast<double>(f.lm_head)) << ", router + norms + embedding row "
    << human_bytes(static_cast<double>(f.router + f.norms + f.embedding)) << ")\n";
  if (r.tg) {
    o << "decode bandwidth: " << fmt("%.2f GB/s", bpt * r.tg->mean() / 1e9)
      << " (tg t/s x weights per token)\n";
  }
  if (r.read_gbs) {
    const double ceiling = *r.read_gbs * 1e9 / bpt;
    o << "read bandwidth: " << fmt("%.2f GB/s", *r.read_gbs) << " (probe: summing "
      << human_bytes(static_cast<double>(r.probe_bytes)) << " with " << r.threads
      << (r.threads == 1 ? " thread" : " threads") << ", best of 3) -> ceiling "
      << fmt("%.2f t/s", ceiling);
    if (r.tg) o << "; tg at " << fmt("%.1f%%", 100.0 * r.tg->mean() / ceiling) << " of it";
    o << "\n";
  }
  if (r.batch && r.tg && r.tg->mean() > 0.0) {
    o << "batch " << a.batch << ": " << fmt("%.2fx", r.batch->mean() / r.tg->mean())
      << " the batch-1 tg rate\n";
  }
  if (r.fma_gmacs) {
    o << "vector FMA peak: " << fmt("%.1f GMAC/s", *r.fma_gmacs) << " (" << kernels::fma_lanes()
      << "-lane FMA chains in registers on " << r.threads
      << (r.threads == 1 ? " thread" : " threads") << ", best of 3)";
    if (r.pp_profile && r.pp_profile->seconds > 0.0) {
      const double gmacs =
          static_cast<double>(r.pp_profile->ops.total_macs()) / r.pp_profile->seconds / 1e9;
      o << "; pp at " << fmt("%.1f GMAC/s", gmacs) << ", "
        << fmt("%.1f%%", 100.0 * gmacs / *r.fma_gmacs) << " of it";
    }
    o << "\n";
  }
  if (r.pp_profile) {
    o << "\nops of the pp runs (per run of " << a.p << " tokens):\n"
      << profile_table(*r.pp_profile, ProfileBound::kCompute, r.fma_gmacs);
  }
  if (r.tg_profile)
    o << "\nops of the tg runs:\n"
      << profile_table(*r.tg_profile, ProfileBound::kMemory, r.read_gbs);
  if (r.batch_profile) {
    o << "\nops of the batch-" << a.batch << " runs:\n"
      << profile_table(*r.batch_profile, ProfileBound::kMemory, r.read_gbs);
  }
  return o.str();
}

// --- the run ---

void run_bench(const BenchArgs& a) {
  check_args(a);
  auto ops = kernels::ops_from_env();
  if (!ops.ok()) fail(ops.message());

  Report r;
  r.model = a.model;
  const auto load_start = std::chrono::steady_clock::now();
  auto m = model::load_model(a.model);
  if (!m.ok()) fail(m.message());
  ThreadPool pool(static_cast<size_t>(a.threads));
  if (a.weights_int8) {
    if (auto q = (*m)->quantize_dense_q8(pool); !q.ok()) fail(q.message());
  }
  model::GptOssForward fwd(**m, **ops, pool);
  r.load_seconds = seconds_since(load_start);
  check_against_model(a, fwd);

  const model::GptOssConfig& c = fwd.config();
  r.isa = std::string((*ops)->isa) + (a.weights_int8 ? " + int8 dense" : "");
  r.threads = pool.size();
  r.footprint = model::decode_footprint(**m);
  const formats::TensorSource& src = (*m)->source();
  for (const std::string& name : src.names()) {
    if (const formats::TensorInfo* t = src.find(name)) r.model_bytes += t->nbytes;
  }
  std::cerr << "quarry bench: " << a.model << ": " << human_bytes(r.model_bytes) << ", loaded in "
            << fmt("%.2f s", r.load_seconds) << "; isa " << r.isa << ", " << r.threads
            << " threads\n";

  const size_t p = static_cast<size_t>(a.p), n = static_cast<size_t>(a.n);
  const size_t reps = static_cast<size_t>(a.r), B = static_cast<size_t>(a.batch);
  IdStream ids(kSeed);
  {
    // Every weight page in memory and mapped before anything is timed: the
    // warm-up routes to only some experts, and a page first touched inside a
    // run (or read from disk) would be timed as decoding.
    const auto start = std::chrono::steady_clock::now();
    if (Status st = (*m)->bring_in(model::GptOssModel::Residency::kNow); !st.ok()) {
      fail(st.message());
    }
    r.fault_in_seconds = seconds_since(start);
    std::cerr << "quarry bench: weights faulted in " << fmt("%.2f s", r.fault_in_seconds) << "\n";
  }
  {
    // The first forward call grows the forward's and the kernels' scratch
    // buffers to size; llama-bench warms up too.
    std::vector<int32_t> w(std::min(kWarmupTokens, c.max_position));
    for (int32_t& id : w) id = ids.next(c.n_vocab);
    r.warmup_seconds = time_prompt(fwd, w);
    std::cerr << "quarry bench: warm-up (" << w.size() << " tokens) "
              << fmt("%.2f s", r.warmup_seconds) << "\n";
  }
  auto report_run = [&](const std::string& test, size_t i, double tps) {
    std::cerr << "quarry bench: " << test << " run " << i + 1 << "/" << reps << ": "
              << fmt("%.2f t/s", tps) << "\n";
  };
  if (p > 0) {
    std::vector<int32_t> prompt(p);
    for (int32_t& id : prompt) id = ids.next(c.n_vocab);
    r.pp.emplace();
    if (a.profile) r.pp_profile.emplace();
    for (size_t i = 0; i < reps; ++i) {
      model::OpProfile* prof = r.pp_profile ? &r.pp_profile->ops : nullptr;
      const double s = time_prompt(fwd, prompt, prof);
      if (r.pp_profile) r.pp_profile->add_run(1, s);
      r.pp->runs.push_back(static_cast<double>(p) / s);
      report_run("pp" + std::to_string(p), i, r.pp->runs.back());
    }
  }
  if (n > 0) {
    const std::vector<int32_t> first(1, ids.next(c.n_vocab));
    r.tg.emplace();
    if (a.profile) r.tg_profile.emplace();
    for (size_t i = 0; i < reps; ++i) {
      model::OpProfile* prof = r.tg_profile ? &r.tg_profile->ops : nullptr;
      const double s = time_decode(fwd, first, n, prof);
      if (r.tg_profile) r.tg_profile->add_run(n, s);
      r.tg->runs.push_back(static_cast<double>(n) / s);
      report_run("tg" + std::to_string(n), i, r.tg->runs.back());
    }
  }
  if (n > 0 && B > 1) {
    std::vector<int32_t> first(B);
    for (int32_t& id : first) id = ids.next(c.n_vocab);
    r.batch.emplace();
    if (a.profile) r.batch_profile.emplace();
    for (size_t i = 0; i < reps; ++i) {
      model::OpProfile* prof = r.batch_profile ? &r.batch_profile->ops : nullptr;
      const double s = time_decode(fwd, first, n, prof);
      if (r.batch_profile) r.batch_profile->add_run(n, s);
      r.batch->runs.push_back(static_cast<double>(B * n) / s);
      report_run("tg" + std::to_string(n) + " x" + std::to_string(B), i, r.batch->runs.back());
    }
  }
  // Read before the probe: its buffer would otherwise count as the model's.
  r.rss_bytes = peak_rss_bytes();
  r.probe_bytes = a.probe_bytes < 0 ? default_probe_bytes() : static_cast<uint64_t>(a.probe_bytes);
  if (r.probe_bytes > 0) {
    r.read_gbs = read_bandwidth_gbs(pool, r.probe_bytes);
    std::cerr << "quarry bench: read bandwidth " << fmt("%.2f GB/s", *r.read_gbs) << "\n";
  }
  if (a.profile) r.fma_gmacs = fma_peak_gmacs(pool);

  const std::string text = to_text(a, r);
  if (a.json) {
    std::cerr << text;
    std::cout << to_json(a, r).dump() << "\n";
  } else {
    std::cout << text;
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  BenchArgs& a = *args;
  CLI::App* sub = app.add_subcommand(
      "bench",
      "prompt-processing and generation throughput (like llama-bench), peak RSS, "
      "weight bytes per token and the machine's measured read bandwidth");
  sub->add_option("--model", a.model, "model directory (Hugging Face layout) or .gguf file")
      ->required();
  sub->add_option("-p,--n-prompt", a.p, "prompt tokens per pp run, 0 = skip (default: 512)");
  sub->add_option("-n,--n-gen", a.n, "tokens decoded per tg run, 0 = skip (default: 128)");
  sub->add_option("-t,--threads", a.threads, "compute threads (default: all hardware threads)");
  sub->add_option("-r,--repetitions", a.r, "runs of each test (default: 3)");
  sub->add_option("--batch", a.batch,
                  "also decode this many sequences together, one token each per step "
                  "(default: 1 = only batch 1)");
  sub->add_flag("--json", a.json, "print one JSON object on stdout (the table goes to stderr)");
  sub->add_flag("--profile", a.profile,
                "time every kind of op of the pp, tg (and batch) runs: ms, weight bytes and "
                "GB/s against the read probe, multiply-adds and GMAC/s against a vector FMA "
                "probe");
  sub->add_flag("--weights-int8", a.weights_int8,
                "requantize the dense matrices (attention, router, lm_head) to int8 at load");
  // For tests: a small probe keeps them fast (and says nothing about DRAM).
  sub->add_option("--probe-bytes", a.probe_bytes,
                  "bytes read by the bandwidth probe, 0 = skip (default: min(1 GiB, RAM/4))")
      ->group("");
  sub->callback([args] { run_bench(*args); });
}

}  // namespace quarry::cli
