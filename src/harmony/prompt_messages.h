// Quarry's mapping of a chat request onto harmony messages (spec
// harmony-format.md §3, §4, §7, §8), before tokenization.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "harmony/chat_request.h"

namespace quarry::harmony {

// One harmony message of a prompt:
// <|start|>{author}[ to={recipient}][<|channel|>{channel}][
// {content_type}]<|message|>{content}{end}
struct PromptMessage {
  std::string author;     // role word, or a tool's name ("functions.get_weather")
  std::string recipient;  // "" = none
  std::string channel;    // "" = none
  // "" = none; a leading "<|constrain|>" is the special token (" <|constrain|>json").
  std::string content_type;
  std::string content;

  // Ends with <|call|> (an assistant message to a tool) instead of <|end|>.
  bool ends_with_call() const { return author == "assistant" && !recipient.empty(); }
};

inline constexpr std::string_view kModelIdentity =
    "You are ChatGPT, a large language model trained by OpenAI.";
inline constexpr std::string_view kKnowledgeCutoff = "2024-06";

// System message, developer message (iff instructions, function tools or a
// response format), then the conversation with the §7 analysis-drop rule
// applied. `current_date` "" omits the "Current date:" line.
std::vector<PromptMessage> build_prompt_messages(const ChatRequest& request,
                                                 std::string_view current_date);

// The system message's content (§3).
std::string system_message_text(const ChatRequest& request, std::string_view current_date,
                                bool has_function_tools);

// The developer message's content (§4); "" when there is nothing to say.
std::string developer_message_text(const std::string& instructions, const ChatRequest& request);

// Whether the prompt declares function tools (some tools, tool_choice not "none").
bool declares_function_tools(const ChatRequest& request);

}  // namespace quarry::harmony
