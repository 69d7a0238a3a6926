// A step-by-step driver of the Scheduler over the fake model, as the engine
// thread drives it but without threads, so a test can say which sequences ran
// in which step (see prefix_sharing_test.cpp and sliding_window_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "engine/scheduler.h"
#include "fake_model.h"
#include "model/generate.h"

namespace quarry::engine::testing {

constexpr size_t kMaxPositions = 1000;

inline std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Ran {
  uint64_t id;
  size_t start, count;
  bool operator==(const Ran&) const = default;
};

// The engine's step loop without threads or sampling options: greedy tokens,
// a sequence finishes after `budget` tokens. With a window, the fake model
// keeps a sliding-window block table too, and after every step no running
// sequence holds more window blocks than the window and a chunk need.
class Sim {
 public:
  Sim(size_t kv_blocks, size_t bs, EngineOptions o, size_t window = 0)
      : sched_(o, kv_blocks, bs, window),
        model_(kv_blocks, bs, kMaxPositions, std::make_shared<FakeLog>(), 64, window),
        bs_(bs),
        window_(window),
        max_chunk_(std::max<size_t>(1, o.max_batch_tokens)) {}

  Sequence* add(std::vector<int32_t> prompt, size_t max_tokens) {
    auto s = std::make_unique<Sequence>();
    s->id = next_id_++;
    s->n_prompt = prompt.size();
    s->tokens = std::move(prompt);
    s->budget = max_tokens;
    Sequence* p = s.get();
    all_.push_back(p);
    sched_.enqueue(std::move(s));
    return p;
  }

  // Like Engine::cancel; false when `s` has finished already.
  bool cancel(const Sequence* s) {
    auto gone = sched_.remove(s->id);
    if (gone == nullptr) return false;
    cancelled_.push_back(s->id);
    done_.push_back(std::move(gone));
    return true;
  }

  // One step; what ran in it.
  std::vector<Ran> step() {
    const Schedule plan = sched_.schedule();
    preempted_ += plan.n_preempted;
    std::vector<int32_t> tok, pos, seq, rows;
    std::vector<model::KvSequence*> seqs;
    std::vector<Ran> ran;
    for (size_t k = 0; k < plan.items.size(); ++k) {
      const ScheduledSeq& it = plan.items[k];
      seqs.push_back(&it.seq->kv);
      ran.push_back({it.seq->id, it.start, it.count});
      for (size_t p = it.start; p < it.start + it.count; ++p) {
        tok.push_back(it.seq->tokens[p]);
        pos.push_back(static_cast<int32_t>(p));
        seq.push_back(static_cast<int32_t>(k));
        if (p < it.seq->n_prompt) ++prompt_computed_[{it.seq->id, p}];
      }
      if (it.sample) rows.push_back(static_cast<int32_t>(tok.size() - 1));
    }
    if (plan.items.empty()) return ran;
    const size_t nv = model_.n_vocab();
    std::vector<float> logits(rows.size() * nv);
    const model::ForwardBatch batch{tok, pos, seq, seqs, rows, logits.data()};
    EXPECT_TRUE(model_.forward(batch).ok());
    size_t row = 0;
    std::vector<Sequence*> sampled;
    for (const ScheduledSeq& it : plan.items) {
      if (!it.sample) continue;
      const auto id = model::argmax(logits.data() + row++ * nv, nv);
      it.seq->tokens.push_back(static_cast<int32_t>(id));
      sampled.push_back(it.seq);
    }
    sched_.computed(plan);
    for (Sequence* s : sampled) {
      if (s->n_generated() >= s->budget) done_.push_back(sched_.remove(s->id));
    }
    EXPECT_TRUE(sched_.blocks().consistent());
    check_window_blocks();
    return ran;
  }

  // Steps until nothing is left; false if that takes implausibly long (a stall).
  bool run(size_t max_steps = 10000) {
    for (size_t i = 0; i < max_steps && sched_.has_work(); ++i) step();
    return !sched_.has_work();
  }

  // Every finished sequence has its greedy tokens; a cancelled one a prefix of them.
  void check_outputs() const {
    for (const Sequence* s : all_) {
      SCOPED_TRACE("sequence " + std::to_string(s->id));
      const std::vector<int32_t> prompt(s->tokens.begin(), s->tokens.begin() + s->n_prompt);
      const std::vector<int32_t> got(s->tokens.begin() + s->n_prompt, s->tokens.end());
      const auto want = fake_greedy(prompt, s->budget, {}, kMaxPositions, 64, window_);
      if (std::find(cancelled_.begin(), cancelled_.end(), s->id) != cancelled_.end()) {
        ASSERT_LE(got.size(), want.size());
        EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()));
      } else {
        EXPECT_EQ(got, want);
      }
    }
  }

  // How many times prompt position `p` of `s` was computed.
  size_t computed(const Sequence* s, size_t p) const {
    const auto it = prompt_computed_.find({s->id, p});
    return it == prompt_computed_.end() ? 0 : it->second;
  }
  size_t prompt_computed() const {
    size_t n = 0;
    for (const auto& [k, v] : prompt_computed_) n += v;
    return n;
  }

  Scheduler& sched() { return sched_; }
  size_t preempted() const { return preempted_; }
  // The most window blocks one sequence held after a step.
  size_t max_window_blocks() const { return max_window_blocks_; }

  // Live (not dropped) entries of a window table.
  static size_t live(const std::vector<int32_t>& table) {
    return static_cast<size_t>(
        std::count_if(table.begin(), table.end(), [](int32_t b) { return b >= 0; }));
  }

 private:
  Scheduler sched_;
  testing::FakeModel model_;
  uint64_t next_id_ = 1;
  std::vector<Sequence*> all_;  // owned by the scheduler, then by done_
  std::vector<std::unique_ptr<Sequence>> done_;
  std::vector<uint64_t> cancelled_;
  std::map<std::pair<uint64_t, size_t>, size_t> prompt_computed_;
  size_t preempted_ = 0;
  size_t bs_, window_, max_chunk_;
  size_t max_window_blocks_ = 0;

  void check_window_blocks() {
    // Blocks referenced by sequences: finished ones hold none, so the sum
    // over all sequences is what the running ones hold.
    size_t held = 0;
    for (const Sequence* s : all_) {
      held += s->kv.blocks.size() + live(s->kv.window_blocks);
      if (window_ == 0) {
        EXPECT_TRUE(s->kv.window_blocks.empty());
        continue;
      }
      const size_t n = live(s->kv.window_blocks);
      max_window_blocks_ = std::max(max_window_blocks_, n);
      // Between steps a table covers what the next step reads: the window
      // before n_computed plus the blocks a chunk was given.
      EXPECT_LE(n, (window_ + max_chunk_) / bs_ + 2) << "sequence " << s->id;
    }
    // Shared prefix blocks count once per sequence, so `held` bounds from above.
    EXPECT_GE(held, sched_.blocks().used_count());
  }
};

}  // namespace quarry::engine::testing
