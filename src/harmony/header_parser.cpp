#include "harmony/header_parser.h"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "base/utf8.h"

namespace quarry::harmony {
namespace {

constexpr std::string_view kChannelMarker = "<|channel|>";
constexpr std::string_view kConstrainMarker = "<|constrain|>";
constexpr std::string_view kToPrefix = "to=";

// Unicode White_Space (what Rust's char::is_whitespace and str::trim use).
bool is_unicode_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Length of the code point at s[i] (1 for a stray byte) and its value.
size_t next_code_point(std::string_view s, size_t i, uint32_t& cp) {
  const int n = utf8::decode_one(s, i, cp);
  if (n > 0) return static_cast<size_t>(n);
  cp = static_cast<unsigned char>(s[i]);
  return 1;
}

// Index of the first whitespace character or '<' (the end of a channel name).
size_t channel_name_end(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const size_t n = next_code_point(s, i, cp);
    if (cp == '<' || is_unicode_space(cp)) return i;
    i += n;
  }
  return s.size();
}

std::string trim_unicode(std::string_view s) {
  size_t begin = s.size();
  size_t end = 0;
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const size_t n = next_code_point(s, i, cp);
    if (!is_unicode_space(cp)) {
      if (begin == s.size()) begin = i;
      end = i + n;
    }
    i += n;
  }
  return begin < end ? std::string(s.substr(begin, end - begin)) : std::string();
}

// Rust's split_ascii_whitespace: separators are space, \t, \n, \f and \r.
std::vector<std::string> split_ascii_whitespace(std::string_view s) {
  auto is_sep = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; };
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_sep(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_sep(s[i])) ++i;
    if (i > start) words.emplace_back(s.substr(start, i - start));
  }
  return words;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

bool is_known_role(std::string_view word) {
  return word == "user" || word == "assistant" || word == "system" || word == "developer" ||
         word == "tool";
}

std::string strip_to(const std::string& word) {
  return word.starts_with(kToPrefix) ? word.substr(kToPrefix.size()) : word;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// Rust's `{:?}` of a string: quoted, with \", \\ and control characters escaped.
std::string debug_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (u < 0x20 || u == 0x7F) {
          char buf[16];
          std::snprintf(buf, sizeof(buf), "\\u{%x}", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace

std::string leftover_error(std::string_view leftover) {
  return "unexpected tokens remaining in message header: Some(" + debug_quoted(leftover) + ")";
}

Result<HeaderParse> parse_header(std::string_view text, std::optional<std::string_view> known_role,
                                 bool split_fields) {
  HeaderParse out;
  MessageHeader& h = out.header;

  // 1. `<|channel|>NAME` (NAME ends at whitespace or '<') is cut out.
  std::string rest(text);
  if (const size_t at = rest.find(kChannelMarker); at != std::string::npos) {
    const std::string_view after = std::string_view(rest).substr(at + kChannelMarker.size());
    const size_t end = channel_name_end(after);
    if (end == 0) return make_error("channel marker present but no channel value found in header");
    h.channel = std::string(after.substr(0, end));
    rest = rest.substr(0, at) + std::string(after.substr(end));
  }
  rest = trim_unicode(rest);

  // 2. `<|constrain|>` always starts a word.
  if (rest.find(kConstrainMarker) != std::string::npos) {
    rest = trim_unicode(replace_all(rest, kConstrainMarker, " <|constrain|>"));
  }
  std::vector<std::string> words = split_ascii_whitespace(rest);

  // 3. The author: the known role, or the first word (a role, or a tool name
  //    when more words follow).
  std::optional<std::string> author_word;
  if (known_role) {
    h.role = std::string(*known_role);
  } else {
    if (words.empty()) return make_error("message header did not contain a role");
    author_word = words.front();
    if (is_known_role(words.front())) {
      h.role = words.front();
    } else if (words.size() > 1 || words.front().starts_with(kToPrefix)) {
      words.erase(words.begin());
      h.role = std::string(kRoleTool);
    } else {
      return make_error("Unknown role: " + words.front());
    }
  }
  if (!words.empty() && words.front() == h.role) words.erase(words.begin());
  if (h.role == kRoleTool) h.name = author_word;

  // 4. Recipient and content type, from the end.
  if (split_fields && !words.empty()) {
    const size_t num_words = words.size();
    std::string last = std::move(words.back());
    words.pop_back();
    if (last.starts_with(kToPrefix)) {
      h.recipient = last.substr(kToPrefix.size());
    } else if (num_words == 1 && !last.starts_with(kConstrainMarker)) {
      // Quarry: a lone `<|constrain|>X` is the content type (the library
      // takes it as the recipient).
      h.recipient = std::move(last);
    } else {
      h.content_type = std::move(last);
      if (!words.empty()) {
        h.recipient = strip_to(words.back());
        words.pop_back();
      }
    }
  }
  if (!words.empty()) out.leftover = join(words);

  // Quarry: `to=assistant` / `to=all` on an assistant message is no recipient.
  if (h.role == kRoleAssistant && h.recipient &&
      (*h.recipient == "assistant" || *h.recipient == "all")) {
    h.recipient.reset();
  }
  return out;
}

}  // namespace quarry::harmony
