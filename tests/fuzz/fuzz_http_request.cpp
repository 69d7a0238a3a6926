// Fuzzes the HTTP/1.x request side of the server: the input is what a client
// sends on one connection. There is no pure "parse these bytes" function in
// src/http (the parsing lives in Connection, around Beast's request parser),
// so this drives a real http::Connection, exactly as the listener creates it,
// over one end of a UNIX socket pair, on an io_context run by hand on this
// thread; the fuzzer writes the input into the other end, half-closes it and
// reads back everything the server wrote. Each input runs twice: with the
// default ServerOptions limits and with small ones (so that 413 and 431 are
// reachable within a short input).
//
// The handler answers from the path (see answer()): whole responses with
// every request header echoed back as `x-echo-<name>` (so the response
// serializer sees Beast-parsed names and values), streams, HEAD, a handler
// that drops its Responder, one that throws, any status, `Connection: close`,
// and answers given later from outside the handler (as the engine does).
//
// Checks: no crash, leak or hang (after the client's EOF the connection must
// close); every Request handed to the handler is self-consistent (path/query,
// header lookup); the bytes written back are a well-formed sequence of HTTP/1.x
// responses (interim 100 Continue allowed), one per request handed to the
// handler and in order, each with the status and body it was answered with
// and every echoed header intact, possibly followed by one error the server
// answered itself (400, 408, 413, 431, 505) with Connection: close, and
// nothing after it; on_close runs exactly for the exchanges the client left
// before they were finished.
//
// An input that starts with the HTTP/2 preface is left to fuzz_h2_session.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/connection.h"
#include "http/core.h"
#include "http/server.h"
#include "http/wire.h"

namespace {

using namespace quarry::http;
namespace bhttp = boost::beast::http;

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_http_request: %s\n", what);
  std::abort();
}

// What the handler answered, in dispatch order.
struct Answer {
  int status = 0;
  std::string body;  // as the client must see it (empty for HEAD, 204, 304)
  bool head = false;
  std::vector<Header> echoed;  // x-echo-<name>: value, for each header that must come back
  bool late = false;           // answered after the handler returned (/h)
  // The client had half-closed before the request reached the handler. The
  // server counts that as gone: on_close may run, and the answer may not go
  // out (then it is the last exchange). When the handler answers at once, the
  // answer is written before the EOF is read and does go out whole, yet
  // on_close runs all the same (Connection closes on the EOF before the write
  // completes, so the exchange never completes).
  bool client_gone = false;
  bool cancelled = false;  // late and not answered when the client left: no response
};

// A Responder the handler kept, with how often its on_close ran.
struct Kept {
  std::shared_ptr<Responder> responder;
  std::shared_ptr<int> closes;
  size_t answer = 0;     // index into the log
  bool pending = false;  // a late answer not given yet
};

struct Exchanges {
  std::vector<Answer> log;
  std::vector<Kept> kept;
  bool client_done = false;  // the client has half-closed
};

