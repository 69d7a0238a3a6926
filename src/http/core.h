// What the listener and its connections share: options, callbacks, and the
// registry of open connections that stop() walks. Plain C++; private to
// src/http.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

#include "http/server.h"

namespace quarry::http {

class Connection;

// Responders can outlive the server (the engine may hold one), but must never
// post onto an io_context that is being destroyed. They post under a shared
// lock while `open` holds; stop() clears it under the exclusive lock once the
// I/O threads have exited, before the io_context goes away.
struct Gate {
  std::shared_mutex mu;
  std::atomic<bool> open{true};
};

struct ServerCore {
  ServerCore(ServerOptions o, Handler h, ErrorFormatter e)
      : options(std::move(o)), handler(std::move(h)), errors(std::move(e)) {}

  const ServerOptions options;
  const Handler handler;
  const ErrorFormatter errors;  // may be empty: plain-text bodies then
  const std::shared_ptr<Gate> gate = std::make_shared<Gate>();

  std::mutex mu;               // guards `live` and `stopping`; `open` changes under it too
  std::condition_variable cv;  // notified whenever a connection closes
  // Every open connection, owned here until it closes: between reads and
  // writes (a handler thinking, say) no pending operation holds it.
  std::unordered_map<const Connection*, std::shared_ptr<Connection>> live;
  bool stopping = false;
  std::atomic<size_t> open{0};

  // The body of an error the server itself answers, via `errors` if set.
  ErrorReply error_reply(int status, std::string_view message, std::string_view target) const;
  // A connection closed its socket: forget it and wake stop().
  void closed(const Connection* connection);
};

}  // namespace quarry::http
