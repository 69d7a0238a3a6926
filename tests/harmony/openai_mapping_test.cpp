// map_to_openai and the JSON shapes, on hand-made message lists.
#include <gtest/gtest.h>

#include "harmony/openai_mapping.h"

namespace quarry::harmony {
namespace {

ParsedMessage msg(std::optional<std::string> channel, std::string content,
                  std::optional<std::string> recipient = std::nullopt,
                  std::string role = "assistant") {
  ParsedMessage m;
  m.header.role = std::move(role);
  m.header.channel = std::move(channel);
  m.header.recipient = std::move(recipient);
  m.content = std::move(content);
  return m;
}

TEST(OpenAiMapping, NothingGivesNulls) {
  const OpenAiMessage out = map_to_openai({}, FinishReason::kLength);
  EXPECT_EQ(out.content, std::nullopt);
  EXPECT_EQ(out.reasoning, std::nullopt);
  EXPECT_TRUE(out.tool_calls.empty());
  EXPECT_EQ(out.finish_reason, FinishReason::kLength);
  EXPECT_EQ(openai_to_json(out).dump(),
            R"({"content":null,"reasoning":null,"tool_calls":[],"builtin_tool_calls":[],)"
            R"("finish_reason":"length"})");
}

TEST(OpenAiMapping, JoinsAndRoutes) {
  const std::vector<ParsedMessage> messages = {
      msg("analysis", "a1"),
      msg("commentary", "preamble"),
      msg("analysis", "a2"),
      msg("analysis", "print(1)", "python"),
      msg("commentary", "{\"x\":1}", "functions.f"),
      msg("commentary", "{}", "functions.g"),
      msg("commentary", "tool output", "assistant", "tool"),
      msg("final", "answer"),
  };
  int n = 0;
  const OpenAiMessage out =
      map_to_openai(messages, FinishReason::kStop, [&] { return "call_" + std::to_string(n++); });
  EXPECT_EQ(out.reasoning, "a1\na2");
  EXPECT_EQ(out.content, "preamble\nanswer");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].id, "call_0");
  EXPECT_EQ(out.tool_calls[0].name, "f");
  EXPECT_EQ(out.tool_calls[0].arguments, "{\"x\":1}");
  EXPECT_EQ(out.tool_calls[1].id, "call_1");
  ASSERT_EQ(out.builtin_tool_calls.size(), 1u);
  EXPECT_EQ(out.builtin_tool_calls[0].recipient, "python");
  EXPECT_EQ(out.finish_reason, FinishReason::kToolCalls);
  const auto j = openai_to_json(out);
  EXPECT_EQ(j["tool_calls"][0].dump(),
            R"({"id":"call_0","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}})");
  EXPECT_EQ(j["builtin_tool_calls"][0].dump(),
            R"({"recipient":"python","channel":"analysis","content_type":null,)"
            R"j("content":"print(1)"})j");
}

TEST(OpenAiMapping, EmptyAnalysisIsEmptyReasoning) {
  const std::vector<ParsedMessage> messages = {msg("analysis", ""), msg(std::nullopt, "text")};
  const OpenAiMessage out = map_to_openai(messages, FinishReason::kStop);
  EXPECT_EQ(out.reasoning, "");
  EXPECT_EQ(out.content, "text");
  EXPECT_EQ(out.finish_reason, FinishReason::kStop);
}

TEST(OpenAiMapping, RandomIds) {
  const std::string a = random_tool_call_id();
  const std::string b = random_tool_call_id();
  EXPECT_EQ(a.size(), 29u);
  EXPECT_TRUE(a.starts_with("call_"));
  EXPECT_NE(a, b);
}

TEST(OpenAiMapping, MessageJson) {
  ParsedMessage m = msg("commentary", "{}", "functions.f");
  m.header.content_type = "<|constrain|>json";
  EXPECT_EQ(message_to_json(m).dump(),
            R"({"role":"assistant","name":null,"channel":"commentary",)"
            R"("recipient":"functions.f","content_type":"<|constrain|>json","content":"{}"})");
}

}  // namespace
}  // namespace quarry::harmony
