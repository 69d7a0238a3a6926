// Fuzzes request validation and the harmony prompt renderer. The input is a
// JSON request body. Checks: no crash or exception; a valid request renders,
// and the decoded ids equal the text rendered without a tokenizer (so every
// piece was encoded as ordinary text and round-trips).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "harmony/chat_request.h"
#include "harmony/renderer.h"
#include "tokenizer/tokenizer.h"

namespace {

const quarry::tokenizer::Tokenizer& tok() {
  static const quarry::tokenizer::Tokenizer t = [] {
    const char* env = std::getenv("QUARRY_RANKS_FILE");
    auto r = quarry::tokenizer::Tokenizer::load(env ? env : QUARRY_RANKS_FILE);
    if (!r.ok()) std::abort();
    return std::move(r).value();
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Json = nlohmann::ordered_json;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  auto request = quarry::harmony::parse_chat_request(body);
  if (!request.ok()) {
    if (request.message().empty()) std::abort();
    return 0;
  }
  quarry::harmony::RenderOptions options;
  options.current_date = "2025-08-05";
  auto ids = quarry::harmony::render_prompt(tok(), *request, options);
  if (!ids.ok()) std::abort();
  auto prompt = quarry::harmony::prompt_text(tok(), *ids);
  if (!prompt.ok()) std::abort();
  const auto messages = quarry::harmony::build_prompt_messages(*request, "2025-08-05");
  if (*prompt != quarry::harmony::messages_text(messages)) std::abort();
  return 0;
}
