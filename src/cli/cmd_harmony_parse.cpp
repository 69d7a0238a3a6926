// `quarry harmony parse`: one completion (token ids, or text with special
// tokens) -> the parsed harmony messages and their OpenAI mapping.
#include <string>
#include <vector>

#include "cli/commands.h"
#include "harmony/openai_mapping.h"
#include "harmony/stream_parser.h"

namespace quarry::cli {
namespace {

using tokenizer::TokenId;

Result<std::vector<TokenId>> read_ids(const Json& ids) {
  if (!ids.is_array()) return make_error("completion_ids: expected an array of token ids");
  std::vector<TokenId> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const Json& v = ids[i];
    const std::string where = "completion_ids[" + std::to_string(i) + "]: ";
    if (!v.is_number_unsigned()) {
      return make_error(where + "expected a non-negative integer token id, got " + v.dump());
    }
    const uint64_t id = v.get<uint64_t>();
    if (id >= tokenizer::kVocabSize) {
      return make_error(where + std::to_string(id) + " is not a token id (vocabulary size " +
                        std::to_string(tokenizer::kVocabSize) + ")");
    }
    out.push_back(static_cast<TokenId>(id));
  }
  return out;
}

Result<std::vector<TokenId>> read_completion(const tokenizer::Tokenizer& tok, const Json& input) {
  if (input.contains("completion_ids")) return read_ids(input["completion_ids"]);
  if (input.contains("completion_text")) {
    const Json& text = input["completion_text"];
    if (!text.is_string()) return make_error("completion_text: expected a string");
    return tok.encode(text.get<std::string>(), tokenizer::Specials::kAll);
  }
  return make_error(
      "expected \"completion_ids\" (an array of token ids) or \"completion_text\" (a string)");
}

}  // namespace

Result<Json> harmony_parse_line(const tokenizer::Tokenizer& tok, const Json& input) {
  Result<std::vector<TokenId>> ids = read_completion(tok, input);
  if (!ids.ok()) return ids.error();
  bool strict = false;
  if (input.contains("strict")) {
    if (!input["strict"].is_boolean()) return make_error("strict: expected true or false");
    strict = input["strict"].get<bool>();
  }

  harmony::StreamParser parser(tok,
                               strict ? harmony::ParseMode::kStrict : harmony::ParseMode::kLenient);
  std::vector<harmony::ParseEvent> events;
  for (TokenId id : ids.value()) {
    events.clear();
    parser.push(id, events);
  }
  parser.finish(events);

  // The completion ended on purpose if its last token closes a message or
  // stops sampling; otherwise max_tokens cut it.
  const bool stopped = !ids->empty() && (harmony::is_terminator(ids->back()) ||
                                         ids->back() == tokenizer::kEndOfText);
  const harmony::OpenAiMessage openai = harmony::map_to_openai(
      parser.messages(), stopped ? harmony::FinishReason::kStop : harmony::FinishReason::kLength);

  Json out = Json::object();
  Json messages = Json::array();
  for (const harmony::ParsedMessage& m : parser.messages()) {
    messages.push_back(harmony::message_to_json(m));
  }
  out["messages"] = std::move(messages);
  out["openai"] = harmony::openai_to_json(openai);
  if (parser.error()) out[strict ? "strict_error" : "warning"] = *parser.error();
  return out;
}

}  // namespace quarry::cli
