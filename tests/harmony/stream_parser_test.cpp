// StreamParser behaviour beyond the golden cases: UTF-8 across tokens, ids
// outside the vocabulary, the header size bound, events, and recovery.
#include <array>

#include "base/utf8.h"
#include "parse_test_util.h"

namespace quarry::harmony::test {
namespace {

using tokenizer::kCall;
using tokenizer::kChannel;
using tokenizer::kConstrain;
using tokenizer::kEnd;
using tokenizer::kEndOfText;
using tokenizer::kMessage;
using tokenizer::kReturn;
using tokenizer::kStart;
using tokenizer::kVocabSize;

constexpr TokenId kFinal = 17196;     // "final"
constexpr TokenId kAnalysis = 35644;  // "analysis"
constexpr TokenId kAssistant = 173781;
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Id of the token that is exactly the single byte `b`.
TokenId byte_token(unsigned char b) {
  static const std::array<TokenId, 256> table = [] {
    std::array<TokenId, 256> t{};
    for (TokenId id = 0; id < tokenizer::kNumMergeable; ++id) {
      std::string_view bytes = tok().token_bytes(id);
      if (bytes.size() == 1) t[static_cast<unsigned char>(bytes[0])] = id;
    }
    return t;
  }();
  return table[b];
}

std::vector<TokenId> text_ids(std::string_view text) { return tok().encode_ordinary(text); }

std::vector<TokenId> cat(std::initializer_list<std::vector<TokenId>> parts) {
  std::vector<TokenId> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::string> deltas(const ParseRun& run) {
  std::vector<std::string> out;
  for (const ParseEvent& e : run.events) {
    if (auto* d = std::get_if<ContentDeltaEvent>(&e)) out.push_back(d->text);
  }
  return out;
}

TEST(StreamParser, MultiByteCharactersSplitAcrossByteTokens) {
  const std::string text = "\xC3\xA9\xF0\x9F\x98\x80\xE4\xBD\xA0";  // é😀你
  std::vector<TokenId> ids = {kChannel, kFinal, kMessage};
  for (char c : text) ids.push_back(byte_token(static_cast<unsigned char>(c)));
  ids.push_back(kReturn);
  const ParseRun run = run_parser(ids, ParseMode::kLenient);
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.messages[0].content, text);
  EXPECT_EQ(deltas(run),
            (std::vector<std::string>{"\xC3\xA9", "\xF0\x9F\x98\x80", "\xE4\xBD\xA0"}));
}

TEST(StreamParser, InvalidBytesBecomeReplacementCharacters) {
  // A stray continuation byte, then a 3-byte sequence cut off by <|end|>.
  const std::vector<TokenId> ids = {
      kChannel,        kFinal,           kMessage,         byte_token(0x80),
      byte_token('a'), byte_token(0xE4), byte_token(0xBD), kEnd};
  const ParseRun run = run_parser(ids, ParseMode::kLenient);
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.messages[0].content, kReplacement + "a" + kReplacement);
  EXPECT_EQ(run.error, std::nullopt);
}

TEST(StreamParser, TruncatedCharacterAtFinish) {
  const std::vector<TokenId> ids = {kChannel,        kFinal,           kMessage,
                                    byte_token('x'), byte_token(0xF0), byte_token(0x9F)};
  const ParseRun run = run_parser(ids, ParseMode::kLenient);
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.messages[0].content, "x\xEF\xBF\xBD");
  const auto* end = std::get_if<MessageEndEvent>(&run.events.back());
  ASSERT_NE(end, nullptr);
  EXPECT_TRUE(end->truncated());
}

TEST(StreamParser, IdsOutsideTheVocabulary) {
  for (ParseMode mode : {ParseMode::kStrict, ParseMode::kLenient}) {
    // In content: U+FFFD.
    ParseRun run = run_parser({kChannel, kFinal, kMessage, kVocabSize, 0xFFFFFFFFu, kReturn}, mode);
    ASSERT_EQ(run.messages.size(), 1u);
    EXPECT_EQ(run.messages[0].content, "\xEF\xBF\xBD\xEF\xBF\xBD");
    // In a header: the header cannot be decoded.
    run = run_parser({kChannel, kVocabSize + 5, kMessage, byte_token('x'), kEnd}, mode);
    EXPECT_EQ(run.error, "could not decode header");
    EXPECT_TRUE(run.messages.empty());
    // Where <|start|> is expected.
    run = run_parser({kChannel, kFinal, kMessage, kEnd, kVocabSize}, mode);
    EXPECT_EQ(run.error, "Unexpected token 201088 while expecting start token 200006");
    EXPECT_EQ(run.messages.size(), 1u);
  }
}

