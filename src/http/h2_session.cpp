#include "http/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "http/date.h"
#include "http/wire.h"

namespace quarry::http {

namespace {

// What the server announces in its first SETTINGS frame. 128 streams is what
// browsers and the SDKs expect at least; a 1 MiB stream window (the default is
// 64 KiB) lets a request body arrive without waiting on WINDOW_UPDATE round
// trips.
constexpr uint32_t kMaxConcurrentStreams = 128;
constexpr int32_t kStreamWindow = 1 << 20;
// The connection window is shared by all streams: larger, so that a few
// uploads at once are not throttled by it.
constexpr int32_t kConnectionWindow = 16 << 20;
// Once the session is terminating (protocol error, idle), its last frames
// (GOAWAY) get this long to go out; a client that does not read them cannot
// hold the connection open.
constexpr auto kGoawayGrace = std::chrono::seconds(1);

// Headers that describe the HTTP/1 connection, not the message: HTTP/2
// forbids them (RFC 9113 §8.2.2) and clients treat them as a protocol error.
// Date and Content-Length the server sets itself, as in HTTP/1.1.
bool never_forwarded(std::string_view name) {
  for (std::string_view n : {"connection", "keep-alive", "transfer-encoding", "upgrade",
                             "proxy-connection", "te", "date", "content-length"}) {
    if (iequals(name, n)) return true;
  }
  return false;
}

// A name or value that could not be a valid field: dropped, as in HTTP/1.1.
bool sendable(const Header& h) {
  if (h.name.empty() ||
      h.name.find_first_of(std::string_view(":\r\n \t\0", 6)) != std::string::npos) {
    return false;
  }
  return h.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

// HTTP/2 clients built on nghttp2 (Node's among them) reset a stream whose
// field value starts or ends with whitespace (RFC 9113 §8.2.1); HTTP/1.1
// readers strip it anyway.
std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  // nghttp2 copies both (no NO_COPY flags), so temporaries may back them.
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool has_end_stream(const nghttp2_frame* frame) {
  return (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
}

}  // namespace

// nghttp2 calls these from inside mem_recv/mem_send with the H2Session as
// user_data. They only record what happened; anything that runs user code
// (the handler, on_close) waits until nghttp2 has returned.
struct H2Session::Callbacks {
  static H2Session& self(void* user_data) { return *static_cast<H2Session*>(user_data); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    H2Session& h = self(user_data);
    Stream& s = h.streams_[frame->hd.stream_id];
    // The whole request must arrive within request_timeout of its first frame.
    s.deadline = Clock::now() + h.core_.options.request_timeout;
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                       void* user_data) {
    // Trailers (HCAT_HEADERS) are accepted but not kept, as with HTTP/1.1.
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    H2Session& h = self(user_data);
    Stream* s = h.find(frame->hd.stream_id);
    if (!s || s->header_too_large) return 0;
    // Counted like an HTTP/1.1 header line ("name: value\r\n").
    s->header_bytes += namelen + valuelen + 4;
    if (s->header_bytes > h.core_.options.max_header_bytes) {
      s->header_too_large = true;  // answered 431 once the block is complete
      return 0;
    }
    std::string n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") s->request.method = v;
    if (n == ":path") s->request.target = v;
    // Pseudo-headers included, in arrival order: SigV4 signs `:authority`.
    s->request.headers.push_back({std::move(n), std::move(v)});
    return 0;
  }

  static int on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                size_t len, void* user_data) {
    H2Session& h = self(user_data);
    Stream* s = h.find(stream_id);
    if (!s || s->state != State::kReceiving) return 0;  // answered already: discarded
    const size_t limit = h.core_.options.max_body_bytes;
    if (s->request.body.size() + len > limit) {
      h.reject(stream_id, *s, 413, "request body exceeds " + std::to_string(limit) + " bytes");
      return 0;
    }
    s->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    H2Session& h = self(user_data);
    const int32_t id = frame->hd.stream_id;
    Stream* s = h.find(id);
    if (!s) return 0;
    if (has_end_stream(frame)) s->request_ended = true;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      s->head_only = s->request.method == "HEAD";
      if (s->header_too_large) {
        h.reject(id, *s, 431,
                 "request header exceeds " + std::to_string(h.core_.options.max_header_bytes) +
                     " bytes");
        return 0;
      }
      // A declared length over the limit is refused before any of it arrives.
      if (auto cl = s->request.header("content-length")) {
        uint64_t n = 0;
        const auto r = std::from_chars(cl->data(), cl->data() + cl->size(), n);
        const size_t limit = h.core_.options.max_body_bytes;
        if (r.ec == std::errc() && n > limit) {
          h.reject(id, *s, 413, "request body exceeds " + std::to_string(limit) + " bytes");
          return 0;
        }
      }
    }
    if (s->request_ended && s->state == State::kReceiving) h.ready_.push_back(id);
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    if (!has_end_stream(frame)) return 0;
    H2Session& h = self(user_data);
    Stream* s = h.find(frame->hd.stream_id);
    if (!s) return 0;
    s->end_sent = true;
    // An error answered before the request was whole (413, 408): RST_STREAM
    // with NO_ERROR tells the client to stop sending the rest (RFC 9113 §8.1).
    if (s->state == State::kRejected && !s->request_ended) {
      h.to_reset_.push_back(frame->hd.stream_id);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    self(user_data).stream_closed(stream_id);
    return 0;
  }

  // nghttp2 asks for up to `length` bytes of a response body, as far as the
  // flow-control windows allow. Nothing queued yet: DEFERRED, and wake()
  // resumes the stream when the producer writes again.
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    H2Session& h = self(user_data);
    Stream* s = h.find(stream_id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    size_t n = 0;
    while (n < length && !s->chunks.empty()) {
      const std::string& front = s->chunks.front();
      const size_t take = std::min(length - n, front.size() - s->offset);
      std::memcpy(buf + n, front.data() + s->offset, take);
      n += take;
      s->offset += take;
      if (s->offset == front.size()) {
        s->chunks.pop_front();
        s->offset = 0;
      }
    }
    if (s->chunks.empty() && s->eof) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }
};

H2Session::H2Session(ServerCore& core, std::weak_ptr<Connection> connection, std::string remote)
    : core_(core),
      connection_(std::move(connection)),
      remote_(std::move(remote)),
      idle_since_(Clock::now()) {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) {
    broken_ = dead_ = true;
    return;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Callbacks::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, Callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Callbacks::on_stream_close);
  const int rv = nghttp2_session_server_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    session_ = nullptr;
    broken_ = dead_ = true;
    return;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0 ||
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) !=
          0) {
    broken_ = dead_ = true;
  }
}

