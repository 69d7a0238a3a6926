// The part of an OpenAI Chat Completions request that shapes the harmony
// prompt, as typed structs, and its validation. Fields that do not affect the
// prompt (model, temperature, stream, ...) are ignored here; the api layer
// reads them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace quarry::harmony {

enum class ChatRole { kSystem, kDeveloper, kUser, kAssistant, kTool };

enum class ReasoningEffort { kLow, kMedium, kHigh };

// "system", "developer", ... and "low", "medium", "high".
const char* role_name(ChatRole role);
const char* effort_name(ReasoningEffort effort);

// One entry of an assistant message's `tool_calls`.
struct ChatToolCall {
  std::string id;
  std::string name;       // function.name
  std::string arguments;  // function.arguments, verbatim (an object is dumped compactly)
};

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  // `content` as one string: a string as given, text parts concatenated
  // without separator. Absent when the request has no content or null.
  std::optional<std::string> content;
  // Assistant only: `reasoning` (or `reasoning_content`), non-empty.
  std::optional<std::string> reasoning;
  std::vector<ChatToolCall> tool_calls;  // assistant only
  std::string tool_call_id;              // tool only
  std::string tool_name;                 // tool only: name of the call it answers
};

// A function tool of `tools` (type "function").
struct ChatTool {
  std::string name;
  std::string description;
  // JSON schema of the arguments, in request key order; absent means the tool
  // takes no arguments (rendered `() => any`).
  std::optional<nlohmann::ordered_json> parameters;
  bool strict = false;  // function.strict: arguments must validate (constrained decoding)
};

// `tool_choice`. kNone hides the tools from the prompt (vLLM behaviour);
// kAuto, kRequired and kFunction declare every tool; the prompt cannot force
// a call, so kRequired and kFunction are for the sampler to enforce.
enum class ToolChoice { kAuto, kNone, kRequired, kFunction };

enum class ResponseFormatKind { kText, kJsonObject, kJsonSchema };

struct ResponseFormat {
  ResponseFormatKind kind = ResponseFormatKind::kText;
  std::string name;               // json_schema.name
  std::string description;        // json_schema.description (may be empty)
  nlohmann::ordered_json schema;  // json_schema.schema (object)
};

enum class BuiltinTool { kBrowser, kPython };

struct ChatRequest {
  std::vector<ChatMessage> messages;
  std::vector<ChatTool> tools;
  ToolChoice tool_choice = ToolChoice::kAuto;
  std::string tool_choice_name;  // for ToolChoice::kFunction
  ReasoningEffort reasoning_effort = ReasoningEffort::kMedium;
  ResponseFormat response_format;
  // Quarry extension: built-in tools to declare in the system message, sorted
  // and without duplicates.
  std::vector<BuiltinTool> builtin_tools;
};

// Validates a request body and converts it. Errors name the offending field
// by its path in the body, e.g. `messages[2].role: unknown role "foo"`; the
// body itself is called `request`. Never throws.
Result<ChatRequest> parse_chat_request(const nlohmann::ordered_json& body);

}  // namespace quarry::harmony
