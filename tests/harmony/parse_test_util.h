// Shared helpers of the harmony parser tests: the tokenizer (loaded once),
// the golden parse cases, and a driver that runs the stream parser.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harmony/openai_mapping.h"
#include "harmony/stream_parser.h"
#include "tokenizer/tokenizer.h"

namespace quarry::harmony::test {

using Json = nlohmann::ordered_json;
using tokenizer::TokenId;

inline const tokenizer::Tokenizer& tok() {
  static const tokenizer::Tokenizer* loaded = [] {
    auto r = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
    if (!r.ok()) {
      ADD_FAILURE() << "cannot load " << QUARRY_RANKS_FILE << ": " << r.message();
      std::abort();
    }
    return new tokenizer::Tokenizer(std::move(r.value()));
  }();
  return *loaded;
}

inline const std::vector<Json>& golden_rows() {
  static const std::vector<Json> rows = [] {
    std::vector<Json> out;
    std::ifstream in(std::string(QUARRY_TEST_DATA) + "/harmony/parse_cases.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) out.push_back(Json::parse(line));
    }
    return out;
  }();
  return rows;
}

inline std::vector<TokenId> ids_of(const Json& row) {
  return row.at("completion_ids").get<std::vector<TokenId>>();
}

// Order-insensitive comparison form.
inline nlohmann::json plain(const Json& j) { return nlohmann::json::parse(j.dump()); }

struct ParseRun {
  std::vector<ParsedMessage> messages;
  std::optional<std::string> error;
  std::vector<ParseEvent> events;
  StopReason stop_reason = StopReason::kNone;
};

inline ParseRun run_parser(const std::vector<TokenId>& ids, ParseMode mode) {
  StreamParser parser(tok(), mode);
  ParseRun run;
  for (TokenId id : ids) parser.push(id, run.events);
  run.stop_reason = parser.stop_reason();
  parser.finish(run.events);
  run.messages = parser.messages();
  run.error = parser.error();
  return run;
}

inline Json messages_json(const std::vector<ParsedMessage>& messages) {
  Json out = Json::array();
  for (const ParsedMessage& m : messages) out.push_back(message_to_json(m));
  return out;
}

}  // namespace quarry::harmony::test