H2Session::~H2Session() {
  // Only reached with exchanges still open while the io_context itself is torn
  // down: they turn closed, their on_close is dropped (as for HTTP/1.1).
  for (auto& [id, s] : streams_) {
    if (auto ex = s.exchange.lock()) ex->detach();
  }
  streams_.clear();
  if (session_) nghttp2_session_del(session_);
}

H2Session::Stream* H2Session::find(int32_t id) {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

// ---- input ----

void H2Session::receive(const char* data, size_t n) {
  if (broken_) return;
  const ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), n);
  if (rv < 0) {
    // Flooding, a bad header block, ...: no more input. A GOAWAY goes out if
    // nghttp2 has not queued one already, then the connection closes.
    terminate(NGHTTP2_PROTOCOL_ERROR);
  }
  // Requests complete in this input go to the handler now that nghttp2 has
  // returned; one reset in the same input never reaches it (find() fails),
  // nor does any once the connection is failing (no answer could go out).
  std::vector<int32_t> ready;
  ready.swap(ready_);
  if (!broken_ && nghttp2_session_want_read(session_) != 0) {
    for (int32_t id : ready) dispatch(id);
  }
  settle();
}

void H2Session::dispatch(int32_t id) {
  Stream* s = find(id);
  if (!s || s->state != State::kReceiving) return;
  s->state = State::kDispatched;
  Request req = std::move(s->request);
  req.http_version = 20;
  req.remote = remote_;
  auto ex = std::make_shared<Exchange>(core_.gate, connection_, static_cast<uint64_t>(id));
  s->exchange = ex;
  const std::string target = req.target;
  // The handler may answer at once: its steps are posted onto the strand and
  // come back through apply(), never into this call.
  try {
    core_.handler(std::move(req), ex);
  } catch (...) {
    ErrorReply r = core_.error_reply(500, "internal server error", target);
    ex->respond(500, std::move(r.headers), std::move(r.body));
  }
}

