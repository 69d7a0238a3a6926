#include "tokenizer/tokenizer.h"

#include "base/utf8.h"
#include "tokenizer/bpe.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer_impl.h"

namespace quarry::tokenizer {

Result<Tokenizer> make_tokenizer(std::vector<std::string> tokens, const std::string& origin) {
  if (tokens.size() != kNumMergeable) {
    return make_error(origin + ": expected " + std::to_string(kNumMergeable) +
                      " mergeable tokens (o200k_base), found " + std::to_string(tokens.size()));
  }
  auto impl = std::make_shared<Tokenizer::Impl>();
  std::string error;
  if (!impl->vocab.build(tokens, error)) return make_error(origin + ": " + error);
  impl->special_texts.reserve(kVocabSize - kNumMergeable);
  for (uint32_t id = kNumMergeable; id < kVocabSize; ++id) {
    impl->special_texts.push_back(special_text(id));
  }
  impl->origin = origin;
  return Tokenizer(std::move(impl));
}

void Tokenizer::encode_ordinary_into(std::string_view text, std::vector<TokenId>& out) const {
  const Impl& im = *impl_;
  im.pretokenizer.split(text, [&](std::string_view piece) { bpe_encode(im.vocab, piece, out); });
}

std::vector<TokenId> Tokenizer::encode_ordinary(std::string_view text) const {
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  encode_ordinary_into(text, out);
  return out;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, Specials allowed) const {
  if (allowed == Specials::kNone) return encode_ordinary(text);
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  size_t done = 0;  // text[0, done) is encoded
  size_t search = 0;
  for (;;) {
    const size_t open = text.find("<|", search);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("|>", open + 2);
    if (close == std::string_view::npos) break;
    // No special text contains "|>" inside, so the only candidate at `open`
    // ends at the first "|>".
    if (auto id = special_from_text(text.substr(open, close + 2 - open))) {
      encode_ordinary_into(text.substr(done, open - done), out);
      out.push_back(*id);
      done = search = close + 2;
    } else {
      search = open + 1;
    }
  }
  encode_ordinary_into(text.substr(done), out);
  return out;
}

std::string_view Tokenizer::token_bytes(TokenId id) const {
  if (id < kNumMergeable) return impl_->vocab.bytes(id);
  if (id < kVocabSize) return impl_->special_texts[id - kNumMergeable];
  return {};
}

bool Tokenizer::is_special(TokenId id) const { return id >= kNumMergeable && id < kVocabSize; }

std::optional<TokenId> Tokenizer::special_id(std::string_view text) const {
  return special_from_text(text);
}

Result<std::string> Tokenizer::decode_bytes(std::span<const TokenId> ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= kVocabSize) {
      return make_error("ids[" + std::to_string(i) + "]: " + std::to_string(ids[i]) +
                        " is not a token (vocabulary size " + std::to_string(kVocabSize) + ")");
    }
    out.append(token_bytes(ids[i]));
  }
  return out;
}

Result<std::string> Tokenizer::decode(std::span<const TokenId> ids) const {
  auto bytes = decode_bytes(ids);
  if (!bytes.ok()) return bytes.error();
  return utf8::to_valid_lossy(bytes.value());
}

std::vector<std::string_view> Tokenizer::pretokenize(std::string_view text) const {
  std::vector<std::string_view> pieces;
  impl_->pretokenizer.split(text, [&](std::string_view p) { pieces.push_back(p); });
  return pieces;
}

std::string IncrementalDecoder::push(TokenId id) {
  if (id >= tok_->vocab_size()) return push_bytes("\xEF\xBF\xBD");
  return push_bytes(tok_->token_bytes(id));
}

std::string IncrementalDecoder::push_bytes(std::string_view bytes) {
  pending_.append(bytes);
  const size_t keep_from = utf8::complete_prefix_len(pending_);
  std::string out = utf8::to_valid_lossy(std::string_view(pending_).substr(0, keep_from));
  pending_.erase(0, keep_from);
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out = utf8::to_valid_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace quarry::tokenizer
