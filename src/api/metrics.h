// Server metrics in the Prometheus text format (GET /metrics): request and
// token counters, time-to-first-token and inter-token latency histograms,
// plus the engine's queue, KV-block and prefix-cache gauges.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "api/memory_budget.h"
#include "engine/engine.h"

namespace quarry::api {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // "# TYPE name histogram" and the _bucket/_sum/_count lines.
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bound, then +Inf
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

struct Metrics {
  Metrics();
  std::atomic<uint64_t> requests{0};        // API requests that reached the engine
  std::atomic<uint64_t> request_errors{0};  // answered with a 4xx/5xx
  std::atomic<uint64_t> prompt_tokens{0};   // prompt tokens of accepted requests
  std::atomic<uint64_t> output_tokens{0};   // generated tokens delivered
  std::atomic<uint64_t> reasoning_tokens{0};
  Histogram ttft;  // seconds from arrival to the first generated token
  Histogram itl;   // seconds between consecutive tokens of one choice

  std::string render(const engine::EngineStats& s) const;
};

// quarry_memory_budget_bytes (+Inf when unlimited) and quarry_memory_reserved_bytes.
std::string render_memory_metrics(const MemoryBudget& budget);

}  // namespace quarry::api
