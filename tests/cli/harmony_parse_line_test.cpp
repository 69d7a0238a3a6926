// harmony_parse_line: the `quarry harmony parse` JSON-lines contract.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cli/commands.h"

namespace quarry::cli {
namespace {

const tokenizer::Tokenizer& tok() {
  static const tokenizer::Tokenizer* loaded = [] {
    auto r = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
    if (!r.ok()) {
      ADD_FAILURE() << r.message();
      std::abort();
    }
    return new tokenizer::Tokenizer(std::move(r.value()));
  }();
  return *loaded;
}

Json parse_ok(const std::string& line) {
  Result<Json> r = harmony_parse_line(tok(), Json::parse(line));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
  return r.ok() ? r.value() : Json();
}

std::string parse_error(const std::string& line) {
  Result<Json> r = harmony_parse_line(tok(), Json::parse(line));
  return r.ok() ? "<ok>" : r.message();
}

TEST(HarmonyParseLine, Ids) {
  // <|channel|>final<|message|>Hello!<|return|>
  const Json out = parse_ok(R"({"completion_ids": [200005, 17196, 200008, 13225, 0, 200002]})");
  EXPECT_EQ(out["messages"].dump(),
            R"([{"role":"assistant","name":null,"channel":"final","recipient":null,)"
            R"("content_type":null,"content":"Hello!"}])");
  EXPECT_EQ(out["openai"]["content"], "Hello!");
  EXPECT_EQ(out["openai"]["finish_reason"], "stop");
  EXPECT_FALSE(out.contains("warning"));
  EXPECT_FALSE(out.contains("strict_error"));
}

TEST(HarmonyParseLine, TextAndTruncation) {
  const Json out = parse_ok(
      R"({"completion_text": "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\""})");
  EXPECT_EQ(out["messages"][0]["recipient"], "functions.f");
  EXPECT_EQ(out["openai"]["tool_calls"][0]["function"]["arguments"], "{\"a\"");
  EXPECT_EQ(out["openai"]["finish_reason"], "tool_calls");
  const Json cut = parse_ok(R"({"completion_text": "<|channel|>final<|message|>Hi"})");
  EXPECT_EQ(cut["openai"]["finish_reason"], "length");
}

TEST(HarmonyParseLine, WarningAndStrictError) {
  const std::string line =
      R"({"completion_ids": [200005, 17196, 200008, 87, 200007, 200006, 103423, 200008, 3973, 200007])";
  const Json lenient = parse_ok(line + "}");
  EXPECT_EQ(lenient["warning"], "Unknown role: bash");
  EXPECT_EQ(lenient["messages"].size(), 1u);
  EXPECT_FALSE(lenient.contains("error"));
  const Json strict = parse_ok(line + R"(, "strict": true})");
  EXPECT_EQ(strict["strict_error"], "Unknown role: bash");
  EXPECT_EQ(strict["messages"].size(), 1u);

  // Missing <|message|>: lenient recovers silently, strict fails.
  const std::string missing = R"({"completion_ids": [200005, 12606, 815, 32949, 200007])";
  EXPECT_EQ(parse_ok(missing + "}")["messages"][0]["content"], "Hello");
  EXPECT_FALSE(parse_ok(missing + "}").contains("warning"));
  EXPECT_EQ(parse_ok(missing + R"(, "strict": true})")["strict_error"],
            "Unexpected EOS while waiting for message header to complete");
}

TEST(HarmonyParseLine, BadInput) {
  EXPECT_EQ(parse_error(R"({"completion_ids": [1, 2, 3, 201088]})"),
            "completion_ids[3]: 201088 is not a token id (vocabulary size 201088)");
  EXPECT_EQ(parse_error(R"({"completion_ids": [1, -2]})"),
            "completion_ids[1]: expected a non-negative integer token id, got -2");
  EXPECT_EQ(parse_error(R"({"completion_ids": [1.5]})"),
            "completion_ids[0]: expected a non-negative integer token id, got 1.5");
  EXPECT_EQ(parse_error(R"({"completion_ids": "1 2"})"),
            "completion_ids: expected an array of token ids");
  EXPECT_EQ(parse_error(R"({"completion_text": 5})"), "completion_text: expected a string");
  EXPECT_EQ(parse_error(R"({"completion_ids": [], "strict": 1})"),
            "strict: expected true or false");
  EXPECT_EQ(
      parse_error(R"({})"),
      "expected \"completion_ids\" (an array of token ids) or \"completion_text\" (a string)");
}

}  // namespace
}  // namespace quarry::cli