// Checks one Request and answers it according to its path:
//   /s...            a stream: begin_stream(200), the body in three writes, finish()
//   /d...            the handler drops the Responder without answering (500)
//   /t...            the handler throws (500)
//   /c...            200 with Connection: close
//   /h...            answered later, once the connection is idle, the way the
//                    engine answers from its own thread (200 "late\n")
//   /NNN...          status NNN (200-599) if the path starts with three digits
//   anything else    200; the body is method, target and request body
// Every answer but /d and /t echoes the request headers, and every Responder
// but those is kept (with an on_close) until the connection is gone.
void answer(Request&& req, const std::shared_ptr<Responder>& res, Exchanges& ex) {
  std::vector<Answer>& log = ex.log;
  // Request helpers.
  const std::string_view target = req.target;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) {
    if (req.path() != target || !req.query().empty()) fail("path/query of a target without '?'");
  } else if (req.path() != target.substr(0, q) || req.query() != target.substr(q + 1)) {
    fail("path/query of a target with '?'");
  }
  if (req.method.empty() || (req.http_version != 10 && req.http_version != 11)) {
    fail("method or version");
  }
  for (size_t i = 0; i < req.headers.size(); ++i) {
    std::string upper = req.headers[i].name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto found = req.header(upper);
    size_t first = 0;
    while (!iequals(req.headers[first].name, upper)) ++first;
    if (!found || found->data() != req.headers[first].value.data()) fail("Request::header");
  }

  Answer a;
  a.head = req.method == "HEAD";
  a.client_gone = ex.client_done;
  std::vector<Header> headers = {{"Content-Type", "text/plain"}};
  for (const Header& h : req.headers) {
    Header e{"x-echo-" + h.name, h.value};
    // serialize_head drops a value that could break the framing; Beast has
    // already trimmed the surrounding whitespace off the rest.
    if (h.value.find_first_of("\r\n") == std::string::npos) a.echoed.push_back(e);
    headers.push_back(std::move(e));
  }
  const std::string_view path = req.path();
  auto body_for = [&](int status, std::string body) {
    return (a.head || !status_has_body(status)) ? std::string() : std::move(body);
  };
  if (path.starts_with("/d")) {
    a.status = 500;
    a.body = body_for(500, "the handler dropped the request\n");
    a.echoed.clear();
    log.push_back(std::move(a));
    return;  // `res` goes away unanswered
  }
  if (path.starts_with("/t")) {
    a.status = 500;
    a.body = body_for(500, "internal server error\n");
    a.echoed.clear();
    log.push_back(std::move(a));
    throw std::runtime_error("handler failure");
  }
  Kept kept{res, std::make_shared<int>(0), log.size(), false};
  res->on_close([closes = kept.closes] { ++*closes; });
  if (path.starts_with("/h")) {
    a.status = 200;
    a.body = body_for(200, "late\n");
    a.echoed.clear();
    a.late = true;
    log.push_back(std::move(a));
    kept.pending = true;
    ex.kept.push_back(std::move(kept));
    return;
  }
  ex.kept.push_back(kept);
  if (path.starts_with("/s")) {
    a.status = 200;
    const std::string& b = req.body;
    const std::string parts[] = {b.substr(0, b.size() / 3), b.substr(b.size() / 3), "end\n"};
    a.body = body_for(200, parts[0] + parts[1] + parts[2]);
    log.push_back(a);
    res->begin_stream(200, std::move(headers));
    for (const auto& p : parts) res->write(p);
    res->finish();
    return;
  }
  int status = 200;
  if (path.size() >= 4 && std::isdigit(static_cast<unsigned char>(path[1])) &&
      std::isdigit(static_cast<unsigned char>(path[2])) &&
      std::isdigit(static_cast<unsigned char>(path[3]))) {
    status = (path[1] - '0') * 100 + (path[2] - '0') * 10 + (path[3] - '0');
    if (status < 200 || status > 599) status = 200;
  }
  if (path.starts_with("/c")) headers.push_back({"Connection", "close"});
  std::string body = req.method + " " + req.target + "\n" + req.body;
  a.status = status;
  a.body = body_for(status, body);
  log.push_back(a);
  res->respond(status, std::move(headers), std::move(body));
}

// Parses `out` as the responses to `log`, then at most one server error.
void check_output(std::string_view out, const std::vector<Answer>& log) {
  size_t pos = 0;
  size_t next = 0;  // index into log
  bool closed = false;
  while (pos < out.size()) {
    if (closed) fail("bytes after a response that closed the connection");
    const bool expected = next < log.size();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(1u << 30);
    parser.body_limit(1u << 30);
    parser.eager(true);
    if (expected && log[next].head) parser.skip(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      if (pos == out.size()) {
        parser.put_eof(ec);  // a body delimited by the end of the connection
        if (ec) fail(("truncated response: " + ec.message()).c_str());
        break;
      }
      const size_t used = parser.put(boost::asio::buffer(out.data() + pos, out.size() - pos), ec);
      pos += used;
      if (ec == bhttp::error::need_more) {
        if (pos == out.size()) continue;
        fail("the output ends inside a response head");
      }
      if (ec) {
        std::fprintf(stderr, "at %zu: %s\n", pos, ec.message().c_str());
        fail("malformed response");
      }
    }
    const auto& msg = parser.get();
    const int status = static_cast<int>(msg.result_int());
    if (status == 100) continue;  // 100 Continue before a body
    if (expected && log[next].cancelled) fail("a response to an exchange the client had left");
    if (!parser.keep_alive()) closed = true;
    if (msg.find(bhttp::field::date) == msg.end()) fail("no Date");
    if (!expected) {
      // The server's own error: the request was malformed, too large, or of
      // an unsupported version. It closes the connection.
      if (status != 400 && status != 408 && status != 413 && status != 431 && status != 505) {
        fail("unexpected extra response");
      }
      if (parser.keep_alive()) fail("server error without Connection: close");
      closed = true;
      continue;
    }
    const Answer& a = log[next++];
    if (status != a.status) fail("status");
    if (msg.body() != a.body) fail("body");
    for (const Header& e : a.echoed) {
      bool found = false;
      for (const auto& f : msg) {
        if (iequals(f.name_string(), e.name) && f.value() == e.value) found = true;
      }
      if (!found) {
        std::fprintf(stderr, "missing %s: %s\n", e.name.c_str(), e.value.c_str());
        fail("echoed header lost");
      }
    }
  }
  // Only an exchange the client left before it was answered (the last one)
  // goes without a response.
  if (next != log.size() &&
      !((log[next].cancelled || log[next].client_gone) && next + 1 == log.size())) {
    fail("a request the handler answered got no response");
  }
}

