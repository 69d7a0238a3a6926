#include "api/metrics.h"

#include <cstdio>

namespace quarry::api {
namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void metric(std::string& out, const char* type, const std::string& name, const std::string& help,
            double value) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out += name + " " + num(value) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  std::lock_guard lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard lock(mu_);
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + num(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      itl({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}) {}

std::string Metrics::render(const engine::EngineStats& s) const {
  std::string out;
  metric(out, "gauge", "quarry_requests_waiting", "Requests queued for the engine.",
         static_cast<double>(s.waiting));
  metric(out, "gauge", "quarry_requests_running", "Requests being generated.",
         static_cast<double>(s.running));
  metric(out, "gauge", "quarry_kv_blocks_total", "KV cache blocks in the pool.",
         static_cast<double>(s.kv_blocks_total));
  metric(out, "gauge", "quarry_kv_blocks_used", "KV cache blocks held by live sequences.",
         static_cast<double>(s.kv_blocks_used));
  metric(out, "gauge", "quarry_kv_blocks_free", "KV cache blocks free (cached prefixes included).",
         static_cast<double>(s.kv_blocks_free));
  metric(out, "gauge", "quarry_kv_blocks_cached", "Free KV blocks that still hold a prefix.",
         static_cast<double>(s.kv_blocks_cached));
  const double hit_rate =
      s.prefix_query_tokens == 0
          ? 0.0
          : static_cast<double>(s.prefix_hit_tokens) / static_cast<double>(s.prefix_query_tokens);
  metric(out, "gauge", "quarry_prefix_cache_hit_rate",
         "Prompt tokens found in the prefix cache / prompt tokens looked up.", hit_rate);
  metric(out, "counter", "quarry_prefix_cache_queries_total", "Prompt tokens looked up.",
         static_cast<double>(s.prefix_query_tokens));
  metric(out, "counter", "quarry_prefix_cache_hits_total", "Prompt tokens found in the cache.",
         static_cast<double>(s.prefix_hit_tokens));
  metric(out, "counter", "quarry_prompt_tokens_total", "Prompt tokens of accepted requests.",
         static_cast<double>(prompt_tokens.load()));
  metric(out, "counter", "quarry_generation_tokens_total", "Generated tokens.",
         static_cast<double>(output_tokens.load()));
  metric(out, "counter", "quarry_reasoning_tokens_total", "Generated analysis-channel tokens.",
         static_cast<double>(reasoning_tokens.load()));
  metric(out, "counter", "quarry_requests_total", "Generation requests accepted.",
         static_cast<double>(requests.load()));
  metric(out, "counter", "quarry_request_errors_total", "Requests answered with an error.",
         static_cast<double>(request_errors.load()));
  metric(out, "counter", "quarry_requests_refused_total", "Requests refused by admission control.",
         static_cast<double>(s.requests_refused));
  metric(out, "counter", "quarry_engine_steps_total", "Engine forward steps.",
         static_cast<double>(s.steps));
  ttft.render(out, "quarry_time_to_first_token_seconds", "Time to first token.");
  itl.render(out, "quarry_inter_token_latency_seconds", "Time between tokens of one choice.");
  return out;
}

std::string render_memory_metrics(const MemoryBudget& budget) {
  std::string out;
  // Whole bytes, not num()'s 9 significant digits.
  auto gauge = [&out](const std::string& name, const std::string& help, const std::string& v) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + v + "\n";
  };
  gauge("quarry_memory_budget_bytes",
        "Memory the loaded models (weights and KV caches) may hold together.",
        budget.unlimited() ? "+Inf" : std::to_string(budget.total()));
  gauge("quarry_memory_reserved_bytes",
        "Memory reserved by the loaded models (weights and KV caches).",
        std::to_string(budget.reserved()));
  return out;
}

}  // namespace quarry::api
