// Encode throughput of Quarry's o200k tokenizer on a text corpus.
//
//   quarry_tokenizer_bench --ranks third_party/o200k/o200k_base.tiktoken
//                          --corpus bench/out/corpus.txt [--chunk 4096] [--reps 5]
//                          [--warmup 1] [--mode encode|encode_into|pretokenize]
//                          [--limit BYTES] [--hashes FILE]
//
// The corpus is cut into chunks exactly as bench/tiktoken_bench.mjs cuts it: a
// chunk ends with the first '\n' at or after `chunk` bytes from its start (the
// rest of the file if there is none); --chunk 0 encodes the whole corpus as
// one text. Each repetition encodes every chunk once; the result is one JSON
// line on stdout (MB = 10^6 bytes) with the best and median repetition, in
// wall-clock time and in this thread's CPU time (*_cpu); with --mode
// pretokenize, tokens_per_s counts pieces.
// An untimed pass first counts the tokens and pieces and hashes the ids
// (FNV-1a over the 32-bit ids, chunk by chunk), so the two benchmarks can be
// checked against each other; --hashes writes "<tokens> <hash>" per chunk.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "base/file.h"
#include "tokenizer/tokenizer.h"

namespace {

using quarry::tokenizer::TokenId;
using quarry::tokenizer::Tokenizer;

struct Options {
  std::string ranks;
  std::string corpus;
  std::string hashes;
  std::string mode = "encode";
  size_t chunk = 4096;
  size_t limit = 0;
  int reps = 5;
  int warmup = 1;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "quarry_tokenizer_bench: %s\n"
               "usage: quarry_tokenizer_bench --ranks FILE --corpus FILE [--chunk BYTES]\n"
               "         [--reps N] [--warmup N] [--mode encode|encode_into|pretokenize]\n"
               "         [--limit BYTES] [--hashes FILE]\n",
               msg);
  std::exit(2);
}

size_t parse_size(const char* flag, const char* s) {
  size_t v = 0;
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, v);
  if (ec != std::errc() || p != end) usage((std::string(flag) + ": not a number: " + s).c_str());
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + std::string(a)).c_str());
    const char* v = argv[++i];
    if (a == "--ranks") {
      o.ranks = v;
    } else if (a == "--corpus") {
      o.corpus = v;
    } else if (a == "--hashes") {
      o.hashes = v;
    } else if (a == "--mode") {
      o.mode = v;
    } else if (a == "--chunk") {
      o.chunk = parse_size("--chunk", v);
    } else if (a == "--limit") {
      o.limit = parse_size("--limit", v);
    } else if (a == "--reps") {
      o.reps = static_cast<int>(parse_size("--reps", v));
    } else if (a == "--warmup") {
      o.warmup = static_cast<int>(parse_size("--warmup", v));
    } else {
      usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (o.ranks.empty() || o.corpus.empty()) usage("--ranks and --corpus are required");
  if (o.mode != "encode" && o.mode != "encode_into" && o.mode != "pretokenize") {
    usage(("unknown --mode " + o.mode).c_str());
  }
  if (o.reps < 1) usage("--reps must be >= 1");
  return o;
}

// The same rule as chunks() in tiktoken_bench.mjs.
std::vector<std::string_view> make_chunks(std::string_view text, size_t chunk) {
  std::vector<std::string_view> out;
  if (chunk == 0) {
    out.push_back(text);
    return out;
  }
  size_t s = 0;
  while (s < text.size()) {
    const size_t nl = text.find('\n', s + chunk - 1);
    const size_t e = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(s, e - s));
    s = e;
  }
  return out;
}