void H2Session::reject(int32_t id, Stream& s, int status, const std::string& message) {
  if (s.state != State::kReceiving) return;
  s.state = State::kRejected;
  std::string().swap(s.request.body);
  ErrorReply r = core_.error_reply(status, message, s.request.target);
  respond(id, s, status, r.headers, std::move(r.body));
}

// ---- output ----

void H2Session::apply(uint64_t stream_id, Op op) {
  if (dead_ || stream_id > static_cast<uint64_t>(INT32_MAX)) return;
  const auto id = static_cast<int32_t>(stream_id);
  Stream* s = find(id);
  // A step for a stream that is over (reset, or the connection failed) is dropped.
  if (!s || s->state != State::kDispatched) return;
  switch (op.kind) {
    case Op::Kind::kRespond:
      if (s->reply != Reply::kNone) return;
      respond(id, *s, op.status, op.headers, std::move(op.data));
      return;
    case Op::Kind::kBegin:
      if (s->reply != Reply::kNone) return;
      s->reply = Reply::kStreaming;
      s->drop_writes = s->head_only || !status_has_body(op.status);
      submit_head(id, *s, op.status, op.headers, std::nullopt, /*with_body=*/true);
      return;
    case Op::Kind::kWrite:
      if (s->reply != Reply::kStreaming || s->drop_writes) return;
      s->chunks.push_back(std::move(op.data));
      wake(id, *s);
      return;
    case Op::Kind::kFinish:
      if (s->reply != Reply::kStreaming) return;
      s->eof = true;
      s->reply = Reply::kDone;
      wake(id, *s);
      return;
    case Op::Kind::kDropped:
      if (s->reply == Reply::kStreaming) {
        // A stream its producer abandoned is reset, so that the client cannot
        // take the truncated body for a whole one.
        s->reply = Reply::kDone;
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
      } else if (s->reply == Reply::kNone) {
        ErrorReply r = core_.error_reply(500, "the handler dropped the request", s->request.target);
        respond(id, *s, 500, r.headers, std::move(r.body));
      }
      return;
  }
}

void H2Session::respond(int32_t id, Stream& s, int status, const std::vector<Header>& headers,
                        std::string body) {
  const bool has_body = status_has_body(status);
  const size_t length = body.size();
  const bool send_body = has_body && !s.head_only && !body.empty();
  if (send_body) s.chunks.push_back(std::move(body));
  s.eof = true;
  s.reply = Reply::kDone;
  // No body to send: END_STREAM rides on the HEADERS frame.
  submit_head(id, s, status, headers, has_body ? std::optional<size_t>(length) : std::nullopt,
              send_body);
}

void H2Session::submit_head(int32_t id, Stream& s, int status, const std::vector<Header>& headers,
                            std::optional<size_t> content_length, bool with_body) {
  const std::string status_text = std::to_string(status);
  const std::string length_text = content_length ? std::to_string(*content_length) : "";
  std::vector<std::string> names;  // lower-cased: HTTP/2 field names are
  names.reserve(headers.size());
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size() + 3);
  nva.push_back(make_nv(":status", status_text));
  for (const Header& h : headers) {
    if (!sendable(h) || never_forwarded(h.name)) continue;
    names.push_back(lower(h.name));
    nva.push_back(make_nv(names.back(), trim(h.value)));
  }
  nva.push_back(make_nv("date", http_date_now()));
  if (content_length) nva.push_back(make_nv("content-length", length_text));

  nghttp2_data_provider provider{};
  provider.read_callback = Callbacks::read_body;
  const int rv = nghttp2_submit_response(session_, id, nva.data(), nva.size(),
                                         with_body ? &provider : nullptr);
  if (rv != 0) {
    // Cannot answer on this stream (nghttp2 refused the head): reset it.
    s.reply = Reply::kDone;
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
  }
}

