// A blocking HTTP/1.1 test client on raw POSIX sockets: it can send anything
// (malformed or half requests) and read responses piece by piece. Every read
// has a timeout, so a server bug fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/server.h"

namespace quarry::http::httptest {

using namespace std::chrono_literals;

// `s` against a pattern where 'd' is a digit, 'a' a letter, anything else itself.
inline bool matches(std::string_view s, std::string_view pattern) {
  if (s.size() != pattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (pattern[i] == 'd'   ? !std::isdigit(c)
        : pattern[i] == 'a' ? !std::isalpha(c)
                            : s[i] != pattern[i]) {
      return false;
    }
  }
  return true;
}

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }
};

class Client {
 public:
  explicit Client(uint16_t port, std::chrono::milliseconds timeout = 5000ms) : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }

  // All of `data`; false once the server has closed (no SIGPIPE).
  bool send(std::string_view data) {
    while (!data.empty() && fd_ >= 0) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return fd_ >= 0;
  }

  // One whole response; nullopt on EOF, error or timeout.
  std::optional<Response> read_response(bool head_request = false) {
    auto r = read_head();
    if (!r) return std::nullopt;
    if (head_request || r->status < 200 || r->status == 204 || r->status == 304) return r;
    if (r->chunked) {
      for (;;) {
        auto chunk = read_chunk();
        if (!chunk) return std::nullopt;
        if (chunk->empty()) return r;
        r->body += *chunk;
      }
    }
    if (auto len = r->header("Content-Length")) {
      const size_t n = std::stoul(*len);
      while (buf_.size() < n) {
        if (!fill()) return std::nullopt;
      }
      r->body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    while (fill()) {  // delimited by the end of the connection
    }
    if (!eof_) return std::nullopt;
    r->body = std::move(buf_);
    buf_.clear();
    return r;
  }

  // Status line and headers only.
  std::optional<Response> read_head() {
    Response r;
    auto status_line = read_line();
    if (!status_line) return std::nullopt;
    // "HTTP/1.1 200 OK"
    const std::string& s = *status_line;
    if (s.size() < 13 || (s.compare(0, 9, "HTTP/1.1 ") != 0 && s.compare(0, 9, "HTTP/1.0 ") != 0) ||
        !matches(s.substr(9, 4), "ddd ")) {
      return std::nullopt;
    }
    r.status = std::stoi(s.substr(9, 3));
    for (;;) {
      auto line = read_line();
      if (!line) return std::nullopt;
      if (line->empty()) break;
      const size_t colon = line->find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string value = line->substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(line->substr(0, colon), value);
    }
    auto te = r.header("Transfer-Encoding");
    r.chunked = te && *te == "chunked";
    return r;
  }

  // The data of the next chunk of a chunked body; "" for the last chunk.
  std::optional<std::string> read_chunk() {
    auto size_line = read_line();
    if (!size_line || size_line->empty()) return std::nullopt;
    const size_t n = std::stoul(*size_line, nullptr, 16);
    while (buf_.size() < n + 2) {
      if (!fill()) return std::nullopt;
    }
    if (buf_.compare(n, 2, "\r\n") != 0) return std::nullopt;
    std::string data = buf_.substr(0, n);
    buf_.erase(0, n + 2);
    return data;
  }

  // True once the server closes the connection (EOF or reset) within `within`;
  // bytes that arrive meanwhile are kept in the buffer.
  bool wait_closed(std::chrono::milliseconds within) {
    const auto saved = timeout_;
    timeout_ = within;
    while (fill()) {
    }
    timeout_ = saved;
    return eof_;
  }

  // What arrived but was not consumed by the read_* calls.
  const std::string& buffered() const { return buf_; }

  void shutdown_write() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  // Appends what the socket has; false on EOF/reset (eof_ set) or timeout.
  bool fill() {
    if (fd_ < 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  std::optional<std::string> read_line() {
    for (;;) {
      const size_t end = buf_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        return line;
      }
      if (!fill()) return std::nullopt;
    }
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buf_;
  bool eof_ = false;
};

// A started server on 127.0.0.1 and an ephemeral port.
struct TestServer {
  TestServer(ServerOptions options, Handler handler, ErrorFormatter errors = nullptr) {
    options.host = "127.0.0.1";
    options.port = 0;
    server = std::make_unique<Server>(std::move(options), std::move(handler), std::move(errors));
    auto r = server->start();
    if (r.ok()) port = *r;
    error = r.ok() ? "" : r.message();
  }
  std::unique_ptr<Server> server;
  uint16_t port = 0;
  std::string error;
};

inline std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra_headers) +
         "\r\n";
}

inline std::string post(std::string_view target, std::string_view body,
                        std::string_view extra_headers = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

// RFC 1123 / IMF-fixdate, GMT: "Tue, 05 Aug 2025 12:00:00 GMT".
inline bool well_formed_date(const std::string& s) {
  static constexpr std::string_view kDays = "Mon Tue Wed Thu Fri Sat Sun";
  static constexpr std::string_view kMonths = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
  return matches(s, "aaa, dd aaa dddd dd:dd:dd GMT") && kDays.find(s.substr(0, 3)) % 4 == 0 &&
         kMonths.find(s.substr(8, 3)) % 4 == 0;
}

}  // namespace quarry::http::httptest
