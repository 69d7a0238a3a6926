// HTTP/2 on one connection (cleartext, prior knowledge): an nghttp2 server
// session that turns each stream into a Request and sends each Exchange's
// steps back as HEADERS and DATA frames. It does no I/O itself: the Connection
// feeds it the bytes it reads and writes what take_output() hands back, all on
// the connection's strand. nghttp2 stays inside h2_session.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/core.h"
#include "http/exchange.h"

struct nghttp2_session;

namespace quarry::http {

class Connection;

class H2Session {
 public:
  using Clock = std::chrono::steady_clock;

  H2Session(ServerCore& core, std::weak_ptr<Connection> connection, std::string remote);
  ~H2Session();  // detaches the exchanges still open
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Bytes read from the socket (the first call starts with the 24-byte
  // preface). Requests that are complete go to the handler before it returns.
  void receive(const char* data, size_t n);
  // One response step for the stream `stream_id` (Exchange serial).
  void apply(uint64_t stream_id, Op op);
  // What nghttp2 has ready to send, up to `max` bytes and one frame ("" if
  // nothing).
  // Pulled only when the socket is free, so a slow reader holds DATA back in
  // the per-stream queues rather than in a growing output buffer.
  std::string take_output(size_t max);
  // Nothing more to read or to write (GOAWAY exchanged, protocol error, idle):
  // the connection can go.
  bool done() const;
  // When on_timer() is due: the earliest request deadline of a stream still
  // being received, or the idle deadline when no stream is open.
  std::optional<Clock::time_point> next_deadline() const;
  void on_timer(Clock::time_point now);
  // Graceful stop: GOAWAY now; open streams may finish.
  void begin_stop();
  // The connection is gone: every open exchange's on_close runs.
  void abort_all();

 private:
  struct Callbacks;  // the nghttp2 callbacks, defined in h2_session.cpp
  enum class State {
    kReceiving,   // request headers/body still arriving
    kRejected,    // answered by the server itself (413, 431, 408); input ignored
    kDispatched,  // the handler has it
  };
  enum class Reply { kNone, kStreaming, kDone };

  struct Stream {
    State state = State::kReceiving;
    Clock::time_point deadline;  // for the whole request to arrive
    Request request;
    size_t header_bytes = 0;
    bool header_too_large = false;
    bool request_ended = false;  // END_STREAM received
    bool head_only = false;      // HEAD: the head of the response, never its body
    std::weak_ptr<Exchange> exchange;
    Reply reply = Reply::kNone;
    bool drop_writes = false;  // a stream head without a body (HEAD, 204, 304)
    // Response body not yet handed to nghttp2; it reads from here as the
    // flow-control windows allow.
    std::deque<std::string> chunks;
    size_t offset = 0;      // into chunks.front()
    bool eof = false;       // no chunks after these
    bool deferred = false;  // the data source said "not yet": resume on new data
    bool end_sent = false;  // the frame with END_STREAM went out
  };

  Stream* find(int32_t id);
  void dispatch(int32_t id);
  void reject(int32_t id, Stream& s, int status, const std::string& message);
  void respond(int32_t id, Stream& s, int status, const std::vector<Header>& headers,
               std::string body);
  void submit_head(int32_t id, Stream& s, int status, const std::vector<Header>& headers,
                   std::optional<size_t> content_length, bool with_body);
  void wake(int32_t id, Stream& s);
  // GOAWAY with `error_code`, no more input; the connection closes once it is
  // sent (or after a grace period if it cannot be).
  void terminate(uint32_t error_code);
  void stream_closed(int32_t id);
  // Runs the exchange notifications and resets collected inside nghttp2
  // callbacks, once nghttp2 has returned (user code never runs inside it).
  void settle();

  ServerCore& core_;
  const std::weak_ptr<Connection> connection_;
  const std::string remote_;
  nghttp2_session* session_ = nullptr;
  bool broken_ = false;  // a fatal protocol or library error: no more input
  bool dead_ = false;    // nothing can be sent any more either
  bool stopping_ = false;
  Clock::time_point idle_since_;
  std::optional<Clock::time_point> closing_deadline_;  // set by terminate()

  std::unordered_map<int32_t, Stream> streams_;  // open streams, by id
  std::vector<int32_t> ready_;                   // requests complete, to dispatch
  std::vector<int32_t> to_reset_;                // answered early: ask the client to stop sending
  // Exchanges whose stream closed: true if the response went out whole.
  std::vector<std::pair<std::shared_ptr<Exchange>, bool>> settled_;
};

}  // namespace quarry::http
