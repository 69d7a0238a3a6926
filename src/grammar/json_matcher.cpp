#include "grammar/json_matcher.h"

#include <algorithm>

namespace quarry::grammar {
namespace {

enum Mode : uint8_t {
  kValue,       // before the first byte of a value of `node`
  kLit,         // inside node->literal, `a` bytes matched
  kStr,         // inside a string; `a` code points so far
  kNum,         // inside a number; `sub` is the number state, `a` its length
  kObjOpen,     // after `{`: a key or `}`
  kObjNeedKey,  // after `,`: a key
  kObjKey,      // inside the key of props[a], `b` bytes matched
  kObjColon,    // after the key of props[a] (or a free key)
  kObjValue,    // the value of props[a] (or of a free key) is on top
  kObjFreeKey,  // a free key (a string) is on top
  kObjAfter,    // after a value: `,` or `}`; `a` is the next property index
  kArrOpen,     // after `[`: a value or `]`
  kArrValue,    // item number `a` is on top
  kArrAfter,    // after `a` items: `,` or `]`
};

// Number states.
enum : uint8_t { kMinus = 1, kZero, kInt, kDot, kFrac, kE, kESign, kExp };
bool accepting(uint8_t s) { return s == kZero || s == kInt || s == kFrac || s == kExp; }
constexpr uint32_t kMaxNumberLen = 32;
constexpr uint32_t kMaxExponentDigits = 2;

// String sub-states: 0 plain, 1 after `\`, 10 + k: k hex digits of \u to go,
// 20 + k: k UTF-8 continuation bytes to go.
constexpr uint8_t kEscape = 1, kHex = 10, kUtf8 = 20;

struct Builtins {
  Node any, object, array, string, number, t, f, null;
  Builtins() {
    object.kind = Kind::kObject;
    object.allow_additional = true;
    object.additional = &any;
    array.kind = Kind::kArray;
    array.items = &any;
    string.kind = Kind::kString;
    number.kind = Kind::kNumber;
    for (auto [n, text] : {std::pair{&t, "true"}, {&f, "false"}, {&null, "null"}}) {
      n->kind = Kind::kLiteral;
      n->literal = text;
    }
  }
};
const Builtins& builtins() {
  static const Builtins b;
  return b;
}

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

using Thread = JsonMatcher::Thread;
using Frame = JsonMatcher::Frame;

Frame& top(Thread& t) { return t.f[t.depth - 1]; }

bool push(Thread& t, const Node* n, uint8_t mode) {
  if (t.depth == JsonMatcher::kMaxDepth) return false;
  t.f[t.depth++] = Frame{n, mode, 0, 0, 0, 0, 0};
  return true;
}

// The value on top is complete: pop it and move its parent on.
void finish_value(Thread& t) {
  --t.depth;
  if (t.depth == 0) return;
  Frame& p = top(t);
  switch (p.mode) {
    case kObjValue:
      p.mode = kObjAfter;
      if (!p.node->props.empty()) ++p.a;
      break;
    case kObjFreeKey:
      p.mode = kObjColon;
      break;
    case kArrValue:
      ++p.a;
      p.mode = kArrAfter;
      break;
    default:
      break;
  }
}

bool required_left(const Node* n, size_t from) {
  for (size_t j = from; j < n->props.size(); ++j) {
    if (n->props[j].required) return true;
  }
  return false;
}

// Consumes `c` on thread `t`; the threads it becomes go to `out`.
void advance(Thread t, uint8_t c, std::vector<Thread>& out, int hops = 0) {
  if (hops > 64) return;  // a reference cycle without progress
  for (;;) {
    if (t.depth == 0) return;  // a whole value: nothing may follow
    Frame& f = top(t);
    const Node* n = f.node;
    switch (f.mode) {
      case kValue:
        switch (n->kind) {
          case Kind::kAnyOf:
            for (const Node* alt : n->alts) {
              Thread u = t;
              top(u) = Frame{alt, kValue, 0, 0, 0, 0, 0};
              advance(u, c, out, hops + 1);
            }
            return;
          case Kind::kAny: {
            const Builtins& b = builtins();
            const Node* m = c == '{'                    ? &b.object
                            : c == '['                  ? &b.array
                            : c == '"'                  ? &b.string
                            : c == 't'                  ? &b.t
                            : c == 'f'                  ? &b.f
                            : c == 'n'                  ? &b.null
                            : (c == '-' || is_digit(c)) ? &b.number
                                                        : nullptr;
            if (m == nullptr) return;
            f.node = m;
            continue;
          }
          case Kind::kBoolean:
            if (c != 't' && c != 'f') return;
            f.node = c == 't' ? &builtins().t : &builtins().f;
            continue;
          case Kind::kNull:
            f.node = &builtins().null;
            continue;
          case Kind::kLiteral:
            f.mode = kLit;
            continue;
          case Kind::kString:
            if (c != '"') return;
            f.mode = kStr;
            out.push_back(t);
            return;
          case Kind::kNumber:
          case Kind::kInteger:
            f.mode = kNum;
            f.a = 1;
            if (c == '-') {
              f.sub = kMinus;
            } else if (is_digit(c)) {
              f.sub = c == '0' ? kZero : kInt;
            } else {
              return;
            }
            out.push_back(t);
            return;
          case Kind::kObject:
            if (c != '{') return;
            f.mode = kObjOpen;
            out.push_back(t);
            return;
          case Kind::kArray:
            if (c != '[') return;
            f.mode = kArrOpen;
            out.push_back(t);
            return;
        }
        return;
      case kLit:
        if (f.a >= n->literal.size() || static_cast<uint8_t>(n->literal[f.a]) != c) return;
        if (++f.a == n->literal.size()) finish_value(t);
        out.push_back(t);
        return;
      case kStr:
        if (f.sub == kEscape) {
          if (c == 'u') {
            f.sub = kHex + 4;
          } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                     c == 'r' || c == 't') {
            f.sub = 0;
            ++f.a;
          } else {
            return;
          }
        } else if (f.sub > kHex && f.sub <= kHex + 4) {
          if (!is_hex(c)) return;
          // No surrogates (\uD800-\uDFFF): a lone one is not valid Unicode and
          // strict parsers reject even pairs written this way.
          if (f.sub == kHex + 4) f.lo = (c == 'd' || c == 'D');
          if (f.sub == kHex + 3 && f.lo && (c == '8' || c == '9' || !is_digit(c))) return;
          if (--f.sub == kHex) {
            f.sub = 0;
            ++f.a;
          }
        } else if (f.sub > kUtf8) {
          if (c < f.lo || c > f.hi) return;
          f.lo = 0x80;
          f.hi = 0xBF;
          if (--f.sub == kUtf8) f.sub = 0;
        } else if (c == '"') {
          if (f.a < n->min_len) return;
          finish_value(t);
        } else {
          if (c < 0x20 || f.a >= n->max_len) return;
          if (c == '\\') {
            f.sub = kEscape;
          } else if (c < 0x80) {
            ++f.a;
          } else {
            uint8_t more = 0, lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
              more = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
              more = 2;
              if (c == 0xE0) lo = 0xA0;
              if (c == 0xED) hi = 0x9F;
            } else if (c >= 0xF0 && c <= 0xF4) {
              more = 3;
              if (c == 0xF0) lo = 0x90;
              if (c == 0xF4) hi = 0x8F;
            } else {
              return;
            }
            ++f.a;
            f.sub = static_cast<uint8_t>(kUtf8 + more);
            f.lo = lo;
            f.hi = hi;
          }
        }
        out.push_back(t);
        return;
      case kNum: {
        const bool integer = n->kind == Kind::kInteger;
        uint8_t s = 0;
        switch (f.sub) {
          case kMinus:
            s = c == '0' ? kZero : (is_digit(c) ? kInt : 0);
            break;
          case kZero:
          case kInt:
            if (f.sub == kInt && is_digit(c)) s = kInt;
            if (!integer && c == '.') s = kDot;
            if (!integer && (c == 'e' || c == 'E')) s = kE;
            break;
          case kDot:
          case kFrac:
            if (is_digit(c)) s = kFrac;
            if (f.sub == kFrac && (c == 'e' || c == 'E')) s = kE;
            break;
          case kE:
            s = (c == '+' || c == '-') ? kESign : (is_digit(c) ? kExp : 0);
            break;
          case kESign:
          case kExp:
            s = is_digit(c) ? kExp : 0;
            break;
        }
        // At most two exponent digits: every accepted number is a finite double.
        if (s == kExp && f.b++ == kMaxExponentDigits) s = 0;
        if (s != 0 && f.a < kMaxNumberLen) {
          f.sub = s;
          ++f.a;
          out.push_back(t);
          return;
        }
        if (!accepting(f.sub)) return;
        finish_value(t);  // the byte belongs to the parent
        continue;
      }
      case kObjOpen:
      case kObjNeedKey:
        if (c == '}') {
          if (f.mode == kObjNeedKey) return;
          if (!n->props.empty() && required_left(n, f.a)) return;
          finish_value(t);
          out.push_back(t);
          return;
        }
        if (c != '"') return;
        if (n->props.empty()) {
          f.mode = kObjFreeKey;
          if (!push(t, &builtins().string, kStr)) return;
          out.push_back(t);
          return;
        }
        for (size_t j = f.a; j < n->props.size(); ++j) {
          Thread u = t;
          top(u).mode = kObjKey;
          top(u).a = static_cast<uint32_t>(j);
          top(u).b = 1;  // the opening quote
          out.push_back(u);
          if (n->props[j].required) break;  // a required property cannot be skipped
        }
        return;
      case kObjKey: {
        const std::string& key = n->props[f.a].key;
        if (f.b >= key.size() || static_cast<uint8_t>(key[f.b]) != c) return;
        if (++f.b == key.size()) f.mode = kObjColon;
        out.push_back(t);
        return;
      }
      case kObjColon: {
        if (c != ':') return;
        f.mode = kObjValue;
        const Node* v = n->props.empty() ? n->additional : n->props[f.a].value;
        if (!push(t, v, kValue)) return;
        out.push_back(t);
        return;
      }
      case kObjAfter:
        if (c == ',') {
          if (!n->props.empty() && f.a >= n->props.size()) return;
          f.mode = kObjNeedKey;
          out.push_back(t);
          return;
        }
        if (c != '}' || (!n->props.empty() && required_left(n, f.a))) return;
        finish_value(t);
        out.push_back(t);
        return;
      case kArrOpen:
        if (c == ']') {
          if (n->min_items > 0) return;
          finish_value(t);
          out.push_back(t);
          return;
        }
        if (n->max_items == 0) return;
        f.mode = kArrValue;
        if (!push(t, n->items, kValue)) return;
        continue;  // the byte starts the first item
      case kArrAfter:
        if (c == ',') {
          if (f.a >= n->max_items) return;
          f.mode = kArrValue;
          if (!push(t, n->items, kValue)) return;
          out.push_back(t);
          return;
        }
        if (c != ']' || f.a < n->min_items) return;
        finish_value(t);
        out.push_back(t);
        return;
      default:
        return;  // kObjValue, kObjFreeKey, kArrValue are never on top
    }
  }
}

