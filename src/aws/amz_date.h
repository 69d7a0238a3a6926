// Timestamps in the forms SigV4 uses: ISO 8601 basic ("20250805T120000Z", the
// X-Amz-Date header and the string to sign) and the HTTP IMF-fixdate
// ("Tue, 05 Aug 2025 12:00:00 GMT", the `Date` header AWS accepts when
// X-Amz-Date is absent). Always UTC, whole seconds.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.h"

namespace quarry::aws {

using TimePoint = std::chrono::system_clock::time_point;

// "yyyymmddThhmmssZ"; sub-second parts are truncated (floored).
std::string format_amz_date(TimePoint t);

// Strict inverse of format_amz_date: exactly 16 characters, a real calendar
// date and time of day (no leap second).
Result<TimePoint> parse_amz_date(std::string_view s);

// IMF-fixdate, e.g. "Tue, 05 Aug 2025 12:00:00 GMT" (RFC 9110 §5.6.7). The
// weekday name must be a valid one but is not cross-checked with the date.
Result<TimePoint> parse_http_date(std::string_view s);

// ISO 8601 extended UTC with a `Z`, e.g. "2025-08-05T12:00:00Z" (the golden
// fixtures' `verify_at`). Fractions of a second are not accepted.
Result<TimePoint> parse_iso8601_utc(std::string_view s);

}  // namespace quarry::aws
