// `quarry logits --model PATH --jsonl` and `quarry generate --model PATH --jsonl`:
// the exact forward pass behind the JSON-lines contract.
//   logits:   {"input_ids": [...], "positions": [...]} -> {"logits": [[...], ...]}
//             (positions index input_ids; the row for p is the logits after
//             reading input_ids[0..p]; absent positions = every position)
//   generate: {"input_ids": [...], "max_tokens": N} -> {"new_tokens": [...]}
//             (greedy, ties to the lowest id, exactly N tokens, no EOS stop)
// The `--prompt` mode of generate (harmony rendering, sampling, streaming)
// attaches to the same subcommand through GenerateArgs.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "kernels/ops.h"
#include "model/generate.h"

namespace quarry::cli {
namespace {

struct ModelArgs {
  std::string model;
  size_t threads = 0;
  bool jsonl = false;
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
  LoadedModel out;
  out.model = std::move(m.value());
  out.pool = std::make_unique<ThreadPool>(a.threads);
  out.fwd = std::make_unique<model::GptOssForward>(*out.model, **ops, *out.pool);
  return out;
}

void add_model_options(CLI::App* sub, ModelArgs& a) {
  sub->add_option("--model", a.model, "model directory (Hugging Face layout) or .gguf file")
      ->required();
  sub->add_option("--threads", a.threads, "compute threads (default: all hardware threads)");
  sub->add_flag("--jsonl", a.jsonl, "JSON lines on stdin -> JSON lines on stdout");
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

// The double nearest the shortest decimal that reads back as f, so the JSON
// carries ~9 significant digits instead of the 17 of double(f).
double shortest(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  *r.ptr = '\0';
  return std::strtod(buf, nullptr);
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
    for (size_t i = 0; i < V; ++i) row.push_back(shortest((*logits)[j * V + i]));
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

void add_model_commands(CLI::App& app) {
  auto largs = std::make_shared<ModelArgs>();
  CLI::App* logits = app.add_subcommand(
      "logits", "{\"input_ids\": [...], \"positions\": [...]} -> {\"logits\": [[...], ...]}");
  add_model_options(logits, *largs);
  logits->callback([largs] {
    LoadedModel m = load_or_exit(*largs, "logits");
    run_jsonl(std::cin, std::cout, [&](const Json& in) { return logits_line(*m.fwd, in); });
  });

  auto gargs = std::make_shared<ModelArgs>();
  CLI::App* gen = app.add_subcommand(
      "generate", "--jsonl: {\"input_ids\": [...], \"max_tokens\": N} -> {\"new_tokens\": [...]}");
  add_model_options(gen, *gargs);
  gen->callback([gargs] {
    if (!gargs->jsonl) {
      std::cerr << "quarry generate: only --jsonl is available so far\n";
      throw CLI::RuntimeError(2);
    }
    LoadedModel m = load_or_exit(*gargs, "generate");
    run_jsonl(std::cin, std::cout, [&](const Json& in) { return generate_line(*m.fwd, in); });
  });
}

}  // namespace quarry::cli
