// Server: the listener, the I/O threads and the graceful stop. The HTTP itself
// lives in connection.cpp.
#include "http/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cctype>
#include <optional>
#include <thread>

#include "http/connection.h"

namespace quarry::http {

ErrorReply ServerCore::error_reply(int status, std::string_view message,
                                   std::string_view target) const {
  if (errors) {
    try {
      return errors(status, message, target);
    } catch (...) {
      // A throwing formatter must not take the connection down: plain text.
    }
  }
  return ErrorReply{{{"Content-Type", "text/plain; charset=utf-8"}}, std::string(message) + "\n"};
}

void ServerCore::closed(const Connection* connection) {
  std::shared_ptr<Connection> owned;  // released outside the lock
  {
    std::lock_guard lock(mu);
    auto it = live.find(connection);
    if (it == live.end()) return;
    owned = std::move(it->second);
    live.erase(it);
    open.fetch_sub(1);
  }
  cv.notify_all();
}

struct Server::Impl {
  Impl(ServerOptions o, Handler h, ErrorFormatter e)
      : core(std::move(o), std::move(h), std::move(e)),
        ioc(static_cast<int>(std::max<size_t>(core.options.io_threads, 1))) {}

  void accept();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  // Strong references to the open connections (and, if `stopping`, marks the
  // server as stopping in the same breath, so no connection slips past).
  std::vector<std::shared_ptr<Connection>> snapshot(bool stopping);

  // Connections refer to `core` until they are destroyed, which can be as late
  // as the io_context's destruction: it is declared first, so it dies last.
  ServerCore core;
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_retry{accept_strand};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::mutex lifecycle_mu;  // serialises start() and stop()
  bool started = false;
  bool stopped = false;
};

void Server::Impl::accept() {
  // Each connection gets its own strand: its handlers never run concurrently,
  // while different connections run on all the I/O threads.
  acceptor.async_accept(asio::any_io_executor(asio::make_strand(ioc)),
                        [this](const beast::error_code& ec, tcp::socket socket) {
                          on_accept(ec, std::move(socket));
                        });
}

void Server::Impl::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (!acceptor.is_open()) return;  // stop() closed it
  if (ec) {
    // Out of descriptors or memory: retrying at once would spin. Anything
    // else (a connection reset before it was accepted) concerns one client.
    const bool scarce = ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                        ec == asio::error::no_memory;
    if (!scarce) {
      accept();
      return;
    }
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([this](const beast::error_code& wait_ec) {
      if (!wait_ec && acceptor.is_open()) accept();
    });
    return;
  }
  {
    std::lock_guard lock(core.mu);
    if (core.stopping || core.open.load() >= core.options.max_connections) {
      // Over the limit: accepted and closed at once, which the client sees
      // as a closed connection rather than a hang in the backlog.
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      auto connection = std::make_shared<Connection>(core, std::move(socket));
      core.live.emplace(connection.get(), connection);
      core.open.fetch_add(1);
      // Posted under the lock: a begin_stop() from stop() lands after it.
      connection->start();
    }
  }
  accept();
}

std::vector<std::shared_ptr<Connection>> Server::Impl::snapshot(bool stopping) {
  std::vector<std::shared_ptr<Connection>> out;
  std::lock_guard lock(core.mu);
  if (stopping) core.stopping = true;
  out.reserve(core.live.size());
  for (const auto& [ptr, connection] : core.live) out.push_back(connection);
  return out;
}

Server::Server(ServerOptions options, Handler handler, ErrorFormatter errors)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(errors))) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

namespace {

// "Address already in use" -> "address already in use", to follow "host:port: ".
std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

Result<uint16_t> Server::start() {
  Impl& m = *impl_;
  std::lock_guard lock(m.lifecycle_mu);
  if (m.started || m.stopped) return make_error("the server was already started");
  const ServerOptions& o = m.core.options;
  const bool v6 = o.host.find(':') != std::string::npos;
  const std::string where = (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
  auto fail = [&](const beast::error_code& ec) -> Result<uint16_t> {
    beast::error_code ignored;
    m.acceptor.close(ignored);
    return make_error(where + ": " + lower_first(ec.message()));
  };

  beast::error_code ec;
  tcp::resolver resolver(m.ioc);
  const auto endpoints = resolver.resolve(
      o.host, std::to_string(o.port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return fail(ec);
  if (endpoints.empty()) return fail(asio::error::host_not_found);
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  m.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail(ec);
  m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail(ec);
  m.acceptor.bind(endpoint, ec);
  if (ec) return fail(ec);
  m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  const uint16_t port = m.acceptor.local_endpoint(ec).port();
  if (ec) return fail(ec);

  m.started = true;
  m.work.emplace(m.ioc.get_executor());
  asio::post(m.accept_strand, [&m] { m.accept(); });
  const size_t n = std::max<size_t>(o.io_threads, 1);
  for (size_t i = 0; i < n; ++i) {
    m.threads.emplace_back([&m] {
      for (;;) {
        try {
          m.ioc.run();
          return;
        } catch (...) {
          // Only user callbacks (on_close) can throw here; keep serving.
        }
      }
    });
  }
  return port;
}

void Server::stop(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  std::lock_guard lock(m.lifecycle_mu);
  if (!m.started || m.stopped) return;
  m.stopped = true;

  // 1. No new connections.
  asio::post(m.accept_strand, [&m] {
    beast::error_code ignored;
    m.acceptor.close(ignored);
    m.accept_retry.cancel();
  });
  // 2. No new requests: idle connections close, the others after their
  //    exchange in flight.
  for (const auto& c : m.snapshot(/*stopping=*/true)) c->begin_stop();
  // 3. Give the exchanges in flight up to `grace`.
  {
    std::unique_lock wait_lock(m.core.mu);
    m.core.cv.wait_for(wait_lock, grace, [&m] { return m.core.open.load() == 0; });
  }
  // 4. Close whatever is left; their pending operations end, so run() returns.
  for (const auto& c : m.snapshot(/*stopping=*/false)) c->force_close();
  m.work.reset();
  for (std::thread& t : m.threads) t.join();
  m.threads.clear();
  // 5. From here on Responders held elsewhere drop everything.
  std::unique_lock gate_lock(m.core.gate->mu);
  m.core.gate->open.store(false);
}

size_t Server::open_connections() const { return impl_->core.open.load(); }

}  // namespace quarry::http
