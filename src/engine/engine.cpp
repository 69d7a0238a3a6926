// The engine thread and the thread-safe front (submit, cancel, stats,
// shutdown). Scheduling lives in scheduler.cpp, blocks in block_manager.cpp,
// sampling in request_sampler.cpp.
//
// Locking: one mutex guards the scheduler (queues, blocks), the cancel list
// and the counters. The engine thread holds it to plan a step and to book
// its results, but not during the forward pass, the sampling or the
// callbacks: while it runs those, submit() only appends to the waiting queue,
// which planning alone reads, and the running sequences' tokens, block
// tables and samplers are touched by the engine thread only.
#include "engine/engine.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "engine/request_sampler.h"
#include "engine/scheduler.h"

namespace quarry::engine {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kContext:
      return "context";
    case FinishReason::kCancelled:
      return "cancelled";
    case FinishReason::kError:
      return "error";
  }
  return "unknown";
}

namespace {

// An update waiting to be handed over once the lock is released. The
// callback lives in its Sequence, which outlives the delivery.
struct Delivery {
  const UpdateCallback* callback;
  Update update;
};

Update progress(const Sequence& s) {
  Update u;
  u.prompt_tokens = s.n_prompt;
  u.cached_tokens = s.cached_tokens;
  u.generated_tokens = s.n_generated();
  return u;
}

}  // namespace

struct Engine::Impl {
  Impl(std::unique_ptr<StepModel> m, const EngineOptions& o)
      : model(std::move(m)),
        options(o),
        n_vocab(model->n_vocab()),
        max_positions(model->max_positions()),
        kv_positions(Scheduler::kv_positions(o, model->kv_blocks(), model->block_size(),
                                             model->kv_window())),
        sched(o, model->kv_blocks(), model->block_size(), model->kv_window()),
        seeder(std::random_device{}()) {}

  Submitted submit(Request&& request, UpdateCallback&& on_update);
  void run();
  // One forward step over `plan`, then sampling and bookkeeping.
  void step(const Schedule& plan);
  // Under the lock: queues the final update of a sequence already removed
  // from the scheduler.
  void finish(std::unique_ptr<Sequence> s, Update u, FinishReason reason, std::string error = {});
  void deliver();

  std::unique_ptr<StepModel> model;
  const EngineOptions options;
  const size_t n_vocab, max_positions, kv_positions;

  mutable std::mutex mu;
  std::condition_variable cv;
  Scheduler sched;
  std::vector<uint64_t> cancels;
  bool accepting = true;
  bool stopping = false;
  bool cancel_all = false;
  bool exited = false;
  uint64_t next_id = 1;
  std::mt19937_64 seeder;  // seeds for requests without one
  uint64_t prompt_tokens = 0, generated_tokens = 0, requests_finished = 0;
  uint64_t requests_refused = 0, steps = 0;

  std::mutex join_mu;
  std::thread thread;
  std::thread::id thread_id;

  // Engine thread only.
  std::vector<Delivery> out;
  std::vector<std::unique_ptr<Sequence>> done;  // finished, kept alive until delivered
  std::vector<int32_t> tok, pos, seq_index, rows;
  std::vector<model::KvSequence*> seqs;
  std::vector<float> logits;
  struct Sampled {
    Sequence* seq;
    int32_t id;
    SampledLogprobs lp;
  };
  std::vector<Sampled> sampled;
};

