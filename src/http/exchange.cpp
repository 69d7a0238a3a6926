#include "http/exchange.h"

#include "http/connection.h"

namespace quarry::http {

Exchange::Exchange(std::shared_ptr<Gate> gate, std::weak_ptr<Connection> connection,
                   uint64_t serial)
    : gate_(std::move(gate)), connection_(std::move(connection)), serial_(serial) {}

Exchange::~Exchange() {
  // A handler that let go of its Responder without answering would leave the
  // client waiting forever: tell the connection, which answers 500 (or cuts a
  // started stream).
  if (!ended_.load() && !aborted_.load()) post(Op{Op::Kind::kDropped, 0, {}, {}});
}

void Exchange::respond(int status, std::vector<Header> headers, std::string body) {
  ended_.store(true);
  post(Op{Op::Kind::kRespond, status, std::move(headers), std::move(body)});
}

void Exchange::begin_stream(int status, std::vector<Header> headers) {
  post(Op{Op::Kind::kBegin, status, std::move(headers), {}});
}

void Exchange::write(std::string chunk) {
  if (chunk.empty()) return;  // an empty chunk would read as the end of the body
  post(Op{Op::Kind::kWrite, 0, {}, std::move(chunk)});
}

void Exchange::finish() {
  ended_.store(true);
  post(Op{Op::Kind::kFinish, 0, {}, {}});
}

bool Exchange::closed() const { return aborted_.load() || !gate_->open.load(); }

void Exchange::on_close(std::function<void()> fn) {
  if (!fn) return;
  std::unique_lock lock(mu_);
  if (state_ == State::kAborted) {
    lock.unlock();
    fn();
    return;
  }
  if (state_ == State::kOpen) on_close_ = std::move(fn);
  // kCompleted: the exchange finished, so the callback can never be due.
}

void Exchange::complete() {
  std::function<void()> drop;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kOpen) state_ = State::kCompleted;
    drop = std::move(on_close_);
  }
  // `drop` may own the last reference to something that leads back here; it
  // dies outside the lock.
}

void Exchange::abort() {
  std::function<void()> fn;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kOpen) return;
    state_ = State::kAborted;
    aborted_.store(true);
    fn = std::move(on_close_);
  }
  if (fn) fn();
}

void Exchange::detach() {
  std::function<void()> drop;
  std::lock_guard lock(mu_);
  if (state_ == State::kOpen) state_ = State::kAborted;
  aborted_.store(true);
  drop = std::move(on_close_);
}

void Exchange::post(Op op) {
  if (aborted_.load()) return;
  std::shared_lock lock(gate_->mu);
  if (!gate_->open.load()) return;
  // The temporary reference dies inside the lock too: if it is the last one,
  // the connection's socket is destroyed while the io_context still exists.
  if (auto connection = connection_.lock()) connection->post(serial_, std::move(op));
}

}  // namespace quarry::http
