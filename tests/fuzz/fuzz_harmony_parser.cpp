// Fuzzes the harmony stream parser and the OpenAI mapping. The input is a
// sequence of token ids, 3 bytes each (little endian); the top 3 bits of the
// third byte pick the kind of id: 0-3 any id below 201100 (a little past the
// vocabulary; the seeds use this form), 4-5 a special token 199998..200012,
// 6 a header word, 7 a single-byte token or an id far outside the vocabulary.
// Checks: no crash, deltas are valid UTF-8 and add up to each message, the
// JSON of the result serializes (so every string in it is valid UTF-8).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include "base/utf8.h"
#include "harmony/openai_mapping.h"
#include "harmony/stream_parser.h"
#include "tokenizer/tokenizer.h"

using quarry::harmony::ParseEvent;
using quarry::harmony::ParseMode;
using quarry::tokenizer::TokenId;
using quarry::tokenizer::Tokenizer;

namespace {

const Tokenizer& tok() {
  static const Tokenizer t = [] {
    const char* env = std::getenv("QUARRY_RANKS_FILE");
    auto r = Tokenizer::load(env ? env : QUARRY_RANKS_FILE);
    if (!r.ok()) std::abort();
    return std::move(r).value();
  }();
  return t;
}

const std::array<TokenId, 256>& byte_tokens() {
  static const std::array<TokenId, 256> table = [] {
    std::array<TokenId, 256> t{};
    for (TokenId id = 0; id < quarry::tokenizer::kNumMergeable; ++id) {
      const std::string_view bytes = tok().token_bytes(id);
      if (bytes.size() == 1) t[static_cast<unsigned char>(bytes[0])] = id;
    }
    return t;
  }();
  return table;
}

// assistant, analysis, comment+ary, final, " to", "=", "functions", ".get",
// " json", "json", " ", "python", " code", "bash", ".", " <", "all", "user".
constexpr TokenId kWords[] = {173781, 35644, 12606, 815,  17196,  316, 28,  44580, 775, 5701,
                              4108,   220,   29010, 3490, 103423, 13,  464, 586,   1428};

std::vector<TokenId> ids_from(const uint8_t* data, size_t size) {
  std::vector<TokenId> ids;
  ids.reserve(size / 3);
  for (size_t i = 0; i + 3 <= size; i += 3) {
    const uint32_t v = data[i] | data[i + 1] << 8 | data[i + 2] << 16;
    switch (data[i + 2] >> 5) {
      case 4:
      case 5:
        ids.push_back(199998 + v % 15);
        break;
      case 6:
        ids.push_back(kWords[v % std::size(kWords)]);
        break;
      case 7:
        ids.push_back((data[i] & 1) ? byte_tokens()[data[i + 1]]
                                    : quarry::tokenizer::kVocabSize + data[i + 1] * 65537u);
        break;
      default:
        ids.push_back(v % 201100);
        break;
    }
  }
  return ids;
}

void check(bool ok) {
  if (!ok) std::abort();
}

void run(const std::vector<TokenId>& ids, ParseMode mode, std::optional<std::string> role) {
  quarry::harmony::StreamParser parser(tok(), mode, std::move(role));
  std::vector<ParseEvent> events;
  for (TokenId id : ids) parser.push(id, events);
  parser.finish(events);

  size_t ended = 0;
  bool open = false;
  std::string streamed;
  for (const ParseEvent& e : events) {
    if (std::holds_alternative<quarry::harmony::MessageStartEvent>(e)) {
      check(!open);
      open = true;
      streamed.clear();
    } else if (auto* d = std::get_if<quarry::harmony::ContentDeltaEvent>(&e)) {
      check(open && !d->text.empty() && quarry::utf8::is_valid(d->text));
      streamed += d->text;
    } else if (auto* end = std::get_if<quarry::harmony::MessageEndEvent>(&e)) {
      check(open && streamed == end->message.content);
      check(ended < parser.messages().size());
      check(parser.messages()[ended].content == end->message.content);
      open = false;
      ++ended;
    }
  }
  check(!open && ended == parser.messages().size());

  const bool stopped = !ids.empty() && quarry::harmony::is_terminator(ids.back());
  const auto openai = quarry::harmony::map_to_openai(
      parser.messages(),
      stopped ? quarry::harmony::FinishReason::kStop : quarry::harmony::FinishReason::kLength,
      [] { return std::string("call_x"); });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& m : parser.messages()) out.push_back(quarry::harmony::message_to_json(m));
  out.push_back(quarry::harmony::openai_to_json(openai));
  if (parser.error()) out.push_back(*parser.error());
  (void)out.dump();  // throws (and so fails) on invalid UTF-8
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<TokenId> ids = ids_from(data, size);
  run(ids, ParseMode::kStrict, "assistant");
  run(ids, ParseMode::kLenient, "assistant");
  run(ids, ParseMode::kLenient, std::nullopt);
  return 0;
}
