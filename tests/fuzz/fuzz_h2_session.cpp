// Fuzzes the HTTP/2 server session (src/http/h2_session.h) directly: it does
// no I/O (bytes in through receive(), bytes out through take_output()), so no
// socket is needed. The input is what a client sends after the 24-byte
// connection preface, which is prepended. It is fed to the session one frame
// at a time (by the frames' own length fields; a trailing partial frame last),
// and after each the session's output is taken and checked.
//
// Responses: the session hands each complete request to the handler with an
// Exchange whose steps would travel through the Connection; here nothing owns
// the session but this harness, so it applies the steps itself, with
// H2Session::apply(stream id, Op), as the connection would. The stream ids
// come from the input's HEADERS frames; a stream's script (chosen by its id:
// whole response, no-body status, a stream written across several frames of
// input, a body larger than the default flow-control window, a Responder
// dropped before or while streaming) starts once a step was accepted, which
// shows as a HEADERS frame for that stream in the output. Response headers
// include ones the session must drop or clean up (connection-specific,
// upper case, surrounding whitespace, CR/LF/NUL) next to the request's own.
// Limits: the default ServerOptions, except a 1 KiB body limit so that 413 is
// reachable from a short input (431 is, through HPACK).
//
// Checks: no crash or leak; requests reaching the handler are HTTP/2 and
// carry their pseudo-headers; the output is a sequence of whole frames that
// starts with SETTINGS; every header block decodes (HPACK, in order) to a
// :status first and no field HTTP/2 forbids, no upper case, no value with
// CR/LF/NUL or surrounding whitespace; a response with content-length that
// ends with a DATA frame carries exactly that many bytes; then the request
// timeout, a graceful stop and the idle timeout run, and after abort_all()
// the session is done.
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "http/core.h"
#include "http/exchange.h"
#include "http/h2_session.h"
#include "http/server.h"

namespace {

using namespace quarry::http;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kBatch = 128 << 10;  // as Connection takes output

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_h2_session: %s\n", what);
  std::abort();
}

// QUARRY_FUZZ_VERBOSE=1: print the frames sent and what became of each stream.
bool verbose() {
  static const bool v = std::getenv("QUARRY_FUZZ_VERBOSE") != nullptr;
  return v;
}

uint32_t be24(const uint8_t* p) { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }
uint32_t be31(const uint8_t* p) {
  return ((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]) &
         0x7fffffffu;
}

// ---- what the server sends ----

struct OutStream {
  std::optional<uint64_t> content_length;
  uint64_t data_bytes = 0;
  bool ended = false;
  int heads = 0;  // header blocks seen (a response head, maybe trailers)
};

class OutputChecker {
 public:
  OutputChecker() {
    if (nghttp2_hd_inflate_new(&inflater_) != 0) fail("inflater");
  }
  ~OutputChecker() { nghttp2_hd_inflate_del(inflater_); }
  OutputChecker(const OutputChecker&) = delete;
  OutputChecker& operator=(const OutputChecker&) = delete;

  void add(const std::string& bytes) {
    buf_ += bytes;
    while (buf_.size() - pos_ >= 9) {
      const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
      const size_t len = be24(h);
      if (buf_.size() - pos_ - 9 < len) break;
      frame(h[3], h[4], be31(h + 5), std::string_view(buf_).substr(pos_ + 9, len));
      pos_ += 9 + len;
    }
  }
  // Whatever take_output() returned must have been whole frames.
  void finish() const {
    if (pos_ != buf_.size()) fail("output ends inside a frame");
  }
  bool started(int32_t id) const { return streams_.count(id) != 0; }

 private:
  void frame(uint8_t type, uint8_t flags, uint32_t id, std::string_view payload) {
    if (verbose()) {
      std::fprintf(stderr, "<- type %u flags %02x stream %u length %zu", type, flags, id,
                   payload.size());
      const size_t at = type == NGHTTP2_GOAWAY ? 4 : 0;  // the error code
      if ((type == NGHTTP2_GOAWAY || type == NGHTTP2_RST_STREAM) && payload.size() >= at + 4) {
        const auto* p = reinterpret_cast<const uint8_t*>(payload.data()) + at;
        std::fprintf(
            stderr, " error %u",
            (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3]);
      }
      std::fprintf(stderr, "\n");
    }
    if (frames_++ == 0 && type != NGHTTP2_SETTINGS) fail("first frame is not SETTINGS");
    if (block_id_ != 0 && type != NGHTTP2_CONTINUATION) fail("header block interrupted");
    switch (type) {
      case NGHTTP2_HEADERS: {
        if (id == 0 || id % 2 == 0) fail("HEADERS on a stream the client could not open");
        size_t skip = 0, pad = 0;
        if (flags & NGHTTP2_FLAG_PADDED) {
          if (payload.empty()) fail("padded HEADERS without pad length");
          pad = static_cast<uint8_t>(payload[0]);
          skip = 1;
        }
        if (flags & NGHTTP2_FLAG_PRIORITY) skip += 5;
        if (skip + pad > payload.size()) fail("HEADERS padding");
        block_ = std::string(payload.substr(skip, payload.size() - skip - pad));
        block_id_ = id;
        block_end_stream_ = flags & NGHTTP2_FLAG_END_STREAM;
        if (flags & NGHTTP2_FLAG_END_HEADERS) end_block();
        break;
      }
      case NGHTTP2_CONTINUATION:
        if (block_id_ == 0 || id != block_id_) fail("stray CONTINUATION");
        block_ += payload;
        if (flags & NGHTTP2_FLAG_END_HEADERS) end_block();
        break;
      case NGHTTP2_DATA: {
        auto it = streams_.find(id);
        if (it == streams_.end()) fail("DATA before HEADERS");
        OutStream& s = it->second;
        if (s.ended) fail("DATA after END_STREAM");
        size_t pad = 0;
        if (flags & NGHTTP2_FLAG_PADDED)
          pad = payload.empty() ? 0 : 1 + static_cast<uint8_t>(payload[0]);
        if (pad > payload.size()) fail("DATA padding");
        s.data_bytes += payload.size() - pad;
        if (flags & NGHTTP2_FLAG_END_STREAM) {
          s.ended = true;
          // HEAD: content-length without the body.
          if (s.content_length && s.data_bytes != *s.content_length && s.data_bytes != 0) {
            fail("DATA length differs from content-length");
          }
        }
        break;
      }
      case NGHTTP2_PUSH_PROMISE:
        fail("PUSH_PROMISE");
      default:
        break;
    }
  }

