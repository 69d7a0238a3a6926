#include "tokenizer/special_tokens.h"

#include "tokenizer/tokenizer.h"

namespace quarry::tokenizer {
namespace {

const char* named(uint32_t id) {
  switch (id) {
    case 199998:
      return "<|startoftext|>";
    case 199999:
      return "<|endoftext|>";
    case 200002:
      return "<|return|>";
    case 200003:
      return "<|constrain|>";
    case 200005:
      return "<|channel|>";
    case 200006:
      return "<|start|>";
    case 200007:
      return "<|end|>";
    case 200008:
      return "<|message|>";
    case 200012:
      return "<|call|>";
    default:
      return nullptr;
  }
}

}  // namespace

std::string special_text(uint32_t id) {
  if (id < kNumMergeable || id >= kVocabSize) return {};
  if (const char* n = named(id)) return n;
  return "<|reserved_" + std::to_string(id) + "|>";
}

std::optional<uint32_t> special_from_text(std::string_view text) {
  if (text.size() < 5 || text.substr(0, 2) != "<|" || text.substr(text.size() - 2) != "|>") {
    return std::nullopt;
  }
  const std::string_view name = text.substr(2, text.size() - 4);
  constexpr std::string_view kReserved = "reserved_";
  if (name.substr(0, kReserved.size()) == kReserved) {
    const std::string_view digits = name.substr(kReserved.size());
    if (digits.size() != 6 || digits[0] == '0') return std::nullopt;
    uint32_t id = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      id = id * 10 + static_cast<uint32_t>(c - '0');
    }
    if (id < 200000 || id >= kVocabSize || named(id)) return std::nullopt;
    return id;
  }
  if (name == "endofprompt") return 200018;
  for (uint32_t id :
       {199998u, 199999u, 200002u, 200003u, 200005u, 200006u, 200007u, 200008u, 200012u}) {
    if (text == named(id)) return id;
  }
  return std::nullopt;
}

}  // namespace quarry::tokenizer
