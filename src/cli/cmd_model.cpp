// `quarry logits --model PATH --jsonl` and `quarry generate --model PATH --jsonl`:
// the exact forward pass behind the JSON-lines contract.
//   logits:   {"input_ids": [...], "positions": [...]} -> {"logits": [[...], ...]}
//             (positions index input_ids; the row for p is the logits after
//             reading input_ids[0..p]; absent positions = every position)
//   generate: {"input_ids": [...], "max_tokens": N} -> {"new_tokens": [...]}
//             (greedy, ties to the lowest id, exactly N tokens, no EOS stop)
// `quarry generate --model PATH --prompt TEXT` is the chat mode: the prompt is
// rendered with harmony, sampled with model::decode until a stop token, and
// the answer streamed through the harmony parser to the terminal.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>

#include "base/strings.h"
#include "cli/commands.h"
#include "cli/transcript.h"
#include "formats/gguf.h"
#include "harmony/chat_request.h"
#include "harmony/renderer.h"
#include "harmony/stream_parser.h"
#include "kernels/ops.h"
#include "model/decode.h"
#include "model/generate.h"

namespace quarry::cli {
namespace {

struct ModelArgs {
  std::string model;
  size_t threads = 0;
  bool jsonl = false;
  bool check_weights = false;
  bool weights_int8 = false;
};

// `generate`'s options on top of the model ones; the Option pointers tell
// whether a flag was given at all (an empty --prompt "" is still a prompt).
struct GenerateArgs : ModelArgs {
  std::string prompt;
  std::string system;
  std::string tokenizer;
  std::string effort = "medium";
  size_t max_tokens = 512;
  float temperature = 1.0f;
  float top_p = 1.0f;
  uint64_t seed = 0;
  CLI::Option* prompt_opt = nullptr;
  CLI::Option* system_opt = nullptr;
  CLI::Option* seed_opt = nullptr;
};

// A loaded model with its forward pass, built once per process.
struct LoadedModel {
  std::unique_ptr<model::GptOssModel> model;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<model::GptOssForward> fwd;
};

Result<LoadedModel> load(const ModelArgs& a) {
  auto ops = kernels::ops_from_env();
  if (!ops.ok()) return ops.error();
  auto m = model::load_model(a.model);
  if (!m.ok()) return m.error();
  if (a.check_weights) {
    if (Status s = model::check_expert_scales(**m); !s.ok()) return make_error(s.message());
  }
  LoadedModel out;
  out.model = std::move(m.value());
  out.pool = std::make_unique<ThreadPool>(a.threads);
  if (a.weights_int8) {
    if (auto q = out.model->quantize_dense_q8(*out.pool); !q.ok()) return q.error();
  }
  out.fwd = std::make_unique<model::GptOssForward>(*out.model, **ops, *out.pool);
  return out;
}

void add_model_options(CLI::App* sub, ModelArgs& a) {
  sub->add_option("--model", a.model, "model directory (Hugging Face layout) or .gguf file")
      ->required();
  sub->add_option("--threads", a.threads, "compute threads (default: all hardware threads)");
  sub->add_flag("--jsonl", a.jsonl, "JSON lines on stdin -> JSON lines on stdout");
  sub->add_flag("--check-weights", a.check_weights,
                "read every MXFP4 scale at load and refuse the value 255 (NaN)");
  sub->add_flag("--weights-int8", a.weights_int8,
                "requantize the dense matrices (attention, router, lm_head) to int8 at load");
}

// Loads the model or exits with status 1 and a message naming the command.
LoadedModel load_or_exit(const ModelArgs& a, const std::string& command) {
  auto m = load(a);
  if (!m.ok()) {
    std::cerr << "quarry " << command << ": " << m.message() << "\n";
    throw CLI::RuntimeError(1);
  }
  return std::move(m.value());
}

Result<std::vector<int32_t>> input_ids(const Json& in, size_t vocab) {
  auto ids = parse_token_ids(in, "input_ids", static_cast<uint32_t>(vocab));
  if (!ids.ok()) return ids.error();
  if (ids->empty()) return make_error("input_ids: empty (at least one token is needed)");
  return std::vector<int32_t>(ids->begin(), ids->end());
}

}  // namespace

Result<Json> logits_line(model::GptOssForward& fwd, const Json& in) {
  auto ids = input_ids(in, fwd.config().n_vocab);
  if (!ids.ok()) return ids.error();
  const size_t n = ids->size();
  std::vector<int32_t> positions;
  if (!in.contains("positions") || in["positions"].is_null()) {
    for (size_t p = 0; p < n; ++p) positions.push_back(static_cast<int32_t>(p));
  } else {
    const Json& a = in["positions"];
    if (!a.is_array()) return make_error("positions: expected an array of indices into input_ids");
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string where = "positions[" + std::to_string(i) + "]";
      if (!a[i].is_number_integer()) return make_error(where + ": expected an integer");
      const int64_t p = a[i].get<int64_t>();
      if (p < 0 || static_cast<uint64_t>(p) >= n) {
        return make_error(where + ": " + std::to_string(p) + " is out of range (" +
                          std::to_string(n) + " input ids)");
      }
      positions.push_back(static_cast<int32_t>(p));
    }
  }
  if (n > fwd.config().max_position) {
    return make_error("input_ids: " + std::to_string(n) + " tokens exceed the model's " +
                      std::to_string(fwd.config().max_position) + " positions");
  }
  auto logits = model::sequence_logits(fwd, *ids, positions);
  if (!logits.ok()) return logits.error();
  const size_t V = fwd.config().n_vocab;
  Json rows = Json::array();
  for (size_t j = 0; j < positions.size(); ++j) {
    Json row = Json::array();
    row.get_ref<Json::array_t&>().reserve(V);
    for (size_t i = 0; i < V; ++i) row.push_back(shortest_decimal((*logits)[j * V + i]));
    rows.push_back(std::move(row));
  }
  Json out = Json::object();
  out["logits"] = std::move(rows);
  return out;
}