  void end_block() {
    std::vector<std::pair<std::string, std::string>> fields;
    const auto* in = reinterpret_cast<const uint8_t*>(block_.data());
    size_t left = block_.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      const ssize_t rv = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
      if (rv < 0) fail("HPACK block does not decode");
      in += rv;
      left -= static_cast<size_t>(rv);
      if (flags & NGHTTP2_HD_INFLATE_EMIT) {
        fields.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                            std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
      }
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(inflater_);
        break;
      }
      if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) fail("HPACK block incomplete");
    }
    OutStream& s = streams_[block_id_];
    const bool response_head = s.heads++ == 0;
    if (response_head) {
      if (fields.empty() || fields[0].first != ":status" || fields[0].second.size() != 3) {
        fail("response head does not start with :status");
      }
    }
    for (const auto& [name, value] : fields) {
      if (name.empty()) fail("empty field name");
      if (name[0] == ':' && (name != ":status" || &name != &fields[0].first)) {
        fail("pseudo-header other than a leading :status");
      }
      for (char c : name) {
        if (c >= 'A' && c <= 'Z') fail("upper case in a field name");
      }
      for (std::string_view bad :
           {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"}) {
        if (name == bad) fail("connection-specific field");
      }
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
          name.find_first_of(std::string_view(" \t\r\n\0", 5)) != std::string::npos) {
        fail("CR, LF, NUL or whitespace where it may not be");
      }
      if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                             value.back() == '\t')) {
        fail("field value with surrounding whitespace");
      }
      if (name == "content-length" && response_head) {
        uint64_t n = 0;
        for (char c : value) {
          if (c < '0' || c > '9') fail("content-length not a number");
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        s.content_length = n;
      }
    }
    if (block_end_stream_) s.ended = true;
    block_id_ = 0;
    block_.clear();
  }

  nghttp2_hd_inflater* inflater_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  size_t frames_ = 0;
  std::string block_;  // header block being assembled (HEADERS + CONTINUATION)
  uint32_t block_id_ = 0;
  bool block_end_stream_ = false;
  std::map<uint32_t, OutStream> streams_;
};

// ---- responses ----

struct Script {
  std::vector<Op> ops;
  size_t next = 0;       // the next op to apply
  bool started = false;  // ops[0] was accepted (a HEADERS frame went out)
  bool early = false;    // until then, also send a write and a finish first
};

std::vector<Header> response_headers(const std::vector<Request>& requests, int32_t id) {
  std::vector<Header> h = {
      {"Content-Type", "text/plain"},
      {"X-Upper-Case", "kept, in lower case"},
      {"x-padded", " \tpadded value \t"},
      {"Connection", "close"},
      {"Transfer-Encoding", "chunked"},
      {"Keep-Alive", "timeout=5"},
      {"Date", "not the server's"},
      {"Content-Length", "12345"},
      {"bad name", "space in the name"},
      {"x-crlf", "a\r\nInjected: yes"},
      {std::string("x-nul\0name", 10), "v"},
      {"x-nul-value", std::string("a\0b", 3)},
      {"", "empty name"},
  };
  if (!requests.empty()) {
    // The fields of some request, as the session decoded them.
    for (const Header& r : requests[static_cast<size_t>(id / 2) % requests.size()].headers) {
      h.push_back({"x-echo-" + r.name, r.value});
    }
  }
  return h;
}