uint32_t fnv1a(uint32_t h, const std::vector<TokenId>& ids) {
  for (const TokenId id : ids) h = (h ^ id) * 16777619u;
  return h;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this thread: robust against other processes taking the CPU
// (the wall-clock figure on a shared machine is mostly scheduling noise).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One pass over all chunks in the given mode; returns tokens (or pieces).
size_t run_once(const Tokenizer& tok, const std::vector<std::string_view>& chunks,
                const std::string& mode, std::vector<TokenId>& scratch) {
  size_t n = 0;
  if (mode == "encode") {
    for (const auto c : chunks) n += tok.encode_ordinary(c).size();
  } else if (mode == "encode_into") {
    for (const auto c : chunks) {
      scratch.clear();
      tok.encode_ordinary_into(c, scratch);
      n += scratch.size();
    }
  } else {
    for (const auto c : chunks) n += tok.pretokenize(c).size();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);

  const auto t_load = std::chrono::steady_clock::now();
  auto tok = Tokenizer::load(opt.ranks);
  if (!tok.ok()) {
    std::fprintf(stderr, "quarry_tokenizer_bench: %s\n", tok.message().c_str());
    return 1;
  }
  const double load_s = seconds_since(t_load);

  auto file = quarry::read_file(opt.corpus);
  if (!file.ok()) {
    std::fprintf(stderr, "quarry_tokenizer_bench: %s\n", file.message().c_str());
    return 1;
  }
  std::string_view text = file.value();
  if (opt.limit > 0 && opt.limit < text.size()) {
    // Cut after a newline so the slice stays valid UTF-8 (the corpus is).
    const size_t nl = text.find('\n', opt.limit - 1);
    if (nl != std::string_view::npos) text = text.substr(0, nl + 1);
  }
  const std::vector<std::string_view> chunks = make_chunks(text, opt.chunk);

  // Untimed reference pass: token count, piece count, id hash.
  size_t tokens = 0;
  size_t pieces = 0;
  uint32_t hash = 2166136261u;
  {
    std::FILE* hf = nullptr;
    if (!opt.hashes.empty()) {
      hf = std::fopen(opt.hashes.c_str(), "w");
      if (!hf) {
        std::fprintf(stderr, "quarry_tokenizer_bench: cannot write %s\n", opt.hashes.c_str());
        return 1;
      }
    }
    for (const auto c : chunks) {
      const std::vector<TokenId> ids = tok->encode_ordinary(c);
      tokens += ids.size();
      pieces += tok->pretokenize(c).size();
      hash = fnv1a(hash, ids);
      if (hf) std::fprintf(hf, "%zu %08" PRIx32 "\n", ids.size(), fnv1a(2166136261u, ids));
    }
    if (hf) std::fclose(hf);
  }

  std::vector<TokenId> scratch;
  scratch.reserve(opt.chunk + 16);
  size_t sink = 0;
  for (int i = 0; i < opt.warmup; ++i) sink += run_once(*tok, chunks, opt.mode, scratch);
  std::vector<double> times;
  std::vector<double> cpu_times;
  for (int i = 0; i < opt.reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    sink += run_once(*tok, chunks, opt.mode, scratch);
    cpu_times.push_back(thread_cpu_seconds() - c0);
    times.push_back(seconds_since(t0));
  }
  const size_t expect = opt.mode == "pretokenize" ? pieces : tokens;
  if (sink != expect * static_cast<size_t>(opt.warmup + opt.reps)) {
    std::fprintf(stderr, "quarry_tokenizer_bench: repetitions disagree on the count\n");
    return 1;
  }
  const double best = *std::min_element(times.begin(), times.end());
  const double median = median_of(times);
  const double median_cpu = median_of(cpu_times);
  const double mb = static_cast<double>(text.size()) / 1e6;
  std::printf(
      "{\"impl\":\"quarry\",\"mode\":\"%s\",\"bytes\":%zu,\"chunk\":%zu,\"chunks\":%zu,"
      "\"tokens\":%zu,\"pieces\":%zu,\"hash\":\"%08" PRIx32
      "\",\"reps\":%d,\"load_s\":%.3f,"
      "\"best_s\":%.4f,\"median_s\":%.4f,\"mb_per_s\":%.2f,\"mb_per_s_best\":%.2f,"
      "\"tokens_per_s\":%.0f,\"median_cpu_s\":%.4f,\"mb_per_s_cpu\":%.2f,"
      "\"tokens_per_s_cpu\":%.0f}\n",
      opt.mode.c_str(), text.size(), opt.chunk, chunks.size(), tokens, pieces, hash, opt.reps,
      load_s, best, median, mb / median, mb / best, static_cast<double>(expect) / median,
      median_cpu, mb / median_cpu, static_cast<double>(expect) / median_cpu);
  return 0;
}
