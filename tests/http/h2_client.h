// A blocking HTTP/2 test client: nghttp2's client session over a POSIX
// socket, driven by hand (run_until), so a test decides exactly when frames
// go out and reads what came back stream by stream. Every wait has a timeout,
// so a server bug fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace quarry::http::h2test {

using namespace std::chrono_literals;
using Fields = std::vector<std::pair<std::string, std::string>>;

// Polls `done` until it holds; false after `within`.
template <class F>
bool eventually(F done, std::chrono::milliseconds within = 3000ms) {
  const auto end = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

struct H2Stream {
  int status = 0;
  Fields headers;  // response headers, as received (pseudo-headers excluded)
  std::string body;
  std::vector<std::string> chunks;  // DATA payloads, one per frame, in arrival order
  bool closed = false;
  uint32_t error_code = 0;  // of the close: 0 unless reset

  // Outgoing request body not yet handed to nghttp2.
  std::string upload;
  size_t upload_offset = 0;
  bool upload_eof = true;
  bool deferred = false;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

class H2Client {
 public:
  // `window`: the client's stream window (SETTINGS_INITIAL_WINDOW_SIZE); 0
  // keeps the protocol default of 64 KiB, which makes large responses wait on
  // flow control.
  explicit H2Client(uint16_t port, std::chrono::milliseconds timeout = 5000ms, uint32_t window = 0)
      : timeout_(timeout), port_(port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_client_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    std::vector<nghttp2_settings_entry> settings = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    if (window) settings.push_back({NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window});
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    flush();  // the preface and SETTINGS go out at once
  }
  ~H2Client() {
    if (session_) nghttp2_session_del(session_);
    close();
  }
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }

  // Submits a request and sends its HEADERS; the stream id, or < 0. With a
  // body and `end` false the request stays open for send_body().
  int32_t request(const std::string& method, const std::string& path, const Fields& extra = {},
                  std::optional<std::string> body = std::nullopt, bool end = true) {
    const std::string authority_value = authority();
    Fields fields = {
        {":method", method}, {":scheme", "http"}, {":authority", authority_value}, {":path", path}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (const auto& [k, v] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(k.data())),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), k.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    provider.read_callback = read_upload;
    const bool has_body = body.has_value() || !end;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                              has_body ? &provider : nullptr, nullptr);
    if (id < 0) return id;
    H2Stream& s = streams[id];
    s.upload = body.value_or("");
    s.upload_eof = end;
    flush();
    return id;
  }

  // More of a request body opened with end = false.
  void send_body(int32_t id, std::string_view data, bool end) {
    H2Stream& s = streams[id];
    s.upload.append(data);
    s.upload_eof = end;
    if (s.deferred) {
      s.deferred = false;
      nghttp2_session_resume_data(session_, id);
    }
    flush();
  }

  void reset(int32_t id, uint32_t code = NGHTTP2_CANCEL) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
    flush();
  }

  // Reads and answers frames until `done()` holds; false if it does not
  // within `within` (default: the client's timeout) or the connection ends first.
  bool run_until(const std::function<bool()>& done,
                 std::optional<std::chrono::milliseconds> within = std::nullopt) {
    const auto end = std::chrono::steady_clock::now() + within.value_or(timeout_);
    for (;;) {
      if (done()) return true;
      if (!flush() || eof || protocol_error) return done();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof = true;
        continue;
      }
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf),
                                   static_cast<size_t>(n)) < 0) {
        protocol_error = true;
      }
    }
  }

  // Until stream `id` is closed (response complete or reset).
  bool wait_stream(int32_t id, std::optional<std::chrono::milliseconds> within = std::nullopt) {
    return run_until([this, id] { return streams[id].closed; }, within);
  }
  // Until the server closes the connection.
  bool wait_eof(std::chrono::milliseconds within) {
    return run_until([this] { return eof; }, within);
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::map<int32_t, H2Stream> streams;
  std::vector<int32_t> data_order;  // the stream of each DATA frame, in arrival order
  bool goaway = false;
  uint32_t goaway_error = 0;
  bool eof = false;             // the server closed the connection
  bool protocol_error = false;  // nghttp2 refused what the server sent

 private:
  // Sends all that nghttp2 has queued; false once the socket is gone.
  bool flush() {
    if (fd_ < 0) return false;
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      size_t sent = 0;
      while (sent < static_cast<size_t>(n)) {
        const ssize_t w = ::send(fd_, data + sent, static_cast<size_t>(n) - sent, MSG_NOSIGNAL);
        if (w <= 0) return false;
        sent += static_cast<size_t>(w);
      }
    }
  }

  static H2Client& self(void* p) { return *static_cast<H2Client*>(p); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* p) {
    H2Stream& s = self(p).streams[frame->hd.stream_id];
    const std::string n(reinterpret_cast<const char*>(name), namelen);
    const std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      s.status = std::stoi(v);
    } else {
      s.headers.emplace_back(n, v);
    }
    return 0;
  }

  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                     void* p) {
    H2Client& c = self(p);
    H2Stream& s = c.streams[id];
    s.body.append(reinterpret_cast<const char*>(data), len);
    s.chunks.emplace_back(reinterpret_cast<const char*>(data), len);
    c.data_order.push_back(id);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t error_code, void* p) {
    H2Stream& s = self(p).streams[id];
    s.closed = true;
    s.error_code = error_code;
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* p) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self(p).goaway = true;
      self(p).goaway_error = frame->goaway.error_code;
    }
    return 0;
  }

  static ssize_t read_upload(nghttp2_session*, int32_t id, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* p) {
    H2Stream& s = self(p).streams[id];
    const size_t n = std::min(length, s.upload.size() - s.upload_offset);
    std::memcpy(buf, s.upload.data() + s.upload_offset, n);
    s.upload_offset += n;
    if (s.upload_offset == s.upload.size()) {
      if (s.upload_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
      } else if (n == 0) {
        s.deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  uint16_t port_;
  nghttp2_session* session_ = nullptr;
};

}  // namespace quarry::http::h2test
