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

// A markdown table: per op, ms per step, share of the step, weight bytes per
// step, GB/s and that as a share of `read_gbs`; then the ops' sum and the rest
// of the step (sampling, bookkeeping between ops).
std::string profile_table(const StepProfile& p, const std::optional<double>& read_gbs);

// {"steps", "step_ms", "ops": [{"op", "ms_per_step", "weight_bytes_per_step",
// "gbs"}], "other_ms_per_step"}; gbs is null for ops that read no weights.
Json profile_json(const StepProfile& p, const std::optional<double>& read_gbs);

// The same for prompt runs: per op, ms per run, share of the run, multiply-
// adds per run, GMAC/s and that as a share of `peak_gmacs`.
std::string compute_profile_table(const StepProfile& p, const std::optional<double>& peak_gmacs);

// {"runs", "run_ms", "ops": [{"op", "ms_per_run", "macs_per_run", "gmacs",
// "pct_of_fma_peak"}], "other_ms_per_run"}; gmacs is null for ops without
// matrix products.
Json compute_profile_json(const StepProfile& p, const std::optional<double>& peak_gmacs);

}  // namespace quarry::cli
