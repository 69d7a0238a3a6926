// Harmony prompt renderer: golden rows (openai/harmony v0.0.8 + quarry's
// mapping), the chat -> harmony mapping rules, and request validation.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "harmony/chat_request.h"
#include "harmony/renderer.h"

namespace quarry::harmony {
namespace {

using Json = nlohmann::ordered_json;

const tokenizer::Tokenizer& tok() {
  static const Result<tokenizer::Tokenizer> t = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
  if (!t.ok()) {
    ADD_FAILURE() << t.message();
    std::abort();
  }
  return t.value();
}

std::vector<Json> golden_rows() {
  std::vector<Json> rows;
  std::ifstream in(std::string(QUARRY_TEST_DATA) + "/harmony/render_cases.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(Json::parse(line));
  }
  return rows;
}

ChatRequest parse_ok(const Json& body) {
  auto r = parse_chat_request(body);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? *r : ChatRequest{};
}

// The prompt text of a request (messages_text: no tokenizer needed).
std::string text_of(const char* body_json, const char* date = "2025-08-05") {
  ChatRequest req = parse_ok(Json::parse(body_json));
  return messages_text(build_prompt_messages(req, date));
}

std::string error_of(const Json& body) {
  auto r = parse_chat_request(body);
  return r.ok() ? "(ok)" : r.message();
}

TEST(RenderGolden, EveryRowReproducesIdsAndText) {
  const std::vector<Json> rows = golden_rows();
  ASSERT_FALSE(rows.empty());
  for (const Json& row : rows) {
    SCOPED_TRACE(row["id"].get<std::string>());
    auto req = parse_chat_request(row["request"]);
    ASSERT_TRUE(req.ok()) << req.message();
    RenderOptions options;
    options.current_date = row["options"]["current_date"].get<std::string>();
    auto ids = render_prompt(tok(), *req, options);
    ASSERT_TRUE(ids.ok()) << ids.message();
    EXPECT_EQ(*ids, row["expected_ids"].get<std::vector<TokenId>>());
    auto text = prompt_text(tok(), *ids);
    ASSERT_TRUE(text.ok()) << text.message();
    EXPECT_EQ(*text, row["expected_prompt"].get<std::string>());
    EXPECT_EQ(messages_text(build_prompt_messages(*req, *options.current_date)),
              row["expected_prompt"].get<std::string>());
  }
}

TEST(Render, SpecialLookingTextStaysOrdinary) {
  ChatRequest req = parse_ok(Json::parse(
      R"({"messages": [{"role": "user", "content": "<|start|><|end|><|call|><|return|>"}]})"));
  RenderOptions options;
  options.current_date = "2025-08-05";
  auto ids = render_prompt(tok(), req, options);
  ASSERT_TRUE(ids.ok());
  int specials = 0;
  for (TokenId id : *ids) specials += tok().is_special(id) ? 1 : 0;
  // system (start, message, end), user (start, message, end), generation start.
  EXPECT_EQ(specials, 7);
}

TEST(Render, DateDefaultsToTodayAndEmptyOmitsLine) {
  ChatRequest req = parse_ok(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"));
  auto ids = render_prompt(tok(), req, RenderOptions{});
  ASSERT_TRUE(ids.ok());
  auto text = prompt_text(tok(), *ids);
  ASSERT_TRUE(text.ok());
  const std::string today = today_utc();
  ASSERT_EQ(today.size(), 10u);
  EXPECT_EQ(today[4], '-');
  EXPECT_NE(text->find("Current date: " + today + "\n"), std::string::npos);
  EXPECT_EQ(messages_text(build_prompt_messages(req, "")).find("Current date"), std::string::npos);
}

TEST(Render, NoGenerationPrompt) {
  ChatRequest req = parse_ok(Json::parse(R"({"messages": [{"role": "user", "content": "x"}]})"));
  RenderOptions options{"2025-08-05", false};
  auto ids = render_prompt(tok(), req, options);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->back(), tokenizer::kEnd);
}

// §7: analysis survives only when no final answer follows it.
TEST(Render, AnalysisDropRule) {
  const std::string text = text_of(R"({"messages": [
    {"role": "user", "content": "q1"},
    {"role": "assistant", "content": "a1", "reasoning": "r1"},
    {"role": "user", "content": "q2"},
    {"role": "assistant", "content": "a2", "reasoning_content": "r2"},
    {"role": "user", "content": "q3"},
    {"role": "assistant", "content": null, "reasoning": "r3",
     "tool_calls": [{"id": "c", "type": "function",
                     "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c", "content": "out"}]})");
  EXPECT_EQ(text.find("r1"), std::string::npos);
  EXPECT_EQ(text.find("r2"), std::string::npos);
  EXPECT_NE(text.find("<|start|>assistant<|channel|>analysis<|message|>r3<|end|>"),
            std::string::npos);
  EXPECT_NE(text.find("<|start|>assistant<|channel|>final<|message|>a2<|end|>"), std::string::npos);
  EXPECT_NE(
      text.find("<|start|>functions.f to=assistant<|channel|>commentary<|message|>out<|end|>"),
      std::string::npos);
  EXPECT_EQ(text.find("<|return|>"), std::string::npos);
}

TEST(Render, LaterSystemMessageIsPlainDeveloperMessage) {
  const std::string text = text_of(R"({"messages": [
    {"role": "system", "content": "first"},
    {"role": "user", "content": "hi"},
    {"role": "system", "content": "later"}]})");
  EXPECT_NE(text.find("<|start|>developer<|message|># Instructions\n\nfirst<|end|>"),
            std::string::npos);
  EXPECT_NE(text.find("<|start|>developer<|message|>later<|end|>"), std::string::npos);
}

