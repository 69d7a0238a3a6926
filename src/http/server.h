// The HTTP server: one listener for HTTP/1.1 with keep-alive and HTTP/2
// cleartext with prior knowledge (h2c, told apart by the connection preface),
// both behind the same Request/Responder types; request size and time limits,
// streaming responses and a graceful stop. Boost.Beast and nghttp2 stay inside
// src/http/*.cpp; this header is plain C++.
//
// Threading: the handler runs on an I/O thread and must not block. A
// Responder may be used from any thread (the engine thread streams through
// it); its writes are queued onto the connection and never block the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quarry::http {

struct Header {
  std::string name;  // as received / as to send; lookups ignore case
  std::string value;
};

struct Request {
  std::string method;           // "GET", "POST", ...
  std::string target;           // raw request target: path, then "?query"; percent-encoding kept
  std::vector<Header> headers;  // in arrival order
  std::string body;
  int http_version = 11;  // 11 (HTTP/1.1, 10 for 1.0) or 20 (HTTP/2)
  std::string remote;     // "ip:port" of the client

  std::string_view path() const;   // target before '?'
  std::string_view query() const;  // after '?', "" when none
  // The first header of that name (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The answer side of one exchange. Thread-safe; methods never block.
// Either respond() once, or begin_stream(), any number of write(), finish().
// The server adds `Date` to every response, `Content-Length` to respond() and
// chunked framing to streams (HTTP/1.1).
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void respond(int status, std::vector<Header> headers, std::string body) = 0;
  virtual void begin_stream(int status, std::vector<Header> headers) = 0;
  virtual void write(std::string chunk) = 0;  // one chunk; empty chunks are skipped
  virtual void finish() = 0;
  // True once the client has gone (or the server stopped hard); later writes
  // are dropped.
  virtual bool closed() const = 0;
  // Runs once, on an I/O thread, if the client disconnects before the
  // exchange is finished (at once if it already has). For cancellation.
  virtual void on_close(std::function<void()> fn) = 0;
};

using Handler = std::function<void(Request&& request, std::shared_ptr<Responder> responder)>;

// The body of an error the server finds itself (malformed HTTP 400, body too
// large 413, header too large 431, request timeout 408), in the error format
// of the API the target belongs to. `target` may be empty when unknown.
struct ErrorReply {
  std::vector<Header> headers;  // Content-Type included
  std::string body;
};
using ErrorFormatter =
    std::function<ErrorReply(int status, std::string_view message, std::string_view target)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (start() returns it)
  size_t max_body_bytes = 16u << 20;
  size_t max_header_bytes = 64u << 10;
  // A request must arrive whole (headers and body) within this time of its
  // first byte (slowloris); an idle keep-alive connection closes after idle_timeout.
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds idle_timeout{75'000};
  size_t io_threads = 1;
  size_t max_connections = 1024;  // beyond it new connections are closed at once
};

class Server {
 public:
  Server(ServerOptions options, Handler handler, ErrorFormatter errors = nullptr);
  ~Server();  // stop(0)
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the I/O threads; the bound port, or why not
  // ("127.0.0.1:8080: address already in use").
  Result<uint16_t> start();
  // Graceful stop: no new connections or requests; exchanges in flight
  // (streams included) get up to `grace` to finish, then every connection is
  // closed. Returns when the I/O threads have exited. Idempotent.
  void stop(std::chrono::milliseconds grace);

  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace quarry::http
