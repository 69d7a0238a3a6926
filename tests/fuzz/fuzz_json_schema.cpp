// Fuzzes the constrained-decoding grammar (src/grammar): the input is a JSON
// schema, a NUL byte, then bytes offered to the matcher one by one (rejected
// ones are skipped). Checks: compiling never crashes; whenever the matcher
// says the text is a whole value, it parses and validates; from every state
// the shortest completion is accepted and yields a value that validates.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "grammar/json_matcher.h"
#include "grammar/json_schema.h"

using quarry::grammar::JsonMatcher;
using quarry::grammar::Schema;

namespace {

void check_value(const Schema& s, const std::string& text) {
  const auto v = nlohmann::ordered_json::parse(text, nullptr, false);
  if (v.is_discarded()) std::abort();  // the matcher accepted text that is not JSON
  if (!s.validate(v).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string_view schema_text = in.substr(0, nul);
  const std::string_view doc =
      nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  const auto schema_json = nlohmann::ordered_json::parse(schema_text, nullptr, false);
  if (schema_json.is_discarded()) return 0;
  auto compiled = Schema::compile(schema_json);
  if (!compiled.ok()) return 0;
  const Schema& s = *compiled.value();
  JsonMatcher m(s.root());
  std::string text;
  size_t checks = 0;
  for (size_t i = 0; i <= doc.size() && checks < 64; ++i) {
    // From here, the shortest way to finish must be accepted and valid
    // (unless the schema cannot be satisfied at all: then it is empty).
    const std::string rest = m.shortest_completion();
    if (!rest.empty() || m.complete()) {
      JsonMatcher end = m;
      if (!end.feed(rest) || !end.complete()) std::abort();
      check_value(s, text + rest);
      ++checks;
    }
    if (m.complete()) check_value(s, text);
    if (i == doc.size()) break;
    if (m.feed(doc.substr(i, 1))) text += doc[i];
  }
  return 0;
}
