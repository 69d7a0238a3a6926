// HTTP/2 streams on one connection: interleaved and incremental responses,
// client resets and hang-ups, abandoned responders, graceful stop.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <future>
#include <mutex>
#include <thread>

#include "h2_client.h"
#include "http/server.h"
#include "test_client.h"

namespace quarry::http {
namespace {

using namespace httptest;
using namespace h2test;

// Hands each request (and its Responder) to the test, in arrival order.
struct Inbox {
  std::mutex mu;
  std::vector<std::promise<std::pair<Request, std::shared_ptr<Responder>>>> slots{16};
  size_t next = 0;
  Handler handler() {
    return [this](Request&& req, std::shared_ptr<Responder> res) {
      std::lock_guard lock(mu);
      slots.at(next++).set_value({std::move(req), std::move(res)});
    };
  }
  std::optional<std::pair<Request, std::shared_ptr<Responder>>> take(size_t i) {
    auto f = slots.at(i).get_future();
    if (f.wait_for(5s) != std::future_status::ready) return std::nullopt;
    return f.get();
  }
};

void ok(Request&&, std::shared_ptr<Responder> res) { res->respond(200, {}, "ok"); }

TEST(Http2Stream, ConcurrentStreamsInterleave) {
  constexpr int kStreams = 16;
  constexpr int kChunks = 4;
  // Every producer writes chunk i only once all have written chunk i-1: the
  // streams are interleaved on the wire, not answered one after another.
  std::barrier step(kStreams);
  std::mutex mu;
  std::vector<std::thread> producers;
  TestServer ts({.io_threads = 2}, [&](Request&& req, std::shared_ptr<Responder> res) {
    std::lock_guard lock(mu);
    producers.emplace_back([&step, res, path = std::string(req.path())] {
      res->begin_stream(200, {{"Content-Type", "text/event-stream"}});
      for (int i = 0; i < kChunks; ++i) {
        res->write(path + ":" + std::to_string(i) + ";");
        step.arrive_and_wait();
      }
      res->finish();
    });
  });
  H2Client c(ts.port);
  std::vector<int32_t> ids;
  for (int k = 0; k < kStreams; ++k) ids.push_back(c.request("GET", "/s" + std::to_string(k)));
  ASSERT_TRUE(c.run_until([&] {
    return std::all_of(ids.begin(), ids.end(), [&](int32_t id) { return c.streams[id].closed; });
  }));
  for (int k = 0; k < kStreams; ++k) {
    const H2Stream& s = c.streams[ids[k]];
    std::string want;
    for (int i = 0; i < kChunks; ++i)
      want += "/s" + std::to_string(k) + ":" + std::to_string(i) + ";";
    EXPECT_EQ(s.status, 200);
    EXPECT_EQ(s.body, want);
    EXPECT_EQ(s.error_code, 0u);
  }
  // Each stream's first DATA frame came before any stream's last.
  size_t last_first = 0, first_last = c.data_order.size();
  for (int32_t id : ids) {
    const auto first = std::find(c.data_order.begin(), c.data_order.end(), id);
    const auto last = std::find(c.data_order.rbegin(), c.data_order.rend(), id);
    last_first = std::max<size_t>(last_first, first - c.data_order.begin());
    first_last =
        std::min<size_t>(first_last, c.data_order.size() - 1 - (last - c.data_order.rbegin()));
  }
  EXPECT_LT(last_first, first_last);
  std::lock_guard lock(mu);
  for (auto& t : producers) t.join();
}

TEST(Http2Stream, StreamedChunksArriveOneByOne) {
  Inbox inbox;
  TestServer ts({.io_threads = 2}, inbox.handler());
  H2Client c(ts.port);
  const int32_t id = c.request("POST", "/v1/chat/completions", {}, std::string("{}"));
  auto got = inbox.take(0);
  ASSERT_TRUE(got);
  auto res = got->second;
  std::promise<void> first_seen;
  auto first_seen_future = first_seen.get_future();
  std::thread producer([&] {
    res->begin_stream(200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}});
    res->write("data: one\n\n");
    // The second token is produced only once the client has the first: a
    // server that held DATA back until finish() would time out here.
    if (first_seen_future.wait_for(5s) != std::future_status::ready) return;
    res->write("data: two\n\n");
    res->write("");  // skipped
    std::this_thread::sleep_for(10ms);
    res->write("data: three\n\n");
    res->finish();
  });
  ASSERT_TRUE(c.run_until([&] { return !c.streams[id].chunks.empty(); }));
  const H2Stream& s = c.streams[id];
  EXPECT_EQ(s.chunks[0], "data: one\n\n");
  EXPECT_FALSE(s.closed);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.header("content-type"), "text/event-stream");
  EXPECT_EQ(s.header("cache-control"), "no-cache");
  EXPECT_FALSE(s.header("content-length"));
  EXPECT_TRUE(s.header("date"));
  first_seen.set_value();
  ASSERT_TRUE(c.wait_stream(id));
  producer.join();
  EXPECT_EQ(s.body, "data: one\n\ndata: two\n\ndata: three\n\n");
  EXPECT_EQ(s.error_code, 0u);
}