Submitted Engine::Impl::submit(Request&& request, UpdateCallback&& on_update) {
  const auto invalid = [](std::string m) {
    return Submitted{SubmitCode::kInvalid, 0, std::move(m)};
  };
  const size_t n = request.prompt.size();
  if (n == 0) return invalid("prompt: no tokens");
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = request.prompt[i];
    if (t < 0 || static_cast<size_t>(t) >= n_vocab) {
      return invalid("prompt: token " + std::to_string(i) + " (id " + std::to_string(t) +
                     ") is outside the vocabulary (" + std::to_string(n_vocab) + ")");
    }
  }
  if (request.max_tokens == 0) return invalid("max_tokens: 0 is not >= 1");
  if (Status st = validate(request.sampling, n_vocab); !st.ok()) return invalid(st.message());
  if (n + 1 > max_positions) {
    return invalid("prompt: " + std::to_string(n) + " tokens plus one generated token exceed " +
                   "the model's " + std::to_string(max_positions) + " positions");
  }
  if (n + 1 > kv_positions) {
    return invalid("prompt: " + std::to_string(n) + " tokens plus one generated token exceed " +
                   "the KV cache's " + std::to_string(kv_positions) + " positions");
  }

  std::lock_guard lk(mu);
  if (!accepting) {
    ++requests_refused;
    return {SubmitCode::kShuttingDown, 0, "the engine is shutting down"};
  }
  if (sched.n_waiting() >= options.max_waiting) {
    ++requests_refused;
    return {SubmitCode::kOverloaded, 0,
            "the waiting queue is full (" + std::to_string(options.max_waiting) + " requests)"};
  }
  const uint64_t seed = request.sampling.seed ? *request.sampling.seed : seeder();
  auto sampler = RequestSampler::create(request.sampling, seed);
  if (!sampler.ok()) return invalid(sampler.message());

  auto s = std::make_unique<Sequence>();
  s->id = next_id++;
  s->tokens = std::move(request.prompt);
  s->n_prompt = n;
  // A sequence never holds more tokens than the positions of the model or of
  // the whole KV pool (so it can always run alone).
  s->budget = std::min(request.max_tokens, std::min(max_positions, kv_positions) - n);
  s->request = std::move(request);
  s->on_update = std::move(on_update);
  s->sampler = std::move(sampler.value());
  const uint64_t id = s->id;
  sched.enqueue(std::move(s));
  cv.notify_one();
  return {SubmitCode::kOk, id, {}};
}

void Engine::Impl::finish(std::unique_ptr<Sequence> s, Update u, FinishReason reason,
                          std::string error) {
  u.finished = true;
  u.finish = reason;
  u.error = std::move(error);
  ++requests_finished;
  out.push_back({&s->on_update, std::move(u)});
  done.push_back(std::move(s));
}

void Engine::Impl::deliver() {
  for (Delivery& d : out) {
    if (*d.callback) (*d.callback)(std::move(d.update));
  }
  out.clear();
  done.clear();
}

void Engine::Impl::run() {
  for (;;) {
    Schedule plan;
    bool exit = false;
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return stopping || !cancels.empty() || sched.has_work(); });
      if (cancel_all) {
        for (auto& s : sched.remove_all()) {
          Update u = progress(*s);
          finish(std::move(s), std::move(u), FinishReason::kCancelled);
        }
      }
      for (uint64_t id : cancels) {
        if (auto s = sched.remove(id)) {
          Update u = progress(*s);
          finish(std::move(s), std::move(u), FinishReason::kCancelled);
        }
      }
      cancels.clear();
      if (sched.has_work()) {
        plan = sched.schedule();
        if (!plan.items.empty()) ++steps;
      } else {
        exit = stopping;
        exited = exit;
      }
    }
    deliver();
    if (exit) return;
    if (plan.items.empty()) continue;  // only preemptions: the next plan admits
    step(plan);
    deliver();
  }
}

