// `quarry demo`: the main job until `quarry serve` exists. Renders a sample
// chat to harmony tokens, then streams a sample completion through the parser.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "harmony/chat_request.h"
#include "harmony/openai_mapping.h"
#include "harmony/renderer.h"
#include "harmony/stream_parser.h"

namespace quarry::cli {
namespace {

constexpr const char* kSampleRequest = R"({
  "messages": [
    {"role": "system", "content": "You are a concise assistant for a hardware store."},
    {"role": "user", "content": "Do you have 3 mm drill bits in stock in Lyon?"}
  ],
  "tools": [{"type": "function", "function": {
    "name": "check_stock",
    "description": "Looks up how many units of an item a store has.",
    "parameters": {"type": "object", "properties": {
      "item": {"type": "string"},
      "store": {"type": "string", "enum": ["Lyon", "Paris"]}},
      "required": ["item", "store"]}}}],
  "reasoning_effort": "low"
})";

// What gpt-oss might answer: reasoning, then a tool call.
constexpr const char* kSampleCompletion =
    "<|channel|>analysis<|message|>Need stock for 3 mm drill bits in Lyon.<|end|>"
    "<|start|>assistant<|channel|>commentary to=functions.check_stock <|constrain|>json"
    "<|message|>{\"item\":\"drill bit 3 mm\",\"store\":\"Lyon\"}<|call|>";

int run_demo(const tokenizer::Tokenizer& tok) {
  auto request = harmony::parse_chat_request(Json::parse(kSampleRequest));
  if (!request.ok()) {
    std::cerr << "demo request: " << request.message() << "\n";
    return 1;
  }
  auto ids = harmony::render_prompt(tok, *request);
  if (!ids.ok()) {
    std::cerr << "render: " << ids.message() << "\n";
    return 1;
  }
  auto text = harmony::prompt_text(tok, *ids);
  std::cout << "== Sample chat request (OpenAI style)\n" << kSampleRequest << "\n\n";
  std::cout << "== Harmony prompt (" << ids->size() << " o200k_harmony tokens)\n"
            << (text.ok() ? *text : text.message()) << "\n\n== Token ids\n"
            << Json(*ids).dump() << "\n\n";

  std::cout << "== Streaming a sample completion through the harmony parser\n";
  harmony::StreamParser parser(tok, harmony::ParseMode::kLenient);
  std::vector<harmony::ParseEvent> events;
  for (tokenizer::TokenId id : tok.encode(kSampleCompletion, tokenizer::Specials::kAll)) {
    parser.push(id, events);
  }
  parser.finish(events);
  for (const auto& ev : events) {
    if (const auto* s = std::get_if<harmony::MessageStartEvent>(&ev)) {
      std::cout << "[message start] channel=" << s->header.channel.value_or("-")
                << " recipient=" << s->header.recipient.value_or("-") << "\n";
    } else if (const auto* d = std::get_if<harmony::ContentDeltaEvent>(&ev)) {
      std::cout << "[delta] " << Json(d->text).dump() << "\n";
    } else if (const auto* t = std::get_if<harmony::ToolCallEvent>(&ev)) {
      std::cout << "[tool call] " << t->name << "(" << t->arguments << ")\n";
    } else if (std::holds_alternative<harmony::StopEvent>(ev)) {
      std::cout << "[stop]\n";
    }
  }
  const auto mapped = harmony::map_to_openai(parser.messages(), harmony::FinishReason::kStop);
  std::cout
      << "\n== OpenAI chat completion message\n"
      << harmony::openai_to_json(mapped).dump(2) << "\n\n"
      << "This demo shows the tokenizer and harmony libraries. To run the model itself:\n"
         "  build/bin/quarry synth --preset gpt-oss-20b --out /tmp/q20b   # random weights\n"
         "  build/bin/quarry generate --model /tmp/q20b --prompt \"Hello\"\n"
         "`quarry serve` comes with a later issue.\n";
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("demo", "render and tokenize a sample chat with harmony");
  sub->add_option("--tokenizer", *path, "tiktoken rank file, tokenizer.json or model directory");
  sub->callback([path] {
    auto tok = load_tokenizer(*path);
    if (!tok.ok()) {
      std::cerr << "quarry demo: " << tok.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    if (run_demo(tok.value()) != 0) throw CLI::RuntimeError(1);
  });
}

}  // namespace quarry::cli