TEST(Http2Stream, ClientResetFiresOnCloseWhileOtherStreamsGoOn) {
  Inbox inbox;
  TestServer ts({}, inbox.handler());
  H2Client c(ts.port);
  const int32_t a = c.request("GET", "/a");
  const int32_t b = c.request("GET", "/b");
  auto got_a = inbox.take(0);
  auto got_b = inbox.take(1);
  ASSERT_TRUE(got_a && got_b);
  // Arrival order on one connection follows stream order.
  ASSERT_EQ(got_a->first.path(), "/a");
  auto ra = got_a->second;
  auto rb = got_b->second;
  std::atomic<int> fired{0};
  std::promise<void> closed;
  ra->on_close([&] {
    if (fired++ == 0) closed.set_value();
  });
  int b_fired = 0;
  rb->on_close([&] { ++b_fired; });
  ra->begin_stream(200, {});
  ra->write("a1");
  rb->begin_stream(200, {});
  rb->write("b1");
  ASSERT_TRUE(c.run_until([&] { return c.streams[a].body == "a1" && c.streams[b].body == "b1"; }));
  EXPECT_FALSE(ra->closed());

  c.reset(a);
  ASSERT_EQ(closed.get_future().wait_for(3s), std::future_status::ready);
  EXPECT_TRUE(ra->closed());
  ra->write("late");  // dropped
  ra->finish();
  bool ran_at_once = false;
  ra->on_close([&] { ran_at_once = true; });
  EXPECT_TRUE(ran_at_once);
  EXPECT_EQ(fired.load(), 1);

  // The other stream, and the connection, carry on.
  EXPECT_FALSE(rb->closed());
  rb->write("b2");
  rb->finish();
  ASSERT_TRUE(c.wait_stream(b));
  EXPECT_EQ(c.streams[b].body, "b1b2");
  EXPECT_EQ(c.streams[b].error_code, 0u);
  EXPECT_EQ(c.streams[a].body, "a1");
  const int32_t next = c.request("GET", "/next");
  auto got_next = inbox.take(2);
  ASSERT_TRUE(got_next);
  got_next->second->respond(200, {}, "ok");
  ASSERT_TRUE(c.wait_stream(next));
  EXPECT_EQ(c.streams[next].body, "ok");
  EXPECT_EQ(b_fired, 0);
}

TEST(Http2Stream, HangUpAbortsEveryOpenStream) {
  Inbox inbox;
  TestServer ts({}, inbox.handler());
  std::atomic<int> fired{0};
  std::vector<std::shared_ptr<Responder>> held;  // neither is answered
  {
    H2Client c(ts.port);
    c.request("GET", "/1");
    c.request("GET", "/2");
    for (size_t i = 0; i < 2; ++i) {
      auto got = inbox.take(i);
      ASSERT_TRUE(got);
      got->second->on_close([&] { ++fired; });
      if (i == 0) got->second->begin_stream(200, {});
      held.push_back(got->second);
    }
  }
  EXPECT_TRUE(eventually([&] { return fired.load() == 2; }));
  for (const auto& res : held) EXPECT_TRUE(res->closed());
  EXPECT_TRUE(eventually([&] { return ts.server->open_connections() == 0; }));
}