std::string obj_rest(const Node* n, size_t from, bool first) {
  std::string out;
  for (size_t j = from; j < n->props.size(); ++j) {
    const Property& p = n->props[j];
    if (!p.required) continue;
    if (!first) out += ',';
    out += p.key;
    out += ':';
    out += shortest_value(p.value);
    first = false;
  }
  return out + "}";
}

std::string arr_rest(const Node* n, size_t count, bool first) {
  std::string out;
  for (size_t i = count; i < n->min_items; ++i) {
    if (!first || i != count) out += ',';
    out += shortest_value(n->items);
  }
  return out + "]";
}

std::string completion(const Thread& t) {
  std::string out;
  for (size_t i = t.depth; i-- > 0;) {
    const Frame& f = t.f[i];
    const Node* n = f.node;
    const bool free_obj = n->kind == Kind::kObject && n->props.empty();
    switch (f.mode) {
      case kValue:
        out += shortest_value(n);
        break;
      case kLit:
        out += n->literal.substr(f.a);
        break;
      case kStr: {
        size_t len = f.a;
        if (f.sub == kEscape) {
          out += 'n';
          ++len;
        } else if (f.sub > kHex && f.sub <= kHex + 4) {
          out.append(f.sub - kHex, '0');
          ++len;
        } else if (f.sub > kUtf8) {
          out += static_cast<char>(f.lo);
          out.append(f.sub - kUtf8 - 1, static_cast<char>(0x80));
        }
        if (len < n->min_len) out.append(n->min_len - len, 'a');
        out += '"';
        break;
      }
      case kNum:
        if (!accepting(f.sub)) out += '0';
        break;
      case kObjOpen:
        out += free_obj ? "}" : obj_rest(n, f.a, true);
        break;
      case kObjNeedKey:
        if (free_obj) {
          out += "\"\":";
          out += shortest_value(n->additional);
          out += '}';
        } else {
          size_t j = f.a;
          for (size_t k = f.a; k < n->props.size(); ++k) {
            if (n->props[k].required) {
              j = k;
              break;
            }
          }
          out += n->props[j].key;
          out += ':';
          out += shortest_value(n->props[j].value);
          out += obj_rest(n, j + 1, false);
        }
        break;
      case kObjKey:
        out += n->props[f.a].key.substr(f.b);
        out += ':';
        out += shortest_value(n->props[f.a].value);
        out += obj_rest(n, f.a + 1, false);
        break;
      case kObjColon:
        out += ':';
        if (free_obj) {
          out += shortest_value(n->additional);
          out += '}';
        } else {
          out += shortest_value(n->props[f.a].value);
          out += obj_rest(n, f.a + 1, false);
        }
        break;
      case kObjValue:
        out += free_obj ? "}" : obj_rest(n, f.a + 1, false);
        break;
      case kObjFreeKey:
        out += ':';
        out += shortest_value(n->additional);
        out += '}';
        break;
      case kObjAfter:
        out += free_obj ? "}" : obj_rest(n, f.a, false);
        break;
      case kArrOpen:
        out += arr_rest(n, 0, true);
        break;
      case kArrValue:
        out += arr_rest(n, f.a + 1, false);
        break;
      case kArrAfter:
        out += arr_rest(n, f.a, false);
        break;
    }
  }
  return out;
}

}  // namespace

