// The op profile of `quarry bench --profile`: the forward's per-op wall time,
// weight bytes and multiply-adds summed over the timed decode steps (or
// prompt runs), shown per step next to the read probe (decode is bound by
// memory) or per run next to the vector FMA probe (prefill is bound by
// compute), so each op's share of the gap to its ceiling is visible.
#pragma once

#include <optional>
#include <string>

#include "cli/jsonl.h"
#include "model/op_profile.h"

namespace quarry::cli {

struct StepProfile {
  model::OpProfile ops;  // summed over every profiled step
  size_t steps = 0;      // decode steps or prompt runs (forward calls) profiled
  double seconds = 0.0;  // their wall time, as the runs measured it

  void add_run(size_t n_steps, double run_seconds) {
    steps += n_steps;
    seconds += run_seconds;
  }
};

// What a profile is set against: decode steps against the read probe (GB/s
// of the weights each op streams), prompt runs against the vector FMA probe
// (GMAC/s of each op's multiply-adds).
enum class ProfileBound { kMemory, kCompute };

// A markdown table: per op, ms per step (run), share of it, the op's weight
// bytes (multiply-adds) per step (run), their rate and that as a share of
// `ceiling` (GB/s or GMAC/s); then the ops' sum and the rest of the step
// (sampling, bookkeeping between ops).
std::string profile_table(const StepProfile& p, ProfileBound bound,
                          const std::optional<double>& ceiling);

// kMemory: {"steps", "step_ms", "ops": [{"op", "ms_per_step",
// "weight_bytes_per_step", "gbs", "pct_of_probe"}], "other_ms_per_step"};
// kCompute: {"runs", "run_ms", "ops": [{"op", "ms_per_run", "macs_per_run",
// "gmacs", "pct_of_fma_peak"}], "other_ms_per_run"}. The rate and its share
// are null for ops that read no weights (do no matrix products).
Json profile_json(const StepProfile& p, ProfileBound bound, const std::optional<double>& ceiling);

}  // namespace quarry::cli
