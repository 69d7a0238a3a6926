// A byte-level recognizer of the JSON texts a compiled schema accepts: feed
// bytes, ask whether more bytes would be accepted, whether the text is a
// whole value, and what the shortest way to finish it is. Compact JSON only
// (no whitespace between tokens), which is what the models write and keeps
// every accepted text short. Schemas with alternatives (anyOf, enum, optional
// properties) run as several threads at once, like an NFA.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/json_schema.h"

namespace quarry::grammar {

class JsonMatcher {
 public:
  static constexpr size_t kMaxDepth = 24;  // nesting of arrays and objects
  static constexpr size_t kMaxThreads = 32;

  JsonMatcher() = default;  // accepts nothing
  explicit JsonMatcher(const Node* root);

  // Consumes `bytes`; false (and no change) when the text would be rejected.
  bool feed(std::string_view bytes);
  // As feed(), but a rejected text leaves the matcher unusable (for scratch
  // copies: no backup is made).
  bool try_feed(std::string_view bytes);
  // Whether feed(bytes) would succeed; leaves the matcher as it is.
  bool accepts(std::string_view bytes) const;
  // The bytes so far are one whole value (nothing may follow, except digits
  // of a top-level number).
  bool complete() const;
  // Whether any byte may follow.
  bool can_continue() const;
  // Bytes that finish the value soonest ("" when complete(), or when the
  // schema cannot be satisfied from here).
  std::string shortest_completion() const;
  // Inside a string with no length limit, at a character boundary: any run of
  // whole UTF-8 characters without `"`, `\` and control characters is
  // accepted and leaves the state as it was.
  bool in_free_string() const;

  // Copies `other` into this matcher, reusing its memory.
  void assign(const JsonMatcher& other) {
    threads_.assign(other.threads_.begin(), other.threads_.end());
  }

  struct Frame {
    const Node* node = nullptr;
    uint8_t mode = 0;
    uint8_t sub = 0;         // number state, string escape / UTF-8 state
    uint8_t lo = 0, hi = 0;  // range of the next UTF-8 continuation byte
    uint32_t a = 0;          // property index, item count, literal or string position
    uint32_t b = 0;          // key position
    bool operator==(const Frame&) const = default;
  };
  struct Thread {
    uint32_t depth = 0;
    std::array<Frame, kMaxDepth> f{};
    bool operator==(const Thread& o) const;
  };

 private:
  bool step(uint8_t c);
  std::vector<Thread> threads_;
  std::vector<Thread> next_;
};

}  // namespace quarry::grammar
