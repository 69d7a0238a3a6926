#include "api/generation.h"

#include "tokenizer/tokenizer.h"

namespace quarry::api {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

class Generation : public std::enable_shared_from_this<Generation> {
 public:
  Generation(Service& svc, GenerationSpec spec, std::shared_ptr<GenerationSink> sink)
      : svc_(svc),
        spec_(std::move(spec)),
        sink_(std::move(sink)),
        start_(Clock::now()),
        principal_(Service::current_principal()) {
    const size_t n = spec_.params.n;
    for (size_t i = 0; i < n; ++i) {
      choices_.push_back(std::make_unique<Choice>(*spec_.model->tokenizer, spec_.params.stop,
                                                  spec_.params.top_logprobs, spec_.raw));
    }
    results_.resize(n);
    remaining_ = n;
  }

  std::optional<ApiError> submit(size_t max_tokens) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < choices_.size(); ++i) {
      engine::Request req;
      req.prompt = spec_.prompt;
      req.max_tokens = max_tokens;
      req.stop_ids = spec_.stop_ids;
      req.sampling = spec_.params.sampling;
      // Each choice draws its own tokens; a seed stays reproducible.
      if (req.sampling.seed) *req.sampling.seed += i;
      if (spec_.make_processor) req.logits_processor = spec_.make_processor(max_tokens);
      auto self = shared_from_this();
      engine::Submitted s = spec_.model->engine->submit(
          std::move(req), [self, i](engine::Update&& u) { self->on_update(i, std::move(u)); });
      if (s.code != engine::SubmitCode::kOk) {
        failed_ = true;
        for (size_t j = 0; j < i; ++j) spec_.model->engine->cancel(choices_[j]->id);
        ApiError e;
        e.message = s.message;
        if (s.code == engine::SubmitCode::kOverloaded) {
          e.status = 429;
          e.type = "rate_limit_exceeded";
          e.code = "rate_limit_exceeded";
          e.retry_after_s = 1;
        } else if (s.code == engine::SubmitCode::kShuttingDown) {
          e.status = 503;
          e.type = "server_error";
          e.code = "overloaded";
          e.retry_after_s = 5;
        } else {
          e.code = "invalid_value";
        }
        return e;
      }
      choices_[i]->id = s.id;
    }
    ++svc_.metrics().requests;
    svc_.metrics().prompt_tokens += spec_.prompt.size();
    return std::nullopt;
  }

  void cancel_all() {
    std::lock_guard lock(mu_);
    for (auto& c : choices_) {
      if (!c->done) spec_.model->engine->cancel(c->id);
    }
  }

 private:
  struct Choice {
    Choice(const tokenizer::Tokenizer& tok, std::vector<std::string> stops, int top_logprobs,
           bool raw)
        : decoder(tok, std::move(stops), top_logprobs, raw) {}
    ChoiceDecoder decoder;
    uint64_t id = 0;
    bool done = false;
    size_t tokens = 0;
    Clock::time_point last;
  };

  void on_update(size_t i, engine::Update&& u) {
    std::lock_guard lock(mu_);
    Choice& c = *choices_[i];
    if (failed_ || c.done) return;
    usage_.prompt_tokens = u.prompt_tokens;
    if (i == 0) usage_.cached_tokens = u.cached_tokens;
    std::vector<ChoiceDelta> deltas;
    bool stopped = false;
    const Clock::time_point now = Clock::now();
    if (!u.tokens.empty()) {
      if (c.tokens == 0) {
        svc_.metrics().ttft.observe(seconds(now - start_));
      } else {
        const double gap = seconds(now - c.last) / static_cast<double>(u.tokens.size());
        for (size_t k = 0; k < u.tokens.size(); ++k) svc_.metrics().itl.observe(gap);
      }
      c.last = now;
    }
    for (size_t k = 0; k < u.tokens.size() && !stopped; ++k) {
      ++c.tokens;
      const engine::SampledLogprobs* lp = k < u.logprobs.size() ? &u.logprobs[k] : nullptr;
      stopped = !c.decoder.push(u.tokens[k], lp, deltas);
    }
    if (!stopped && u.finished) c.decoder.finish(deltas);
    if (!deltas.empty()) sink_->on_deltas(i, deltas);
    if (!stopped && !u.finished) return;

    if (stopped) spec_.model->engine->cancel(c.id);
    c.done = true;
    ChoiceResult& r = results_[i];
    r.decoder = &c.decoder;
    r.tokens = c.tokens;
    if (stopped) {
      r.finish = Finish::kStop;
    } else {
      switch (u.finish) {
        case engine::FinishReason::kStop:
          r.finish = c.decoder.tool_calls().empty() ? Finish::kStop : Finish::kToolCalls;
          break;
        case engine::FinishReason::kLength:
          r.finish = Finish::kLength;
          break;
        case engine::FinishReason::kContext:
          r.finish = Finish::kLength;
          r.context_full = true;
          break;
        case engine::FinishReason::kCancelled:
          r.finish = Finish::kError;
          r.error = "the request was cancelled";
          break;
        case engine::FinishReason::kError:
          r.finish = Finish::kError;
          r.error = u.error.empty() ? "generation failed" : u.error;
          break;
      }
    }
    usage_.completion_tokens += c.tokens;
    usage_.reasoning_tokens += c.decoder.reasoning_tokens();
    svc_.metrics().output_tokens += c.tokens;
    svc_.metrics().reasoning_tokens += c.decoder.reasoning_tokens();
    sink_->on_choice_done(i, r);
    if (--remaining_ == 0) {
      sink_->on_all_done(results_, usage_);
      svc_.record_usage(principal_, spec_.model->name, usage_.prompt_tokens,
                        usage_.completion_tokens, usage_.reasoning_tokens);
    }
  }

  Service& svc_;
  GenerationSpec spec_;
  std::shared_ptr<GenerationSink> sink_;
  Clock::time_point start_;
  std::string principal_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Choice>> choices_;
  std::vector<ChoiceResult> results_;
  Usage usage_;
  size_t remaining_ = 0;
  bool failed_ = false;
};

}  // namespace

