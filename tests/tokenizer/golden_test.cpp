// The shared tokenizer goldens (tests/data/tokenizer/, see its README): every
// id list and every decode must match exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace quarry::tokenizer {
namespace {

using Json = nlohmann::json;

const Tokenizer& tok() {
  static const Tokenizer t = [] {
    auto r = Tokenizer::load(QUARRY_RANKS_FILE);
    if (!r.ok()) {
      ADD_FAILURE() << r.message();
      std::abort();
    }
    return std::move(r).value();
  }();
  return t;
}

std::vector<Json> read_jsonl(const std::string& name) {
  std::ifstream in(std::string(QUARRY_TEST_DATA) + "/tokenizer/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(Json::parse(line));
  }
  return rows;
}

std::string hex(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

TEST(TokenizerGolden, O200kBaseOrdinaryEncodeAndDecode) {
  const auto rows = read_jsonl("o200k_base.jsonl");
  ASSERT_GE(rows.size(), 300u);
  size_t failures = 0;
  for (const Json& row : rows) {
    const std::string text = row["text"];
    const auto want = row["ids"].get<std::vector<TokenId>>();
    const auto got = tok().encode_ordinary(text);
    if (got != want) {
      ++failures;
      ADD_FAILURE() << row["id"] << " " << row["category"] << ": ids differ for "
                    << Json(text).dump();
    }
    auto back = tok().decode(want);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(back.value(), text) << row["id"];
  }
  EXPECT_EQ(failures, 0u);
}

TEST(TokenizerGolden, HarmonySpecialEncode) {
  for (const Json& row : read_jsonl("o200k_harmony_special.jsonl")) {
    const std::string text = row["text"];
    EXPECT_EQ(tok().encode(text, Specials::kAll), row["ids"].get<std::vector<TokenId>>()) << text;
    EXPECT_EQ(tok().encode_ordinary(text), row["ordinary_ids"].get<std::vector<TokenId>>()) << text;
  }
}

TEST(TokenizerGolden, Decode) {
  for (const Json& row : read_jsonl("o200k_decode.jsonl")) {
    const std::string kind = row["kind"];
    if (kind == "byte_ranks") {
      const auto ranks = row["byte_ranks"].get<std::vector<TokenId>>();
      ASSERT_EQ(ranks.size(), 256u);
      for (int b = 0; b < 256; ++b) {
        EXPECT_EQ(tok().token_bytes(ranks[b]), std::string(1, static_cast<char>(b))) << b;
        EXPECT_EQ(tok().encode_ordinary(std::string(1, static_cast<char>(b))).size(), 1u);
      }
      continue;
    }
    const auto ids = row["ids"].get<std::vector<TokenId>>();
    auto bytes = tok().decode_bytes(ids);
    ASSERT_TRUE(bytes.ok()) << bytes.message();
    if (row.contains("hex")) {
      EXPECT_EQ(hex(bytes.value()), row["hex"]) << row.dump();
    }
    auto text = tok().decode(ids);
    ASSERT_TRUE(text.ok());
    if (row.contains("text")) {
      EXPECT_EQ(text.value(), row["text"].get<std::string>()) << row.dump();
    }
    if (row.contains("text_lossy")) {
      EXPECT_EQ(text.value(), row["text_lossy"].get<std::string>()) << row.dump();
    }
    if (row.contains("text_any_of")) {
      bool any = false;
      for (const auto& t : row["text_any_of"]) any = any || t.get<std::string>() == text.value();
      EXPECT_TRUE(any) << row.dump() << " got " << text.value();
    }
  }
}

}  // namespace
}  // namespace quarry::tokenizer