void H2Session::wake(int32_t id, Stream& s) {
  if (!s.deferred) return;  // nghttp2 will ask again by itself
  s.deferred = false;
  nghttp2_session_resume_data(session_, id);
}

std::string H2Session::take_output(size_t max) {
  std::string out;
  while (!dead_ && out.size() < max) {
    for (int32_t id : to_reset_) {
      if (find(id)) nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
    }
    to_reset_.clear();
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      dead_ = true;  // out of memory or a callback failed: nothing sane to send
      break;
    }
    if (n == 0) {
      if (to_reset_.empty()) break;
      continue;
    }
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  settle();
  return out;
}

bool H2Session::done() const {
  return dead_ ||
         (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0);
}

// ---- streams ending ----

void H2Session::stream_closed(int32_t id) {
  const auto it = streams_.find(id);
  if (it == streams_.end()) return;
  // END_STREAM went out: the response is whole. Otherwise the client reset
  // the stream (or nghttp2 did) before it was: on_close is due.
  if (auto ex = it->second.exchange.lock())
    settled_.emplace_back(std::move(ex), it->second.end_sent);
  streams_.erase(it);
  if (streams_.empty()) idle_since_ = Clock::now();
}

void H2Session::settle() {
  std::vector<std::pair<std::shared_ptr<Exchange>, bool>> settled;
  settled.swap(settled_);
  for (auto& [ex, whole] : settled) {
    if (whole) {
      ex->complete();
    } else {
      ex->abort();
    }
  }
}

void H2Session::abort_all() {
  settle();
  std::vector<std::shared_ptr<Exchange>> open;
  for (auto& [id, s] : streams_) {
    if (auto ex = s.exchange.lock()) open.push_back(std::move(ex));
  }
  streams_.clear();
  ready_.clear();
  broken_ = dead_ = true;
  for (const auto& ex : open) ex->abort();
}

// ---- time and stop ----

void H2Session::terminate(uint32_t error_code) {
  if (broken_) return;
  broken_ = true;
  closing_deadline_ = Clock::now() + kGoawayGrace;
  if (nghttp2_session_terminate_session(session_, error_code) != 0) dead_ = true;
}

std::optional<H2Session::Clock::time_point> H2Session::next_deadline() const {
  if (closing_deadline_) return closing_deadline_;
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [id, s] : streams_) {
    if (s.state == State::kReceiving) consider(s.deadline);
  }
  if (streams_.empty()) consider(idle_since_ + core_.options.idle_timeout);
  return next;
}

void H2Session::on_timer(Clock::time_point now) {
  if (dead_) return;
  if (closing_deadline_) {
    if (now >= *closing_deadline_) dead_ = true;  // the GOAWAY did not get out: give up
    return;
  }
  for (auto& [id, s] : streams_) {
    if (s.state == State::kReceiving && s.deadline <= now) reject(id, s, 408, "request timed out");
  }
  if (streams_.empty() && now >= idle_since_ + core_.options.idle_timeout) {
    terminate(NGHTTP2_NO_ERROR);  // idle: GOAWAY (no error), close once it is out
  }
}

void H2Session::begin_stop() {
  if (stopping_ || broken_) return;
  stopping_ = true;
  // Streams up to the last one seen may finish; later ones are refused and a
  // client retries them elsewhere. Once none is open, done() turns true.
  if (nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                            nullptr, 0) != 0) {
    dead_ = true;
  }
}

}  // namespace quarry::http
