#include "harmony/openai_mapping.h"

#include <random>

namespace quarry::harmony {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kFunctionsPrefix = "functions.";

void append_line(std::optional<std::string>& field, const std::string& text) {
  if (field) {
    *field += '\n';
    *field += text;
  } else {
    field = text;
  }
}

Json optional_string(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

}  // namespace

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kToolCalls:
      return "tool_calls";
  }
  return "stop";
}

std::string random_tool_call_id() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

OpenAiMessage map_to_openai(std::span<const ParsedMessage> messages, FinishReason ended_by,
                            const ToolCallIdGenerator& make_id) {
  OpenAiMessage out;
  for (const ParsedMessage& m : messages) {
    const MessageHeader& h = m.header;
    if (h.role != kRoleAssistant) continue;  // e.g. a tool result the model made up
    if (h.recipient) {
      if (h.recipient->starts_with(kFunctionsPrefix)) {
        out.tool_calls.push_back(FunctionCall{make_id ? make_id() : random_tool_call_id(),
                                              h.recipient->substr(kFunctionsPrefix.size()),
                                              m.content});
      } else {
        out.builtin_tool_calls.push_back(
            BuiltinToolCall{*h.recipient, h.channel, h.content_type, m.content});
      }
    } else if (h.channel && *h.channel == "analysis") {
      append_line(out.reasoning, m.content);
    } else {
      // final, commentary preambles, and text on no (or an unknown) channel.
      append_line(out.content, m.content);
    }
  }
  out.finish_reason = out.tool_calls.empty() ? ended_by : FinishReason::kToolCalls;
  return out;
}

Json message_to_json(const ParsedMessage& message) {
  const MessageHeader& h = message.header;
  Json j = Json::object();
  j["role"] = h.role;
  j["name"] = optional_string(h.name);
  j["channel"] = optional_string(h.channel);
  j["recipient"] = optional_string(h.recipient);
  j["content_type"] = optional_string(h.content_type);
  j["content"] = message.content;
  return j;
}

Json openai_to_json(const OpenAiMessage& message) {
  Json j = Json::object();
  j["content"] = optional_string(message.content);
  j["reasoning"] = optional_string(message.reasoning);
  Json calls = Json::array();
  for (const FunctionCall& c : message.tool_calls) {
    Json call = Json::object();
    call["id"] = c.id;
    call["type"] = "function";
    call["function"] = Json{{"name", c.name}, {"arguments", c.arguments}};
    calls.push_back(std::move(call));
  }
  j["tool_calls"] = std::move(calls);
  Json builtin = Json::array();
  for (const BuiltinToolCall& c : message.builtin_tool_calls) {
    Json call = Json::object();
    call["recipient"] = c.recipient;
    call["channel"] = optional_string(c.channel);
    call["content_type"] = optional_string(c.content_type);
    call["content"] = c.content;
    builtin.push_back(std::move(call));
  }
  j["builtin_tool_calls"] = std::move(builtin);
  j["finish_reason"] = std::string(finish_reason_name(message.finish_reason));
  return j;
}

}  // namespace quarry::harmony
