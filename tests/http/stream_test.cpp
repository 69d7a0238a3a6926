// Streamed responses: incremental delivery, client hang-ups, responders that
// outlive the server, graceful stop, many streams at once.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "test_client.h"

namespace quarry::http {
namespace {

using namespace httptest;

// Hands each request's Responder to the test.
struct Inbox {
  std::mutex mu;
  std::vector<std::promise<std::shared_ptr<Responder>>> slots{8};
  size_t next = 0;
  Handler handler() {
    return [this](Request&&, std::shared_ptr<Responder> res) {
      std::lock_guard lock(mu);
      slots.at(next++).set_value(std::move(res));
    };
  }
  std::shared_ptr<Responder> take(size_t i) {
    auto f = slots.at(i).get_future();
    if (f.wait_for(5s) != std::future_status::ready) return nullptr;
    return f.get();
  }
};

template <class F>
bool eventually(F done, std::chrono::milliseconds within = 3000ms) {
  const auto end = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(HttpStream, ChunksArriveOneByOne) {
  Inbox inbox;
  TestServer ts({.io_threads = 2}, inbox.handler());
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/v1/chat/completions")));
  auto res = inbox.take(0);
  ASSERT_TRUE(res);

  std::promise<void> first_seen;
  auto first_seen_future = first_seen.get_future();
  std::thread producer([&] {
    res->begin_stream(200, {{"Content-Type", "text/event-stream"}});
    res->write("data: one\n\n");
    // The second token is produced only once the client has the first: a
    // server that buffered until finish() would deadlock here (and time out).
    if (first_seen_future.wait_for(5s) != std::future_status::ready) return;
    res->write("data: two\n\n");
    res->write("");  // skipped, not a premature end
    std::this_thread::sleep_for(10ms);
    res->write("data: three\n\n");
    res->finish();
  });

  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->chunked);
  EXPECT_EQ(head->header("Content-Type"), "text/event-stream");
  EXPECT_FALSE(head->header("Content-Length"));
  EXPECT_TRUE(head->header("Date"));
  EXPECT_EQ(c.read_chunk(), "data: one\n\n");
  first_seen.set_value();
  EXPECT_EQ(c.read_chunk(), "data: two\n\n");
  EXPECT_EQ(c.read_chunk(), "data: three\n\n");
  EXPECT_EQ(c.read_chunk(), "");
  producer.join();

  // After finish() the connection serves the next request.
  ASSERT_TRUE(c.send(get("/next")));
  auto res2 = inbox.take(1);
  ASSERT_TRUE(res2);
  res2->respond(204, {}, "");
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
}

TEST(HttpStream, ClientHangUpFiresOnCloseAndDropsLaterWrites) {
  Inbox inbox;
  TestServer ts({}, inbox.handler());
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/gen")));
  auto res = inbox.take(0);
  ASSERT_TRUE(res);
  std::atomic<int> fired{0};
  std::promise<void> closed;
  res->on_close([&] {
    if (fired++ == 0) closed.set_value();
  });
  res->begin_stream(200, {});
  res->write("token");
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(c.read_chunk(), "token");
  EXPECT_FALSE(res->closed());

  // The producer is slow (writes nothing now): the hang-up must be noticed
  // from the socket alone.
  c.close();
  ASSERT_EQ(closed.get_future().wait_for(3s), std::future_status::ready);
  EXPECT_TRUE(res->closed());
  res->write("late");  // dropped
  res->finish();
  res->respond(200, {}, "too late");
  bool ran_at_once = false;
  res->on_close([&] { ran_at_once = true; });
  EXPECT_TRUE(ran_at_once);
  EXPECT_EQ(fired.load(), 1);
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
}

TEST(HttpStream, HangUpBeforeAnyResponseIsNoticed) {
  Inbox inbox;
  TestServer ts({}, inbox.handler());
  std::weak_ptr<Responder> weak;
  {
    Client c(ts.port);
    ASSERT_TRUE(c.send(get("/never-answered")));
    auto res = inbox.take(0);
    ASSERT_TRUE(res);
    std::promise<void> closed;
    res->on_close([&] { closed.set_value(); });
    c.close();
    ASSERT_EQ(closed.get_future().wait_for(3s), std::future_status::ready);
    weak = res;
  }
  // Nothing but the test held the responder (the I/O thread lets go of it
  // just after on_close returns); the connection is gone too.
  EXPECT_TRUE(eventually([&] { return weak.expired(); }));
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
}

TEST(HttpStream, ResponderOutlivesTheServer) {
  Inbox inbox;
  auto ts = std::make_unique<TestServer>(ServerOptions{}, inbox.handler());
  Client a(ts->port), b(ts->port);
  ASSERT_TRUE(a.send(get("/answered")));
  auto answered = inbox.take(0);
  ASSERT_TRUE(answered);
  answered->respond(200, {}, "done");
  ASSERT_TRUE(a.read_response());
  ASSERT_TRUE(b.send(get("/in-flight")));
  auto in_flight = inbox.take(1);
  ASSERT_TRUE(in_flight);
  int fired = 0;
  in_flight->on_close([&] { ++fired; });
  in_flight->begin_stream(200, {});

  ts->server->stop(0ms);
  EXPECT_EQ(fired, 1);  // a hard stop cuts the stream: on_close ran
  EXPECT_TRUE(in_flight->closed());
  EXPECT_TRUE(answered->closed());
  ts.reset();  // the io_context is gone now

  for (const auto& res : {answered, in_flight}) {
    res->begin_stream(200, {});
    res->write("x");
    res->finish();
    res->respond(200, {}, "y");
    bool ran = false;
    res->on_close([&] { ran = true; });
    EXPECT_EQ(ran, res == in_flight);  // at once if it was cut, never if it had finished
  }
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(b.wait_closed(3000ms));
}

TEST(HttpStream, StopGraceLetsAStreamFinish) {
  Inbox inbox;
  TestServer ts({.io_threads = 2}, inbox.handler());
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/s")));
  auto res = inbox.take(0);
  ASSERT_TRUE(res);
  std::atomic<bool> cut{false};
  res->on_close([&] { cut = true; });
  res->begin_stream(200, {});
  res->write("a");
  ASSERT_TRUE(c.read_head());
  ASSERT_EQ(c.read_chunk(), "a");

  std::atomic<bool> stopped{false};
  std::chrono::steady_clock::duration stop_took{};
  std::thread stopper([&] {
    const auto t0 = std::chrono::steady_clock::now();
    ts.server->stop(5000ms);
    stop_took = std::chrono::steady_clock::now() - t0;
    stopped = true;
  });
  // Once new connections are refused, stop() is under way.
  ASSERT_TRUE(eventually([&] {
    Client probe(ts.port);
    return !probe.connected() || probe.wait_closed(200ms);
  }));
  EXPECT_FALSE(stopped);
  for (const char* s : {"b", "c", "d"}) {
    std::this_thread::sleep_for(30ms);
    res->write(s);
  }
  res->finish();
  EXPECT_EQ(c.read_chunk(), "b");
  EXPECT_EQ(c.read_chunk(), "c");
  EXPECT_EQ(c.read_chunk(), "d");
  EXPECT_EQ(c.read_chunk(), "");
  EXPECT_TRUE(c.wait_closed(3000ms));  // no keep-alive while stopping
  c.close();
  stopper.join();
  EXPECT_LT(stop_took, 4s);
  EXPECT_FALSE(cut);  // it finished; nothing was cut
}

TEST(HttpStream, StopClosesIdleConnectionsAtOnce) {
  TestServer ts({}, [](Request&&, std::shared_ptr<Responder> res) { res->respond(200, {}, "ok"); });
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(c.read_response());  // now idle, kept alive
  const auto t0 = std::chrono::steady_clock::now();
  ts.server->stop(5000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(c.wait_closed(1000ms));
  EXPECT_EQ(ts.server->open_connections(), 0u);
}

TEST(HttpStream, StopGraceCutsAStreamThatRunsLonger) {
  Inbox inbox;
  TestServer ts({}, inbox.handler());
  Client c(ts.port);
  ASSERT_TRUE(c.send(get("/endless")));
  auto res = inbox.take(0);
  ASSERT_TRUE(res);
  std::atomic<bool> fired{false};
  res->on_close([&] { fired = true; });
  res->begin_stream(200, {});
  res->write("tok;");
  std::thread producer([res] {
    // A producer that never finishes by itself, like a runaway generation.
    for (int i = 0; i < 500 && !res->closed(); ++i) {
      std::this_thread::sleep_for(10ms);
      res->write("tok;");
    }
  });
  ASSERT_TRUE(c.read_head());
  ASSERT_EQ(c.read_chunk(), "tok;");

  const auto t0 = std::chrono::steady_clock::now();
  ts.server->stop(300ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(fired);
  EXPECT_TRUE(res->closed());
  producer.join();
  // The client sees the stream cut, never its terminating chunk.
  for (;;) {
    auto chunk = c.read_chunk();
    ASSERT_NE(chunk, std::optional<std::string>(""));
    if (!chunk) break;
    EXPECT_EQ(*chunk, "tok;");
  }
  EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST(HttpStream, ManyConcurrentStreams) {
  constexpr int kClients = 64;
  std::mutex mu;
  std::vector<std::thread> producers;
  TestServer ts({.io_threads = 4}, [&](Request&& req, std::shared_ptr<Responder> res) {
    std::lock_guard lock(mu);
    producers.emplace_back([res, path = std::string(req.path())] {
      res->begin_stream(200, {{"Content-Type", "text/event-stream"}});
      for (int i = 0; i < 5; ++i) {
        res->write(path + ":" + std::to_string(i) + ";");
        std::this_thread::sleep_for(5ms);
      }
      res->finish();
    });
  });
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&, k] {
      Client c(ts.port, 10000ms);
      const std::string path = "/c" + std::to_string(k);
      if (!c.send(get(path))) return;
      auto r = c.read_response();
      std::string want;
      for (int i = 0; i < 5; ++i) want += path + ":" + std::to_string(i) + ";";
      if (r && r->status == 200 && r->chunked && r->body == want) ++good;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), kClients);
  {
    std::lock_guard lock(mu);
    for (auto& t : producers) t.join();
  }
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
}

}  // namespace
}  // namespace quarry::http
