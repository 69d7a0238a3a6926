// Turns the token ids of one generated choice into what the APIs show:
// reasoning (the analysis channel), content (final channel and commentary
// preambles), function calls (commentary messages to `functions.NAME`), as
// deltas for streaming and as totals for whole responses. Built on the
// harmony stream parser (lenient mode). It also applies `stop` strings to the
// content (the match and all after it are never shown) and collects content
// logprobs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "harmony/stream_parser.h"
#include "tokenizer/tokenizer.h"

namespace quarry::api {

struct TokenLogprobJson {
  nlohmann::ordered_json entry;  // {"token", "logprob", "bytes", "top_logprobs"}
};

struct ChoiceDelta {
  enum class Kind { kReasoning, kContent, kToolCallStart, kToolCallArguments };
  Kind kind = Kind::kContent;
  std::string text;       // reasoning / content text, argument fragment, or the function name
  size_t tool_index = 0;  // for tool call deltas: index among this choice's calls
  std::string tool_id;    // for kToolCallStart
  nlohmann::ordered_json logprobs = nlohmann::ordered_json::array();  // content only
};

struct ToolCallOut {
  std::string id;  // call_...
  std::string name;
  std::string arguments;
};

class ChoiceDecoder {
 public:
  // `raw`: no harmony parsing (the completions API): every token's text is
  // content, special tokens are skipped.
  ChoiceDecoder(const tokenizer::Tokenizer& tok, std::vector<std::string> stop_strings,
                int top_logprobs, bool raw = false);

  // One generated token (with its logprobs when requested). Returns false once
  // a stop string matched: the caller ends generation (finish reason "stop");
  // later pushes are ignored.
  bool push(int32_t id, const engine::SampledLogprobs* lp, std::vector<ChoiceDelta>& out);
  // End of generation: releases held-back text.
  void finish(std::vector<ChoiceDelta>& out);

  const std::string& content() const { return content_; }
  const std::string& reasoning() const { return reasoning_; }
  bool has_reasoning() const { return saw_reasoning_; }
  const std::vector<ToolCallOut>& tool_calls() const { return calls_; }
  const nlohmann::ordered_json& logprobs() const { return logprobs_; }
  size_t reasoning_tokens() const { return reasoning_tokens_; }
  bool stopped_by_string() const { return stopped_; }
  // The last token was <|call|> ending a function call.
  bool ended_in_call() const { return ended_in_call_; }

 private:
  enum class Target { kNone, kReasoning, kContent, kToolCall };
  void on_events(std::vector<harmony::ParseEvent>& events, std::vector<ChoiceDelta>& out);
  void add_content(std::string text, std::vector<ChoiceDelta>& out, bool final_flush);
  nlohmann::ordered_json logprob_entry(int32_t id, const engine::SampledLogprobs& lp) const;

  const tokenizer::Tokenizer* tok_;
  harmony::StreamParser parser_;
  tokenizer::IncrementalDecoder raw_decoder_;
  std::vector<std::string> stops_;
  size_t max_stop_ = 0;
  int top_logprobs_;
  bool raw_;

  Target target_ = Target::kNone;
  std::string content_, reasoning_, held_;
  bool saw_reasoning_ = false;
  std::vector<ToolCallOut> calls_;
  nlohmann::ordered_json logprobs_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json pending_logprobs_ = nlohmann::ordered_json::array();
  size_t reasoning_tokens_ = 0;
  bool stopped_ = false;
  bool ended_in_call_ = false;
};

}  // namespace quarry::api
