// One accepted TCP connection: sniffs the protocol from the first bytes, then
// serves HTTP/1.x exchanges on it one after another (keep-alive, pipelining),
// enforcing the size and time limits, or hands it to an HTTP/2 session
// (h2_session.h) and carries bytes between that and the socket. Private to
// src/http (Asio/Beast inside).
//
// Threading: every member below runs on the connection's strand, except the
// four public entry points, which only post onto it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
// GCC 12 with sanitizers reports a false -Wmaybe-uninitialized inside Beast's
// parser (a boost::optional content length) once it is inlined here.
#if !defined(__clang__)  // a GCC-only warning; clang -Werror rejects the unknown name
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/core.h"
#include "http/exchange.h"
#include "http/h2_session.h"

namespace quarry::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket` must have been accepted onto its own strand.
  Connection(ServerCore& core, tcp::socket socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Thread-safe entry points.
  void start();
  // Graceful stop: close at once if idle, else after the exchange in flight
  // (HTTP/2: GOAWAY, then close once the open streams are done).
  void begin_stop();
  void force_close();
  // One response step from an Exchange (any thread).
  void post(uint64_t serial, Op op);

 private:
  enum class Phase {
    kIdle,      // between requests, no byte of the next one yet (idle_timeout)
    kReading,   // receiving a request (request_timeout from its first byte)
    kExchange,  // the handler has the request; its response is being sent
    kClosing,   // last bytes going out, then a lingering half-close
    kHttp2,     // an HTTP/2 session owns the exchanges (h2_)
  };
  enum class Reply { kNone, kStreaming, kDone };

  void on_start();
  void read();
  void on_read(const beast::error_code& ec, size_t n);
  void begin_request();
  void process_input();
  void skip_blank_lines();
  void serve_http2();
  void h2_receive();
  void h2_step();
  void send_continue_once();
  void dispatch();
  void apply(uint64_t serial, Op op);
  void send_reply(int status, const std::vector<Header>& headers, const std::string& body);
  void exchange_done();
  void reject(const beast::error_code& ec);
  void send_error(int status, std::string_view message, std::string_view target);
  std::string target_so_far() const;
  void begin_closing();
  void half_close();
  void close();
  void queue(std::string bytes);
  void write_queued();
  void on_write(const beast::error_code& ec);
  void on_drained();
  void arm_timer(std::chrono::steady_clock::duration d);
  void disarm_timer();
  void on_timer();

  ServerCore& core_;
  tcp::socket socket_;
  const asio::any_io_executor strand_;
  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;  // a wait whose generation is stale is ignored
  std::string remote_;

  beast::flat_buffer buffer_;  // received, not yet parsed
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  Phase phase_ = Phase::kIdle;
  bool sniffed_ = false;  // the first bytes were checked for the HTTP/2 preface
  bool reading_ = false;  // a read into buffer_ is pending: buffer_ must not change
  bool closed_ = false;
  bool stopping_ = false;
  bool continue_sent_ = false;

  // The exchange in flight (kExchange).
  uint64_t serial_ = 0;
  std::weak_ptr<Exchange> exchange_;
  Reply reply_ = Reply::kNone;
  int version_ = 11;
  bool keep_alive_ = true;
  bool head_only_ = false;  // HEAD: the head of the response, never its body
  bool chunked_ = false;
  std::string target_;

  // HTTP/2 (kHttp2, and kClosing after it): the session, and the deadline the
  // timer is armed for on its behalf.
  std::unique_ptr<H2Session> h2_;
  std::optional<std::chrono::steady_clock::time_point> h2_armed_;

  std::vector<std::string> out_;        // queued, not yet handed to the socket
  std::vector<std::string> in_flight_;  // being written; must live until on_write
  bool writing_ = false;
};

}  // namespace quarry::http
