// HTTP/1.x response framing: the status line and header block, and the
// chunked transfer coding. Plain C++; private to src/http.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"

namespace quarry::http {

// How the body of a response is delimited.
enum class Framing {
  kLength,   // Content-Length
  kChunked,  // Transfer-Encoding: chunked
  kNone,     // no framing header: no body (204, 304) or, for HTTP/1.0, until close
};

// The head of a response: status line, the handler's headers (minus those the
// server owns: Date, Content-Length, Transfer-Encoding, Connection), then Date,
// the framing header and Connection when needed. Headers whose name or value
// could break the framing (CR, LF, a colon in the name) are dropped.
std::string serialize_head(int status, int version, const std::vector<Header>& headers,
                           Framing framing, size_t content_length, bool keep_alive);

// One chunk of a chunked body: size in hex, CRLF, data, CRLF.
std::string frame_chunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The reason phrase for a status code ("Not Found"), "Unknown" if none.
std::string_view reason_phrase(int status);

// Whether a response with this status carries a body at all (RFC 9110 §6.4.1).
inline bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

// The handler asked to close the connection after this response.
bool wants_close(const std::vector<Header>& headers);

bool iequals(std::string_view a, std::string_view b);

}  // namespace quarry::http
