// HTTP/2 cleartext with prior knowledge (h2c) on the same port as HTTP/1.1:
// round trips, the limits (413, 431, 408, idle), malformed input, flow
// control, and interop with curl. Streaming and stop: h2_stream_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "h2_client.h"
#include "http/server.h"
#include "test_client.h"

namespace quarry::http {
namespace {

using namespace httptest;
using namespace h2test;

// "METHOD target body" back, with a few headers HTTP/2 must not carry.
void echo(Request&& req, std::shared_ptr<Responder> res) {
  res->respond(200,
               {{"Content-Type", "text/plain"},
                {"X-Mixed-Case", "v"},
                {"X-Padded", " padded\t"},
                {"Connection", "close"},
                {"Keep-Alive", "timeout=5"},
                {"Transfer-Encoding", "chunked"},
                {"Upgrade", "h2c"},
                {"Proxy-Connection", "keep-alive"},
                {"TE", "trailers"}},
               req.method + " " + req.target + " " + req.body);
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 1000) % 26);
  return s;
}

TEST(Http2, GetAndPostRoundTrip) {
  std::mutex mu;
  std::vector<Request> seen;
  TestServer ts({}, [&](Request&& req, std::shared_ptr<Responder> res) {
    {
      std::lock_guard lock(mu);
      seen.push_back(req);
    }
    echo(std::move(req), std::move(res));
  });
  H2Client c(ts.port);
  ASSERT_TRUE(c.connected());
  const int32_t get = c.request("GET", "/v1/models?x=1", {{"x-custom", "a"}, {"x-custom", "b"}});
  ASSERT_GT(get, 0);
  ASSERT_TRUE(c.wait_stream(get));
  const H2Stream& g = c.streams[get];
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.error_code, 0u);
  EXPECT_EQ(g.body, "GET /v1/models?x=1 ");
  EXPECT_EQ(g.header("content-type"), "text/plain");
  EXPECT_EQ(g.header("x-mixed-case"), "v");   // lower-cased on the wire
  EXPECT_EQ(g.header("x-padded"), "padded");  // else nghttp2 clients reset the stream
  EXPECT_EQ(g.header("content-length"), std::to_string(g.body.size()));
  ASSERT_TRUE(g.header("date"));
  EXPECT_TRUE(well_formed_date(*g.header("date"))) << *g.header("date");
  for (const char* name :
       {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"}) {
    EXPECT_FALSE(g.header(name)) << name;
  }

  // The same connection carries the next request: `Connection: close` from
  // the handler means nothing over HTTP/2.
  const int32_t post = c.request("POST", "/v1/chat/completions",
                                 {{"content-type", "application/json"}}, std::string("{\"a\":1}"));
  ASSERT_TRUE(c.wait_stream(post));
  EXPECT_EQ(c.streams[post].status, 200);
  EXPECT_EQ(c.streams[post].body, "POST /v1/chat/completions {\"a\":1}");
  EXPECT_FALSE(c.eof);
  EXPECT_FALSE(c.goaway);
  EXPECT_EQ(ts.server->open_connections(), 1u);

  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  const Request& r = seen[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/v1/models?x=1");
  EXPECT_EQ(r.path(), "/v1/models");
  EXPECT_EQ(r.http_version, 20);
  EXPECT_EQ(r.remote.rfind("127.0.0.1:", 0), 0u) << r.remote;
  // Pseudo-headers included, in the order the client sent them.
  ASSERT_EQ(r.headers.size(), 6u);
  const std::vector<std::pair<std::string, std::string>> want = {
      {":method", "GET"},          {":scheme", "http"}, {":authority", c.authority()},
      {":path", "/v1/models?x=1"}, {"x-custom", "a"},   {"x-custom", "b"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.headers[i].name, want[i].first);
    EXPECT_EQ(r.headers[i].value, want[i].second);
  }
  EXPECT_EQ(r.header(":authority"), c.authority());
  EXPECT_FALSE(r.header("host"));  // nothing synthesized
  EXPECT_EQ(seen[1].body, "{\"a\":1}");
  EXPECT_EQ(seen[1].header("content-type"), "application/json");
}

TEST(Http2, HeadGetsLengthButNoBodyAnd204HasNoBody) {
  TestServer ts({}, [](Request&& req, std::shared_ptr<Responder> res) {
    if (req.path() == "/empty") {
      res->respond(204, {}, "");
    } else {
      res->respond(200, {{"Content-Type", "text/plain"}}, "twelve bytes");
    }
  });
  H2Client c(ts.port);
  const int32_t head = c.request("HEAD", "/x");
  const int32_t empty = c.request("DELETE", "/empty");
  ASSERT_TRUE(c.wait_stream(head));
  ASSERT_TRUE(c.wait_stream(empty));
  EXPECT_EQ(c.streams[head].status, 200);
  EXPECT_EQ(c.streams[head].header("content-length"), "12");
  EXPECT_EQ(c.streams[head].body, "");
  EXPECT_EQ(c.streams[empty].status, 204);
  EXPECT_FALSE(c.streams[empty].header("content-length"));
  EXPECT_TRUE(c.streams[empty].header("date"));
}

// Formats errors as JSON.
ErrorReply json_error(int status, std::string_view message, std::string_view target) {
  return ErrorReply{{{"Content-Type", "application/json"}},
                    "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":\"" +
                        std::string(message) + "\",\"target\":\"" + std::string(target) + "\"}}"};
}

TEST(Http2, BodyTooLargeIs413OnThatStreamOnly) {
  std::atomic<int> calls{0};
  TestServer ts(
      {.max_body_bytes = 1024},
      [&](Request&& req, std::shared_ptr<Responder> res) {
        ++calls;
        echo(std::move(req), std::move(res));
      },
      json_error);
  H2Client c(ts.port);
  // Whole body sent, no content-length: refused as the DATA arrive.
  const int32_t sent = c.request("POST", "/v1/upload", {}, std::string(4096, 'x'));
  // Declared too large: refused before any DATA.
  const int32_t declared =
      c.request("POST", "/v1/declared", {{"content-length", "4096"}}, std::string(4096, 'y'));
  // Still uploading when refused: the stream is reset (NO_ERROR) after the 413.
  const int32_t open = c.request("POST", "/v1/open", {}, std::string(2048, 'z'), /*end=*/false);
  for (int32_t id : {sent, declared, open}) {
    ASSERT_TRUE(c.wait_stream(id)) << id;
    const H2Stream& s = c.streams[id];
    EXPECT_EQ(s.status, 413) << id;
    EXPECT_EQ(s.header("content-type"), "application/json");
    EXPECT_NE(s.body.find("\"code\":413"), std::string::npos) << s.body;
    EXPECT_NE(s.body.find("exceeds 1024 bytes"), std::string::npos) << s.body;
    EXPECT_FALSE(s.header("connection"));
    EXPECT_EQ(s.error_code, 0u);
  }
  EXPECT_NE(c.streams[sent].body.find("\"target\":\"/v1/upload\""), std::string::npos);
  EXPECT_NE(c.streams[open].body.find("\"target\":\"/v1/open\""), std::string::npos);
  EXPECT_EQ(calls.load(), 0);
  // A body at the limit on the same connection is served.
  const int32_t fits = c.request("POST", "/fits", {}, std::string(1024, 'k'));
  ASSERT_TRUE(c.wait_stream(fits));
  EXPECT_EQ(c.streams[fits].status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(Http2, HeaderTooLargeIs431) {
  TestServer ts({.max_header_bytes = 1024}, echo, json_error);
  H2Client c(ts.port);
  const int32_t big = c.request("GET", "/big", {{"x-big", std::string(2000, 'h')}});
  ASSERT_TRUE(c.wait_stream(big));
  EXPECT_EQ(c.streams[big].status, 431);
  EXPECT_NE(c.streams[big].body.find("\"target\":\"/big\""), std::string::npos);
  const int32_t small = c.request("GET", "/small");
  ASSERT_TRUE(c.wait_stream(small));
  EXPECT_EQ(c.streams[small].status, 200);
}

TEST(Http2, StalledRequestGets408AndIdleConnectionCloses) {
  TestServer ts({.request_timeout = 300ms, .idle_timeout = 600ms}, echo, json_error);
  H2Client c(ts.port);
  const auto t0 = std::chrono::steady_clock::now();
  const int32_t slow = c.request("POST", "/slow", {}, std::string("part"), /*end=*/false);
  ASSERT_TRUE(c.wait_stream(slow));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(c.streams[slow].status, 408);
  EXPECT_NE(c.streams[slow].body.find("\"code\":408"), std::string::npos);
  // No stream open now: after idle_timeout the server says GOAWAY and closes.
  EXPECT_TRUE(c.wait_eof(3000ms));
  EXPECT_TRUE(c.goaway);
  EXPECT_EQ(c.goaway_error, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
}

// Walks the frames the server sent to a raw client; true if one is a GOAWAY.
bool has_goaway(std::string_view bytes) {
  while (bytes.size() >= 9) {
    const size_t len = (static_cast<uint8_t>(bytes[0]) << 16) |
                       (static_cast<uint8_t>(bytes[1]) << 8) | static_cast<uint8_t>(bytes[2]);
    if (bytes[3] == 0x7) return true;
    if (bytes.size() < 9 + len) return false;
    bytes.remove_prefix(9 + len);
  }
  return false;
}

TEST(Http2, MalformedInputClosesTheConnectionOnly) {
  TestServer ts({}, echo);
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const std::string empty_settings("\0\0\0\x04\0\0\0\0\0", 9);
  for (const std::string& after : {
           std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),  // not a frame at all
           std::string(64, '\xff'),                           // a huge bogus frame
           // SETTINGS, then a HEADERS frame on stream 0 (a connection error).
           empty_settings + std::string("\0\0\x01\x01\x05\0\0\0\0\x82", 10),
       }) {
    Client raw(ts.port);
    ASSERT_TRUE(raw.send(preface + after));
    EXPECT_TRUE(raw.wait_closed(3000ms));
    // The server's SETTINGS, then a GOAWAY saying why.
    EXPECT_TRUE(has_goaway(raw.buffered()));
  }
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
  // The server is fine: both protocols still work.
  H2Client c(ts.port);
  const int32_t id = c.request("GET", "/fine");
  ASSERT_TRUE(c.wait_stream(id));
  EXPECT_EQ(c.streams[id].status, 200);
  Client h1(ts.port);
  ASSERT_TRUE(h1.send(get("/fine")));
  auto r = h1.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Http2, RandomFramesNeverHurtTheServer) {
  TestServer ts({.io_threads = 2}, echo);
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    // A valid start, then frames with random headers and payloads: mostly
    // protocol errors, sometimes frames nghttp2 accepts or ignores.
    std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + std::string("\0\0\0\x04\0\0\0\0\0", 9);
    for (int frame = 0; frame < 4; ++frame) {
      const size_t len = rng() % 40;
      const char head[9] = {0,
                            0,
                            static_cast<char>(len),
                            static_cast<char>(rng() % 11),
                            static_cast<char>(rng()),
                            0,
                            0,
                            0,
                            static_cast<char>(rng() % 4)};
      bytes.append(head, 9);
      for (size_t i = 0; i < len; ++i) bytes += static_cast<char>(rng());
    }
    Client raw(ts.port);
    ASSERT_TRUE(raw.send(bytes));
    raw.shutdown_write();
    EXPECT_TRUE(raw.wait_closed(3000ms)) << round;
  }
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
  H2Client c(ts.port);
  const int32_t id = c.request("GET", "/fine");
  ASSERT_TRUE(c.wait_stream(id));
  EXPECT_EQ(c.streams[id].status, 200);
}

TEST(Http2, PrefaceAndSettingsKeepTheConnectionOpen) {
  TestServer ts({}, echo);
  Client raw(ts.port);
  ASSERT_TRUE(
      raw.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + std::string("\0\0\0\x04\0\0\0\0\0", 9)));
  // The server's SETTINGS arrive; the connection stays open (idle, no GOAWAY).
  EXPECT_FALSE(raw.wait_closed(300ms));
  const std::string& got = raw.buffered();
  ASSERT_GE(got.size(), 9u);
  EXPECT_EQ(got[3], '\x04');  // SETTINGS first
  EXPECT_FALSE(has_goaway(got));
}

TEST(Http2, LargeUploadAndLargeResponsesUnderFlowControl) {
  const std::string upload = pattern(2 << 20);
  const std::string big = pattern(4 << 20);
  std::mutex mu;
  std::vector<std::thread> producers;
  TestServer ts({.io_threads = 2}, [&](Request&& req, std::shared_ptr<Responder> res) {
    if (req.path() == "/upload") {
      res->respond(200, {{"x-ok", req.body == upload ? "1" : "0"}},
                   std::to_string(req.body.size()));
    } else if (req.path() == "/whole") {
      res->respond(200, {}, big);
    } else {
      // Streamed as fast as the producer can: the queue waits on the
      // client's window, not the producer.
      std::lock_guard lock(mu);
      producers.emplace_back([res, &big] {
        res->begin_stream(200, {});
        for (size_t off = 0; off < big.size(); off += 64 << 10)
          res->write(big.substr(off, 64 << 10));
        res->finish();
      });
    }
  });
  H2Client c(ts.port, 10000ms);  // default 64 KiB window: many WINDOW_UPDATEs
  const int32_t up = c.request("POST", "/upload", {}, upload);
  const int32_t whole = c.request("GET", "/whole");
  const int32_t streamed = c.request("GET", "/streamed");
  for (int32_t id : {up, whole, streamed}) ASSERT_TRUE(c.wait_stream(id)) << id;
  EXPECT_EQ(c.streams[up].status, 200);
  EXPECT_EQ(c.streams[up].body, std::to_string(upload.size()));
  EXPECT_EQ(c.streams[up].header("x-ok"), "1");
  EXPECT_EQ(c.streams[whole].header("content-length"), std::to_string(big.size()));
  EXPECT_TRUE(c.streams[whole].body == big) << c.streams[whole].body.size();
  EXPECT_TRUE(c.streams[streamed].body == big) << c.streams[streamed].body.size();
  EXPECT_EQ(c.streams[streamed].error_code, 0u);
  std::lock_guard lock(mu);
  for (auto& t : producers) t.join();
}

TEST(Http2, Http1AndHttp2OnTheSamePort) {
  TestServer ts({.io_threads = 2}, echo);
  H2Client c2(ts.port);
  Client c1(ts.port);
  const int32_t id = c2.request("POST", "/two", {}, std::string("b2"));
  ASSERT_TRUE(c1.send(post("/one", "b1")));
  auto r1 = c1.read_response();
  ASSERT_TRUE(c2.wait_stream(id));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body, "POST /one b1");
  EXPECT_EQ(r1->header("Connection"), "close");  // HTTP/1.1 still honours it
  EXPECT_EQ(c2.streams[id].body, "POST /two b2");
}

// Interop with a second, independent HTTP/2 implementation (curl's).
TEST(Http2, CurlWithPriorKnowledge) {
  if (std::system("curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  TestServer ts({}, echo);
  const std::string cmd =
      "curl --http2-prior-knowledge -s -i --max-time 5 -d hello http://127.0.0.1:" +
      std::to_string(ts.port) + "/curl 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(p);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  EXPECT_EQ(out.rfind("HTTP/2 200", 0), 0u) << out;
  EXPECT_NE(out.find("\r\ndate: "), std::string::npos) << out;
  EXPECT_EQ(out.find("connection:"), std::string::npos) << out;
  EXPECT_NE(out.find("POST /curl hello"), std::string::npos) << out;
}

}  // namespace
}  // namespace quarry::http
