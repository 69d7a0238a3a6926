// Parsed harmony messages -> the fields of an OpenAI Chat Completions
// assistant message (shared/spec/harmony-format.md §6; vLLM maps the same):
// analysis -> reasoning, final + preambles -> content, `functions.*` calls ->
// tool_calls, built-in tool calls (python, browser.*) listed apart.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "harmony/stream_parser.h"

namespace quarry::harmony {

enum class FinishReason { kStop, kLength, kToolCalls };
std::string_view finish_reason_name(FinishReason reason);  // "stop", "length", "tool_calls"

struct FunctionCall {
  std::string id;         // "call_..."
  std::string name;       // recipient minus "functions."
  std::string arguments;  // raw content, passed through even if not JSON
};

struct BuiltinToolCall {
  std::string recipient;  // "python", "browser.search", ...
  std::optional<std::string> channel;
  std::optional<std::string> content_type;
  std::string content;
};

struct OpenAiMessage {
  std::optional<std::string> content;    // null when there is none
  std::optional<std::string> reasoning;  // null when there is no analysis
  std::vector<FunctionCall> tool_calls;
  std::vector<BuiltinToolCall> builtin_tool_calls;
  FinishReason finish_reason = FinishReason::kStop;
};

// Makes tool call ids; the default gives "call_" + 24 random letters/digits.
using ToolCallIdGenerator = std::function<std::string()>;
std::string random_tool_call_id();

// `ended_by`: kStop when sampling ended on a stop token, kLength when
// max_tokens cut it. Any function call makes the finish reason kToolCalls.
// Only assistant-authored messages count. Reasoning and content join the
// messages' texts with "\n".
OpenAiMessage map_to_openai(std::span<const ParsedMessage> messages, FinishReason ended_by,
                            const ToolCallIdGenerator& make_id = random_tool_call_id);

// The JSON shapes of the golden parse cases (tests/data/harmony/
// parse_cases.jsonl) and of `quarry harmony parse`.
nlohmann::ordered_json message_to_json(const ParsedMessage& message);
nlohmann::ordered_json openai_to_json(const OpenAiMessage& message);

}  // namespace quarry::harmony