TEST(Http2Stream, DroppedOrThrowingHandlersAnswer500) {
  TestServer ts({}, [](Request&& req, std::shared_ptr<Responder> res) {
    if (req.path() == "/throw") throw std::runtime_error("boom");
    if (req.path() == "/cut") {
      res->begin_stream(200, {});
      res->write("partial");
    }
    // dropped
  });
  H2Client c(ts.port);
  const int32_t dropped = c.request("GET", "/drop");
  const int32_t thrown = c.request("GET", "/throw");
  const int32_t cut = c.request("GET", "/cut");
  ASSERT_TRUE(c.wait_stream(dropped));
  ASSERT_TRUE(c.wait_stream(thrown));
  ASSERT_TRUE(c.wait_stream(cut));
  EXPECT_EQ(c.streams[dropped].status, 500);
  EXPECT_EQ(c.streams[thrown].status, 500);
  // A stream its producer abandoned is reset, never ended cleanly (what was
  // queued but not yet sent goes with it, as with HTTP/1.1).
  EXPECT_EQ(c.streams[cut].error_code, static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
  EXPECT_FALSE(c.eof);
}

TEST(Http2Stream, StopGraceLetsAStreamFinish) {
  Inbox inbox;
  TestServer ts({.io_threads = 2}, inbox.handler());
  H2Client c(ts.port);
  const int32_t id = c.request("GET", "/s");
  auto got = inbox.take(0);
  ASSERT_TRUE(got);
  auto res = got->second;
  std::atomic<bool> cut{false};
  res->on_close([&] { cut = true; });
  res->begin_stream(200, {});
  res->write("a");
  ASSERT_TRUE(c.run_until([&] { return c.streams[id].body == "a"; }));

  std::atomic<bool> stopped{false};
  std::chrono::steady_clock::duration stop_took{};
  std::thread stopper([&] {
    const auto t0 = std::chrono::steady_clock::now();
    ts.server->stop(5000ms);
    stop_took = std::chrono::steady_clock::now() - t0;
    stopped = true;
  });
  // The server announces the stop with GOAWAY (no error) and keeps the stream.
  ASSERT_TRUE(c.run_until([&] { return c.goaway; }));
  EXPECT_EQ(c.goaway_error, static_cast<uint32_t>(NGHTTP2_NO_ERROR));
  EXPECT_FALSE(stopped);
  for (const char* s : {"b", "c", "d"}) {
    std::this_thread::sleep_for(30ms);
    res->write(s);
  }
  res->finish();
  ASSERT_TRUE(c.wait_stream(id));
  EXPECT_EQ(c.streams[id].body, "abcd");
  EXPECT_EQ(c.streams[id].error_code, 0u);
  EXPECT_TRUE(c.wait_eof(3000ms));  // then the connection closes
  c.close();
  stopper.join();
  EXPECT_LT(stop_took, 4s);
  EXPECT_FALSE(cut);
}

TEST(Http2Stream, StopClosesIdleConnectionsAtOnce) {
  TestServer ts({}, ok);
  H2Client c(ts.port);
  const int32_t id = c.request("GET", "/");
  ASSERT_TRUE(c.wait_stream(id));  // now idle, kept open
  const auto t0 = std::chrono::steady_clock::now();
  ts.server->stop(5000ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(c.wait_eof(1000ms));
  EXPECT_TRUE(c.goaway);
  EXPECT_EQ(ts.server->open_connections(), 0u);
}

TEST(Http2Stream, StopGraceCutsAStreamThatRunsLonger) {
  Inbox inbox;
  TestServer ts({}, inbox.handler());
  H2Client c(ts.port);
  const int32_t id = c.request("GET", "/endless");
  auto got = inbox.take(0);
  ASSERT_TRUE(got);
  auto res = got->second;
  std::atomic<bool> fired{false};
  res->on_close([&] { fired = true; });
  res->begin_stream(200, {});
  res->write("tok;");
  ASSERT_TRUE(c.run_until([&] { return !c.streams[id].body.empty(); }));
  const auto t0 = std::chrono::steady_clock::now();
  ts.server->stop(300ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(fired);
  EXPECT_TRUE(res->closed());
  // The client sees the connection end, never the stream's end.
  EXPECT_TRUE(c.wait_eof(3000ms));
  EXPECT_FALSE(c.streams[id].closed);
}

}  // namespace
}  // namespace quarry::http
