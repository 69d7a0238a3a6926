// The JSON-lines contract of the CLI: one output line per input line, errors
// as {"error": "..."} lines, exit status 0.
#pragma once

#include <functional>
#include <iosfwd>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace quarry::cli {

using Json = nlohmann::ordered_json;
using LineHandler = std::function<Result<Json>(const Json& input)>;

// Reads lines from `in` until EOF; blank lines are skipped. Each line must be a
// JSON object; the handler's result (or error) is written as one line.
int run_jsonl(std::istream& in, std::ostream& out, const LineHandler& handler);

// A line that failed: {"error": message}.
Json error_line(const std::string& message);

}  // namespace quarry::cli
