// The limits the server enforces itself: sizes (413, 431), malformed input
// (400), slow requests (408), idle keep-alive connections.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "http/server.h"
#include "test_client.h"

namespace quarry::http {
namespace {

using namespace httptest;

void ok(Request&&, std::shared_ptr<Responder> res) { res->respond(200, {}, "ok"); }

// Formats errors as JSON and records what it was asked.
struct JsonErrors {
  std::shared_ptr<std::vector<std::string>> calls = std::make_shared<std::vector<std::string>>();
  ErrorFormatter formatter() {
    auto log = calls;
    return [log](int status, std::string_view message, std::string_view target) {
      log->push_back(std::to_string(status) + " " + std::string(target));
      return ErrorReply{{{"Content-Type", "application/json"}},
                        "{\"error\":{\"code\":" + std::to_string(status) + ",\"message\":\"" +
                            std::string(message) + "\",\"target\":\"" + std::string(target) +
                            "\"}}"};
    };
  }
};

TEST(HttpLimits, BodyTooLargeIs413ThroughTheFormatter) {
  JsonErrors errors;
  TestServer ts({.max_body_bytes = 1024}, ok, errors.formatter());
  Client c(ts.port);
  ASSERT_TRUE(c.send(post("/v1/upload", std::string(4096, 'x'))));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_NE(r->body.find("\"code\":413"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"target\":\"/v1/upload\""), std::string::npos) << r->body;
  EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST(HttpLimits, ChunkedBodyTooLargeIs413) {
  TestServer ts({.max_body_bytes = 8}, ok);  // no formatter: plain text
  Client c(ts.port);
  ASSERT_TRUE(
      c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_NE(r->body.find("exceeds 8 bytes"), std::string::npos) << r->body;
  EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST(HttpLimits, BodyAtTheLimitIsAccepted) {
  TestServer ts({.max_body_bytes = 1024}, [](Request&& req, std::shared_ptr<Responder> res) {
    res->respond(200, {}, std::to_string(req.body.size()));
  });
  Client c(ts.port);
  ASSERT_TRUE(c.send(post("/", std::string(1024, 'x'))));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "1024");
}

TEST(HttpLimits, HeaderTooLargeIs431) {
  JsonErrors errors;
  TestServer ts({.max_header_bytes = 1024}, ok, errors.formatter());
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/big", "X-Big: " + std::string(4096, 'h') + "\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_NE(r->body.find("\"target\":\"/big\""), std::string::npos) << r->body;
  EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST(HttpLimits, GarbageIs400) {
  JsonErrors errors;
  TestServer ts({}, ok, errors.formatter());
  for (std::string garbage :
       {std::string("HELLO\r\n\r\n"), std::string("GET / HTTP/1.1\r\nno colon\r\n\r\n"),
        std::string("\x01\x02\x03 junk\r\n\r\n")}) {
    Client c(ts.port);
    ASSERT_TRUE(c.send(garbage));
    auto r = c.read_response();
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("\"code\":400"), std::string::npos);
    EXPECT_TRUE(c.wait_closed(3000ms));
  }
  EXPECT_EQ(errors.calls->size(), 3u);
  // The server still serves well-formed requests.
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/")));
  EXPECT_TRUE(c.read_response());
}

TEST(HttpLimits, StalledRequestGets408) {
  JsonErrors errors;
  TestServer ts({.request_timeout = 300ms}, ok, errors.formatter());
  Client c(ts.port);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /slow HTTP/1.1\r\nHost: t\r\n"));  // ... and nothing more
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_NE(r->body.find("\"target\":\"/slow\""), std::string::npos) << r->body;
  EXPECT_TRUE(c.wait_closed(3000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(HttpLimits, TricklingRequestGets408FromItsFirstByte) {
  // One byte every 50 ms keeps every single read fast, but the request as a
  // whole is late.
  TestServer ts({.request_timeout = 300ms}, ok);
  Client c(ts.port);
  std::atomic<bool> stop{false};
  std::thread trickler([&] {
    const std::string req = get("/trickle", "X-Pad: " + std::string(200, 'p') + "\r\n");
    for (char ch : req) {
      if (stop || !c.send(std::string_view(&ch, 1))) return;
      std::this_thread::sleep_for(50ms);
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.read_response();
  stop = true;
  trickler.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(HttpLimits, IdleKeepAliveConnectionCloses) {
  TestServer ts({.idle_timeout = 200ms}, ok);
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.wait_closed(3000ms));
  for (int i = 0; i < 100 && ts.server->open_connections() > 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ts.server->open_connections(), 0u);
}

TEST(HttpLimits, RequestTimeoutDoesNotCutAStream) {
  // The stream takes longer than both request_timeout and idle_timeout.
  std::vector<std::thread> producers;
  std::mutex mu;
  TestServer ts({.request_timeout = 150ms, .idle_timeout = 150ms},
                [&](Request&&, std::shared_ptr<Responder> res) {
                  std::lock_guard lock(mu);
                  producers.emplace_back([res] {
                    res->begin_stream(200, {});
                    for (int i = 0; i < 6; ++i) {
                      std::this_thread::sleep_for(100ms);
                      res->write("tick" + std::to_string(i) + ";");
                    }
                    res->finish();
                  });
                });
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/long")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "tick0;tick1;tick2;tick3;tick4;tick5;");
  std::lock_guard lock(mu);
  for (auto& t : producers) t.join();
}

}  // namespace
}  // namespace quarry::http
