// The o200k_harmony tokenizer of gpt-oss: o200k_base byte-level BPE plus the
// harmony special tokens (ids 199998 ... 201087). See
// shared/spec/tokenizer-o200k-harmony.md for the exact rules implemented here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quarry::tokenizer {

using TokenId = uint32_t;

// Well-known o200k_harmony ids.
inline constexpr TokenId kStartOfText = 199998;
inline constexpr TokenId kEndOfText = 199999;
inline constexpr TokenId kReturn = 200002;
inline constexpr TokenId kConstrain = 200003;
inline constexpr TokenId kChannel = 200005;
inline constexpr TokenId kStart = 200006;
inline constexpr TokenId kEnd = 200007;
inline constexpr TokenId kMessage = 200008;
inline constexpr TokenId kCall = 200012;
inline constexpr TokenId kNumMergeable = 199998;  // ids 0 ... 199997 are BPE ranks
inline constexpr TokenId kVocabSize = 201088;     // model vocabulary (embedding rows)

// Which special-token strings `encode` recognises in text.
enum class Specials { kNone, kAll };

class Tokenizer;
Result<Tokenizer> make_tokenizer(std::vector<std::string> tokens, const std::string& origin);

class Tokenizer {
 public:
  // Loads the rank table from a tiktoken file (`<base64> <rank>` lines), a
  // Hugging Face tokenizer.json, or a model directory holding tokenizer.json.
  static Result<Tokenizer> load(const std::string& path);
  static Result<Tokenizer> from_tiktoken_file(const std::string& path);
  static Result<Tokenizer> from_tiktoken_text(std::string_view text, const std::string& origin);
  static Result<Tokenizer> from_hf_tokenizer_json(const std::string& path);
  static Result<Tokenizer> from_hf_tokenizer_json_text(std::string_view text,
                                                       const std::string& origin);
  // GGUF metadata (`tokenizer.ggml.tokens`, GPT-2 byte->unicode form, index = id;
  // `tokenizer.ggml.pre` must be "gpt-4o"). Used by the GGUF reader.
  static Result<Tokenizer> from_gguf_tokens(std::span<const std::string> tokens,
                                            std::string_view pre, const std::string& origin);

  // Ordinary encoding: special-token text is plain text.
  std::vector<TokenId> encode_ordinary(std::string_view text) const;
  // Encoding with special-token strings recognised (leftmost first).
  std::vector<TokenId> encode(std::string_view text, Specials allowed) const;
  // Appends the ordinary encoding of `text` to `out` (the renderer's hot path).
  void encode_ordinary_into(std::string_view text, std::vector<TokenId>& out) const;

  // Raw bytes of the tokens (specials as their literal text). Fails on ids >=
  // vocab_size() or ids that are no token, naming the position.
  Result<std::string> decode_bytes(std::span<const TokenId> ids) const;
  // decode_bytes, then invalid UTF-8 replaced by U+FFFD.
  Result<std::string> decode(std::span<const TokenId> ids) const;

  // Bytes of one token; empty for an id that is no token.
  std::string_view token_bytes(TokenId id) const;
  bool is_valid_id(TokenId id) const { return id < vocab_size(); }
  bool is_special(TokenId id) const;
  // Id of a special token by its text, e.g. "<|start|>"; both names of 200018.
  std::optional<TokenId> special_id(std::string_view text) const;
  uint32_t vocab_size() const { return kVocabSize; }

  // A Hugging Face tokenizer.json for this vocabulary (vocab, derived merges,
  // the o200k pre-tokenizer, added special tokens), as the gpt-oss release ships.
  std::string to_hf_tokenizer_json() const;
  // The GGUF vocabulary (`tokenizer.ggml.tokens`, index = id, 201088 entries):
  // mergeable tokens in GPT-2's byte->unicode form, specials as their text.
  std::vector<std::string> gguf_token_strings() const;
  // The BPE merges that rebuild the ranks ("left right" in GPT-2's
  // byte->unicode form, in rank order): tokenizer.json's model.merges and
  // GGUF's tokenizer.ggml.merges.
  std::vector<std::string> merges() const;

  // Split of `text` into pre-tokenization pieces (the o200k regex); exposed for
  // tests, fuzzing and the benchmark.
  std::vector<std::string_view> pretokenize(std::string_view text) const;

  struct Impl;

 private:
  friend Result<Tokenizer> make_tokenizer(std::vector<std::string> tokens,
                                          const std::string& origin);
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Streams token ids into text without ever splitting a UTF-8 character: an
// incomplete trailing sequence is held back until the next token completes
// it; invalid bytes become U+FFFD (maximal-subpart rule).
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tok) : tok_(&tok) {}
  // Text that became complete with this token (may be empty). Unknown ids
  // (>= vocab size) decode to U+FFFD.
  std::string push(TokenId id);
  // Appends raw bytes (e.g. a special's text rendered by the caller).
  std::string push_bytes(std::string_view bytes);
  // Whatever is still held back, made valid (U+FFFD for an unfinished tail).
  std::string flush();
  bool has_pending() const { return !pending_.empty(); }

 private:
  const Tokenizer* tok_;
  std::string pending_;
};

}  // namespace quarry::tokenizer
