// The API layer's pieces without a server: model aliases, request fields,
// error shapes, and the choice decoder (harmony output -> reasoning, content,
// tool calls; stop strings; logprobs).
#include <gtest/gtest.h>

#include "api/choice_decoder.h"
#include "api/errors.h"
#include "api/model_names.h"
#include "api/request_params.h"
#include "tokenizer/tokenizer.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

TEST(ModelNames, ResolvesAliases) {
  ModelNames n({"gpt-oss-20b", "tiny"});
  EXPECT_EQ(n.resolve("gpt-oss-20b"), "gpt-oss-20b");
  EXPECT_EQ(n.resolve("tiny"), "tiny");
  EXPECT_EQ(n.resolve("openai/gpt-oss-20b"), "gpt-oss-20b");
  EXPECT_EQ(n.resolve("openai.gpt-oss-20b-1:0"), "gpt-oss-20b");
  EXPECT_EQ(n.resolve("openai.gpt-oss-20b"), "gpt-oss-20b");
  EXPECT_EQ(n.resolve("arn:aws:bedrock:us-west-2::foundation-model/openai.gpt-oss-20b-1:0"),
            "gpt-oss-20b");
  EXPECT_FALSE(n.resolve("GPT-OSS-20B"));
  EXPECT_FALSE(n.resolve("openai.gpt-oss-120b-1:0"));
  EXPECT_FALSE(n.resolve("arn:aws:bedrock:us-west-2::foundation-model/x"));
  EXPECT_FALSE(n.resolve(""));
}

TEST(Errors, BodyAndParamFromPath) {
  ApiError e = invalid_from_path_message("messages[2].role: unknown role \"foo\"");
  EXPECT_EQ(e.param, "messages[2].role");
  Json j = Json::parse(error_body(e));
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "messages[2].role");
  EXPECT_FALSE(invalid_from_path_message("request: not an object").param);
  EXPECT_FALSE(invalid_from_path_message("no path here").param);
}

std::optional<ApiError> params(const char* body, GenerationParams& p,
                               Endpoint ep = Endpoint::kChat) {
  return parse_generation_params(Json::parse(body), ep, 1000, p);
}

TEST(RequestParams, ReadsAndChecksFields) {
  GenerationParams p;
  ASSERT_FALSE(params(R"({"temperature": 0, "top_p": 0.5, "n": 3, "seed": 7, "stop": "x",
      "max_completion_tokens": 9, "max_tokens": 4, "logprobs": true, "top_logprobs": 2,
      "logit_bias": {"5": -100}, "stream": true, "stream_options": {"include_usage": true}})",
                      p));
  EXPECT_EQ(p.sampling.temperature, 0.0f);
  EXPECT_EQ(p.n, 3u);
  EXPECT_EQ(p.max_tokens, 9u) << "max_completion_tokens wins";
  EXPECT_EQ(p.top_logprobs, 2);
  EXPECT_EQ(p.sampling.logprobs, 2);
  EXPECT_EQ(p.stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(p.include_usage);
  ASSERT_EQ(p.sampling.logit_bias.size(), 1u);

  struct Bad {
    const char* body;
    const char* param;
  };
  for (const Bad& b :
       {Bad{R"({"temperature": 3})", "temperature"},
        Bad{R"({"temperature": "hot"})", "temperature"}, Bad{R"({"n": 0})", "n"},
        Bad{R"({"max_tokens": 0})", "max_tokens"}, Bad{R"({"max_tokens": 1.5})", "max_tokens"},
        Bad{R"({"top_logprobs": 2})", "top_logprobs"},
        Bad{R"({"stream_options": {"include_usage": true}})", "stream_options"},
        Bad{R"({"stop": ["a", "b", "c", "d", "e"]})", "stop"},
        Bad{R"({"logit_bias": {"99999": 1}})", "logit_bias.99999"},
        Bad{R"({"presence_penalty": -3})", "presence_penalty"}}) {
    GenerationParams q;
    auto err = params(b.body, q);
    ASSERT_TRUE(err) << b.body;
    EXPECT_EQ(err->status, 400);
    EXPECT_EQ(err->param, b.param) << b.body;
  }
  GenerationParams c;
  ASSERT_FALSE(params("{}", c, Endpoint::kCompletions));
  EXPECT_EQ(c.max_tokens, 16u) << "the completions API's default";
  ASSERT_TRUE(params(R"({"suffix": "x"})", c, Endpoint::kCompletions));
}