bool JsonMatcher::Thread::operator==(const Thread& o) const {
  return depth == o.depth && std::equal(f.begin(), f.begin() + depth, o.f.begin());
}

JsonMatcher::JsonMatcher(const Node* root) {
  Thread t;
  push(t, root, kValue);
  threads_.push_back(t);
}

bool JsonMatcher::step(uint8_t c) {
  next_.clear();
  for (const Thread& t : threads_) advance(t, c, next_);
  if (next_.empty()) return false;
  if (next_.size() > 1) {
    std::vector<Thread> unique;
    for (const Thread& t : next_) {
      if (unique.size() < kMaxThreads &&
          std::find(unique.begin(), unique.end(), t) == unique.end()) {
        unique.push_back(t);
      }
    }
    next_.swap(unique);
  }
  threads_.swap(next_);
  return true;
}

bool JsonMatcher::feed(std::string_view bytes) {
  if (bytes.empty()) return true;
  std::vector<Thread> saved = threads_;
  for (char ch : bytes) {
    if (!step(static_cast<uint8_t>(ch))) {
      threads_.swap(saved);
      return false;
    }
  }
  return true;
}

bool JsonMatcher::try_feed(std::string_view bytes) {
  for (char ch : bytes) {
    if (!step(static_cast<uint8_t>(ch))) return false;
  }
  return true;
}

