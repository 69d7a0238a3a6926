// Request/response basics over real sockets: round trips, keep-alive,
// pipelining, connection semantics, 100-continue, the listener.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "http/date.h"
#include "http/server.h"
#include "test_client.h"

namespace quarry::http {
namespace {

using namespace httptest;

TEST(HttpDate, FormatsImfFixdate) {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  EXPECT_EQ(http_date(system_clock::time_point(seconds(1754395200))),
            "Tue, 05 Aug 2025 12:00:00 GMT");
  EXPECT_EQ(http_date(system_clock::time_point(seconds(0))), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(system_clock::time_point(seconds(1709251199))),
            "Thu, 29 Feb 2024 23:59:59 GMT");
  EXPECT_TRUE(well_formed_date(http_date_now()));
  EXPECT_FALSE(well_formed_date("Tue, 5 Aug 2025 12:00:00 GMT"));
  EXPECT_FALSE(well_formed_date("Tue, 05 Aug 2025 12:00:00 UTC"));
}

TEST(HttpRequest, Helpers) {
  Request r;
  r.target = "/v1/models/a%20b?x=1&y=2";
  r.headers = {{"Content-Type", "application/json"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.path(), "/v1/models/a%20b");
  EXPECT_EQ(r.query(), "x=1&y=2");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("X-a"), "1");  // the first of that name
  EXPECT_EQ(r.header("Accept"), std::nullopt);
  r.target = "/plain";
  EXPECT_EQ(r.path(), "/plain");
  EXPECT_EQ(r.query(), "");
}

// Echoes method, target, a header and the body back.
void echo(Request&& req, std::shared_ptr<Responder> res) {
  std::string body = req.method + " " + std::string(req.path()) + " " + std::string(req.query()) +
                     " " + std::string(req.header("x-token").value_or("-")) + " " + req.body;
  res->respond(200,
               {{"Content-Type", "text/plain"}, {"X-Version", std::to_string(req.http_version)}},
               std::move(body));
}

TEST(HttpServer, PostRoundTripWithHeadersAndDate) {
  std::promise<Request> seen;
  TestServer ts({}, [&](Request&& req, std::shared_ptr<Responder> res) {
    Request copy = req;
    seen.set_value(std::move(copy));
    res->respond(201, {{"Content-Type", "application/json"}, {"X-Echo", "yes"}},
                 "{\"got\":" + std::to_string(req.body.size()) + "}");
  });
  ASSERT_EQ(ts.error, "");
  Client c(ts.port);
  ASSERT_TRUE(c.send(post("/v1/chat?stream=false", "hello body", "X-Token: abc\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "{\"got\":10}");
  EXPECT_EQ(r->header("content-length"), "10");
  EXPECT_EQ(r->header("X-Echo"), "yes");
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  ASSERT_TRUE(r->header("Date"));
  EXPECT_TRUE(well_formed_date(*r->header("Date"))) << *r->header("Date");

  Request req = seen.get_future().get();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/chat?stream=false");
  EXPECT_EQ(req.path(), "/v1/chat");
  EXPECT_EQ(req.query(), "stream=false");
  EXPECT_EQ(req.header("X-TOKEN"), "abc");
  EXPECT_EQ(req.body, "hello body");
  EXPECT_EQ(req.http_version, 11);
  EXPECT_EQ(req.remote.rfind("127.0.0.1:", 0), 0u) << req.remote;
}

TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  TestServer ts({}, echo);
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/a")));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body, "GET /a  - ");
  EXPECT_FALSE(r1->header("Connection"));
  EXPECT_EQ(ts.server->open_connections(), 1u);
  ASSERT_TRUE(c.send(post("/b", "xyz")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "POST /b  - xyz");
  EXPECT_EQ(ts.server->open_connections(), 1u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  // The first answer is the slowest: order must still hold.
  std::vector<std::thread> producers;
  std::mutex mu;
  TestServer ts({.io_threads = 2}, [&](Request&& req, std::shared_ptr<Responder> res) {
    const int delay = req.path() == "/1" ? 100 : 0;
    std::lock_guard lock(mu);
    producers.emplace_back([delay, res, path = std::string(req.path())] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      res->respond(200, {}, "answer " + path);
    });
  });
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/1") + post("/2", "two") + get("/3")));
  for (const char* want : {"answer /1", "answer /2", "answer /3"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << want << " buffered: [" << c.buffered() << "]";
    EXPECT_EQ(r->body, want);
  }
  std::lock_guard lock(mu);
  for (auto& t : producers) t.join();
}

TEST(HttpServer, BlankLinesBetweenRequestsAreIgnored) {
  TestServer ts({}, echo);
  Client c(ts.port);
  // Some clients follow a POST body with CRLF (RFC 9112 §2.2).
  ASSERT_TRUE(c.send(post("/a", "x") + "\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "POST /a  - x");
  ASSERT_TRUE(c.send("\r\n" + get("/b")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /b  - ");
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  TestServer ts({}, echo);
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/x", "Connection: close\r\n") + get("/never")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.wait_closed(3000ms));
  EXPECT_EQ(c.buffered(), "");  // the pipelined second request was not served
}

TEST(HttpServer, HandlerConnectionCloseClosesAfterResponse) {
  TestServer ts({}, [](Request&&, std::shared_ptr<Responder> res) {
    res->respond(200, {{"Connection", "close"}}, "bye");
  });
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST(HttpServer, Http10ClosesUnlessKeepAlive) {
  TestServer ts({}, echo);
  {
    Client c(ts.port);
    ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /old  - ");
    EXPECT_EQ(r->header("X-Version"), "10");
    EXPECT_TRUE(c.wait_closed(3000ms));
  }
  {
    Client c(ts.port);
    ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /b HTTP/1.0\r\n\r\n"));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /b  - ");
    EXPECT_TRUE(c.wait_closed(3000ms));
  }
}

TEST(HttpServer, Http10StreamEndsWithTheConnection) {
  TestServer ts({}, [](Request&&, std::shared_ptr<Responder> res) {
    res->begin_stream(200, {{"Content-Type", "text/event-stream"}});
    res->write("a");
    res->write("b");
    res->finish();
  });
  Client c(ts.port);
  ASSERT_TRUE(c.send("GET /s HTTP/1.0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->chunked);
  EXPECT_EQ(r->body, "ab");
}

TEST(HttpServer, HeadGetsLengthButNoBody) {
  TestServer ts({}, echo);
  Client c(ts.port);
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Content-Length"), "11");  // as for "HEAD /h  - ", not sent
  ASSERT_TRUE(c.send(get("/next")));             // nothing stray left on the wire
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /next  - ");
}

TEST(HttpServer, ChunkedRequestBody) {
  TestServer ts({}, echo);
  Client c(ts.port);
  ASSERT_TRUE(
      c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "POST /c  - abcde");
}

TEST(HttpServer, ExpectContinue) {
  TestServer ts({}, [](Request&& req, std::shared_ptr<Responder> res) {
    res->respond(200, {}, std::to_string(req.body.size()));
  });
  Client c(ts.port);
  const std::string body(2000, 'x');
  ASSERT_TRUE(c.send(
      "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read_head();  // the client waits for this before sending the body
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send(body));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "2000");
}

TEST(HttpServer, DroppedResponderAnswers500) {
  TestServer ts({}, [](Request&&, std::shared_ptr<Responder>) {});
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/lost")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(c.send(get("/again")));  // the connection is still usable
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(HttpServer, ThrowingHandlerAnswers500) {
  TestServer ts({}, [](Request&&, std::shared_ptr<Responder>) { throw std::runtime_error("x"); });
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/boom")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(HttpServer, PortInUseGivesClearError) {
  TestServer first({}, echo);
  ASSERT_EQ(first.error, "");
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = first.port;
  Server second(o, echo);
  auto r = second.start();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "127.0.0.1:" + std::to_string(first.port) + ": address already in use");
  second.stop(0ms);  // harmless on a server that never started
}

TEST(HttpServer, StartTwiceAndStopTwice) {
  TestServer ts({}, echo);
  EXPECT_FALSE(ts.server->start().ok());
  ts.server->stop(100ms);
  ts.server->stop(100ms);
  Client c(ts.port);
  EXPECT_FALSE(c.connected() && c.send(get("/")) && c.read_response());
}

TEST(HttpServer, MaxConnectionsClosesTheExtraOnes) {
  TestServer ts({.max_connections = 2}, echo);
  Client a(ts.port), b(ts.port);
  for (Client* c : {&a, &b}) {  // both accepted and registered
    ASSERT_TRUE(c->send(get("/")));
    ASSERT_TRUE(c->read_response());
  }
  Client extra(ts.port);
  EXPECT_TRUE(extra.wait_closed(3000ms));
  EXPECT_EQ(ts.server->open_connections(), 2u);
  a.close();
  // Once a slot frees up, new connections are served again.
  for (int i = 0; i < 100 && ts.server->open_connections() > 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/again")));
  EXPECT_TRUE(c.read_response());
}

TEST(HttpServer, PrefixOfPrefaceIsStillHttp1) {
  TestServer ts({}, echo);
  Client c(ts.port);
  // "PRI" as an HTTP/1.1 method: unusual but valid syntax, served as HTTP/1.
  ASSERT_TRUE(c.send("PRI /x HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "PRI /x  - ");
}

}  // namespace
}  // namespace quarry::http
