// The Responder the handler gets: one request/response exchange on a
// connection. It only carries steps (Op) from whatever thread produces them
// onto the connection's strand; the connection does the HTTP. Plain C++.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/core.h"
#include "http/server.h"

namespace quarry::http {

// One step of a response on its way to the connection's strand.
struct Op {
  enum class Kind {
    kRespond,  // whole response: status, headers, data = body
    kBegin,    // stream head: status, headers
    kWrite,    // one stream chunk: data
    kFinish,   // end of stream
    kDropped,  // the Responder was destroyed without respond()/finish()
  };
  Kind kind;
  int status = 0;
  std::vector<Header> headers;
  std::string data;
};

class Exchange final : public Responder {
 public:
  // `serial` tells this exchange apart from earlier and later ones on the same
  // keep-alive connection, so late steps of an old exchange are ignored.
  Exchange(std::shared_ptr<Gate> gate, std::weak_ptr<Connection> connection, uint64_t serial);
  ~Exchange() override;
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  void respond(int status, std::vector<Header> headers, std::string body) override;
  void begin_stream(int status, std::vector<Header> headers) override;
  void write(std::string chunk) override;
  void finish() override;
  bool closed() const override;
  void on_close(std::function<void()> fn) override;

  // Called by the connection on its strand.
  // The response went out whole: on_close will never run.
  void complete();
  // The connection died first: closed() turns true and on_close runs here.
  void abort();
  // The connection is being destroyed without having closed (only while the
  // io_context itself is torn down): closed() turns true, on_close is dropped.
  void detach();

 private:
  enum class State { kOpen, kCompleted, kAborted };
  void post(Op op);

  const std::shared_ptr<Gate> gate_;
  const std::weak_ptr<Connection> connection_;
  const uint64_t serial_;
  std::atomic<bool> aborted_{false};
  std::atomic<bool> ended_{false};  // respond() or finish() was called
  std::mutex mu_;                   // guards state_ and on_close_
  State state_ = State::kOpen;
  std::function<void()> on_close_;
};

}  // namespace quarry::http
