#include "engine/scheduler.h"

#include <algorithm>

namespace quarry::engine {

Scheduler::Scheduler(const EngineOptions& options, size_t kv_blocks, size_t block_size,
                     size_t window)
    : options_(options), window_(window), blocks_(kv_blocks, block_size) {
  // Zero would stall every step; one is the least that makes progress.
  options_.max_batch_tokens = std::max<size_t>(1, options_.max_batch_tokens);
  options_.max_running = std::max<size_t>(1, options_.max_running);
}

size_t Scheduler::kv_positions(const EngineOptions& options, size_t kv_blocks, size_t block_size,
                               size_t window) {
  const size_t bs = std::max<size_t>(1, block_size);
  if (window == 0) return kv_blocks * bs;
  // A step computing positions [s, s + chunk) reads window blocks from
  // (s + 1 - window) / bs to (s + chunk - 1) / bs: at most this many.
  const size_t chunk = std::max<size_t>(1, options.max_batch_tokens);
  const size_t window_blocks = (chunk + window) / bs + 2;
  // Either both tables hold every block, or the window table stays bounded.
  const size_t full =
      std::max(kv_blocks / 2, kv_blocks > window_blocks ? kv_blocks - window_blocks : 0);
  return full * bs;
}

size_t Scheduler::blocks_for(size_t positions) const {
  return (positions + blocks_.block_size() - 1) / blocks_.block_size();
}

size_t Scheduler::capacity(const Sequence& s) const {
  size_t n = s.kv.blocks.size();
  if (window_ > 0) n = std::min(n, s.kv.window_blocks.size());
  return n * blocks_.block_size();
}

bool Scheduler::grow(Sequence& s) {
  std::vector<int32_t>& t = window_ > 0 && s.kv.window_blocks.size() < s.kv.blocks.size()
                                ? s.kv.window_blocks
                                : s.kv.blocks;
  const int32_t b = blocks_.allocate();
  if (b < 0) return false;
  t.push_back(b);
  return true;
}

size_t Scheduler::window_first_block(size_t pos) const {
  return (pos + 1 > window_ ? pos + 1 - window_ : 0) / blocks_.block_size();
}

void Scheduler::drop_window_blocks(Sequence& s) {
  if (window_ == 0) return;
  const size_t first = std::min(window_first_block(s.n_computed), s.kv.window_blocks.size());
  for (size_t i = s.window_dropped; i < first; ++i) {
    if (s.kv.window_blocks[i] >= 0) blocks_.release(s.kv.window_blocks[i]);
    s.kv.window_blocks[i] = -1;
  }
  s.window_dropped = std::max(s.window_dropped, first);
}

void Scheduler::window_hits(const Sequence& s, std::vector<int32_t>& hit,
                            std::vector<int32_t>& window_hit, size_t& first) const {
  window_hit.clear();
  first = 0;
  if (window_ == 0) return;
  const size_t bs = blocks_.block_size();
  for (size_t h = hit.size();; --h) {
    // The first position computed, h * bs, reads window blocks [first, h).
    first = window_first_block(h * bs);
    window_hit.clear();
    bool all = true;
    for (size_t i = first; i < h && all; ++i) {
      const int32_t b =
          blocks_.find(window_block_hash(s.hashes[i]), std::span(s.tokens).subspan(i * bs, bs));
      all = b >= 0;
      if (all) window_hit.push_back(b);
    }
    if (all) {
      hit.resize(h);
      return;
    }
  }
}

void Scheduler::free_blocks(Sequence& s) {
  // Tail first: the LRU list then evicts a sequence's last blocks before its
  // first ones, which are the likelier to be a shared prefix.
  for (size_t i = s.kv.window_blocks.size(); i-- > 0;) {
    if (s.kv.window_blocks[i] >= 0) blocks_.release(s.kv.window_blocks[i]);
  }
  for (size_t i = s.kv.blocks.size(); i-- > 0;) blocks_.release(s.kv.blocks[i]);
  s.kv.blocks.clear();
  s.kv.window_blocks.clear();
  s.window_dropped = 0;
  s.n_computed = 0;
  s.n_committed = 0;
}

void Scheduler::extend_hashes(Sequence& s) const {
  const size_t bs = blocks_.block_size();
  while (s.hashes.size() < s.tokens.size() / bs) {
    const size_t i = s.hashes.size();
    const uint64_t parent = i == 0 ? kRootHash : s.hashes[i - 1];
    s.hashes.push_back(hash_block(parent, std::span(s.tokens).subspan(i * bs, bs)));
  }
}

void Scheduler::preempt(size_t index, Schedule& plan) {
  std::unique_ptr<Sequence> s = std::move(running_[index]);
  running_.erase(running_.begin() + static_cast<ptrdiff_t>(index));
  free_blocks(*s);
  // Victims are taken newest first, so pushing each to the front keeps the
  // older ones ahead.
  waiting_.push_front(std::move(s));
  ++plan.n_preempted;
}

bool Scheduler::ensure_first_block(size_t index, Schedule& plan) {
  Sequence& s = *running_[index];
  while (capacity(s) <= s.n_computed) {
    if (grow(s)) continue;
    // Everything after `index` is newer; the newest not yet in this step's
    // batch goes (those already in it keep their blocks). `index` itself is
    // unscheduled, so the search ends there at the latest.
    size_t victim = running_.size() - 1;
    while (victim > index && running_[victim]->scheduled_step == step_) --victim;
    preempt(victim, plan);
    if (victim == index) return false;
  }
  return true;
}

bool Scheduler::computing_elsewhere(const Sequence& w, size_t b) {
  const size_t bs = blocks_.block_size();
  const auto want = std::span(w.tokens).subspan(b * bs, bs);
  for (const auto& r : running_) {
    Sequence& s = *r;
    // Blocks below n_committed are already in the cache (or were dropped as
    // duplicates of a cached one): the lookup has had its chance at them.
    if (s.n_committed > b || s.tokens.size() < (b + 1) * bs) continue;
    extend_hashes(s);
    if (s.hashes[b] != w.hashes[b]) continue;
    const auto have = std::span(s.tokens).subspan(b * bs, bs);
    if (std::equal(want.begin(), want.end(), have.begin())) return true;
  }
  return false;
}

Scheduler::Admission Scheduler::admit(size_t index, size_t& budget, Schedule& plan) {
  Sequence& s = *waiting_[index];
  const size_t bs = blocks_.block_size(), n = s.tokens.size();
  std::vector<int32_t> hit, window_hit;
  size_t window_first = 0;
  if (options_.prefix_caching) {
    extend_hashes(s);
    // The last token is always computed: its logits give the next token.
    const size_t max_hit = std::min((n - 1) / bs, s.hashes.size());
    hit = blocks_.lookup(std::span(s.hashes).first(max_hit), s.tokens);
    // Someone is computing the next block: wait for it rather than compute
    // it twice. A later step admits this request with the block as a hit.
    if (hit.size() < max_hit && computing_elsewhere(s, hit.size())) return Admission::kWaits;
    window_hits(s, hit, window_hit, window_first);
  }
  const size_t start = hit.size() * bs;
  const size_t count = std::min(n - start, budget);
  const size_t end = blocks_for(start + count);
  const size_t need = (end - hit.size()) * (window_ > 0 ? 2 : 1);
  // Reviving a cached hit takes it out of the free blocks too.
  if (need > blocks_.free_count() - blocks_.count_unreferenced(hit) -
                 blocks_.count_unreferenced(window_hit)) {
    return Admission::kNoRoom;
  }

  blocks_.share(hit);
  blocks_.share(window_hit);
  s.kv.blocks = std::move(hit);
  if (window_ > 0) {
    s.kv.window_blocks.assign(window_first, -1);
    s.kv.window_blocks.insert(s.kv.window_blocks.end(), window_hit.begin(), window_hit.end());
    s.window_dropped = window_first;
  }
  while (capacity(s) < end * bs) grow(s);
  s.n_computed = start;
  s.n_committed = start / bs;  // hits are already in the prefix cache
  if (!s.admitted_once) {
    // A recompute after preemption is not a new prompt: counted once.
    s.admitted_once = true;
    s.cached_tokens = start;
    if (options_.prefix_caching) {
      prefix_query_tokens_ += s.n_prompt;
      prefix_hit_tokens_ += start;
    }
  }
  s.admit_order = admitted_++;
  s.scheduled_step = step_;
  plan.items.push_back({&s, start, count, start + count == n});
  plan.n_tokens += count;
  budget -= count;
  running_.push_back(std::move(waiting_[index]));
  waiting_.erase(waiting_.begin() + static_cast<ptrdiff_t>(index));
  return Admission::kAdmitted;
}

Schedule Scheduler::schedule() {
  ++step_;
  Schedule plan;
  size_t budget = options_.max_batch_tokens;
  // Pass 0: decoding sequences (one token each); pass 1: prefill chunks.
  for (int pass = 0; pass < 2; ++pass) {
    size_t i = 0;
    while (i < running_.size() && budget > 0 && plan.items.size() < options_.max_running) {
      Sequence& s = *running_[i];
      const size_t remaining = s.tokens.size() - s.n_computed;
      if ((remaining == 1) != (pass == 0)) {
        ++i;
        continue;
      }
      // Preempted itself: index i now holds the next sequence.
      if (!ensure_first_block(i, plan)) continue;
      const size_t want = std::min(remaining, budget);
      // The rest of a chunk only takes free blocks; it shrinks rather than
      // preempting anyone.
      while (capacity(s) < s.n_computed + want && grow(s)) continue;
      const size_t count = std::min(want, capacity(s) - s.n_computed);
      s.scheduled_step = step_;
      plan.items.push_back({&s, s.n_computed, count, s.n_computed + count == s.tokens.size()});
      plan.n_tokens += count;
      budget -= count;
      ++i;
    }
  }
  // After a preemption the pool is short: admitting now would only thrash.
  if (plan.n_preempted == 0) {
    // First come first served, except that a request waiting for a block
    // someone else is computing lets the ones behind it go first (it keeps
    // its place, so it is tried first once the block is there). One that
    // does not fit in the free blocks stops admission as before, so later
    // requests cannot overtake it for memory.
    size_t i = 0;
    while (budget > 0 && i < waiting_.size() && running_.size() < options_.max_running &&
           plan.items.size() < options_.max_running) {
      const Admission a = admit(i, budget, plan);
      if (a == Admission::kNoRoom) break;
      if (a == Admission::kWaits) ++i;
    }
  }
  return plan;
}

void Scheduler::computed(const Schedule& plan) {
  const size_t bs = blocks_.block_size();
  for (const ScheduledSeq& it : plan.items) {
    Sequence& s = *it.seq;
    s.n_computed = it.start + it.count;
    const size_t full = s.n_computed / bs;
    if (options_.prefix_caching && full > s.n_committed) {
      extend_hashes(s);
      for (size_t b = s.n_committed; b < full; ++b) {
        const auto tokens = std::span(s.tokens).subspan(b * bs, bs);
        blocks_.commit(s.kv.blocks[b], s.hashes[b], tokens);
        if (window_ > 0 && s.kv.window_blocks[b] >= 0) {
          blocks_.commit(s.kv.window_blocks[b], window_block_hash(s.hashes[b]), tokens);
        }
      }
      s.n_committed = full;
    }
    // After the commit: dropped window blocks stay in the prefix cache.
    drop_window_blocks(s);
  }
}

std::unique_ptr<Sequence> Scheduler::remove(uint64_t id) {
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if ((*it)->id != id) continue;
    std::unique_ptr<Sequence> s = std::move(*it);
    waiting_.erase(it);
    free_blocks(*s);
    return s;
  }
  for (auto it = running_.begin(); it != running_.end(); ++it) {
    if ((*it)->id != id) continue;
    std::unique_ptr<Sequence> s = std::move(*it);
    running_.erase(it);
    free_blocks(*s);
    return s;
  }
  return nullptr;
}

std::vector<std::unique_ptr<Sequence>> Scheduler::remove_all() {
  std::vector<std::unique_ptr<Sequence>> all;
  for (auto& s : waiting_) all.push_back(std::move(s));
  for (auto& s : running_) all.push_back(std::move(s));
  waiting_.clear();
  running_.clear();
  for (auto& s : all) free_blocks(*s);
  return all;
}

}  // namespace quarry::engine