TEST(StreamParser, UndecodableTruncatedFirstHeaderGivesTheLibraryError) {
  // Lenient recovery decodes the header cut off by <|end|>; the messages are
  // the library's (Rust's Utf8Error text), checked against openai/harmony.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\xC0\x62", "invalid utf-8 sequence of 1 bytes from index 1"},
      {"a\xE4\xBD", "incomplete utf-8 byte sequence from index 1"},
      {"\xE0\x80", "invalid utf-8 sequence of 1 bytes from index 0"},
      {"x\xF0\x9F\x98\x41", "invalid utf-8 sequence of 3 bytes from index 1"},
      {"\xED\xA0\x80", "invalid utf-8 sequence of 1 bytes from index 0"},
      {"\xF4\x90", "invalid utf-8 sequence of 1 bytes from index 0"},
      {"\xF0\x9F", "incomplete utf-8 byte sequence from index 0"},
  };
  for (const auto& [bytes, error] : cases) {
    std::vector<TokenId> ids;
    for (char c : bytes) ids.push_back(byte_token(static_cast<unsigned char>(c)));
    ids.push_back(kEnd);
    const ParseRun run = run_parser(ids, ParseMode::kLenient);
    EXPECT_EQ(run.error, "Could not decode tokens: Invalid utf-8 sequence: " + error);
    EXPECT_TRUE(run.messages.empty());
  }
  const ParseRun bad_id = run_parser({byte_token('a'), kVocabSize + 1, kEnd}, ParseMode::kLenient);
  EXPECT_EQ(bad_id.error,
            "Could not decode tokens: Invalid token error: Invalid token for decoding: 201089");
}

TEST(StreamParser, HeaderLengthIsBounded) {
  std::vector<TokenId> ids = {kChannel};
  ids.insert(ids.end(), kMaxHeaderTokens + 10, byte_token('a'));
  StreamParser parser(tok(), ParseMode::kLenient);
  for (TokenId id : ids) (void)parser.push(id);
  ASSERT_TRUE(parser.failed());
  EXPECT_EQ(*parser.error(), "message header longer than 1024 tokens");
  // Later tokens are ignored, including a finish.
  (void)parser.push(kMessage);
  (void)parser.finish();
  EXPECT_TRUE(parser.messages().empty());
}

TEST(StreamParser, AfterAnErrorTokensAreIgnoredButStopsReported) {
  StreamParser parser(tok(), ParseMode::kLenient);
  for (TokenId id : {kChannel, kFinal, kMessage, byte_token('x'), kEnd, byte_token('y')}) {
    (void)parser.push(id);
  }
  ASSERT_TRUE(parser.failed());
  EXPECT_TRUE(parser.push(kStart).empty());
  const std::vector<ParseEvent> events = parser.push(kReturn);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<StopEvent>(events[0]));
  EXPECT_EQ(parser.stop_reason(), StopReason::kReturn);
  EXPECT_EQ(parser.messages().size(), 1u);
}

TEST(StreamParser, EventsOfAToolCall) {
  const std::vector<TokenId> ids = cat({{kChannel},
                                        text_ids("commentary to=functions.get_weather"),
                                        {kConstrain},
                                        text_ids("json"),
                                        {kMessage},
                                        text_ids("{\"city\":\"Oslo\"}"),
                                        {kCall}});
  const ParseRun run = run_parser(ids, ParseMode::kLenient);
  ASSERT_FALSE(run.events.empty());
  const auto* start = std::get_if<MessageStartEvent>(&run.events.front());
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->header.recipient, "functions.get_weather");
  EXPECT_EQ(start->header.content_type, "<|constrain|>json");
  const size_t n = run.events.size();
  ASSERT_GE(n, 3u);
  const auto* end = std::get_if<MessageEndEvent>(&run.events[n - 3]);
  const auto* call = std::get_if<ToolCallEvent>(&run.events[n - 2]);
  const auto* stop = std::get_if<StopEvent>(&run.events[n - 1]);
  ASSERT_TRUE(end && call && stop);
  EXPECT_EQ(end->terminator, kCall);
  EXPECT_EQ(call->name, "get_weather");
  EXPECT_EQ(call->arguments, "{\"city\":\"Oslo\"}");
  EXPECT_EQ(stop->reason, StopReason::kCall);
}

TEST(StreamParser, BuiltinCallHasNoToolCallEvent) {
  const std::vector<TokenId> ids = cat(
      {{kChannel, kAnalysis}, text_ids(" to=python code"), {kMessage}, text_ids("1+1"), {kCall}});
  const ParseRun run = run_parser(ids, ParseMode::kLenient);
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.messages[0].header.recipient, "python");
  for (const ParseEvent& e : run.events) EXPECT_FALSE(std::holds_alternative<ToolCallEvent>(e));
}