// QUARRY_FUZZ_VERBOSE=1: print what came back (for looking at a corpus).
bool verbose() {
  static const bool v = std::getenv("QUARRY_FUZZ_VERBOSE") != nullptr;
  return v;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void drain(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    return;  // EAGAIN, EOF or error
  }
}

void serve(std::string_view input, const ServerOptions& options) {
  Exchanges ex;
  Handler handler = [&ex](Request&& req, std::shared_ptr<Responder> res) {
    answer(std::move(req), res, ex);
  };
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) fail("socketpair");
  set_nonblocking(fds[1]);
  std::string out;
  {
    // As in Server::Impl: the core outlives the io_context (and with it every
    // handler that still holds the connection).
    ServerCore core(options, handler, nullptr);
    boost::asio::io_context ioc(1);
    // As the server's I/O threads do: without it, poll() would stop the
    // io_context whenever nothing is pending (a handler still thinking).
    auto work = boost::asio::make_work_guard(ioc);
    tcp::socket socket(boost::asio::make_strand(ioc));
    boost::system::error_code ec;
    socket.assign(tcp::v4(), fds[0], ec);  // asio does not check the family
    if (ec) fail("assign");
    {
      auto connection = std::make_shared<Connection>(core, std::move(socket));
      std::lock_guard lock(core.mu);
      core.live.emplace(connection.get(), connection);
      core.open.fetch_add(1);
      connection->start();
    }
    // Write the input (the server stops reading while it answers a request,
    // so interleave), and once the server has nothing left to do, half-close:
    // the connection must then close. (Half-closing earlier would be a client
    // hanging up before its answer, which the server rightly drops.)
    size_t written = 0;
    bool shut = false;
    int idle = 0;
    while (core.open.load() > 0) {
      size_t ran = ioc.poll();
      if (written < input.size()) {
        const ssize_t n = write(fds[1], input.data() + written, input.size() - written);
        if (n > 0) {
          written += static_cast<size_t>(n);
          ran += 1;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          written = input.size();  // the server closed its end
        }
      }
      const size_t before = out.size();
      drain(fds[1], out);
      if (out.size() != before) ran += 1;
      if (ran > 0) {
        idle = 0;
        continue;
      }
      if (written == input.size() && !shut) {
        shutdown(fds[1], SHUT_WR);
        shut = true;
        ex.client_done = true;
        continue;
      }
      // Late answers (/h), from outside the I/O handlers: the connection is
      // still open, so the client's EOF has not been seen (pipelined input
      // stops the reading) and the answer must go out.
      bool answered = false;
      for (Kept& k : ex.kept) {
        if (!k.pending) continue;
        k.pending = false;
        answered = true;
        k.responder->respond(200, {{"Content-Type", "text/plain"}}, "late\n");
      }
      if (answered) continue;
      // Nothing ready: wait for the reactor a little. A connection that
      // neither reads nor closes after the client's EOF is a bug.
      if (ioc.run_one_for(std::chrono::milliseconds(2)) > 0) {
        idle = 0;
      } else if (++idle > 2500) {
        fail("the connection did not close after the client's EOF");
      }
    }
    ioc.poll();  // let the last completions run
    drain(fds[1], out);
  }
  // The connection is gone. An exchange still waiting for its late answer
  // was left by the client: its on_close must have run, once. So may one
  // that reached the handler after the client half-closed. Every other one
  // finished first, so its on_close must never run.
  for (Kept& k : ex.kept) {
    Answer& a = ex.log[k.answer];
    const int expected = k.pending ? 1 : a.client_gone ? *k.closes : 0;
    if (*k.closes != expected || expected > 1) {
      std::fprintf(stderr, "exchange %zu: on_close ran %d times\n", k.answer, *k.closes);
      fail("on_close");
    }
    a.cancelled = k.pending;
    k.pending = false;
  }
  const std::vector<Answer>& log = ex.log;
  close(fds[1]);
  if (verbose()) {
    std::fprintf(stderr, "-- limits %zu/%zu: %zu answered, %zu bytes back\n%s\n",
                 options.max_header_bytes, options.max_body_bytes, log.size(), out.size(),
                 out.substr(0, 2000).c_str());
  }
  check_output(out, log);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.starts_with(kH2Preface)) return 0;
  serve(input, ServerOptions{});
  ServerOptions small;
  small.max_header_bytes = 256;
  small.max_body_bytes = 512;
  serve(input, small);
  return 0;
}
