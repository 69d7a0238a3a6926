// `quarry tokenize` and `quarry detokenize` (JSON lines).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

namespace quarry::cli {
namespace {

using tokenizer::TokenId;

Result<tokenizer::Specials> parse_allow_special(const Json& in) {
  if (!in.contains("allow_special") || in["allow_special"].is_null()) {
    return tokenizer::Specials::kNone;
  }
  const Json& a = in["allow_special"];
  if (a.is_boolean()) return a.get<bool>() ? tokenizer::Specials::kAll : tokenizer::Specials::kNone;
  if (a.is_string() && a.get<std::string>() == "all") return tokenizer::Specials::kAll;
  if (a.is_string() && a.get<std::string>() == "none") return tokenizer::Specials::kNone;
  return make_error("allow_special: expected true, false, \"all\" or \"none\"");
}

Result<Json> tokenize_line(const tokenizer::Tokenizer& tok, const Json& in) {
  if (!in.contains("text")) return make_error("text: missing");
  if (!in["text"].is_string()) return make_error("text: expected a string");
  auto specials = parse_allow_special(in);
  if (!specials.ok()) return specials.error();
  const std::vector<TokenId> ids = tok.encode(in["text"].get_ref<const std::string&>(), *specials);
  Json out = Json::object();
  out["ids"] = ids;
  return out;
}

Result<Json> detokenize_line(const tokenizer::Tokenizer& tok, const Json& in) {
  auto ids = parse_token_ids(in, "ids", tok.vocab_size());
  if (!ids.ok()) return ids.error();
  auto text = tok.decode(ids.value());
  if (!text.ok()) return text.error();
  Json out = Json::object();
  out["text"] = std::move(text.value());
  return out;
}

void add_command(CLI::App& app, const std::string& name, const std::string& help,
                 Result<Json> (*fn)(const tokenizer::Tokenizer&, const Json&)) {
  auto path = std::make_shared<std::string>();
  auto jsonl = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(name, help);
  sub->add_option("--tokenizer", *path, "tiktoken rank file, tokenizer.json or model directory");
  sub->add_flag("--jsonl", *jsonl, "JSON lines on stdin -> JSON lines on stdout (the default)");
  sub->callback([path, jsonl, fn, name] {
    auto tok = load_tokenizer(*path);
    if (!tok.ok()) {
      std::cerr << "quarry " << name << ": " << tok.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    const tokenizer::Tokenizer& t = tok.value();
    run_jsonl(std::cin, std::cout, [&](const Json& in) { return fn(t, in); });
  });
}

}  // namespace

Result<std::vector<tokenizer::TokenId>> parse_token_ids(const Json& in, const std::string& field,
                                                        uint32_t vocab_size) {
  if (!in.contains(field)) return make_error(field + ": missing");
  const Json& a = in[field];
  if (!a.is_array()) return make_error(field + ": expected an array of token ids");
  std::vector<TokenId> ids;
  ids.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!a[i].is_number_integer()) return make_error(where + ": expected an integer token id");
    if (a[i].is_number_unsigned() ? false : a[i].get<int64_t>() < 0) {
      return make_error(where + ": negative token id " + std::to_string(a[i].get<int64_t>()));
    }
    const uint64_t id = a[i].get<uint64_t>();
    if (id >= vocab_size) {
      return make_error(where + ": " + std::to_string(id) + " is not a token (vocabulary size " +
                        std::to_string(vocab_size) + ")");
    }
    ids.push_back(static_cast<TokenId>(id));
  }
  return ids;
}

void add_tokenize_commands(CLI::App& app) {
  add_command(app, "tokenize", "{\"text\": \"...\", \"allow_special\": false} -> {\"ids\": [...]}",
              &tokenize_line);
  add_command(app, "detokenize", "{\"ids\": [...]} -> {\"text\": \"...\"}", &detokenize_line);
}

}  // namespace quarry::cli