Result<Json> generate_line(model::GptOssForward& fwd, const Json& in) {
  auto ids = input_ids(in, fwd.config().n_vocab);
  if (!ids.ok()) return ids.error();
  if (!in.contains("max_tokens")) return make_error("max_tokens: missing");
  const Json& mt = in["max_tokens"];
  if (!mt.is_number_integer() || mt.get<int64_t>() < 0) {
    return make_error("max_tokens: expected a non-negative integer");
  }
  const uint64_t n_new = mt.get<uint64_t>();
  const size_t limit = fwd.config().max_position;
  if (n_new > limit || ids->size() + n_new > limit) {
    return make_error("max_tokens: " + std::to_string(ids->size()) + " input ids + " +
                      std::to_string(n_new) + " new tokens exceed the model's " +
                      std::to_string(limit) + " positions");
  }
  auto toks = model::greedy_generate(fwd, *ids, n_new);
  if (!toks.ok()) return toks.error();
  Json out = Json::object();
  out["new_tokens"] = toks.value();
  return out;
}

namespace {

[[noreturn]] void fail(int status, const std::string& message) {
  std::cerr << "quarry generate: " << message << "\n";
  throw CLI::RuntimeError(status);
}

// Sampling ends at harmony's stop tokens (<|return|>, <|call|>, <|endoftext|>)
// and at the model's own EOS ids.
std::vector<int32_t> stop_ids(const model::GptOssConfig& c) {
  std::vector<int32_t> ids = {static_cast<int32_t>(tokenizer::kReturn),
                              static_cast<int32_t>(tokenizer::kCall),
                              static_cast<int32_t>(tokenizer::kEndOfText)};
  for (int64_t e : c.eos_ids) {
    if (e < 0 || static_cast<uint64_t>(e) >= c.n_vocab) continue;
    if (std::find(ids.begin(), ids.end(), e) == ids.end()) ids.push_back(static_cast<int32_t>(e));
  }
  return ids;
}

std::string stop_text(const model::DecodeStats& st, const tokenizer::Tokenizer& tok,
                      const GenerateArgs& a, size_t max_position) {
  switch (st.stop) {
    case model::DecodeStop::kStopToken: {
      const std::string_view t = tok.token_bytes(static_cast<tokenizer::TokenId>(st.stop_token));
      return t.empty() ? "token " + std::to_string(st.stop_token) : std::string(t);
    }
    case model::DecodeStop::kMaxTokens:
      return "--max-tokens " + std::to_string(a.max_tokens) + " reached (answer cut off)";
    case model::DecodeStop::kMaxPosition:
      return "the model's " + std::to_string(max_position) + " positions are full";
    case model::DecodeStop::kCallback:
      break;
  }
  return "interrupted";
}

std::string rate(size_t tokens, double seconds) {
  if (tokens == 0 || seconds <= 0.0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f tok/s", static_cast<double>(tokens) / seconds);
  return buf;
}

// The chat mode: validate, load, render, decode while streaming the parsed
// answer to stdout; statistics go to stderr so stdout is the answer alone.
void generate_prompt(const GenerateArgs& a) {
  model::SamplingParams sp{a.temperature, a.top_p, a.seed};
  if (a.seed_opt->count() == 0) {
    // No --seed: a fresh one, printed with the statistics so the run can be repeated.
    std::random_device rd;
    sp.seed = (static_cast<uint64_t>(rd()) << 32) | rd();
  }
  if (Status s = model::validate_sampling(sp, "--temperature", "--top-p"); !s.ok()) {
    fail(2, s.message());
  }
  auto sampler = model::Sampler::create(sp);
  if (!sampler.ok()) fail(2, sampler.message());

  const auto load_start = std::chrono::steady_clock::now();
  LoadedModel m = load_or_exit(a, "generate");
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const model::GptOssConfig& c = m.fwd->config();
  if (c.n_vocab < tokenizer::kVocabSize) {
    fail(1, "the model's vocabulary (" + std::to_string(c.n_vocab) +
                " tokens) is too small for the harmony tokenizer (" +
                std::to_string(tokenizer::kVocabSize) +
                " tokens): --prompt needs a gpt-oss vocabulary (use --jsonl with token ids "
                "for small test models)");
  }
  auto tok = model_tokenizer(a.model, a.tokenizer);
  if (!tok.ok()) fail(1, "tokenizer: " + tok.message());

  nlohmann::ordered_json body;
  body["messages"] = nlohmann::ordered_json::array();
  if (a.system_opt->count() > 0) {
    body["messages"].push_back({{"role", "system"}, {"content", a.system}});
  }
  body["messages"].push_back({{"role", "user"}, {"content", a.prompt}});
  body["reasoning_effort"] = a.effort;
  auto request = harmony::parse_chat_request(body);
  if (!request.ok()) fail(1, request.message());
  auto ids = harmony::render_prompt(*tok, *request);
  if (!ids.ok()) fail(1, "render: " + ids.message());
  const std::vector<int32_t> prompt(ids->begin(), ids->end());

  harmony::StreamParser parser(*tok, harmony::ParseMode::kLenient);
  TranscriptPrinter printer(std::cout, isatty(STDOUT_FILENO) == 1);
  std::vector<harmony::ParseEvent> events;
  std::vector<tokenizer::TokenId> generated;
  const model::DecodeOptions options{a.max_tokens, stop_ids(c)};
  auto stats = model::decode(*m.fwd, prompt, options, *sampler, [&](int32_t id) {
    generated.push_back(static_cast<tokenizer::TokenId>(id));
    events.clear();
    parser.push(static_cast<tokenizer::TokenId>(id), events);
    printer.print(events);
    std::cout.flush();
    return true;
  });
  // Close a message cut off by --max-tokens (or an error) before reporting.
  events.clear();
  parser.finish(events);
  printer.print(events);
  printer.finish();
  if (!stats.ok()) fail(1, stats.message());
  if (parser.failed() && !generated.empty()) {
    // The parser stops at the first malformation, so part of the output was
    // never shown: print all of it as text (specials written out), which is
    // what one needs to see what the model did.
    std::cerr << "quarry generate: warning: the output is not well-formed harmony ("
              << *parser.error() << "); the raw output follows\n";
    auto raw = tok->decode(generated);
    std::cout << "[raw output]\n" << (raw.ok() ? *raw : raw.message()) << "\n" << std::flush;
  }
  const model::DecodeStats& st = stats.value();
  char load_text[32];
  std::snprintf(load_text, sizeof load_text, "%.2f s", load_seconds);
  std::cerr << "quarry generate: load " << load_text << "; prompt " << st.prompt_tokens
            << " tokens (" << rate(st.prompt_tokens, st.prefill_seconds) << " prefill), generated "
            << st.generated_tokens << " tokens (" << rate(st.decode_steps, st.decode_seconds)
            << " decode); stop: " << stop_text(st, *tok, a, c.max_position);
  if (sp.temperature > 0.0f) std::cerr << "; seed " << sp.seed;
  std::cerr << "\n";
}

}  // namespace

void add_model_commands(CLI::App& app) {
  auto largs = std::make_shared<ModelArgs>();
  CLI::App* logits = app.add_subcommand(
      "logits", "{\"input_ids\": [...], \"positions\": [...]} -> {\"logits\": [[...], ...]}");
  add_model_options(logits, *largs);
  logits->callback([largs] {
    LoadedModel m = load_or_exit(*largs, "logits");
    run_jsonl(std::cin, std::cout, [&](const Json& in) { return logits_line(*m.fwd, in); });
  });

  auto gargs = std::make_shared<GenerateArgs>();
  CLI::App* gen = app.add_subcommand(
      "generate",
      "--prompt TEXT: chat with the model (harmony prompt, streamed answer); --jsonl: "
      "{\"input_ids\": [...], \"max_tokens\": N} -> {\"new_tokens\": [...]}");
  add_model_options(gen, *gargs);
  GenerateArgs& g = *gargs;
  g.prompt_opt = gen->add_option("--prompt", g.prompt, "user message to answer (chat mode)");
  g.system_opt = gen->add_option("--system", g.system, "system message (chat mode)");
  gen->add_option("--reasoning-effort", g.effort, "low, medium or high (default: medium)")
      ->check(CLI::IsMember({"low", "medium", "high"}));
  gen->add_option("--max-tokens", g.max_tokens, "most tokens to generate (default: 512)");
  gen->add_option("--temperature", g.temperature, "sampling temperature, 0 = greedy (default: 1)");
  gen->add_option("--top-p", g.top_p, "nucleus sampling mass in (0, 1] (default: 1)");
  g.seed_opt = gen->add_option("--seed", g.seed, "sampling seed (default: random, printed)");
  gen->add_option("--tokenizer", g.tokenizer,
                  "tokenizer (default: the model's own, else the o200k rank table)");
  gen->callback([gargs] {
    const bool prompt = gargs->prompt_opt->count() > 0;
    if (gargs->jsonl && prompt) {
      std::cerr << "quarry generate: --jsonl and --prompt cannot be used together\n";
      throw CLI::RuntimeError(2);
    }
    if (!gargs->jsonl && !prompt) {
      std::cerr << "quarry generate: pass --prompt TEXT to chat with the model, or --jsonl to "
                   "read token ids as JSON lines on stdin\n";
      throw CLI::RuntimeError(2);
    }
    if (prompt) return generate_prompt(*gargs);
    LoadedModel m = load_or_exit(*gargs, "generate");
    run_jsonl(std::cin, std::cout, [&](const Json& in) { return generate_line(*m.fwd, in); });
  });
}

}  // namespace quarry::cli
