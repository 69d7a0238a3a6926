#include "http/connection.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <exception>
#include <limits>

#include "http/wire.h"

namespace quarry::http {

namespace bhttp = beast::http;

namespace {

// A client speaking HTTP/2 with prior knowledge (h2c) opens with this
// (RFC 9113 §3.4); no HTTP/1 request line can start with it.
constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

constexpr size_t kReadSize = 64 << 10;

// HTTP/2 output is pulled from the session at most this much at a time, and
// only while no write is in flight: what the client is slow to read stays in
// the per-stream queues, held back by flow control, not in out_.
constexpr size_t kH2WriteBatch = 128 << 10;

// After the last response the server half-closes and drains what the client
// still sends for up to this long: closing with unread input makes the kernel
// answer with a RST, which can destroy the response before the client reads it
// (typical for 413 while the client is still uploading).
constexpr auto kLinger = std::chrono::seconds(1);

std::string format_remote(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return {};
  const std::string address = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

}  // namespace

Connection::Connection(ServerCore& core, tcp::socket socket)
    : core_(core),
      socket_(std::move(socket)),
      strand_(socket_.get_executor()),
      timer_(strand_),
      remote_(format_remote(socket_)) {
  // Streamed tokens are tiny writes: Nagle would hold each one back until the
  // previous one is acknowledged.
  beast::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
}

Connection::~Connection() {
  if (auto ex = exchange_.lock()) ex->detach();
}

// ---- entry points (any thread) ----

void Connection::start() {
  asio::post(strand_, [self = shared_from_this()] { self->on_start(); });
}

void Connection::begin_stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopping_ = true;
    self->keep_alive_ = false;
    if (self->h2_) {
      // GOAWAY: the streams already open may finish, then the session is done.
      if (!self->closed_ && self->phase_ == Phase::kHttp2) {
        self->h2_->begin_stop();
        self->h2_step();
      }
      return;
    }
    // Idle keep-alive connections close now; a request being received or
    // answered is in flight and gets to finish.
    if (!self->closed_ && self->phase_ == Phase::kIdle) self->close();
  });
}

void Connection::force_close() {
  asio::post(strand_, [self = shared_from_this()] { self->close(); });
}

void Connection::post(uint64_t serial, Op op) {
  asio::post(strand_, [self = shared_from_this(), serial, op = std::move(op)]() mutable {
    self->apply(serial, std::move(op));
  });
}

// ---- reading ----

void Connection::on_start() {
  if (closed_) return;  // stop() got here first
  phase_ = Phase::kIdle;
  arm_timer(core_.options.idle_timeout);
  read();
}

