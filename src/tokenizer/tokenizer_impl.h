// Private state of Tokenizer, shared by tokenizer.cpp and the loaders.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace quarry::tokenizer {

struct Tokenizer::Impl {
  Vocab vocab;
  Pretokenizer pretokenizer;
  std::vector<std::string> special_texts;  // index: id - kNumMergeable
  std::string origin;                      // where the table came from, for messages
};

// Builds a Tokenizer from the bytes of the 199998 mergeable tokens (index =
// rank); checks the o200k layout. Used by every loader.
Result<Tokenizer> make_tokenizer(std::vector<std::string> tokens, const std::string& origin);

// GPT-2's byte <-> unicode mapping used by HF tokenizer.json and GGUF vocabularies.
std::string bytes_to_hf_unicode(std::string_view bytes);
// Inverse; fails on a code point outside the mapping.
bool hf_unicode_to_bytes(std::string_view text, std::string& out);

}  // namespace quarry::tokenizer
