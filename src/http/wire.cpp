#include "http/wire.h"

#include <boost/beast/http/status.hpp>
#include <cctype>
#include <charconv>

#include "http/date.h"

namespace quarry::http {
namespace {

bool owned_by_server(std::string_view name) {
  return iequals(name, "Date") || iequals(name, "Content-Length") ||
         iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

bool safe_header(const Header& h) {
  if (h.name.empty() || h.name.find_first_of(":\r\n \t") != std::string::npos) return false;
  return h.value.find_first_of("\r\n") == std::string::npos;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view reason_phrase(int status) {
  const auto sv =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  // Beast answers "<unknown-status>" for codes it has no name for.
  if (sv.empty() || sv.front() == '<') return "Unknown";
  return std::string_view(sv.data(), sv.size());
}

bool wants_close(const std::vector<Header>& headers) {
  for (const Header& h : headers) {
    if (iequals(h.name, "Connection") && iequals(h.value, "close")) return true;
  }
  return false;
}

std::string serialize_head(int status, int version, const std::vector<Header>& headers,
                           Framing framing, size_t content_length, bool keep_alive) {
  std::string out;
  out.reserve(256);
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  for (const Header& h : headers) {
    if (owned_by_server(h.name) || !safe_header(h)) continue;
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "Date: ";
  out += http_date_now();
  out += "\r\n";
  if (framing == Framing::kLength) {
    out += "Content-Length: ";
    out += std::to_string(content_length);
    out += "\r\n";
  } else if (framing == Framing::kChunked) {
    out += "Transfer-Encoding: chunked\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

std::string frame_chunk(std::string_view data) {
  char size[2 * sizeof(size_t)];
  const auto r = std::to_chars(size, size + sizeof size, data.size(), 16);
  std::string out;
  out.reserve(static_cast<size_t>(r.ptr - size) + data.size() + 4);
  out.append(size, r.ptr);
  out += "\r\n";
  out += data;
  out += "\r\n";
  return out;
}

}  // namespace quarry::http