class Decoder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
    ASSERT_TRUE(t.ok()) << t.message();
    tok_ = new tokenizer::Tokenizer(std::move(t.value()));
  }
  static void TearDownTestSuite() { delete tok_; }

  // The ids of harmony output text (specials as specials).
  static std::vector<int32_t> ids(const std::string& text) {
    std::vector<int32_t> out;
    for (auto id : tok_->encode(text, tokenizer::Specials::kAll)) out.push_back(int32_t(id));
    return out;
  }
  static std::vector<ChoiceDelta> run(ChoiceDecoder& d, const std::string& text) {
    std::vector<ChoiceDelta> out;
    for (int32_t id : ids(text)) {
      if (!d.push(id, nullptr, out)) break;
    }
    d.finish(out);
    return out;
  }
  static tokenizer::Tokenizer* tok_;
};
tokenizer::Tokenizer* Decoder::tok_ = nullptr;

TEST_F(Decoder, SplitsReasoningContentAndToolCalls) {
  ChoiceDecoder d(*tok_, {}, -1);
  auto deltas = run(d,
                    "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>"
                    "final<|message|>Hello there!<|return|>");
  EXPECT_EQ(d.reasoning(), "Think.");
  EXPECT_EQ(d.content(), "Hello there!");
  EXPECT_TRUE(d.tool_calls().empty());
  std::string content, reasoning;
  for (auto& x : deltas) (x.kind == ChoiceDelta::Kind::kContent ? content : reasoning) += x.text;
  EXPECT_EQ(content, d.content());
  EXPECT_EQ(reasoning, d.reasoning());
  EXPECT_GT(d.reasoning_tokens(), 0u);

  ChoiceDecoder call(*tok_, {}, -1);
  run(call,
      "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
      "{\"city\":\"Paris\"}<|call|>");
  ASSERT_EQ(call.tool_calls().size(), 1u);
  EXPECT_EQ(call.tool_calls()[0].name, "get_weather");
  EXPECT_EQ(call.tool_calls()[0].arguments, "{\"city\":\"Paris\"}");
  EXPECT_TRUE(call.tool_calls()[0].id.starts_with("call_"));
  EXPECT_TRUE(call.ended_in_call());
}

TEST_F(Decoder, StopStringsCutContentBeforeTheMatch) {
  ChoiceDecoder d(*tok_, {"STOP", "xyz"}, -1);
  auto deltas = run(d, "<|channel|>final<|message|>one two STOP three<|return|>");
  EXPECT_EQ(d.content(), "one two ");
  EXPECT_TRUE(d.stopped_by_string());
  std::string streamed;
  for (auto& x : deltas) streamed += x.text;
  EXPECT_EQ(streamed, "one two ");
}

TEST_F(Decoder, ControlTokensNeverReachContent) {
  ChoiceDecoder d(*tok_, {}, -1);
  run(d, "<|channel|>final<|message|>a<|constrain|>b<|start|>c<|return|>");
  EXPECT_EQ(d.content(), "abc");
}

TEST_F(Decoder, RawModeSkipsSpecials) {
  ChoiceDecoder d(*tok_, {}, -1, /*raw=*/true);
  run(d, "Paris<|return|> is");
  EXPECT_EQ(d.content(), "Paris is");
}

TEST_F(Decoder, LogprobsCoverContentTokensWithTheirBytes) {
  ChoiceDecoder d(*tok_, {}, 1);
  std::vector<ChoiceDelta> out;
  engine::SampledLogprobs lp;
  lp.logprob = -0.5f;
  lp.top = {{7, -0.1f}, {8, -0.2f}};
  for (int32_t id : ids("<|channel|>final<|message|>héllo<|return|>")) d.push(id, &lp, out);
  d.finish(out);
  std::string bytes;
  for (const Json& e : d.logprobs()) {
    for (const Json& b : e["bytes"]) bytes.push_back(static_cast<char>(b.get<int>()));
    EXPECT_EQ(e["top_logprobs"].size(), 1u);
  }
  EXPECT_EQ(bytes, "héllo");
}

}  // namespace
}  // namespace quarry::api
