// Streaming parser for gpt-oss output in the harmony format: token ids in,
// messages (role, channel, recipient, content type, content) and stream
// events out. Follows openai/harmony v0.0.8's StreamableParser (strict and
// non-strict) with quarry's normalizations; see shared/spec/harmony-format.md
// §1, §6 and §10.
//
//   StreamParser parser(tok, ParseMode::kLenient);
//   std::vector<ParseEvent> events;
//   for (TokenId id : sampled) parser.push(id, events);
//   parser.finish(events);  // end of generation (max_tokens, or after a stop)
//
// The parser never throws and accepts any id sequence, ids outside the
// vocabulary included. It keeps no token history: memory is the parsed
// content plus at most kMaxHeaderTokens header tokens.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "harmony/header_parser.h"
#include "tokenizer/tokenizer.h"

namespace quarry::harmony {

using tokenizer::TokenId;

enum class ParseMode {
  kStrict,   // the library's strict mode: the first malformation is an error
  kLenient,  // the library's non-strict mode: a terminator inside a header
             // ends the message (the server always uses this)
};

// A longer header is an error: it bounds the memory a header can take.
inline constexpr size_t kMaxHeaderTokens = 1024;

struct ParsedMessage {
  MessageHeader header;
  std::string content;
};

// Which stop token ended sampling (`<|end|>` is no stop token, §6).
enum class StopReason { kNone, kReturn, kCall, kEndOfText };

// A header was parsed (`<|message|>` arrived).
struct MessageStartEvent {
  MessageHeader header;
};
// Text of the current message that became complete: valid UTF-8, never a
// split character. The deltas of a message concatenate to its content.
struct ContentDeltaEvent {
  std::string text;
};
// A message is complete. `terminator` is the token that ended it (<|end|>,
// <|call|>, <|return|>, <|endoftext|>), or empty when finish() closed it.
struct MessageEndEvent {
  ParsedMessage message;
  std::optional<TokenId> terminator;
  bool truncated() const { return !terminator.has_value(); }
};
// An assistant message addressed to `functions.NAME` ended.
struct ToolCallEvent {
  std::string recipient;  // "functions.NAME"
  std::string name;       // "NAME"
  std::string arguments;  // the raw content, not validated as JSON
};
// A sampling stop token arrived (<|return|>, <|call|>, <|endoftext|>).
struct StopEvent {
  StopReason reason = StopReason::kNone;
};

using ParseEvent =
    std::variant<MessageStartEvent, ContentDeltaEvent, MessageEndEvent, ToolCallEvent, StopEvent>;

class StreamParser {
 public:
  // `initial_role`: the role the prompt opened (`<|start|>assistant`), so the
  // first header has no role word; empty = output starts with `<|start|>`.
  StreamParser(const tokenizer::Tokenizer& tok, ParseMode mode,
               std::optional<std::string> initial_role = std::string(kRoleAssistant));

  // Consumes one sampled token; appends what it caused to `events`.
  void push(TokenId id, std::vector<ParseEvent>& events);
  std::vector<ParseEvent> push(TokenId id);
  // End of generation: closes an open message (truncated), or records the
  // error of a header that never completed.
  void finish(std::vector<ParseEvent>& events);
  std::vector<ParseEvent> finish();

  // Every message completed so far.
  const std::vector<ParsedMessage>& messages() const { return messages_; }
  // The first error (the library's message text). Parsing stopped there and
  // later tokens are ignored; messages() holds the messages before it. In
  // lenient mode this is a warning for the caller, never a request failure.
  const std::optional<std::string>& error() const { return error_; }
  bool failed() const { return error_.has_value(); }
  // The stop token if it was the last token pushed, else kNone.
  StopReason stop_reason() const { return stop_reason_; }

  // The message being streamed, if its header is complete.
  bool in_content() const { return state_ == State::kContent; }
  const MessageHeader* current_header() const {
    return state_ == State::kContent ? &current_.header : nullptr;
  }
  const std::string& current_content() const { return current_.content; }

 private:
  enum class State { kExpectStart, kHeader, kContent, kFailed };

  void push_expect_start(TokenId id);
  void push_header(TokenId id, std::vector<ParseEvent>& events);
  void push_content(TokenId id, std::vector<ParseEvent>& events);
  // The end of the token stream (<|endoftext|> or finish()).
  void end_of_stream(std::optional<TokenId> terminator, std::vector<ParseEvent>& events);
  void start_content(MessageHeader header, std::vector<ParseEvent>& events);
  void end_message(std::optional<TokenId> terminator, std::vector<ParseEvent>& events);
  // The lenient recovery for a terminator inside the first header.
  void recover_header(TokenId terminator, std::vector<ParseEvent>& events);
  // The header text; on failure the library's tokenizer error text.
  Result<std::string> decode_header() const;
  void fail(std::string message);

  const tokenizer::Tokenizer* tok_;
  ParseMode mode_;
  State state_;
  std::optional<std::string> next_role_;  // known role of the next header
  std::vector<TokenId> header_tokens_;
  tokenizer::IncrementalDecoder decoder_;
  ParsedMessage current_;
  std::vector<ParsedMessage> messages_;
  std::optional<std::string> error_;
  StopReason stop_reason_ = StopReason::kNone;
};

// True for the message terminators <|end|>, <|call|>, <|return|>.
bool is_terminator(TokenId id);
// The stop reason of a sampling stop token (kNone for other ids).
StopReason stop_reason_of(TokenId id);

}  // namespace quarry::harmony
