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

// Debian 12's PCRE2 (10.42) has Unicode 14 tables; tiktoken's regex engine
// has Unicode 16. These are the code points Unicode 15.0-16.0 assigned to the
// categories the pattern uses (from Node's Unicode tables), added to each class
// so the split matches tiktoken on new scripts too.
constexpr const char* kNewM =
    "\\x{897}\\x{CF3}\\x{ECE}\\x{10D69}-\\x{10D6D}\\x{10EFC}-\\x{10EFF}\\x{11241}\\x{113B8}-"
    "\\x{113C0}\\x{113C2}\\x{113C5}\\x{113C7}-\\x{113CA}\\x{113CC}-\\x{113D0}\\x{113D2}\\x{113E1}-"
    "\\x{113E2}\\x{11F00}-\\x{11F01}\\x{11F03}\\x{11F34}-\\x{11F3A}\\x{11F3E}-\\x{11F42}\\x{11F5A}"
    "\\x{13440}\\x{13447}-\\x{13455}\\x{1611E}-\\x{1612F}\\x{1E08F}\\x{1E4EC}-\\x{1E4EF}\\x{1E5EE}-"
    "\\x{1E5EF}";
constexpr const char* kNewLu =
    "\\x{1C89}\\x{A7CB}-\\x{A7CC}\\x{A7DA}\\x{A7DC}\\x{10D50}-\\x{10D65}";
constexpr const char* kNewLl =
    "\\x{1C8A}\\x{A7CD}\\x{A7DB}\\x{10D70}-\\x{10D85}\\x{1DF25}-\\x{1DF2A}";
constexpr const char* kNewLm =
    "\\x{10D4E}\\x{10D6F}\\x{16D40}-\\x{16D42}\\x{16D6B}-\\x{16D6C}\\x{1E030}-\\x{1E06D}\\x{1E4EB}";
constexpr const char* kNewLo =
    "\\x{105C0}-\\x{105F3}\\x{10D4A}-\\x{10D4D}\\x{10D4F}\\x{10EC2}-\\x{10EC4}\\x{1123F}-\\x{11240}"
    "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}\\x{113D3}"
    "\\x{11BC0}-\\x{11BE0}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}\\x{1342F}\\x{13441}-"
    "\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}\\x{16D43}-\\x{16D6A}\\x{18CFF}\\x{1B132}"
    "\\x{1B155}\\x{1E4D0}-\\x{1E4EA}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2B739}\\x{2EBF0}-\\x{2EE5D}"
    "\\x{31350}-\\x{323AF}";
constexpr const char* kNewN =
    "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11F50}-\\x{11F59}\\x{16130}"
    "-"
    "\\x{16139}\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}\\x{1E4F0}-\\x{1E4F9}"
    "\\x{1E5F1}-\\x{1E5FA}";

std::string build_pattern() {
  const std::string ws = kWs;
  const std::string s = "[" + ws + "]";
  const std::string not_s = "[^" + ws + "]";
  const std::string new_l = std::string(kNewLu) + kNewLl + kNewLm + kNewLo;
  const std::string letter = "\\p{L}" + new_l;  // inside a class
  const std::string number = "\\p{N}" + std::string(kNewN);
  const std::string upper =
      "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}" + std::string(kNewLu) + kNewLm + kNewLo + kNewM + "]";
  const std::string lower =
      "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}" + std::string(kNewLl) + kNewLm + kNewLo + kNewM + "]";
  const std::string contraction = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?";
  const std::string prefix = "[^\\r\\n" + letter + number + "]?";
  return prefix + upper + "*" + lower + "+" + contraction +        // 1: word, lower tail
         "|" + prefix + upper + "+" + lower + "*" + contraction +  // 2: word, upper run
         "|[" + number + "]{1,3}" +                                // 3: digits
         "| ?[^" + ws + letter + number + "]+[\\r\\n/]*" +         // 4: punctuation
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
  code_->re =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!code_->re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    throw std::runtime_error("pre-tokenizer regex: " + std::string(reinterpret_cast<char*>(msg)) +
                             " at offset " + std::to_string(err_off));
  }
  code_->jit = pcre2_jit_compile(code_->re, PCRE2_JIT_COMPLETE) == 0;
}

Pretokenizer::~Pretokenizer() = default;

bool Pretokenizer::next_match(std::string_view text, size_t pos, size_t& begin, size_t& end) const {
  thread_local ThreadMatchData tmd;
  if (!tmd.md) tmd.md = pcre2_match_data_create(1, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const int rc = code_->jit
                     ? pcre2_jit_match(code_->re, subject, text.size(), pos, 0, tmd.md, nullptr)
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
