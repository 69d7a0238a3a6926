// Schema compilation, validation and the byte-level matcher: fixed cases,
// then random walks (any accepted byte, then the shortest completion) whose
// every result must parse and validate.
#include <random>

#include <gtest/gtest.h>

#include "grammar/json_matcher.h"
#include "grammar/json_schema.h"

namespace quarry::grammar {
namespace {

using Json = nlohmann::ordered_json;

std::shared_ptr<const Schema> compile(const char* text) {
  auto s = Schema::compile(Json::parse(text));
  EXPECT_TRUE(s.ok()) << s.message();
  return s.ok() ? s.value() : Schema::any_value();
}

const char* kWeather = R"({"type":"object","properties":{
  "city":{"type":"string","minLength":1},
  "unit":{"type":"string","enum":["celsius","fahrenheit"]},
  "days":{"type":"integer"},
  "hourly":{"type":["boolean","null"]},
  "tags":{"type":"array","items":{"type":"string"},"maxItems":3}},
  "required":["city","unit"],"additionalProperties":false})";

const char* kRecursive = R"({"$defs":{"node":{"type":"object","properties":{
  "value":{"type":"number"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
  "required":["value","children"],"additionalProperties":false}},
  "$ref":"#/$defs/node"})";

TEST(JsonSchema, CompileErrorsNameThePath) {
  auto bad_type = Schema::compile(Json::parse(R"({"properties":{"a":{"type":"strin"}}})"));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.message().find("properties.a.type"), std::string::npos) << bad_type.message();
  auto bad_ref = Schema::compile(Json::parse(R"({"$ref":"#/components/x"})"));
  ASSERT_FALSE(bad_ref.ok());
  EXPECT_NE(bad_ref.message().find("cannot resolve"), std::string::npos);
  auto bad_required =
      Schema::compile(Json::parse(R"({"type":"object","properties":{"a":{}},"required":["b"]})"));
  ASSERT_FALSE(bad_required.ok());
  EXPECT_FALSE(Schema::compile(Json::parse("false")).ok());
  EXPECT_FALSE(Schema::compile(Json::parse("[1]")).ok());
}

TEST(JsonSchema, Validates) {
  auto s = compile(kWeather);
  EXPECT_TRUE(s->validate(Json::parse(R"({"city":"Paris","unit":"celsius"})")).ok());
  EXPECT_TRUE(s->validate(Json::parse(R"({"city":"P","unit":"fahrenheit","days":3,
      "hourly":null,"tags":["a"]})"))
                  .ok());
  for (const char* bad :
       {R"({"unit":"celsius"})", R"({"city":"","unit":"celsius"})",
        R"({"city":"P","unit":"kelvin"})", R"({"city":"P","unit":"celsius","x":1})",
        R"({"city":"P","unit":"celsius","days":1.5})",
        R"({"city":"P","unit":"celsius","tags":["a","b","c","d"]})", "[]"}) {
    EXPECT_FALSE(s->validate(Json::parse(bad)).ok()) << bad;
  }
  auto r = compile(kRecursive);
  EXPECT_TRUE(
      r->validate(Json::parse(R"({"value":1,"children":[{"value":2,"children":[]}]})")).ok());
  EXPECT_FALSE(r->validate(Json::parse(R"({"value":1,"children":[{"value":2}]})")).ok());
}

bool matches(const Schema& s, std::string_view text) {
  JsonMatcher m(s.root());
  return m.feed(text) && m.complete();
}

TEST(JsonMatcher, AcceptsAndRejects) {
  auto s = compile(kWeather);
  EXPECT_TRUE(matches(*s, R"({"city":"Paris","unit":"celsius"})"));
  EXPECT_TRUE(matches(
      *s, R"({"city":"Zürich \u00e9\n","unit":"fahrenheit","days":-12,"hourly":true,"tags":[]})"));
  EXPECT_TRUE(matches(*s, R"({"city":"P","unit":"celsius","tags":["x","y"]})"));
  EXPECT_FALSE(matches(*s, R"({"unit":"celsius","city":"Paris"})"));  // schema order
  EXPECT_FALSE(matches(*s, R"({"city":"Paris"})"));
  EXPECT_FALSE(matches(*s, R"({"city":"","unit":"celsius"})"));
  EXPECT_FALSE(matches(*s, R"({"city":"P","unit":"kelvin"})"));
  EXPECT_FALSE(matches(*s, R"({"city":"P","unit":"celsius","days":1.5})"));
  EXPECT_FALSE(matches(*s, R"({"city":"P","unit":"celsius","days":01})"));
  EXPECT_FALSE(matches(*s, R"({"city":"P","unit":"celsius","tags":["a","b","c","d"]})"));
  EXPECT_FALSE(matches(*s, "{\"city\":\"a\x01\",\"unit\":\"celsius\"}"));
  EXPECT_FALSE(matches(*s, "{\"city\":\"\xC3\x28\",\"unit\":\"celsius\"}"));  // bad UTF-8
  EXPECT_FALSE(matches(*s, R"({ "city":"P","unit":"celsius"})"));             // compact only

  auto any = Schema::any_value();
  for (const char* ok : {"0", "-0.5e+3", "\"x\"", "[1,[2,{}]]", R"({"a":{"b":[null,true,false]}})",
                         "123", R"("\u00e9\ud7ff\ue000")"}) {
    EXPECT_TRUE(matches(*any, ok)) << ok;
  }
  for (const char* bad : {"01", "-", "1.", "tru", "[1,]", R"({"a"})", "{,}", "\"\\x\"",
                          R"("\ud800")", R"("\uDC00")", R"("\ud83d\ude00")"}) {
    EXPECT_FALSE(matches(*any, bad)) << bad;
  }
  JsonMatcher m(any->root());
  ASSERT_TRUE(m.feed("[1,2]"));
  EXPECT_TRUE(m.complete());
  EXPECT_FALSE(m.can_continue());
  EXPECT_FALSE(m.feed(","));
  EXPECT_TRUE(m.complete());  // a rejected feed changes nothing
}

TEST(JsonMatcher, EnumPrefixesAndNesting) {
  auto s = compile(R"({"enum":["a","ab",1,12,{"k":[true]}]})");
  for (const char* ok : {"\"a\"", "\"ab\"", "1", "12", R"({"k":[true]})"}) {
    EXPECT_TRUE(matches(*s, ok)) << ok;
  }
  for (const char* bad : {"\"b\"", "2", "123", R"({"k":[false]})"}) EXPECT_FALSE(matches(*s, bad));
  auto deep = Schema::any_value();
  std::string nested(JsonMatcher::kMaxDepth, '[');
  JsonMatcher m(deep->root());
  EXPECT_TRUE(m.feed(nested));
  EXPECT_FALSE(m.feed("["));  // beyond the depth limit
  EXPECT_EQ(m.shortest_completion(), std::string(JsonMatcher::kMaxDepth, ']'));
}

TEST(JsonMatcher, ShortestCompletions) {
  auto s = compile(kWeather);
  JsonMatcher m(s->root());
  EXPECT_EQ(m.shortest_completion(), R"({"city":"a","unit":"celsius"})");
  ASSERT_TRUE(m.feed(R"({"city":"Pa)"));
  EXPECT_EQ(m.shortest_completion(), R"(","unit":"celsius"})");
  ASSERT_TRUE(m.feed("\xE2\x82"));  // half of a euro sign
  EXPECT_EQ(m.shortest_completion(), "\x80\",\"unit\":\"celsius\"}");
  EXPECT_FALSE(m.feed("\\"));  // the character is not finished
  ASSERT_TRUE(m.feed("\xAC\\u00"));
  EXPECT_EQ(m.shortest_completion(), R"(00","unit":"celsius"})");
  ASSERT_TRUE(m.feed(R"(e9","unit":"c)"));
  EXPECT_EQ(m.shortest_completion(), R"(elsius"})");
  ASSERT_TRUE(m.feed(R"(elsius","tags":[)"));
  EXPECT_EQ(m.shortest_completion(), "]}");
  auto r = compile(kRecursive);
  JsonMatcher n(r->root());
  ASSERT_TRUE(n.feed(R"({"value":-)"));
  EXPECT_EQ(n.shortest_completion(), R"(0,"children":[]})");
  ASSERT_TRUE(n.feed(R"(1.5e,"c)") == false);
  ASSERT_TRUE(n.feed(R"(1.5,"children":[{)"));
  EXPECT_EQ(n.shortest_completion(), R"("value":0,"children":[]}]})");
}

// From the empty text, take random accepted bytes (biased to finish), then
// the shortest completion: the result must be one whole value that parses
// and validates.
void random_walks(const char* schema_text, int walks, uint32_t seed) {
  auto s = compile(schema_text);
  std::mt19937 rng(seed);
  for (int w = 0; w < walks; ++w) {
    JsonMatcher m(s->root());
    std::string text;
    const int steps = static_cast<int>(rng() % 80);
    for (int i = 0; i < steps && m.can_continue(); ++i) {
      std::vector<char> ok;
      for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        if (m.accepts(std::string_view(&c, 1))) ok.push_back(c);
      }
      if (ok.empty()) break;
      const char c = ok[rng() % ok.size()];
      ASSERT_TRUE(m.feed(std::string_view(&c, 1)));
      text += c;
    }
    const std::string rest = m.shortest_completion();
    ASSERT_TRUE(m.feed(rest)) << text << " + " << rest;
    ASSERT_TRUE(m.complete()) << text << " + " << rest;
    text += rest;
    Json v = Json::parse(text, nullptr, false);
    ASSERT_FALSE(v.is_discarded()) << text;
    const Status st = s->validate(v);
    ASSERT_TRUE(st.ok()) << text << ": " << st.message();
  }
}

TEST(JsonMatcher, RandomWalksFinishValid) {
  random_walks(kWeather, 150, 1);
  random_walks(kRecursive, 150, 2);
  random_walks(R"({"type":"object"})", 150, 3);
  random_walks(
      R"({"anyOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
      {"type":"object","properties":{"b":{"type":"string","maxLength":2}},"required":["b"]},
      {"type":"array","items":{"const":"x"},"minItems":2}]})",
      150, 4);
  random_walks("{}", 150, 5);
}

}  // namespace
}  // namespace quarry::grammar
