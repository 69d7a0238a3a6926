// The harmony turn constraint over the real o200k_harmony vocabulary: random
// logits (a model with random weights) under the mask must always produce a
// well-formed turn whose JSON validates, within the token budget.
#include <gtest/gtest.h>

#include "grammar/turn_constraint.h"

namespace quarry::grammar {
namespace {

using Json = nlohmann::ordered_json;

class TurnConstraintTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
    ASSERT_TRUE(t.ok()) << t.message();
    tok_ = new tokenizer::Tokenizer(std::move(t.value()));
    auto v = VocabIndex::build(*tok_);
    ASSERT_TRUE(v.ok()) << v.message();
    vocab_ = new std::shared_ptr<const VocabIndex>(v.value());
  }
  static void TearDownTestSuite() {
    delete vocab_;
    delete tok_;
  }

  // Samples a turn with random logits; returns the tokens.
  std::vector<int32_t> run(const std::shared_ptr<const TurnSpec>& spec, size_t max_tokens,
                           uint32_t seed) {
    TurnConstraint c(*vocab_, spec, max_tokens);
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
    std::vector<int32_t> out;
    std::vector<float> logits(tokenizer::kVocabSize);
    while (out.size() < max_tokens && !c.done()) {
      for (float& x : logits) {  // uniform noise from a cheap LCG
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        x = static_cast<float>(state >> 40) * (8.0f / 16777216.0f);
      }
      c(out, logits);
      size_t best = 0;
      for (size_t i = 1; i < logits.size(); ++i) best = logits[i] > logits[best] ? i : best;
      EXPECT_TRUE(std::isfinite(logits[best]));
      out.push_back(static_cast<int32_t>(best));
      if (out.back() == (*vocab_)->call || out.back() == (*vocab_)->ret) break;
    }
    return out;
  }

  std::string text(const std::vector<int32_t>& ids) {
    std::vector<tokenizer::TokenId> t(ids.begin(), ids.end());
    auto s = tok_->decode_bytes(t);
    return s.ok() ? s.value() : std::string();
  }

  static tokenizer::Tokenizer* tok_;
  static std::shared_ptr<const VocabIndex>* vocab_;
};
tokenizer::Tokenizer* TurnConstraintTest::tok_ = nullptr;
std::shared_ptr<const VocabIndex>* TurnConstraintTest::vocab_ = nullptr;

std::shared_ptr<const Schema> compile(const char* text) {
  auto s = Schema::compile(Json::parse(text));
  EXPECT_TRUE(s.ok()) << s.message();
  return s.value();
}

// The JSON between the last <|message|> and the end token.
std::string last_message(const std::string& s, const std::string& end) {
  const size_t m = s.rfind("<|message|>");
  const size_t e = s.rfind(end);
  if (m == std::string::npos || e == std::string::npos || e < m) return {};
  return s.substr(m + 11, e - m - 11);
}

TEST_F(TurnConstraintTest, RequiredToolCallIsAlwaysValid) {
  auto spec = std::make_shared<TurnSpec>();
  spec->tools.push_back({"get_weather", compile(R"({"type":"object","properties":{
      "city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city","unit"]})")});
  spec->tools.push_back({"get_time", compile(R"({"type":"object","properties":{}})")});
  int calls[2] = {0, 0};
  for (uint32_t seed = 0; seed < 8; ++seed) {
    const size_t budget = 40 + seed * 9;
    std::vector<int32_t> ids = run(spec, budget, seed);
    ASSERT_LE(ids.size(), budget);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids.back(), (*vocab_)->call) << text(ids);
    const std::string s = text(ids);
    const bool weather =
        s.find("to=functions.get_weather <|constrain|>json<|message|>") != std::string::npos;
    const bool time =
        s.find("to=functions.get_time <|constrain|>json<|message|>") != std::string::npos;
    ASSERT_TRUE(weather || time) << s;
    ++calls[weather ? 0 : 1];
    Json args = Json::parse(last_message(s, "<|call|>"), nullptr, false);
    ASSERT_FALSE(args.is_discarded()) << s;
    EXPECT_TRUE(spec->tools[weather ? 0 : 1].schema->validate(args).ok()) << s;
  }
  EXPECT_GT(calls[0] + calls[1], 0);
}

TEST_F(TurnConstraintTest, JsonFinalAnswerValidates) {
  auto spec = std::make_shared<TurnSpec>();
  spec->final = TurnSpec::Final::kJson;
  spec->final_schema = compile(R"({"type":"object","properties":{
      "name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}},
      "score":{"type":"number"}},"required":["name","tags","score"],"additionalProperties":false})");
  for (uint32_t seed = 0; seed < 6; ++seed) {
    const size_t budget = 48 + seed * 16;
    std::vector<int32_t> ids = run(spec, budget, 100 + seed);
    ASSERT_LE(ids.size(), budget);
    EXPECT_EQ(ids.back(), (*vocab_)->ret);
    const std::string s = text(ids);
    EXPECT_NE(s.find("<|channel|>final<|message|>"), std::string::npos) << s;
    Json v = Json::parse(last_message(s, "<|return|>"), nullptr, false);
    ASSERT_FALSE(v.is_discarded()) << s;
    EXPECT_TRUE(spec->final_schema->validate(v).ok()) << s;
  }
}

TEST_F(TurnConstraintTest, MaskAndShortestCompletion) {
  auto spec = std::make_shared<TurnSpec>();
  spec->allow_analysis = false;
  spec->tools.push_back({"f", Schema::any_object()});
  TurnConstraint c(*vocab_, spec, 1000);
  std::vector<uint8_t> mask;
  c.allowed(mask);
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 1);
  EXPECT_TRUE(mask[static_cast<size_t>((*vocab_)->channel)]);
  EXPECT_EQ(text(c.shortest_completion()),
            "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>");
  EXPECT_FALSE(c.accept((*vocab_)->message));
  ASSERT_TRUE(c.accept((*vocab_)->channel));
  for (int32_t id : (*vocab_)->encode("commentary to=functions.f ")) ASSERT_TRUE(c.accept(id));
  EXPECT_FALSE(c.accept((*vocab_)->encode("x")[0]));
  ASSERT_TRUE(c.accept((*vocab_)->constrain));
  for (int32_t id : (*vocab_)->encode("json")) ASSERT_TRUE(c.accept(id));
  ASSERT_TRUE(c.accept((*vocab_)->message));
  for (int32_t id : (*vocab_)->encode("{\"a\":[1,")) ASSERT_TRUE(c.accept(id));
  EXPECT_EQ(text(c.shortest_completion()), "0]}<|call|>");
  c.allowed(mask);
  EXPECT_FALSE(mask[static_cast<size_t>((*vocab_)->call)]);
  EXPECT_FALSE(mask[static_cast<size_t>((*vocab_)->encode("]")[0])]);
  EXPECT_TRUE(mask[static_cast<size_t>((*vocab_)->encode("2")[0])]);
}

}  // namespace
}  // namespace quarry::grammar