void Connection::read() {
  if (reading_ || closed_) return;
  reading_ = true;
  socket_.async_read_some(
      buffer_.prepare(kReadSize),
      [self = shared_from_this()](const beast::error_code& ec, size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const beast::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    // EOF or a reset. During an exchange this is how a client that hung up is
    // noticed (close() fires on_close); otherwise there is nobody to answer.
    close();
    return;
  }
  buffer_.commit(n);
  switch (phase_) {
    case Phase::kIdle:
      begin_request();
      process_input();
      break;
    case Phase::kReading:
      process_input();
      break;
    case Phase::kExchange:
      // Blank lines aside, this is the start of a pipelined request, parsed
      // once this exchange is done. Reading stops here (the buffer must not
      // grow without bound), so until then a hang-up shows as a write error.
      skip_blank_lines();
      if (buffer_.size() == 0) read();
      break;
    case Phase::kClosing:
      buffer_.consume(buffer_.size());
      read();
      break;
    case Phase::kHttp2:
      h2_receive();
      break;
  }
}

void Connection::begin_request() {
  phase_ = Phase::kReading;
  // The whole request must arrive within request_timeout of its first byte
  // (here), however slowly it trickles in.
  arm_timer(core_.options.request_timeout);
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(core_.options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(static_cast<std::uint64_t>(core_.options.max_body_bytes));
  parser_->eager(true);
  continue_sent_ = false;
  version_ = 11;  // until the request line says otherwise
  head_only_ = false;
}

// Feeds buffered bytes to the parser until the request is whole (dispatch),
// wrong (an error reply), or more bytes are needed (read). Never runs while a
// read is pending.
void Connection::process_input() {
  if (!sniffed_) {
    const size_t n = std::min(buffer_.size(), kH2Preface.size());
    const std::string_view head(static_cast<const char*>(buffer_.data().data()), n);
    if (head != kH2Preface.substr(0, n)) {
      sniffed_ = true;  // HTTP/1.x
    } else if (n < kH2Preface.size()) {
      read();  // could still be the preface
      return;
    } else {
      serve_http2();
      return;
    }
  }
  if (!parser_->got_some()) skip_blank_lines();
  for (;;) {
    if (buffer_.size() == 0) {
      read();
      return;
    }
    beast::error_code ec;
    const size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) {
      read();
      return;
    }
    if (ec) {
      reject(ec);
      return;
    }
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    if (parser_->is_header_done()) send_continue_once();
    if (used == 0) {
      read();
      return;
    }
  }
}

// RFC 9112 §2.2: a server should ignore empty lines before a request line
// (some clients send CRLF after a POST body).
void Connection::skip_blank_lines() {
  const auto* p = static_cast<const char*>(buffer_.data().data());
  size_t n = 0;
  while (n < buffer_.size() && (p[n] == '\r' || p[n] == '\n')) ++n;
  buffer_.consume(n);
}

// HTTP/2 with prior knowledge (h2c): from here on the session does the
// protocol, this connection the socket, the timer and the write queue. Each
// stream's Exchange posts onto this strand with the stream id as its serial.
void Connection::serve_http2() {
  parser_.reset();
  phase_ = Phase::kHttp2;
  h2_ = std::make_unique<H2Session>(core_, weak_from_this(), remote_);
  if (stopping_) h2_->begin_stop();
  h2_receive();  // the preface and whatever followed it
}

void Connection::h2_receive() {
  const auto data = buffer_.data();
  h2_->receive(static_cast<const char*>(data.data()), data.size());
  buffer_.consume(buffer_.size());
  h2_step();
}

// After anything that may have given the session something to send or
// changed its deadlines: write what it has (if the socket is free), close when
// it is done, re-arm the timer, keep a read pending.
void Connection::h2_step() {
  if (closed_ || phase_ != Phase::kHttp2) return;
  if (!writing_) queue(h2_->take_output(kH2WriteBatch));
  if (h2_->done()) {
    // No stream can make progress any more: on_close runs now for those that
    // did not finish, not after the linger.
    h2_->abort_all();
    beast::error_code ec;
    if (!writing_ && stopping_ && socket_.available(ec) == 0 && !ec) {
      close();  // as for HTTP/1.1: nothing unread, so no RST to fear
      return;
    }
    begin_closing();
    return;
  }
  const auto deadline = h2_->next_deadline();
  if (deadline != h2_armed_) {
    h2_armed_ = deadline;
    if (deadline) {
      arm_timer(std::max(*deadline - std::chrono::steady_clock::now(),
                         std::chrono::steady_clock::duration::zero()));
    } else {
      disarm_timer();
    }
  }
  read();
}

// A client that sent `Expect: 100-continue` waits for this before sending the
// body (curl does so for bodies over 1 KiB) and the parser would wait for the
// body: without it both sides stall.
void Connection::send_continue_once() {
  if (continue_sent_) return;
  continue_sent_ = true;
  const auto& msg = parser_->get();
  if (msg.version() < 11) return;
  const auto it = msg.find(bhttp::field::expect);
  if (it == msg.end() || !beast::iequals(it->value(), "100-continue")) return;
  queue("HTTP/1.1 100 Continue\r\n\r\n");
}

// ---- the exchange ----

void Connection::dispatch() {
  disarm_timer();
  bhttp::request<bhttp::string_body> msg = parser_->release();
  parser_.reset();
  const unsigned version = msg.version();
  version_ = version == 10 ? 10 : 11;
  if (version < 10 || version >= 20) {
    send_error(505, "HTTP version not supported", std::string(msg.target()));
    return;
  }

  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& field : msg) {
    req.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  req.body = std::move(msg.body());
  req.http_version = version_;
  req.remote = remote_;

  phase_ = Phase::kExchange;
  reply_ = Reply::kNone;
  keep_alive_ = msg.keep_alive() && !stopping_;
  head_only_ = msg.method() == bhttp::verb::head;
  chunked_ = false;
  target_ = req.target;
  auto ex = std::make_shared<Exchange>(core_.gate, weak_from_this(), ++serial_);
  exchange_ = ex;

  // Keep a read pending while the handler works and the response streams: a
  // client that hangs up is noticed at once (EOF) even when nothing is being
  // written, which is how the engine learns to cancel a generation. A client
  // that half-closes after its request counts as gone too.
  if (buffer_.size() == 0) read();

  try {
    core_.handler(std::move(req), ex);
  } catch (...) {
    // Whatever the handler threw stays on the server: answer 500 unless it
    // already answered (then this respond() is ignored).
    ErrorReply r = core_.error_reply(500, "internal server error", target_);
    ex->respond(500, std::move(r.headers), std::move(r.body));
  }
}

void Connection::apply(uint64_t serial, Op op) {
  if (h2_) {
    if (closed_ || phase_ != Phase::kHttp2) return;
    h2_->apply(serial, std::move(op));
    h2_step();
    return;
  }
  // A step for an exchange that is over (or a connection that is) is dropped.
  if (closed_ || phase_ != Phase::kExchange || serial != serial_) return;
  switch (op.kind) {
    case Op::Kind::kRespond:
      if (reply_ != Reply::kNone) return;
      send_reply(op.status, op.headers, op.data);
      reply_ = Reply::kDone;
      break;
    case Op::Kind::kBegin:
      if (reply_ != Reply::kNone) return;
      if (wants_close(op.headers)) keep_alive_ = false;
      // HTTP/1.0 has no chunked coding: the body ends where the connection does.
      chunked_ = version_ == 11;
      if (!chunked_) keep_alive_ = false;
      queue(serialize_head(op.status, version_, op.headers,
                           chunked_ ? Framing::kChunked : Framing::kNone, 0, keep_alive_));
      reply_ = Reply::kStreaming;
      return;
    case Op::Kind::kWrite:
      if (reply_ == Reply::kStreaming && !head_only_) {
        queue(chunked_ ? frame_chunk(op.data) : std::move(op.data));
      }
      return;
    case Op::Kind::kFinish:
      if (reply_ != Reply::kStreaming) return;
      if (chunked_ && !head_only_) queue(std::string(kLastChunk));
      reply_ = Reply::kDone;
      break;
    case Op::Kind::kDropped:
      if (reply_ == Reply::kStreaming) {
        // A stream its producer abandoned: cut it, so the client cannot take
        // the truncated body for a whole one.
        close();
        return;
      }
      if (reply_ != Reply::kNone) return;
      {
        ErrorReply r = core_.error_reply(500, "the handler dropped the request", target_);
        send_reply(500, r.headers, r.body);
      }
      reply_ = Reply::kDone;
      break;
  }
  if (!writing_) exchange_done();  // else once the queue drains (on_drained)
}

void Connection::send_reply(int status, const std::vector<Header>& headers,
                            const std::string& body) {
  if (wants_close(headers)) keep_alive_ = false;
  const bool has_body = status_has_body(status);
  std::string out =
      serialize_head(status, version_, headers, has_body ? Framing::kLength : Framing::kNone,
                     body.size(), keep_alive_);
  if (has_body && !head_only_) out += body;
  queue(std::move(out));
}

// The last byte of the response is written.
void Connection::exchange_done() {
  if (auto ex = exchange_.lock()) ex->complete();
  exchange_.reset();
  if (!keep_alive_ || stopping_) {
    beast::error_code ec;
    if (stopping_ && buffer_.size() == 0 && socket_.available(ec) == 0 && !ec) {
      // The server is stopping and the client has sent nothing more: there is
      // no unread input to provoke a RST, so no reason to linger.
      close();
      return;
    }
    begin_closing();
    return;
  }
  if (buffer_.size() > 0) {  // pipelined: no read is pending (see on_read)
    begin_request();
    process_input();
    return;
  }
  // The read left pending during the exchange (if any) waits for the next
  // request now.
  phase_ = Phase::kIdle;
  arm_timer(core_.options.idle_timeout);
  read();
}

// ---- errors the server answers itself ----

void Connection::reject(const beast::error_code& ec) {
  int status = 400;
  std::string message = "malformed request: " + ec.message();
  if (ec == bhttp::error::body_limit) {
    status = 413;
    message = "request body exceeds " + std::to_string(core_.options.max_body_bytes) + " bytes";
  } else if (ec == bhttp::error::header_limit) {
    status = 431;
    message = "request header exceeds " + std::to_string(core_.options.max_header_bytes) + " bytes";
  }
  version_ = parser_->get().version() == 10 ? 10 : 11;
  send_error(status, message, target_so_far());
}

// The target of the request being read, if its request line has arrived.
std::string Connection::target_so_far() const {
  if (parser_ && !parser_->get().target().empty()) return std::string(parser_->get().target());
  // Beast parses the request line only once the whole header is there; for a
  // header that is too large or late, read it from the raw bytes.
  const std::string_view raw(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  const std::string_view line = raw.substr(0, raw.find("\r\n"));
  const size_t a = line.find(' ');
  if (a == std::string_view::npos || line.size() == raw.size()) return {};
  const size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return {};
  return std::string(line.substr(a + 1, b - a - 1));
}

void Connection::send_error(int status, std::string_view message, std::string_view target) {
  disarm_timer();
  const ErrorReply reply = core_.error_reply(status, message, target);
  keep_alive_ = false;
  head_only_ = false;
  queue(
      serialize_head(status, version_, reply.headers, Framing::kLength, reply.body.size(), false) +
      reply.body);
  parser_.reset();
  begin_closing();
}

// ---- closing ----

void Connection::begin_closing() {
  phase_ = Phase::kClosing;
  arm_timer(kLinger);           // bounds the last write and the drain together
  if (!writing_) half_close();  // else once the queue drains
  if (!reading_) {
    buffer_.consume(buffer_.size());
    read();
  }
}

void Connection::half_close() {
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
}

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  const auto self = shared_from_this();  // the registry lets go of us below
  disarm_timer();
  beast::error_code ec;
  socket_.close(ec);  // pending operations complete with operation_aborted
  out_.clear();
  parser_.reset();
  // The exchange did not finish: closed() turns true and its on_close runs
  // here, on this I/O thread.
  if (auto ex = exchange_.lock()) ex->abort();
  exchange_.reset();
  if (h2_) h2_->abort_all();  // the same for every HTTP/2 stream still open
  core_.closed(this);
}

// ---- writing ----

// Bytes go out in order; whatever queues up while a write is in flight goes
// out in the next one, so a stream is flushed chunk by chunk, never held back.
void Connection::queue(std::string bytes) {
  if (closed_ || bytes.empty()) return;
  out_.push_back(std::move(bytes));
  if (!writing_) write_queued();
}

void Connection::write_queued() {
  writing_ = true;
  in_flight_.swap(out_);
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(in_flight_.size());
  for (const std::string& s : in_flight_) buffers.push_back(asio::buffer(s));
  asio::async_write(
      socket_, buffers,
      [self = shared_from_this()](const beast::error_code& ec, size_t) { self->on_write(ec); });
}

void Connection::on_write(const beast::error_code& ec) {
  writing_ = false;
  in_flight_.clear();
  if (closed_) return;
  if (ec) {
    close();  // the client is gone
    return;
  }
  if (!out_.empty()) {
    write_queued();
    return;
  }
  if (phase_ == Phase::kHttp2) {
    h2_step();  // the socket is free: the session's next batch
    return;
  }
  on_drained();
}

void Connection::on_drained() {
  if (phase_ == Phase::kExchange && reply_ == Reply::kDone) {
    exchange_done();
  } else if (phase_ == Phase::kClosing) {
    half_close();
  }
}

// ---- the one timer: idle, request deadline, linger ----

void Connection::arm_timer(std::chrono::steady_clock::duration d) {
  const uint64_t generation = ++timer_generation_;
  timer_.expires_after(d);
  timer_.async_wait([self = shared_from_this(), generation](const beast::error_code& ec) {
    if (!ec && generation == self->timer_generation_ && !self->closed_) self->on_timer();
  });
}

void Connection::disarm_timer() {
  ++timer_generation_;
  timer_.cancel();
}

void Connection::on_timer() {
  switch (phase_) {
    case Phase::kIdle:  // idle keep-alive connection
    case Phase::kClosing:
      close();
      break;
    case Phase::kReading:  // the request did not arrive whole in time
      send_error(408, "request timed out", target_so_far());
      break;
    case Phase::kExchange:  // never armed: a long stream is not cut short
      break;
    case Phase::kHttp2:  // a stream's request deadline, or idle without streams
      h2_armed_.reset();
      h2_->on_timer(std::chrono::steady_clock::now());
      h2_step();
      break;
  }
}

}  // namespace quarry::http
