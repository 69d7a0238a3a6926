#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

namespace quarry::tokenizer {
namespace {

// Unicode White_Space, exactly (25 code points); PCRE2's own \s differs.
constexpr const char* kWs =
    "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

std::string build_pattern() {
  const std::string ws = kWs;
  const std::string s = "[" + ws + "]";
  const std::string not_s = "[^" + ws + "]";
  const std::string upper = "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]";
  const std::string lower = "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]";
  const std::string contraction = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?";
  const std::string prefix = "[^\\r\\n\\p{L}\\p{N}]?";
  return prefix + upper + "*" + lower + "+" + contraction +    // 1: word, lower tail
         "|" + prefix + upper + "+" + lower + "*" + contraction +  // 2: word, upper run
         "|\\p{N}{1,3}" +                                          // 3: digits
         "| ?[^" + ws + "\\p{L}\\p{N}]+[\\r\\n/]*" +              // 4: punctuation
         "|" + s + "*[\\r\\n]+" +                                  // 5: newlines
         "|" + s + "+(?!" + not_s + ")" +                          // 6: spaces before a word
         "|" + s + "+";                                            // 7: other whitespace
}

// Match data is per thread: a compiled pattern is shared, match data is not.
struct ThreadMatchData {
  pcre2_match_data* md = nullptr;
  ~ThreadMatchData() { pcre2_match_data_free(md); }
};

}  // namespace

struct Pretokenizer::Code {
  pcre2_code* re = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(re); }
};

const std::string& Pretokenizer::pattern() {
  static const std::string p = build_pattern();
  return p;
}

Pretokenizer::Pretokenizer() : code_(std::make_unique<Code>()) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  const std::string& p = pattern();
  code_->re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off,
                            nullptr);
  if (!code_->re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw std::runtime_error("pre-tokenizer regex: " + std::string(reinterpret_cast<char*>(msg)) +
                             " at offset " + std::to_string(err_off));
  }
  code_->jit = pcre2_jit_compile(code_->re, PCRE2_JIT_COMPLETE) == 0;
}

Pretokenizer::~Pretokenizer() = default;

bool Pretokenizer::next_match(std::string_view text, size_t pos, size_t& begin,
                              size_t& end) const {
  thread_local ThreadMatchData tmd;
  if (!tmd.md) tmd.md = pcre2_match_data_create(1, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const int rc = code_->jit ? pcre2_jit_match(code_->re, subject, text.size(), pos, 0, tmd.md, nullptr)
                            : pcre2_match(code_->re, subject, text.size(), pos, 0, tmd.md, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    // JIT stack exhausted on a pathological piece: retry with the interpreter.
    if (pcre2_match(code_->re, subject, text.size(), pos, 0, tmd.md, nullptr) < 0) return false;
  }
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(tmd.md);
  begin = ov[0];
  end = ov[1];
  if (end <= begin) {  // never happens with this pattern (every branch consumes)
    end = begin + 1;
  }
  return true;
}

}  // namespace quarry::tokenizer