void Engine::Impl::step(const Schedule& plan) {
  tok.clear();
  pos.clear();
  seq_index.clear();
  rows.clear();
  seqs.clear();
  for (size_t k = 0; k < plan.items.size(); ++k) {
    const ScheduledSeq& it = plan.items[k];
    seqs.push_back(&it.seq->kv);
    for (size_t p = it.start; p < it.start + it.count; ++p) {
      tok.push_back(it.seq->tokens[p]);
      pos.push_back(static_cast<int32_t>(p));
      seq_index.push_back(static_cast<int32_t>(k));
    }
    if (it.sample) rows.push_back(static_cast<int32_t>(tok.size() - 1));
  }
  logits.resize(rows.size() * n_vocab);
  const model::ForwardBatch batch{tok, pos, seq_index, seqs, rows, logits.data()};

  if (Status st = model->forward(batch); !st.ok()) {
    std::lock_guard lk(mu);
    for (const ScheduledSeq& it : plan.items) {
      if (auto s = sched.remove(it.seq->id)) {
        Update u = progress(*s);
        finish(std::move(s), std::move(u), FinishReason::kError, st.message());
      }
    }
    return;
  }

  // Sampling needs no lock (see the top of the file).
  sampled.clear();
  size_t row = 0;
  for (const ScheduledSeq& it : plan.items) {
    if (!it.sample) continue;
    Sequence& s = *it.seq;
    const std::span<float> l(logits.data() + row++ * n_vocab, n_vocab);
    const std::span<const int32_t> all(s.tokens);
    Sampled r{&s, 0, {}};
    r.id = s.sampler->sample(l, all.first(s.n_prompt), all.subspan(s.n_prompt),
                             s.request.logits_processor, &r.lp);
    s.tokens.push_back(r.id);
    sampled.push_back(std::move(r));
  }

  std::lock_guard lk(mu);
  sched.computed(plan);
  for (const ScheduledSeq& it : plan.items) {
    const size_t n = it.seq->n_prompt, end = it.start + it.count;
    prompt_tokens += std::min(end, n) - std::min(it.start, n);
  }
  for (Sampled& r : sampled) {
    Sequence& s = *r.seq;
    ++generated_tokens;
    Update u = progress(s);
    u.tokens.push_back(r.id);
    if (s.request.sampling.logprobs >= 0) u.logprobs.push_back(std::move(r.lp));
    const auto& stops = s.request.stop_ids;
    if (std::find(stops.begin(), stops.end(), r.id) != stops.end()) {
      finish(sched.remove(s.id), std::move(u), FinishReason::kStop);
    } else if (s.n_generated() >= s.budget) {
      const bool clipped = s.budget < s.request.max_tokens;
      finish(sched.remove(s.id), std::move(u),
             clipped ? FinishReason::kContext : FinishReason::kLength);
    } else {
      out.push_back({&s.on_update, std::move(u)});
    }
  }
}

Engine::Engine(std::unique_ptr<StepModel> model, EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
  impl_->thread_id = impl_->thread.get_id();
}

Engine::~Engine() {
  // The engine thread runs inside *impl_: freeing it from there (a callback
  // dropping the last reference to the engine's owner) would free the state
  // it is still using. Owners must outlive the thread (see api/endpoints.h).
  if (std::this_thread::get_id() == impl_->thread_id) {
    std::fputs("quarry: internal error: an engine was destroyed by its own thread\n", stderr);
    std::abort();
  }
  shutdown();
}

Submitted Engine::submit(Request request, UpdateCallback on_update) {
  return impl_->submit(std::move(request), std::move(on_update));
}

void Engine::cancel(uint64_t id) {
  std::lock_guard lk(impl_->mu);
  // Ids never handed out, or an engine whose thread has stopped: nothing to do
  // (and nothing would ever clear the list).
  if (id == 0 || id >= impl_->next_id || impl_->exited) return;
  impl_->cancels.push_back(id);
  impl_->cv.notify_one();
}

void Engine::shutdown(bool drain) {
  {
    std::lock_guard lk(impl_->mu);
    impl_->accepting = false;
    impl_->stopping = true;
    if (!drain) impl_->cancel_all = true;
    impl_->cv.notify_one();
  }
  // From a callback (the engine thread) the thread cannot wait for itself; it
  // stops once the current step is delivered and the work is done.
  if (std::this_thread::get_id() == impl_->thread_id) return;
  std::lock_guard jl(impl_->join_mu);
  if (impl_->thread.joinable()) impl_->thread.join();
}

EngineStats Engine::stats() const {
  std::lock_guard lk(impl_->mu);
  const Impl& m = *impl_;
  const BlockManager& b = m.sched.blocks();
  EngineStats s;
  s.waiting = m.sched.n_waiting();
  s.running = m.sched.n_running();
  s.kv_blocks_total = b.n_blocks();
  s.kv_blocks_used = b.used_count();
  s.kv_blocks_free = b.free_count();
  s.kv_blocks_cached = b.cached_count();
  s.prefix_query_tokens = m.sched.prefix_query_tokens();
  s.prefix_hit_tokens = m.sched.prefix_hit_tokens();
  s.prompt_tokens = m.prompt_tokens;
  s.generated_tokens = m.generated_tokens;
  s.requests_finished = m.requests_finished;
  s.requests_refused = m.requests_refused;
  s.steps = m.steps;
  return s;
}

size_t Engine::n_vocab() const { return impl_->n_vocab; }
size_t Engine::max_positions() const { return impl_->max_positions; }

}  // namespace quarry::engine
