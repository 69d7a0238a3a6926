// The HTTP `Date` header value (RFC 9110 §5.6.7, IMF-fixdate):
// "Tue, 05 Aug 2025 12:00:00 GMT". Plain C++ so tests can check it directly.
#pragma once

#include <chrono>
#include <string>

namespace quarry::http {

std::string http_date(std::chrono::system_clock::time_point t);

// http_date() of the current second; formatted once per second per thread.
const std::string& http_date_now();

}  // namespace quarry::http
