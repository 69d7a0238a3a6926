// Parsing of one harmony message header (the decoded text between
// `<|start|>` and `<|message|>`), with the rules of openai/harmony v0.0.8's
// StreamableParser plus quarry's two normalizations (shared/spec/
// harmony-format.md §6). Used by the stream parser; exposed for tests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace quarry::harmony {

inline constexpr std::string_view kRoleAssistant = "assistant";
inline constexpr std::string_view kRoleTool = "tool";

// The header fields of a message. `role` is one of system, developer, user,
// assistant, tool; a tool author has role "tool" and its name in `name`
// (e.g. "functions.get_weather").
struct MessageHeader {
  std::string role;
  std::optional<std::string> name;
  std::optional<std::string> channel;
  std::optional<std::string> recipient;
  std::optional<std::string> content_type;
};

struct HeaderParse {
  MessageHeader header;
  // Words that are no header field, joined by one space. A complete header
  // with leftovers is an error; a header cut off by a terminator (lenient
  // recovery) turns them into the message content.
  std::optional<std::string> leftover;
};

// Parses `text` (valid UTF-8). `known_role` is the role when the prompt
// already named it (the first message after `<|start|>assistant`); otherwise
// the first word is the role or a tool name. With `split_fields` false the
// recipient and content type are not looked for and every word after the
// role is leftover. Errors carry the library's messages, e.g.
// "Unknown role: bash".
Result<HeaderParse> parse_header(std::string_view text, std::optional<std::string_view> known_role,
                                 bool split_fields);

// The library's error for leftover header words:
// `unexpected tokens remaining in message header: Some("...")`.
std::string leftover_error(std::string_view leftover);

}  // namespace quarry::harmony