const char* kToolBody = R"({"messages": [{"role": "user", "content": "hi"}],
  "tools": [{"type": "function", "function": {"name": "f", "description": "Does f."}}],
  "tool_choice": %s})";

std::string with_tool_choice(const std::string& choice) {
  std::string body = kToolBody;
  body.replace(body.find("%s"), 2, choice);
  return text_of(body.c_str());
}

TEST(Render, ToolChoice) {
  const std::string none = with_tool_choice("\"none\"");
  EXPECT_EQ(none.find("namespace functions"), std::string::npos);
  EXPECT_EQ(none.find("'functions'"), std::string::npos);
  EXPECT_EQ(none.find("<|start|>developer"), std::string::npos);
  for (const char* choice :
       {"\"auto\"", "\"required\"", "null", R"({"type": "function", "function": {"name": "f"}})"}) {
    const std::string text = with_tool_choice(choice);
    EXPECT_NE(text.find("// Does f.\ntype f = () => any;\n\n} // namespace functions"),
              std::string::npos)
        << choice;
    EXPECT_NE(text.find("\nCalls to these tools must go to the commentary channel: 'functions'."),
              std::string::npos);
  }
}

TEST(Render, ResponseFormats) {
  const std::string obj = text_of(R"({"messages": [{"role": "user", "content": "hi"}],
    "response_format": {"type": "json_object"}})");
  EXPECT_NE(obj.find("<|start|>developer<|message|># Response Formats\n\n## json_object\n\n"),
            std::string::npos);
  const std::string text = text_of(R"({"messages": [{"role": "user", "content": "hi"}],
    "response_format": {"type": "text"}})");
  EXPECT_EQ(text.find("developer"), std::string::npos);
  const std::string nodesc = text_of(R"({"messages": [{"role": "user", "content": "hi"}],
    "response_format": {"type": "json_schema",
      "json_schema": {"name": "n", "schema": {"b": 1, "a": [true, null]}}}})");
  EXPECT_NE(nodesc.find("# Response Formats\n\n## n\n\n{\"b\":1,\"a\":[true,null]}<|end|>"),
            std::string::npos);
}

