#include "fake_model.h"

#include <algorithm>

#include "model/generate.h"

namespace quarry::engine::testing {

uint64_t fake_hash(std::span<const int32_t> prefix, std::span<const int32_t> window_part,
                   size_t window) {
  const uint64_t h = fake_prefix_hash(prefix);
  return window == 0 ? h : h ^ fake_mix(fake_prefix_hash(window_part) + 0x51);
}

std::vector<int32_t> fake_greedy(std::vector<int32_t> prompt, size_t max_tokens,
                                 const std::vector<int32_t>& stop_ids, size_t max_total,
                                 size_t n_vocab, size_t window) {
  std::vector<int32_t> out;
  std::vector<float> logits(n_vocab);
  while (out.size() < max_tokens && prompt.size() < max_total) {
    const std::span<const int32_t> all(prompt);
    const size_t first = window > 0 && all.size() > window ? all.size() - window : 0;
    fake_logits(fake_hash(all, all.subspan(first), window), logits);
    const auto id = static_cast<int32_t>(model::argmax(logits.data(), logits.size()));
    out.push_back(id);
    prompt.push_back(id);
    if (std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end()) break;
  }
  return out;
}

void FakeLog::close_gate() {
  std::lock_guard lk(mu);
  gate_open = false;
}

void FakeLog::close_gate_on(size_t call) {
  std::lock_guard lk(mu);
  close_gate_on_call = call;
}

void FakeLog::open_gate() {
  std::lock_guard lk(mu);
  gate_open = true;
  cv.notify_all();
}

void FakeLog::wait_calls_started(size_t n) {
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return calls_started >= n; });
}

std::vector<FakeBatch> FakeLog::snapshot() {
  std::lock_guard lk(mu);
  return batches;
}

Status FakeModel::forward(const model::ForwardBatch& b) {
  size_t call;
  {
    std::unique_lock lk(log_->mu);
    call = ++log_->calls_started;
    // Stops the engine at a known step without racing it from the test.
    if (call == log_->close_gate_on_call) log_->gate_open = false;
    log_->cv.notify_all();
    log_->cv.wait(lk, [&] { return log_->gate_open; });
    FakeBatch rec;
    rec.tokens.assign(b.tokens.begin(), b.tokens.end());
    rec.positions.assign(b.positions.begin(), b.positions.end());
    rec.seq.assign(b.seq.begin(), b.seq.end());
    rec.logit_rows.assign(b.logit_rows.begin(), b.logit_rows.end());
    for (const model::KvSequence* s : b.sequences) rec.seq_ids.push_back(s);
    log_->batches.push_back(std::move(rec));
  }
  if (call == log_->fail_on_call) return make_error("fake failure on call " + std::to_string(call));

  const auto fail = [&](std::string m) {
    std::lock_guard lk(log_->mu);
    log_->errors.push_back(m);
    return Status(make_error(std::move(m)));
  };
  const size_t n = b.tokens.size();
  if (b.positions.size() != n || b.seq.size() != n) return fail("length mismatch");
  const auto slot = [&](const std::vector<int32_t>& table, size_t p) -> long {
    const size_t bi = p / block_size_;
    if (bi >= table.size()) return -1;
    const int32_t blk = table[bi];
    if (blk < 0 || static_cast<size_t>(blk) >= kv_blocks_) return -1;
    return static_cast<long>(static_cast<size_t>(blk) * block_size_ + p % block_size_);
  };
  for (size_t t = 0; t < n; ++t) {
    if (b.seq[t] < 0 || static_cast<size_t>(b.seq[t]) >= b.sequences.size()) {
      return fail("bad seq index");
    }
    if (b.tokens[t] < 0 || static_cast<size_t>(b.tokens[t]) >= n_vocab_) return fail("bad token");
    if (b.positions[t] < 0 || static_cast<size_t>(b.positions[t]) >= max_positions_) {
      return fail("position past max_positions");
    }
    const model::KvSequence& s = *b.sequences[b.seq[t]];
    const auto p = static_cast<size_t>(b.positions[t]);
    const long at = slot(s.blocks, p);
    if (at < 0) return fail("position " + std::to_string(p) + " has no block");
    store_[static_cast<size_t>(at)] = b.tokens[t];
    if (window_ > 0) {
      const long w = slot(s.window_blocks, p);
      if (w < 0) return fail("position " + std::to_string(p) + " has no window block");
      store_[static_cast<size_t>(w)] = b.tokens[t];
    }
  }
  std::vector<int32_t> read, read_window;
  for (size_t j = 0; j < b.logit_rows.size(); ++j) {
    const auto r = static_cast<size_t>(b.logit_rows[j]);
    if (r >= n) return fail("bad logit row");
    const model::KvSequence& s = *b.sequences[b.seq[r]];
    const auto last = static_cast<size_t>(b.positions[r]);
    read.clear();
    for (size_t p = 0; p <= last; ++p) {
      const long at = slot(s.blocks, p);
      read.push_back(at < 0 ? -2 : store_[static_cast<size_t>(at)]);
    }
    read_window.clear();
    for (size_t p = window_ > 0 && last + 1 > window_ ? last + 1 - window_ : 0;
         window_ > 0 && p <= last; ++p) {
      const long at = slot(s.window_blocks, p);
      read_window.push_back(at < 0 ? -2 : store_[static_cast<size_t>(at)]);
    }
    fake_logits(fake_hash(read, read_window, window_),
                std::span(b.logits + j * n_vocab_, n_vocab_));
  }
  return Status::Ok();
}

UpdateCallback Collector::callback() {
  return [this](Update&& u) {
    std::lock_guard lk(mu);
    if (finals > 0) after_final = true;
    ++updates;
    tokens.insert(tokens.end(), u.tokens.begin(), u.tokens.end());
    logprobs.insert(logprobs.end(), u.logprobs.begin(), u.logprobs.end());
    if (u.finished) ++finals;
    last = std::move(u);
    cv.notify_all();
  };
}

void Collector::wait() {
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return finals > 0; });
}

void Collector::wait_tokens(size_t n) {
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return finals > 0 || tokens.size() >= n; });
}

bool Collector::finished() {
  std::lock_guard lk(mu);
  return finals > 0;
}

AloneResult run_alone(const Request& r, size_t kv_blocks, size_t block_size, size_t max_positions,
                      EngineOptions options) {
  Collector c;
  {
    Engine e(std::make_unique<FakeModel>(kv_blocks, block_size, max_positions), options);
    const Submitted s = e.submit(r, c.callback());
    if (s.code != SubmitCode::kOk) return {};
    c.wait();
  }
  return {c.tokens, c.last.finish};
}

std::vector<int32_t> make_prompt(size_t n, uint32_t seed, size_t n_vocab) {
  std::vector<int32_t> p(n);
  uint64_t h = seed;
  for (auto& t : p) {
    h = fake_mix(h + 0x51);
    t = static_cast<int32_t>(h % n_vocab);
  }
  return p;
}

Request greedy_request(std::vector<int32_t> prompt, size_t max_tokens) {
  Request r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0.0f;
  return r;
}

}  // namespace quarry::engine::testing
