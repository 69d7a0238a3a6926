// Fuzzes encode (ordinary and with specials) and decode: encoding must round-
// trip to the input bytes, decoding arbitrary ids must never crash, and the
// incremental decoder must only ever emit valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/utf8.h"
#include "tokenizer/tokenizer.h"

using quarry::tokenizer::TokenId;
using quarry::tokenizer::Tokenizer;

static const Tokenizer& tok() {
  static const Tokenizer t = [] {
    const char* env = std::getenv("QUARRY_RANKS_FILE");
    auto r = Tokenizer::load(env ? env : QUARRY_RANKS_FILE);
    if (!r.ok()) std::abort();
    return std::move(r).value();
  }();
  return t;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto ids = tok().encode_ordinary(text);
  auto back = tok().decode_bytes(ids);
  if (!back.ok() || back.value() != text) std::abort();
  const auto with_specials = tok().encode(text, quarry::tokenizer::Specials::kAll);
  auto back2 = tok().decode_bytes(with_specials);
  // 200018 has two names; it decodes as <|reserved_200018|>.
  std::string expected = text;
  for (size_t p = 0; (p = expected.find("<|endofprompt|>", p)) != std::string::npos;) {
    expected.replace(p, 15, "<|reserved_200018|>");
    p += 19;
  }
  if (!back2.ok() || back2.value() != expected) std::abort();

  // The same bytes as little-endian 3-byte ids (some past the vocabulary).
  std::vector<TokenId> raw;
  for (size_t i = 0; i + 3 <= size; i += 3) {
    raw.push_back((data[i] | data[i + 1] << 8 | data[i + 2] << 16) % 201200u);
  }
  (void)tok().decode(raw);
  quarry::tokenizer::IncrementalDecoder dec(tok());
  for (TokenId id : raw) {
    if (!quarry::utf8::is_valid(dec.push(id))) std::abort();
  }
  if (!quarry::utf8::is_valid(dec.flush())) std::abort();
  return 0;
}