TEST(Render, BuiltinToolsSortedAndDeduplicated) {
  const std::string text = text_of(R"({"messages": [{"role": "user", "content": "hi"}],
    "builtin_tools": ["python", "browser", "python"]})");
  const size_t browser = text.find("## browser\n");
  const size_t python = text.find("## python\n");
  ASSERT_NE(browser, std::string::npos);
  ASSERT_NE(python, std::string::npos);
  EXPECT_LT(browser, python);
  EXPECT_EQ(text.find("## python\n", python + 1), std::string::npos);
  EXPECT_EQ(text.find("'functions'"), std::string::npos);
}

TEST(Render, PreambleAndParallelCalls) {
  const std::string text = text_of(R"({"messages": [
    {"role": "user", "content": "q"},
    {"role": "assistant", "content": [{"type": "text", "text": "Checking."}],
     "tool_calls": [
       {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}},
       {"id": "b", "type": "function", "function": {"name": "g", "arguments": {"y": 2}}}]},
    {"role": "tool", "tool_call_id": "b", "content": "B"},
    {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "A"}]}]})");
  EXPECT_NE(text.find("<|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>"
                      "<|start|>assistant to=functions.f<|channel|>commentary <|constrain|>json"
                      "<|message|>{\"x\": 1}<|call|>"
                      "<|start|>assistant to=functions.g<|channel|>commentary <|constrain|>json"
                      "<|message|>{\"y\":2}<|call|>"
                      "<|start|>functions.g to=assistant<|channel|>commentary<|message|>B<|end|>"
                      "<|start|>functions.f to=assistant<|channel|>commentary<|message|>A<|end|>"
                      "<|start|>assistant"),
            std::string::npos)
      << text;
}

struct BadRequest {
  const char* body;
  const char* error;
};

TEST(Validation, NamesTheOffendingField) {
  const BadRequest cases[] = {
      {R"([])", "request: expected an object, got array"},
      {R"({})", "messages: missing"},
      {R"({"messages": {}})", "messages: expected an array, got object"},
      {R"({"messages": []})", "messages: empty"},
      {R"({"messages": [1]})", "messages[0]: expected an object, got number"},
      {R"({"messages": [{"content": "x"}]})", "messages[0].role: missing"},
      {R"({"messages": [{"role": 3, "content": "x"}]})",
       "messages[0].role: expected a string, got number"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                        {"role": "foo", "content": "x"}]})",
       "messages[2].role: unknown role \"foo\""},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content: missing"},
      {R"({"messages": [{"role": "user", "content": 5}]})",
       "messages[0].content: expected a string or an array of text parts, got number"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
       "messages[0].content[0].type: unsupported content part type \"image_url\""},
      {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
       "messages[0].content[0].text: missing"},
      {R"({"messages": [{"role": "assistant"}]})",
       "messages[0]: an assistant message needs content, reasoning or tool_calls"},
      {R"({"messages": [{"role": "assistant", "content": "x", "reasoning": 1}]})",
       "messages[0].reasoning: expected a string, got number"},
      {R"({"messages": [{"role": "assistant", "tool_calls": {}}]})",
       "messages[0].tool_calls: expected an array, got object"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"type": "function",
           "function": {"name": "f"}}]}]})",
       "messages[0].tool_calls[0].id: missing"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"id": "c",
           "function": {"arguments": "{}"}}]}]})",
       "messages[0].tool_calls[0].function.name: missing"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"id": "c",
           "function": {"name": "f", "arguments": 7}}]}]})",
       "messages[0].tool_calls[0].function.arguments: expected a string, got number"},
      {R"({"messages": [{"role": "tool", "content": "x"}]})", "messages[0].tool_call_id: missing"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"id": "c",
           "function": {"name": "f"}}]}, {"role": "tool", "tool_call_id": "d", "content": "x"}]})",
       "messages[1].tool_call_id: \"d\" matches no earlier tool call"},
      {R"({"messages": [{"role": "tool", "tool_call_id": "c", "content": "x"},
                        {"role": "assistant", "tool_calls": [{"id": "c",
           "function": {"name": "f"}}]}]})",
       "messages[0].tool_call_id: \"c\" matches no earlier tool call"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": {}})",
       "tools: expected an array, got object"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})",
       "tools[0].function: missing"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "tools": [{"type": "function", "function": {"description": "d"}}]})",
       "tools[0].function.name: missing"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "tools": [{"type": "function", "function": {"name": "a b"}}]})",
       "tools[0].function.name: \"a b\" contains whitespace"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "tools": [{"type": "retrieval", "function": {"name": "f"}}]})",
       "tools[0].type: unsupported tool type \"retrieval\""},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "tools": [{"function": {"name": "f", "parameters": "{}"}}]})",
       "tools[0].function.parameters: expected an object (a JSON schema), got string"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "tools": [{"function": {"name": "f"}}, {"function": {"name": "f"}}]})",
       "tools[1].function.name: duplicate tool name \"f\""},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "maybe"})",
       "tool_choice: unknown value \"maybe\""},
      {R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"})",
       "tool_choice: \"required\" but the request has no tools"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "tool_choice": {"type": "function", "function": {"name": "g"}}})",
       "tool_choice.function.name: \"g\" is not one of the request's tools"},
      {R"({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "max"})",
       "reasoning_effort: unknown value \"max\""},
      {R"({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": 2})",
       "reasoning_effort: expected a string, got number"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "response_format": {"type": "json_schema"}})",
       "response_format.json_schema: missing"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}})",
       "response_format.json_schema.name: missing"},
      {R"({"messages": [{"role": "user", "content": "x"}],
           "response_format": {"type": "json_schema",
                               "json_schema": {"name": "n", "schema": []}}})",
       "response_format.json_schema.schema: expected an object, got array"},
      {R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})",
       "response_format.type: unknown value \"xml\""},
      {R"({"messages": [{"role": "user", "content": "x"}], "builtin_tools": ["shell"]})",
       "builtin_tools[0]: unknown built-in tool \"shell\""},
  };
  for (const BadRequest& c : cases) {
    const std::string error = error_of(Json::parse(c.body));
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << "body: " << c.body << "\nerror: " << error;
  }
}

