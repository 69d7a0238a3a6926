#include "harmony/stream_parser.h"

#include <algorithm>
#include <utility>

#include "base/utf8.h"

namespace quarry::harmony {

using tokenizer::kCall;
using tokenizer::kEnd;
using tokenizer::kEndOfText;
using tokenizer::kMessage;
using tokenizer::kReturn;
using tokenizer::kStart;

namespace {

constexpr std::string_view kFunctionsPrefix = "functions.";

bool in(unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; }

// Rust's Utf8Error text for the first malformed sequence of `s` (the library
// reports it when a truncated header cannot be decoded): the byte index and,
// unless the input just ends early, the length of the maximal invalid subpart.
std::string utf8_error_text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    // Allowed range of the second byte, and the sequence length.
    unsigned char lo = 0x80, hi = 0xBF;
    size_t width = 0;
    if (b < 0x80) {
      width = 1;
    } else if (in(b, 0xC2, 0xDF)) {
      width = 2;
    } else if (in(b, 0xE0, 0xEF)) {
      width = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (in(b, 0xF0, 0xF4)) {
      width = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    size_t good = width == 0 ? 0 : 1;  // bytes of the sequence that fit so far
    while (good > 0 && good < width && i + good < s.size()) {
      const auto c = static_cast<unsigned char>(s[i + good]);
      if (!(good == 1 ? in(c, lo, hi) : in(c, 0x80, 0xBF))) break;
      ++good;
    }
    if (width > 0 && good == width) {
      i += width;
      continue;
    }
    const std::string at = " from index " + std::to_string(i);
    if (good > 0 && i + good == s.size()) return "incomplete utf-8 byte sequence" + at;
    return "invalid utf-8 sequence of " + std::to_string(std::max<size_t>(good, 1)) + " bytes" + at;
  }
  return "valid utf-8";
}

}  // namespace

bool is_terminator(TokenId id) { return id == kEnd || id == kCall || id == kReturn; }

StopReason stop_reason_of(TokenId id) {
  switch (id) {
    case kReturn:
      return StopReason::kReturn;
    case kCall:
      return StopReason::kCall;
    case kEndOfText:
      return StopReason::kEndOfText;
    default:
      return StopReason::kNone;
  }
}

StreamParser::StreamParser(const tokenizer::Tokenizer& tok, ParseMode mode,
                           std::optional<std::string> initial_role)
    : tok_(&tok),
      mode_(mode),
      state_(initial_role ? State::kHeader : State::kExpectStart),
      next_role_(std::move(initial_role)),
      decoder_(tok) {}

std::vector<ParseEvent> StreamParser::push(TokenId id) {
  std::vector<ParseEvent> events;
  push(id, events);
  return events;
}

std::vector<ParseEvent> StreamParser::finish() {
  std::vector<ParseEvent> events;
  finish(events);
  return events;
}

void StreamParser::push(TokenId id, std::vector<ParseEvent>& events) {
  const StopReason stop = stop_reason_of(id);
  if (id == kEndOfText) {
    // Not a harmony token: the end of the stream, as the library's EOS.
    end_of_stream(id, events);
  } else {
    switch (state_) {
      case State::kExpectStart:
        push_expect_start(id);
        break;
      case State::kHeader:
        push_header(id, events);
        break;
      case State::kContent:
        push_content(id, events);
        break;
      case State::kFailed:
        break;
    }
  }
  stop_reason_ = stop;
  if (stop != StopReason::kNone)
    events.emplace_back(std::in_place_type<StopEvent>, StopEvent{stop});
}

void StreamParser::finish(std::vector<ParseEvent>& events) { end_of_stream(std::nullopt, events); }

void StreamParser::push_expect_start(TokenId id) {
  if (id == kStart) {
    state_ = State::kHeader;
    header_tokens_.clear();
    return;
  }
  fail("Unexpected token " + std::to_string(id) + " while expecting start token " +
       std::to_string(kStart));
}

void StreamParser::push_header(TokenId id, std::vector<ParseEvent>& events) {
  if (id == kMessage) {
    Result<std::string> text = decode_header();
    if (!text.ok()) return fail("could not decode header");
    Result<HeaderParse> parsed = parse_header(*text, next_role_, /*split_fields=*/true);
    if (!parsed.ok()) return fail(parsed.message());
    if (parsed->leftover) return fail(leftover_error(*parsed->leftover));
    next_role_.reset();
    header_tokens_.clear();
    start_content(std::move(parsed->header), events);
    return;
  }
  if (mode_ == ParseMode::kLenient && is_terminator(id)) return recover_header(id, events);
  if (header_tokens_.size() >= kMaxHeaderTokens) {
    return fail("message header longer than " + std::to_string(kMaxHeaderTokens) + " tokens");
  }
  header_tokens_.push_back(id);
}

void StreamParser::recover_header(TokenId terminator, std::vector<ParseEvent>& events) {
  // As the library's non-strict mode: only a header whose role was known from
  // the prompt becomes a message (channel kept, the other words its content);
  // an incomplete header after `<|start|>` is dropped.
  if (next_role_ && !header_tokens_.empty()) {
    Result<std::string> text = decode_header();
    if (!text.ok()) return fail(text.message());
    Result<HeaderParse> parsed = parse_header(*text, next_role_, /*split_fields=*/false);
    if (!parsed.ok()) return fail(parsed.message());
    start_content(std::move(parsed->header), events);
    if (parsed->leftover) {
      current_.content = std::move(*parsed->leftover);
      events.emplace_back(std::in_place_type<ContentDeltaEvent>,
                          ContentDeltaEvent{current_.content});
    }
    end_message(terminator, events);
  }
  state_ = State::kExpectStart;
  next_role_.reset();
  header_tokens_.clear();
}

void StreamParser::push_content(TokenId id, std::vector<ParseEvent>& events) {
  if (is_terminator(id)) return end_message(id, events);
  std::string text = decoder_.push(id);
  if (text.empty()) return;
  current_.content += text;
  events.emplace_back(std::in_place_type<ContentDeltaEvent>, ContentDeltaEvent{std::move(text)});
}

void StreamParser::end_of_stream(std::optional<TokenId> terminator,
                                 std::vector<ParseEvent>& events) {
  switch (state_) {
    case State::kExpectStart:  // e.g. right after a stop token: fine
    case State::kFailed:
      break;
    case State::kHeader:
      fail("Unexpected EOS while waiting for message header to complete");
      break;
    case State::kContent:
      end_message(terminator, events);
      break;
  }
}

void StreamParser::start_content(MessageHeader header, std::vector<ParseEvent>& events) {
  current_ = ParsedMessage{std::move(header), std::string()};
  state_ = State::kContent;
  events.emplace_back(std::in_place_type<MessageStartEvent>, MessageStartEvent{current_.header});
}

void StreamParser::end_message(std::optional<TokenId> terminator, std::vector<ParseEvent>& events) {
  if (std::string tail = decoder_.flush(); !tail.empty()) {
    current_.content += tail;
    events.emplace_back(std::in_place_type<ContentDeltaEvent>, ContentDeltaEvent{std::move(tail)});
  }
  messages_.push_back(current_);
  ParsedMessage& done = messages_.back();
  events.emplace_back(std::in_place_type<MessageEndEvent>, MessageEndEvent{done, terminator});
  const std::optional<std::string>& to = done.header.recipient;
  if (done.header.role == kRoleAssistant && to && to->starts_with(kFunctionsPrefix)) {
    events.emplace_back(std::in_place_type<ToolCallEvent>,
                        ToolCallEvent{*to, to->substr(kFunctionsPrefix.size()), done.content});
  }
  current_ = ParsedMessage{};
  state_ = State::kExpectStart;
}

Result<std::string> StreamParser::decode_header() const {
  constexpr std::string_view kPrefix = "Could not decode tokens: ";
  for (TokenId id : header_tokens_) {
    if (!tok_->is_valid_id(id)) {
      return make_error(std::string(kPrefix) +
                        "Invalid token error: Invalid token for decoding: " + std::to_string(id));
    }
  }
  Result<std::string> bytes = tok_->decode_bytes(header_tokens_);
  if (!bytes.ok()) return make_error(std::string(kPrefix) + bytes.message());
  if (!utf8::is_valid(bytes.value())) {
    return make_error(std::string(kPrefix) + "Invalid utf-8 sequence: " + utf8_error_text(*bytes));
  }
  return std::move(bytes.value());
}

void StreamParser::fail(std::string message) {
  if (!error_) error_ = std::move(message);
  state_ = State::kFailed;
  header_tokens_.clear();
  header_tokens_.shrink_to_fit();
  current_ = ParsedMessage{};
  (void)decoder_.flush();
}

}  // namespace quarry::harmony
