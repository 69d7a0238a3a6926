// The o200k pre-tokenization regex (PCRE2 with JIT). `\s` is written out as
// the exact Unicode White_Space class, as the spec requires.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace quarry::tokenizer {

class Pretokenizer {
 public:
  // Compiles the o200k pattern; throws std::runtime_error only if PCRE2 itself
  // is broken (the pattern is a constant).
  Pretokenizer();
  ~Pretokenizer();
  Pretokenizer(const Pretokenizer&) = delete;
  Pretokenizer& operator=(const Pretokenizer&) = delete;

  // Calls fn(piece) for each piece, left to right; the pieces concatenate to
  // `text`. Bytes the regex cannot match (invalid UTF-8) become pieces of their own.
  template <class Fn>
  void split(std::string_view text, Fn&& fn) const {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t b = 0, e = 0;
      if (!next_match(text, pos, b, e)) {
        fn(text.substr(pos));
        return;
      }
      if (b > pos) fn(text.substr(pos, b - pos));
      fn(text.substr(b, e - b));
      pos = e;
    }
  }

  static const std::string& pattern();

 private:
  // Finds the next match at or after `pos`; false when there is none.
  bool next_match(std::string_view text, size_t pos, size_t& begin, size_t& end) const;
  struct Code;
  std::unique_ptr<Code> code_;
};

}  // namespace quarry::tokenizer
