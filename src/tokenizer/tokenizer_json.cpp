// Writing a Hugging Face tokenizer.json for the o200k_harmony vocabulary.
#include <nlohmann/json.hpp>

#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer_impl.h"

namespace quarry::tokenizer {

namespace {
// The pattern as OpenAI writes it (with \s), for HF's Split pre-tokenizer.
constexpr const char* kHfPattern =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+"
    "[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
}  // namespace

std::vector<std::string> Tokenizer::merges() const {
  const Vocab& vocab = impl_->vocab;
  std::vector<std::string> out;
  std::vector<uint32_t> parts;
  for (uint32_t r = 0; r < vocab.size(); ++r) {
    const std::string_view bytes = vocab.bytes(r);
    if (bytes.size() < 2) continue;
    // The merge that creates token r: BPE of its bytes using only lower ranks
    // ends in exactly two parts.
    parts.clear();
    bpe_encode(vocab, bytes, parts, r);
    if (parts.size() == 2) {
      out.push_back(bytes_to_hf_unicode(vocab.bytes(parts[0])) + " " +
                    bytes_to_hf_unicode(vocab.bytes(parts[1])));
    }
  }
  return out;
}

std::string Tokenizer::to_hf_tokenizer_json() const {
  using Json = nlohmann::ordered_json;
  const Vocab& vocab = impl_->vocab;
  // model.vocab is written by hand: ordered_json's insertion is linear per key.
  std::string vocab_json = "{";
  for (uint32_t r = 0; r < vocab.size(); ++r) {
    if (r) vocab_json += ',';
    vocab_json += Json(bytes_to_hf_unicode(vocab.bytes(r))).dump();
    vocab_json += ':';
    vocab_json += std::to_string(r);
  }
  const Json merges = this->merges();
  Json added = Json::array();
  for (uint32_t id = kNumMergeable; id < kVocabSize; ++id) {
    added.push_back({{"id", id},
                     {"content", impl_->special_texts[id - kNumMergeable]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  Json j = {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", nullptr},
            {"added_tokens", added},
            {"normalizer", nullptr},
            {"pre_tokenizer",
             {{"type", "Sequence"},
              {"pretokenizers", Json::array({{{"type", "Split"},
                                              {"pattern", {{"Regex", kHfPattern}}},
                                              {"behavior", "Isolated"},
                                              {"invert", false}},
                                             {{"type", "ByteLevel"},
                                              {"add_prefix_space", false},
                                              {"trim_offsets", true},
                                              {"use_regex", false}}})}}},
            {"post_processor", nullptr},
            {"decoder",
             {{"type", "ByteLevel"},
              {"add_prefix_space", true},
              {"trim_offsets", true},
              {"use_regex", true}}},
            {"model",
             {{"type", "BPE"},
              {"dropout", nullptr},
              {"unk_token", nullptr},
              {"continuing_subword_prefix", nullptr},
              {"end_of_word_suffix", nullptr},
              {"fuse_unk", false},
              {"byte_fallback", false},
              {"ignore_merges", true},
              {"vocab", "@VOCAB@"},
              {"merges", merges}}}};
  vocab_json += '}';
  std::string out = j.dump();
  const size_t at = out.find("\"@VOCAB@\"");
  out.replace(at, 9, vocab_json);
  return out;
}

std::vector<std::string> Tokenizer::gguf_token_strings() const {
  std::vector<std::string> out;
  out.reserve(kVocabSize);
  for (TokenId id = 0; id < kVocabSize; ++id) {
    out.push_back(id < kNumMergeable ? bytes_to_hf_unicode(token_bytes(id))
                                     : std::string(token_bytes(id)));
  }
  return out;
}

}  // namespace quarry::tokenizer
