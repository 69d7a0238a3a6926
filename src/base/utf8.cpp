#include "base/utf8.h"

namespace quarry::utf8 {
namespace {

// Valid second-byte range for a lead byte (Unicode Table 3-7).
bool second_byte_ok(unsigned char lead, unsigned char b) {
  if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
  if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
  if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
  if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
  return b >= 0x80 && b <= 0xBF;
}

int sequence_len(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte or never-valid lead
}

// Length of the valid prefix of the sequence starting at s[i] (the "maximal
// subpart"), and whether it is a complete code point.
int maximal_subpart(std::string_view s, size_t i, bool& complete) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const int need = sequence_len(lead);
  complete = false;
  if (need == 0) return 1;
  if (need == 1) {
    complete = true;
    return 1;
  }
  int got = 1;
  while (got < need && i + got < s.size()) {
    const auto b = static_cast<unsigned char>(s[i + got]);
    const bool ok = got == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return got;
    ++got;
  }
  complete = got == need;
  return got;
}

}  // namespace

int decode_one(std::string_view s, size_t i, uint32_t& cp) {
  bool complete = false;
  const int n = maximal_subpart(s, i, complete);
  if (!complete) return 0;
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (n == 1) {
    cp = b0;
  } else if (n == 2) {
    cp = (b0 & 0x1Fu) << 6 | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
  } else if (n == 3) {
    cp = (b0 & 0x0Fu) << 12 | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6 |
         (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
  } else {
    cp = (b0 & 0x07u) << 18 | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12 |
         (static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6 |
         (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  }
  return n;
}

size_t complete_prefix_len(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    bool complete = false;
    const int n = maximal_subpart(s, i, complete);
    if (!complete && i + n == s.size() && sequence_len(static_cast<unsigned char>(s[i])) > n) {
      return i;  // a valid but unfinished sequence at the very end
    }
    i += n;
  }
  return s.size();
}

bool is_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    bool complete = false;
    const int n = maximal_subpart(s, i, complete);
    if (!complete) return false;
    i += n;
  }
  return true;
}

std::string to_valid_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    bool complete = false;
    const int n = maximal_subpart(s, i, complete);
    if (complete) {
      out.append(s.substr(i, n));
    } else {
      out.append("\xEF\xBF\xBD");
    }
    i += n;
  }
  return out;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace quarry::utf8
