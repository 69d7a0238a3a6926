#include "cli/bench_profile.h"

#include <cstdio>
#include <vector>

#include "cli/progress.h"
#include "cli/text_table.h"

namespace quarry::cli {
namespace {

struct Row {
  const char* name = "";
  double ms = 0.0;     // per step
  double bytes = 0.0;  // per step
  double macs = 0.0;   // per step
  std::optional<double> gbs, gmacs;
};

std::vector<Row> rows_of(const StepProfile& p) {
  std::vector<Row> rows;
  const double steps = p.steps > 0 ? static_cast<double>(p.steps) : 1.0;
  for (size_t i = 0; i < static_cast<size_t>(model::Op::kCount); ++i) {
    const auto op = static_cast<model::Op>(i);
    const model::OpProfile::Entry& e = p.ops.at(op);
    if (e.calls == 0) continue;
    Row r;
    r.name = model::op_name(op);
    r.ms = e.seconds / steps * 1e3;
    r.bytes = static_cast<double>(e.weight_bytes) / steps;
    r.macs = static_cast<double>(e.macs) / steps;
    if (e.weight_bytes > 0 && e.seconds > 0.0)
      r.gbs = static_cast<double>(e.weight_bytes) / e.seconds / 1e9;
    if (e.macs > 0 && e.seconds > 0.0) r.gmacs = static_cast<double>(e.macs) / e.seconds / 1e9;
    rows.push_back(r);
  }
  return rows;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A multiply-add count with an SI prefix, as human_bytes writes bytes.
std::string macs_text(double m) {
  if (m >= 1e12) return fmt("%.2f T", m / 1e12);
  if (m >= 1e9) return fmt("%.2f G", m / 1e9);
  if (m >= 1e6) return fmt("%.1f M", m / 1e6);
  return fmt("%.1f k", m / 1e3);
}

double step_ms_of(const StepProfile& p) {
  return p.seconds / (p.steps > 0 ? static_cast<double>(p.steps) : 1.0) * 1e3;
}

std::optional<double> share_of(const std::optional<double>& v, const std::optional<double>& of) {
  if (!v || !of || *of <= 0.0) return std::nullopt;
  return 100.0 * *v / *of;
}

}  // namespace

std::string profile_table(const StepProfile& p, const std::optional<double>& read_gbs) {
  const double step_ms = step_ms_of(p);
  std::vector<std::vector<std::string>> cells = {
      {"op", "ms/step", "share", "weights/step", "GB/s", "of probe"}};
  auto add = [&](const std::string& name, double ms, double bytes, std::optional<double> gbs) {
    const std::optional<double> pct = share_of(gbs, read_gbs);
    cells.push_back({name, fmt("%.3f", ms), fmt("%.1f%%", step_ms > 0 ? 100.0 * ms / step_ms : 0.0),
                     bytes > 0 ? human_bytes(bytes) : "", gbs ? fmt("%.2f", *gbs) : "",
                     pct ? fmt("%.0f%%", *pct) : ""});
  };
  double ms_sum = 0.0, bytes_sum = 0.0;
  for (const Row& r : rows_of(p)) {
    add(r.name, r.ms, r.bytes, r.gbs);
    ms_sum += r.ms;
    bytes_sum += r.bytes;
  }
  add("all ops", ms_sum, bytes_sum,
      ms_sum > 0 ? std::optional<double>(bytes_sum / ms_sum / 1e6) : std::nullopt);
  add("outside the ops", step_ms - ms_sum, 0.0, std::nullopt);
  add("step", step_ms, bytes_sum,
      step_ms > 0 ? std::optional<double>(bytes_sum / step_ms / 1e6) : std::nullopt);

  return markdown_table(cells, {true});
}

Json profile_json(const StepProfile& p, const std::optional<double>& read_gbs) {
  const double step_ms = step_ms_of(p);
  Json ops = Json::array();
  double ms_sum = 0.0;
  for (const Row& r : rows_of(p)) {
    Json o = Json::object();
    o["op"] = r.name;
    o["ms_per_step"] = r.ms;
    o["weight_bytes_per_step"] = r.bytes;
    o["gbs"] = r.gbs ? Json(*r.gbs) : Json(nullptr);
    const std::optional<double> pct = share_of(r.gbs, read_gbs);
    o["pct_of_probe"] = pct ? Json(*pct) : Json(nullptr);
    ops.push_back(std::move(o));
    ms_sum += r.ms;
  }
  Json j = Json::object();
  j["steps"] = p.steps;
  j["step_ms"] = step_ms;
  j["ops"] = std::move(ops);
  j["other_ms_per_step"] = step_ms - ms_sum;
  return j;
}

std::string compute_profile_table(const StepProfile& p, const std::optional<double>& peak_gmacs) {
  const double run_ms = step_ms_of(p);
  std::vector<std::vector<std::string>> cells = {
      {"op", "ms/run", "share", "MACs/run", "GMAC/s", "of FMA peak"}};
  auto add = [&](const std::string& name, double ms, double macs) {
    const std::optional<double> gmacs =
        macs > 0 && ms > 0 ? std::optional<double>(macs / ms / 1e6) : std::nullopt;
    const std::optional<double> pct = share_of(gmacs, peak_gmacs);
    cells.push_back({name, fmt("%.1f", ms), fmt("%.1f%%", run_ms > 0 ? 100.0 * ms / run_ms : 0.0),
                     macs > 0 ? macs_text(macs) : "", gmacs ? fmt("%.1f", *gmacs) : "",
                     pct ? fmt("%.0f%%", *pct) : ""});
  };
  double ms_sum = 0.0, macs_sum = 0.0;
  for (const Row& r : rows_of(p)) {
    add(r.name, r.ms, r.macs);
    ms_sum += r.ms;
    macs_sum += r.macs;
  }
  add("all ops", ms_sum, macs_sum);
  add("outside the ops", run_ms - ms_sum, 0.0);
  add("run", run_ms, macs_sum);
  return markdown_table(cells, {true});
}

Json compute_profile_json(const StepProfile& p, const std::optional<double>& peak_gmacs) {
  const double run_ms = step_ms_of(p);
  Json ops = Json::array();
  double ms_sum = 0.0;
  for (const Row& r : rows_of(p)) {
    Json o = Json::object();
    o["op"] = r.name;
    o["ms_per_run"] = r.ms;
    o["macs_per_run"] = r.macs;
    o["gmacs"] = r.gmacs ? Json(*r.gmacs) : Json(nullptr);
    const std::optional<double> pct = share_of(r.gmacs, peak_gmacs);
    o["pct_of_fma_peak"] = pct ? Json(*pct) : Json(nullptr);
    ops.push_back(std::move(o));
    ms_sum += r.ms;
  }
  Json j = Json::object();
  j["runs"] = p.steps;
  j["run_ms"] = run_ms;
  j["ops"] = std::move(ops);
  j["other_ms_per_run"] = run_ms - ms_sum;
  return j;
}

}  // namespace quarry::cli
