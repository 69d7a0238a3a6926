// `quarry harmony render` line handler: golden rows end to end, and errors
// named by their path in the input line.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "cli/commands.h"

namespace quarry::cli {
namespace {

const tokenizer::Tokenizer& tok() {
  static const Result<tokenizer::Tokenizer> t = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
  if (!t.ok()) {
    ADD_FAILURE() << t.message();
    std::abort();
  }
  return t.value();
}

TEST(HarmonyRenderLine, GoldenRows) {
  std::ifstream in(std::string(QUARRY_TEST_DATA) + "/harmony/render_cases.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Json row = Json::parse(line);
    SCOPED_TRACE(row["id"].get<std::string>());
    auto out =
        harmony_render_line(tok(), {{"request", row["request"]}, {"options", row["options"]}});
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ((*out)["prompt"], row["expected_prompt"]);
    EXPECT_EQ((*out)["ids"], row["expected_ids"]);
    ++rows;
  }
  EXPECT_GT(rows, 0);
}

TEST(HarmonyRenderLine, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"request": {"messages": [{"role": "user", "content": "a"}, {"role": "x"}]}})",
       "request.messages[1].role: unknown role \"x\""},
      {R"({"request": "hi"})", "request: expected an object, got string"},
      {R"({"options": {}})", "request: missing"},
      {R"({"request": {"messages": [{"role": "user", "content": "a"}]},
           "options": {"current_date": 20250805}})",
       "options.current_date: expected a string, got number"},
  };
  for (const auto& [input, error] : cases) {
    auto out = harmony_render_line(tok(), Json::parse(input));
    ASSERT_FALSE(out.ok()) << input;
    EXPECT_EQ(out.message().rfind(error, 0), 0u) << out.message();
  }
}

TEST(HarmonyRenderLine, OptionsDefaults) {
  auto out = harmony_render_line(
      tok(), Json::parse(R"({"request": {"messages": [{"role": "user", "content": "a"}]},
                             "options": {"add_generation_prompt": false}})"));
  ASSERT_TRUE(out.ok()) << out.message();
  const std::string prompt = (*out)["prompt"].get<std::string>();
  EXPECT_NE(prompt.find("Current date: 20"), std::string::npos);
  EXPECT_EQ(prompt.substr(prompt.size() - 7), "<|end|>");
}

}  // namespace
}  // namespace quarry::cli
