#include "aws/amz_date.h"

#include <array>
#include <cstdio>

namespace quarry::aws {

namespace {

using namespace std::chrono;

// Parses `n` decimal digits at s[pos]; -1 when any is not a digit.
int digits(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

constexpr int kMinYear = 1900, kMaxYear = 2200;

Result<TimePoint> make_time(int y, int mo, int d, int h, int mi, int sec, std::string_view what) {
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (y < 0 || mo < 0 || d < 0 || !ymd.ok() || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
      sec > 59) {
    return make_error("invalid " + std::string(what));
  }
  // The clock counts nanoseconds in 64 bits (years 1678-2261): beyond this
  // range the conversion, and later differences with now, would overflow.
  if (y < kMinYear || y > kMaxYear) {
    return make_error(std::string(what) + ": the year " + std::to_string(y) + " is out of range (" +
                      std::to_string(kMinYear) + "-" + std::to_string(kMaxYear) + ")");
  }
  return TimePoint(sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec));
}

}  // namespace

std::string format_amz_date(TimePoint t) {
  const auto secs = floor<seconds>(t);
  const auto day_start = floor<days>(secs);
  const year_month_day ymd{day_start};
  const hh_mm_ss<seconds> hms{secs - day_start};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

Result<TimePoint> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') {
    return make_error("X-Amz-Date must look like 20250805T120000Z");
  }
  return make_time(digits(s, 0, 4), digits(s, 4, 2), digits(s, 6, 2), digits(s, 9, 2),
                   digits(s, 11, 2), digits(s, 13, 2), "X-Amz-Date");
}

Result<TimePoint> parse_http_date(std::string_view s) {
  // "Tue, 05 Aug 2025 12:00:00 GMT": fixed width, 29 characters.
  static constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu",
                                                            "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return make_error("Date must look like Tue, 05 Aug 2025 12:00:00 GMT");
  }
  bool day_ok = false;
  for (auto d : kDays) day_ok = day_ok || s.substr(0, 3) == d;
  int month = -1;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (s.substr(8, 3) == kMonths[i]) month = static_cast<int>(i) + 1;
  }
  if (!day_ok || month < 0) return make_error("invalid Date");
  return make_time(digits(s, 12, 4), month, digits(s, 5, 2), digits(s, 17, 2), digits(s, 20, 2),
                   digits(s, 23, 2), "Date");
}

Result<TimePoint> parse_iso8601_utc(std::string_view s) {
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return make_error("timestamp must look like 2025-08-05T12:00:00Z");
  }
  return make_time(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2),
                   digits(s, 14, 2), digits(s, 17, 2), "timestamp");
}

}  // namespace quarry::aws
