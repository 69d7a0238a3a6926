// The stream parser and the OpenAI mapping against the golden parse cases
// (tests/data/harmony/parse_cases.jsonl), streaming invariants, and random
// token sequences.
#include <random>

#include "base/utf8.h"
#include "parse_test_util.h"

namespace quarry::harmony::test {
namespace {

bool is_malformed(const Json& row) { return row.contains("strict"); }

FinishReason ended_by(const std::vector<TokenId>& ids) {
  const bool stopped =
      !ids.empty() && (is_terminator(ids.back()) || ids.back() == tokenizer::kEndOfText);
  return stopped ? FinishReason::kStop : FinishReason::kLength;
}

Json openai_without_ids(const OpenAiMessage& m) {
  Json j = openai_to_json(m);
  for (Json& call : j["tool_calls"]) {
    EXPECT_TRUE(call["id"].get<std::string>().starts_with("call_"));
    call.erase("id");
  }
  return j;
}

// Streaming invariants: every message is announced, its deltas are non-empty
// valid UTF-8 and concatenate to its content, ends arrive in order, and each
// function call message yields one ToolCallEvent right after its end.
void check_events(const ParseRun& run) {
  bool open = false;
  std::string streamed;
  size_t ended = 0;
  const ParsedMessage* last_end = nullptr;
  for (const ParseEvent& e : run.events) {
    if (auto* start = std::get_if<MessageStartEvent>(&e)) {
      ASSERT_FALSE(open);
      open = true;
      streamed.clear();
      (void)start;
    } else if (auto* delta = std::get_if<ContentDeltaEvent>(&e)) {
      ASSERT_TRUE(open);
      EXPECT_FALSE(delta->text.empty());
      EXPECT_TRUE(utf8::is_valid(delta->text));
      streamed += delta->text;
    } else if (auto* end = std::get_if<MessageEndEvent>(&e)) {
      ASSERT_TRUE(open);
      open = false;
      EXPECT_EQ(streamed, end->message.content);
      ASSERT_LT(ended, run.messages.size());
      EXPECT_EQ(plain(message_to_json(end->message)), plain(message_to_json(run.messages[ended])));
      last_end = &end->message;
      ++ended;
    } else if (auto* call = std::get_if<ToolCallEvent>(&e)) {
      ASSERT_NE(last_end, nullptr);
      EXPECT_EQ(last_end->header.recipient.value_or(""), call->recipient);
      EXPECT_EQ("functions." + call->name, call->recipient);
      EXPECT_EQ(last_end->content, call->arguments);
      last_end = nullptr;
    }
  }
  EXPECT_FALSE(open);
  EXPECT_EQ(ended, run.messages.size());
  for (const ParsedMessage& m : run.messages) EXPECT_TRUE(utf8::is_valid(m.content));
}

// Runs `body` for every golden row, naming the row in failures. One test per
// property (not per row) keeps ctest's process count, and tokenizer loads, low.
template <class Body>
void for_each_row(Body body) {
  ASSERT_GE(golden_rows().size(), 28u);
  for (const Json& row : golden_rows()) {
    SCOPED_TRACE(row["id"].get<std::string>());
    body(row);
  }
}

TEST(GoldenParse, Messages) {
  for_each_row([](const Json& row) {
    const std::vector<TokenId> ids = ids_of(row);
    const ParseRun strict = run_parser(ids, ParseMode::kStrict);
    const ParseRun lenient = run_parser(ids, ParseMode::kLenient);
    if (!is_malformed(row)) {
      EXPECT_EQ(plain(messages_json(strict.messages)), plain(row["expected_messages"]));
      EXPECT_EQ(plain(messages_json(lenient.messages)), plain(row["expected_messages"]));
      EXPECT_EQ(strict.error, std::nullopt);
      EXPECT_EQ(lenient.error, std::nullopt);
      return;
    }
    const Json& s = row["strict"];
    EXPECT_EQ(strict.error.value_or("<none>"), s["error"].get<std::string>());
    EXPECT_EQ(plain(messages_json(strict.messages)), plain(s["messages_before_error"]));
    const Json& ns = row["non_strict"];
    EXPECT_EQ(plain(messages_json(lenient.messages)), plain(ns["messages"]));
    if (ns["error"].is_null()) {
      EXPECT_EQ(lenient.error, std::nullopt);
    } else {
      EXPECT_EQ(lenient.error.value_or("<none>"), ns["error"].get<std::string>());
    }
  });
}

TEST(GoldenParse, OpenAi) {
  for_each_row([](const Json& row) {
    if (is_malformed(row)) return;  // no expected_openai
    const std::vector<TokenId> ids = ids_of(row);
    const ParseRun run = run_parser(ids, ParseMode::kLenient);
    const OpenAiMessage openai = map_to_openai(run.messages, ended_by(ids));
    EXPECT_EQ(plain(openai_without_ids(openai)), plain(row["expected_openai"]));
  });
}

TEST(GoldenParse, SameWithoutTrailingStopToken) {
  for_each_row([](const Json& row) {
    if (is_malformed(row)) return;  // they end inside a header
    std::vector<TokenId> ids = ids_of(row);
    if (ids.empty() || !is_terminator(ids.back())) return;  // already truncated
    ids.pop_back();
    const ParseRun run = run_parser(ids, ParseMode::kLenient);
    EXPECT_EQ(plain(messages_json(run.messages)), plain(row["expected_messages"]));
    EXPECT_EQ(run.error, std::nullopt);
    const OpenAiMessage openai = map_to_openai(run.messages, ended_by(ids));
    Json expected = row["expected_openai"];
    if (expected["finish_reason"] == "stop") expected["finish_reason"] = "length";
    EXPECT_EQ(plain(openai_without_ids(openai)), plain(expected));
  });
}

TEST(GoldenParse, EndOfTextInsteadOfStopToken) {
  for_each_row([](const Json& row) {
    if (is_malformed(row)) return;
    std::vector<TokenId> ids = ids_of(row);
    if (!ids.empty() && is_terminator(ids.back())) ids.pop_back();
    ids.push_back(tokenizer::kEndOfText);
    const ParseRun run = run_parser(ids, ParseMode::kLenient);
    EXPECT_EQ(plain(messages_json(run.messages)), plain(row["expected_messages"]));
    EXPECT_EQ(run.stop_reason, StopReason::kEndOfText);
  });
}

TEST(GoldenParse, StreamingEvents) {
  for_each_row([](const Json& row) {
    for (ParseMode mode : {ParseMode::kStrict, ParseMode::kLenient}) {
      check_events(run_parser(ids_of(row), mode));
    }
  });
}

TEST(GoldenParse, CompletionTextGivesSameMessages) {
  for_each_row([](const Json& row) {
    // parse-025's plain-text "<|end|>" is only expressible as ids.
    if (row["id"] == "parse-025") return;
    const std::vector<TokenId> ids =
        tok().encode(row["completion_text"].get<std::string>(), tokenizer::Specials::kAll);
    const ParseRun from_text = run_parser(ids, ParseMode::kLenient);
    const ParseRun from_ids = run_parser(ids_of(row), ParseMode::kLenient);
    EXPECT_EQ(plain(messages_json(from_text.messages)), plain(messages_json(from_ids.messages)));
    EXPECT_EQ(from_text.error, from_ids.error);
  });
}

TEST(GoldenParse, StopReasonAndStopEvent) {
  for_each_row([](const Json& row) {
    const std::vector<TokenId> ids = ids_of(row);
    const ParseRun run = run_parser(ids, ParseMode::kLenient);
    const StopReason expected = ids.empty() ? StopReason::kNone : stop_reason_of(ids.back());
    EXPECT_EQ(run.stop_reason, expected);
    size_t stops = 0;
    for (const ParseEvent& e : run.events) stops += std::holds_alternative<StopEvent>(e);
    size_t stop_tokens = 0;
    for (TokenId id : ids) stop_tokens += stop_reason_of(id) != StopReason::kNone;
    EXPECT_EQ(stops, stop_tokens);
  });
}

// Random sequences biased toward harmony tokens and header words never crash
// and keep the streaming invariants.
TEST(StreamParserRandom, NeverCrashes) {
  const std::vector<TokenId> specials = {199998, 199999, 200002, 200003, 200005,
                                         200006, 200007, 200008, 200012, 200001};
  const std::vector<TokenId> words = {173781, 35644, 12606, 815, 17196, 316,  28,     44580,
                                      775,    5701,  4108,  220, 29010, 3490, 103423, 13};
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<TokenId> ids(rng() % 48);
    for (TokenId& id : ids) {
      switch (rng() % 8) {
        case 0:
        case 1:
        case 2:
          id = specials[rng() % specials.size()];
          break;
        case 3:
        case 4:
        case 5:
          id = words[rng() % words.size()];
          break;
        case 6:  // ids 0..255 are the single-byte tokens
          id = static_cast<TokenId>(rng() % 256);
          break;
        default:
          id = static_cast<TokenId>(rng() % (tokenizer::kVocabSize + 64));
          break;
      }
    }
    if (rng() % 4 == 0) ids.insert(ids.begin(), {200005, 17196, 200008});
    for (ParseMode mode : {ParseMode::kStrict, ParseMode::kLenient}) {
      const ParseRun run = run_parser(ids, mode);
      check_events(run);
      const OpenAiMessage openai = map_to_openai(run.messages, ended_by(ids));
      EXPECT_NO_THROW((void)openai_to_json(openai).dump());
    }
    if (HasFailure()) {
      ADD_FAILURE() << "iteration " << iter;
      return;
    }
  }
}

}  // namespace
}  // namespace quarry::harmony::test