void StreamGate::open(int status, std::vector<http::Header> headers, std::string first) {
  std::lock_guard lock(mu_);
  out_->begin_stream(status, std::move(headers));
  if (!first.empty()) out_->write(std::move(first));
  for (std::string& p : pending_) out_->write(std::move(p));
  pending_.clear();
  opened_ = true;
  if (ended_) out_->finish();
}

void StreamGate::write(std::string bytes) {
  std::lock_guard lock(mu_);
  if (opened_) {
    out_->write(std::move(bytes));
  } else {
    pending_.push_back(std::move(bytes));
  }
}

void StreamGate::end() {
  std::lock_guard lock(mu_);
  ended_ = true;
  if (opened_) out_->finish();
}

const char* finish_name(Finish f) {
  switch (f) {
    case Finish::kStop:
      return "stop";
    case Finish::kLength:
      return "length";
    case Finish::kToolCalls:
      return "tool_calls";
    case Finish::kError:
      return "error";
  }
  return "stop";
}

std::optional<ApiError> start_generation(Service& svc, GenerationSpec spec,
                                         std::shared_ptr<GenerationSink> sink,
                                         http::Responder& out) {
  const size_t context = spec.model->engine->max_positions();
  const size_t prompt = spec.prompt.size();
  if (prompt == 0) return invalid("The prompt is empty.", std::nullopt, "invalid_value");
  if (prompt >= context) {
    return invalid("This model's maximum context length is " + std::to_string(context) +
                       " tokens. However, your prompt has " + std::to_string(prompt) + " tokens.",
                   "messages", "context_length_exceeded");
  }
  size_t max_tokens = context - prompt;
  if (spec.params.max_tokens) {
    if (*spec.params.max_tokens > max_tokens) {
      return invalid("This model's maximum context length is " + std::to_string(context) +
                         " tokens. However, you requested " +
                         std::to_string(prompt + *spec.params.max_tokens) + " tokens (" +
                         std::to_string(prompt) + " in the prompt, " +
                         std::to_string(*spec.params.max_tokens) + " for the completion).",
                     "max_tokens", "context_length_exceeded");
    }
    max_tokens = *spec.params.max_tokens;
  }
  for (int32_t id :
       {static_cast<int32_t>(tokenizer::kReturn), static_cast<int32_t>(tokenizer::kCall),
        static_cast<int32_t>(tokenizer::kEndOfText)}) {
    spec.stop_ids.push_back(id);
  }
  auto gen = std::make_shared<Generation>(svc, std::move(spec), std::move(sink));
  if (auto err = gen->submit(max_tokens)) return err;
  std::weak_ptr<Generation> weak = gen;
  out.on_close([weak] {
    if (auto g = weak.lock()) g->cancel_all();
  });
  return std::nullopt;
}

}  // namespace quarry::api
