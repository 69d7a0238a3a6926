// `quarry harmony render|parse --tokenizer PATH --jsonl`.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

namespace quarry::cli {
namespace {

struct HarmonyArgs {
  std::string tokenizer;
  bool jsonl = false;
};

void add_jsonl_subcommand(CLI::App& parent, const std::string& name, const std::string& help,
                          Result<Json> (*fn)(const tokenizer::Tokenizer&, const Json&)) {
  auto args = std::make_shared<HarmonyArgs>();
  CLI::App* sub = parent.add_subcommand(name, help);
  sub->add_option("--tokenizer", args->tokenizer,
                  "tiktoken rank file, tokenizer.json or model directory");
  sub->add_flag("--jsonl", args->jsonl, "JSON lines on stdin -> JSON lines on stdout (default)");
  sub->callback([args, fn, name] {
    auto tok = load_tokenizer(args->tokenizer);
    if (!tok.ok()) {
      std::cerr << "quarry harmony " << name << ": " << tok.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    const tokenizer::Tokenizer& t = tok.value();
    run_jsonl(std::cin, std::cout, [&](const Json& in) { return fn(t, in); });
  });
}

}  // namespace

void add_harmony_commands(CLI::App& app) {
  CLI::App* harmony = app.add_subcommand("harmony", "render chats to harmony tokens, parse output");
  harmony->require_subcommand(1);
  add_jsonl_subcommand(*harmony, "render",
                       "{\"request\": {...}, \"options\": {...}} -> {\"prompt\", \"ids\"}",
                       &harmony_render_line);
  add_jsonl_subcommand(*harmony, "parse",
                       "{\"completion_ids\": [...]} -> {\"messages\", \"openai\"}",
                       &harmony_parse_line);
}

}  // namespace quarry::cli
