#include "cli/jsonl.h"

#include <iostream>
#include <string>

namespace quarry::cli {

Json error_line(const std::string& message) {
  Json j = Json::object();
  j["error"] = message;
  return j;
}

int run_jsonl(std::istream& in, std::ostream& out, const LineHandler& handler) {
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Json result;
    try {
      Json input = Json::parse(line);
      if (!input.is_object()) {
        result = error_line("line " + std::to_string(line_no) + ": expected a JSON object");
      } else {
        Result<Json> r = handler(input);
        result = r.ok() ? std::move(r.value()) : error_line(r.message());
      }
    } catch (const Json::parse_error& e) {
      result = error_line("line " + std::to_string(line_no) + ": invalid JSON: " + e.what());
    } catch (const std::exception& e) {
      result = error_line("line " + std::to_string(line_no) + ": " + e.what());
    }
    // Handlers produce valid UTF-8; `replace` only guards against a bug turning
    // into an exception here.
    out << result.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
    out.flush();
  }
  return 0;
}

}  // namespace quarry::cli