TEST(StreamParser, ToolAuthoredMessage) {
  const std::vector<TokenId> ids = cat({{kChannel, kFinal, kMessage},
                                        text_ids("a"),
                                        {kEnd, kStart},
                                        text_ids("functions.lookup to=assistant"),
                                        {kChannel},
                                        text_ids("commentary"),
                                        {kMessage},
                                        text_ids("42"),
                                        {kEnd}});
  const ParseRun run = run_parser(ids, ParseMode::kStrict);
  ASSERT_EQ(run.error, std::nullopt);
  ASSERT_EQ(run.messages.size(), 2u);
  const MessageHeader& h = run.messages[1].header;
  EXPECT_EQ(h.role, "tool");
  EXPECT_EQ(h.name, "functions.lookup");
  EXPECT_EQ(h.recipient, "assistant");  // kept: only assistant messages drop it
  EXPECT_EQ(h.channel, "commentary");
}

TEST(StreamParser, LeftoverHeaderWordsAreAnErrorInBothModes) {
  const std::vector<TokenId> ids = cat({{kChannel},
                                        text_ids("commentary to=functions.f extra json"),
                                        {kMessage},
                                        text_ids("{}"),
                                        {kCall}});
  for (ParseMode mode : {ParseMode::kStrict, ParseMode::kLenient}) {
    const ParseRun run = run_parser(ids, mode);
    EXPECT_EQ(run.error, "unexpected tokens remaining in message header: Some(\"to=functions.f\")");
    EXPECT_TRUE(run.messages.empty());
  }
}

TEST(StreamParser, TerminatorInsideALaterHeaderDropsIt) {
  // The library's non-strict recovery applies to the first header only.
  const std::vector<TokenId> ids = cat({{kChannel, kAnalysis, kMessage},
                                        text_ids("think"),
                                        {kEnd, kStart, kAssistant, kChannel, kFinal},
                                        text_ids(" Hi"),
                                        {kEnd}});
  const ParseRun lenient = run_parser(ids, ParseMode::kLenient);
  EXPECT_EQ(lenient.error, std::nullopt);
  ASSERT_EQ(lenient.messages.size(), 1u);
  const ParseRun strict = run_parser(ids, ParseMode::kStrict);
  EXPECT_EQ(strict.error, "Unexpected EOS while waiting for message header to complete");
  EXPECT_EQ(strict.messages.size(), 1u);
}

TEST(StreamParser, EndOfTextClosesTheMessage) {
  StreamParser parser(tok(), ParseMode::kLenient);
  for (TokenId id : cat({{kChannel, kFinal, kMessage}, text_ids("done")})) (void)parser.push(id);
  EXPECT_TRUE(parser.in_content());
  ASSERT_NE(parser.current_header(), nullptr);
  EXPECT_EQ(parser.current_header()->channel, "final");
  EXPECT_EQ(parser.current_content(), "done");
  const std::vector<ParseEvent> events = parser.push(kEndOfText);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<MessageEndEvent>(events[0]).terminator, kEndOfText);
  EXPECT_EQ(std::get<StopEvent>(events[1]).reason, StopReason::kEndOfText);
  EXPECT_EQ(parser.stop_reason(), StopReason::kEndOfText);
  EXPECT_TRUE(parser.finish().empty());
  ASSERT_EQ(parser.messages().size(), 1u);
  EXPECT_FALSE(parser.failed());
}

TEST(StreamParser, SpecialTokensInsideContentAreText) {
  const ParseRun run = run_parser(
      {kChannel, kFinal, kMessage, kChannel, kStart, 200001, kMessage, kEnd}, ParseMode::kStrict);
  ASSERT_EQ(run.messages.size(), 1u);
  EXPECT_EQ(run.messages[0].content, "<|channel|><|start|><|reserved_200001|><|message|>");
}

TEST(StreamParser, WithoutInitialRoleOutputStartsWithStart) {
  StreamParser parser(tok(), ParseMode::kStrict, std::nullopt);
  for (TokenId id :
       cat({{kStart, kAssistant, kChannel, kFinal, kMessage}, text_ids("ok"), {kEnd}})) {
    (void)parser.push(id);
  }
  (void)parser.finish();
  ASSERT_EQ(parser.messages().size(), 1u);
  EXPECT_EQ(parser.messages()[0].header.role, "assistant");
  EXPECT_FALSE(parser.failed());
}

TEST(StreamParser, EmptyOutput) {
  const ParseRun run = run_parser({}, ParseMode::kLenient);
  EXPECT_TRUE(run.messages.empty());
  EXPECT_EQ(run.error, "Unexpected EOS while waiting for message header to complete");
}

}  // namespace
}  // namespace quarry::harmony::test