Script make_script(int32_t id, const std::vector<Request>& requests) {
  auto op = [](Op::Kind kind, int status = 0, std::vector<Header> headers = {},
               std::string data = {}) {
    return Op{kind, status, std::move(headers), std::move(data)};
  };
  const auto headers = response_headers(requests, id);
  Script s;
  switch ((id / 2) % 7) {
    case 0:
      s.ops = {op(Op::Kind::kRespond, 200, headers, "hello\n")};
      break;
    case 1:
      s.ops = {op(Op::Kind::kRespond, 204, headers, "no body for 204")};
      break;
    case 2:
      s.ops = {op(Op::Kind::kBegin, 200, headers), op(Op::Kind::kWrite, 0, {}, "one "),
               op(Op::Kind::kWrite, 0, {}, std::string(20000, 't')),
               op(Op::Kind::kWrite, 0, {}, "three\n"), op(Op::Kind::kFinish)};
      break;
    case 3:  // over the 64 KiB default stream window: waits for WINDOW_UPDATE
      s.ops = {op(Op::Kind::kRespond, 200, headers, std::string(70000, 'b'))};
      break;
    case 4:
      s.ops = {op(Op::Kind::kDropped)};
      break;
    case 5:
      s.ops = {op(Op::Kind::kBegin, 200, headers), op(Op::Kind::kWrite, 0, {}, "partial"),
               op(Op::Kind::kDropped)};
      break;
    default:  // steps that arrive out of order are ignored (see `early`)
      s.early = true;
      s.ops = {op(Op::Kind::kBegin, 304, headers),
               op(Op::Kind::kWrite, 0, {}, "dropped: 304"),
               op(Op::Kind::kFinish),
               op(Op::Kind::kRespond, 200, headers, "too late"),
               op(Op::Kind::kWrite, 0, {}, "after the end"),
               op(Op::Kind::kBegin, 200, headers)};
      break;
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<Request> requests;
  std::vector<std::shared_ptr<Responder>> responders;
  size_t closes = 0;
  Handler handler = [&](Request&& req, std::shared_ptr<Responder> res) {
    if (req.http_version != 20) fail("not HTTP/2");
    bool method = false;
    for (const Header& h : req.headers) method = method || h.name == ":method";
    if (!method || req.method.empty()) fail("request without :method");
    if (req.method == "THROW") throw std::runtime_error("handler failure");
    res->on_close([&closes] { ++closes; });
    requests.push_back(std::move(req));
    responders.push_back(std::move(res));
  };
  ServerOptions options;
  options.max_body_bytes = 1024;
  ServerCore core(options, handler, nullptr);
  OutputChecker out;
  std::map<int32_t, Script> scripts;
  {
    H2Session session(core, std::weak_ptr<Connection>(), "fuzz");

    // One round: apply each stream's next step, then take all output.
    auto round = [&] {
      for (auto& [id, s] : scripts) {
        if (s.next >= s.ops.size()) continue;
        if (s.early && !s.started) {
          session.apply(static_cast<uint64_t>(id), Op{Op::Kind::kWrite, 0, {}, "early"});
          session.apply(static_cast<uint64_t>(id), Op{Op::Kind::kFinish, 0, {}, {}});
        }
        session.apply(static_cast<uint64_t>(id), s.ops[s.started ? s.next : 0]);
        if (s.started) ++s.next;
      }
      for (int i = 0; i < 64; ++i) {
        const std::string bytes = session.take_output(kBatch);
        if (bytes.empty()) break;
        out.add(bytes);
      }
      for (auto& [id, s] : scripts) {
        if (!s.started && out.started(id)) {
          s.started = true;
          s.next = 1;
        }
      }
      (void)session.next_deadline();
      (void)session.done();
    };

    session.receive(kPreface.data(), kPreface.size());
    round();
    size_t pos = 0;
    while (pos < size) {
      size_t n = size - pos;
      if (n >= 9) {
        const uint8_t* h = data + pos;
        n = std::min<size_t>(n, 9 + be24(h));
        const uint32_t id = be31(h + 5);
        if (h[3] == NGHTTP2_HEADERS && id != 0 && !scripts.count(static_cast<int32_t>(id))) {
          scripts.emplace(static_cast<int32_t>(id),
                          make_script(static_cast<int32_t>(id), requests));
        }
      }
      session.receive(reinterpret_cast<const char*>(data + pos), n);
      pos += n;
      round();
    }
    for (int i = 0; i < 6; ++i) round();  // let the scripts finish

    // Time passes: requests still arriving get 408; a graceful stop (odd
    // sizes); then idle long enough for the session to end itself.
    const auto now = std::chrono::steady_clock::now();
    session.on_timer(now + options.request_timeout + std::chrono::seconds(1));
    round();
    if (size % 2 == 1) {
      session.begin_stop();
      round();
    }
    session.on_timer(now + options.request_timeout + options.idle_timeout +
                     std::chrono::seconds(2));
    round();
    session.abort_all();
    if (!session.done()) fail("not done after abort_all");
    if (!session.take_output(kBatch).empty()) fail("output after abort_all");
  }
  out.finish();
  if (verbose()) {
    std::fprintf(stderr, "-- %zu requests, %zu on_close, streams answered:", requests.size(),
                 closes);
    for (const auto& [id, s] : scripts)
      std::fprintf(stderr, " %d:%zu/%zu", id, s.next, s.ops.size());
    std::fprintf(stderr, "\n");
  }
  return 0;
}
