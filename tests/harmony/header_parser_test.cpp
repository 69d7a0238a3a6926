// parse_header: the library's header rules and quarry's normalizations.
#include <gtest/gtest.h>

#include "harmony/header_parser.h"

namespace quarry::harmony {
namespace {

constexpr std::string_view kAssistant = "assistant";

MessageHeader parsed(std::string_view text, std::optional<std::string_view> role = kAssistant) {
  Result<HeaderParse> r = parse_header(text, role, true);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.message());
  if (!r.ok()) return {};
  EXPECT_EQ(r->leftover, std::nullopt) << text;
  return r->header;
}

std::string error_of(std::string_view text, std::optional<std::string_view> role = kAssistant) {
  Result<HeaderParse> r = parse_header(text, role, true);
  if (!r.ok()) return r.message();
  if (r->leftover) return leftover_error(*r->leftover);
  return "<ok>";
}

TEST(HeaderParser, RecipientPositions) {
  for (std::string_view text :
       {"<|channel|>commentary to=functions.f<|constrain|>json",
        "<|channel|>commentary to=functions.f <|constrain|>json",
        " to=functions.f<|channel|>commentary <|constrain|>json",
        "assistant to=functions.f<|channel|>commentary <|constrain|>json"}) {
    const MessageHeader h = parsed(text);
    EXPECT_EQ(h.role, "assistant") << text;
    EXPECT_EQ(h.channel, "commentary") << text;
    EXPECT_EQ(h.recipient, "functions.f") << text;
    EXPECT_EQ(h.content_type, "<|constrain|>json") << text;
  }
}

TEST(HeaderParser, RoleWordAfterStart) {
  const MessageHeader h = parsed("assistant<|channel|>analysis to=python code", std::nullopt);
  EXPECT_EQ(h.role, "assistant");
  EXPECT_EQ(h.name, std::nullopt);
  EXPECT_EQ(h.recipient, "python");
  EXPECT_EQ(h.content_type, "code");
  EXPECT_EQ(parsed("user", std::nullopt).role, "user");
}

TEST(HeaderParser, ToolAuthor) {
  const MessageHeader h = parsed("browser.search to=assistant<|channel|>analysis", std::nullopt);
  EXPECT_EQ(h.role, "tool");
  EXPECT_EQ(h.name, "browser.search");
  EXPECT_EQ(h.recipient, "assistant");
  EXPECT_EQ(error_of("bash", std::nullopt), "Unknown role: bash");
  EXPECT_EQ(error_of("<|channel|>final", std::nullopt), "message header did not contain a role");
}

TEST(HeaderParser, LoneWordIsTheRecipient) {
  EXPECT_EQ(parsed("<|channel|>analysis python").recipient, "python");
  EXPECT_EQ(parsed("<|channel|>analysis to=python").recipient, "python");
}

TEST(HeaderParser, QuarryConstrainWithoutRecipientIsTheContentType) {
  const MessageHeader h = parsed("<|channel|>final <|constrain|>json");
  EXPECT_EQ(h.channel, "final");
  EXPECT_EQ(h.recipient, std::nullopt);
  EXPECT_EQ(h.content_type, "<|constrain|>json");
  EXPECT_EQ(parsed("<|channel|>final<|constrain|>json").content_type, "<|constrain|>json");
}

TEST(HeaderParser, QuarryAssistantOrAllRecipientIsNone) {
  EXPECT_EQ(parsed("<|channel|>commentary to=assistant").recipient, std::nullopt);
  EXPECT_EQ(parsed("<|channel|>commentary to=all").recipient, std::nullopt);
  EXPECT_EQ(parsed("functions.x to=assistant<|channel|>commentary", std::nullopt).recipient,
            "assistant");
}

TEST(HeaderParser, ChannelEndsAtWhitespaceOrAngleBracket) {
  EXPECT_EQ(parsed("<|channel|>final\xE3\x80\x80json").channel, "final");   // U+3000 ideographic
  EXPECT_EQ(parsed("<|channel|>final\xE3\x80\x80json").recipient, "json");  // a lone word
  EXPECT_EQ(parsed("<|channel|>commentary\tto=functions.f").recipient, "functions.f");
  EXPECT_EQ(error_of("<|channel|> final"),
            "channel marker present but no channel value found in header");
  EXPECT_EQ(error_of("<|channel|><|constrain|>json"),
            "channel marker present but no channel value found in header");
}

TEST(HeaderParser, LeftoverWords) {
  EXPECT_EQ(error_of("<|channel|>commentary a b c"),
            "unexpected tokens remaining in message header: Some(\"a\")");
  EXPECT_EQ(error_of("<|channel|>commentary x\"y\\z\x0Bw b c"),
            "unexpected tokens remaining in message header: Some(\"x\\\"y\\\\z\\u{b}w\")");
}

TEST(HeaderParser, WithoutFieldSplittingEverythingIsLeftover) {
  Result<HeaderParse> r = parse_header("<|channel|>commentary Hello there", kAssistant, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header.channel, "commentary");
  EXPECT_EQ(r->header.recipient, std::nullopt);
  EXPECT_EQ(r->leftover, "Hello there");
}

TEST(HeaderParser, EmptyHeader) {
  const MessageHeader h = parsed("");
  EXPECT_EQ(h.role, "assistant");
  EXPECT_EQ(h.channel, std::nullopt);
}

}  // namespace
}  // namespace quarry::harmony
