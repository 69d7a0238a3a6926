// Subcommands of `quarry`. Each cmd_*.cpp registers its own on the app.
#pragma once

#include <string>

#include "base/result.h"
#include "cli/jsonl.h"
#include "tokenizer/tokenizer.h"

namespace CLI {
class App;
}

namespace quarry::model {
class GptOssForward;
}

namespace quarry::cli {

void add_tokenize_commands(CLI::App& app);  // tokenize, detokenize
void add_harmony_commands(CLI::App& app);   // harmony render, harmony parse
void add_demo_command(CLI::App& app);       // demo: render + tokenize a sample chat
void add_model_commands(CLI::App& app);     // logits, generate
void add_convert_commands(CLI::App& app);   // synth, convert
void add_bench_command(CLI::App& app);      // bench: throughput, RSS, bandwidth
void add_serve_command(CLI::App& app);      // serve: the OpenAI-compatible server
void add_keys_commands(CLI::App& app);      // keys create|list|revoke, usage

// Loads --tokenizer PATH; when empty, $QUARRY_TOKENIZER, then the rank table
// installed beside the binary (share/quarry/o200k_base.tiktoken).
Result<tokenizer::Tokenizer> load_tokenizer(const std::string& path);
// The tokenizer for a model: `tokenizer_path` if given; else the one shipped
// with the model (an HF checkpoint's tokenizer.json, the vocabulary inside a
// GGUF file), so a model with its own vocabulary is never read with another;
// else the default o200k rank table.
Result<tokenizer::Tokenizer> model_tokenizer(const std::string& model,
                                             const std::string& tokenizer_path);

// Reads in[field] as token ids: an array of integers in [0, vocab_size).
// Errors name the element, e.g. "ids[3]: 201088 is not a token ...".
Result<std::vector<tokenizer::TokenId>> parse_token_ids(const Json& in, const std::string& field,
                                                        uint32_t vocab_size);

// One JSON line of `quarry harmony render`: {"request": {...}, "options": {...}}
// -> {"prompt": "...", "ids": [...]}.
Result<Json> harmony_render_line(const tokenizer::Tokenizer& tok, const Json& input);
// One JSON line of `quarry harmony parse`: {"completion_ids": [...]} ->
// {"messages": [...], "openai": {...}}.
Result<Json> harmony_parse_line(const tokenizer::Tokenizer& tok, const Json& input);

// One JSON line of `quarry logits`: {"input_ids": [...], "positions": [...]}
// -> {"logits": [[...], ...]} (positions index input_ids; absent = all).
Result<Json> logits_line(model::GptOssForward& fwd, const Json& input);
// One JSON line of `quarry generate --jsonl`: {"input_ids": [...], "max_tokens": N}
// -> {"new_tokens": [...]} (greedy, ties to the lowest id, no EOS stop).
Result<Json> generate_line(model::GptOssForward& fwd, const Json& input);

}  // namespace quarry::cli