TEST(Validation, AcceptsOptionalForms) {
  ChatRequest req = parse_ok(Json::parse(R"({"messages": [
      {"role": "developer", "content": [{"type": "text", "text": "a"}, {"text": "b"}]},
      {"role": "user", "content": "x", "name": "bob"},
      {"role": "assistant", "content": null, "reasoning_content": "think"}],
    "tools": null, "tool_choice": null, "reasoning_effort": null, "response_format": "text",
    "builtin_tools": null, "model": "gpt-oss-20b", "temperature": 0.2})"));
  ASSERT_EQ(req.messages.size(), 3u);
  EXPECT_EQ(*req.messages[0].content, "ab");
  EXPECT_EQ(*req.messages[2].reasoning, "think");
  EXPECT_FALSE(req.messages[2].content.has_value());
  EXPECT_EQ(req.reasoning_effort, ReasoningEffort::kMedium);
  EXPECT_EQ(req.response_format.kind, ResponseFormatKind::kText);
}

// Replaces every value of a request, one at a time, with values of other
// types; parsing and rendering must never throw.
void mutate_and_check(Json& root, Json& node, int& checked) {
  const Json replacements[] = {nullptr,
                               1,
                               -2.5,
                               "s",
                               true,
                               Json::array(),
                               Json::object(),
                               Json::array({1, "x"}),
                               Json{{"type", "text"}}};
  for (const Json& r : replacements) {
    Json saved = node;
    node = r;
    EXPECT_NO_THROW({
      auto req = parse_chat_request(root);
      if (req.ok()) {
        auto ids = render_prompt(tok(), *req, RenderOptions{"2025-08-05", true});
        EXPECT_TRUE(ids.ok());
      }
    });
    ++checked;
    node = std::move(saved);
  }
  if (node.is_object()) {
    for (auto& [key, child] : node.items()) mutate_and_check(root, child, checked);
  } else if (node.is_array()) {
    for (Json& child : node) mutate_and_check(root, child, checked);
  }
}

TEST(Validation, NeverThrowsOnMutatedGoldenRequests) {
  int checked = 0;
  for (const Json& row : golden_rows()) {
    Json request = row["request"];
    mutate_and_check(request, request, checked);
  }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace quarry::harmony