bool JsonMatcher::accepts(std::string_view bytes) const {
  JsonMatcher copy = *this;
  for (char ch : bytes) {
    if (!copy.step(static_cast<uint8_t>(ch))) return false;
  }
  return true;
}

bool JsonMatcher::complete() const {
  for (const Thread& t : threads_) {
    if (t.depth == 0) return true;
    if (t.depth == 1 && t.f[0].mode == kNum && accepting(t.f[0].sub)) return true;
  }
  return false;
}

bool JsonMatcher::can_continue() const {
  return std::any_of(threads_.begin(), threads_.end(), [](const Thread& t) { return t.depth > 0; });
}

std::string JsonMatcher::shortest_completion() const {
  if (complete()) return {};
  std::string best;
  bool found = false;
  JsonMatcher probe;
  for (const Thread& t : threads_) {
    std::string s = completion(t);
    if (found && s.size() >= best.size()) continue;
    // A part the schema cannot satisfy (a required value that recurses
    // forever) leaves a gap: keep only completions that really finish.
    probe.threads_.assign(1, t);
    if (!probe.try_feed(s) || !probe.complete()) continue;
    best = std::move(s);
    found = true;
  }
  return best;
}

bool JsonMatcher::in_free_string() const {
  if (threads_.size() != 1 || threads_[0].depth == 0) return false;
  const Frame& f = threads_[0].f[threads_[0].depth - 1];
  return f.mode == kStr && f.sub == 0 && f.node->max_len == SIZE_MAX;
}

}  // namespace quarry::grammar
