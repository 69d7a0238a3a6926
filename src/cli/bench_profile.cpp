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
  std::optional<double> gbs;
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
    if (e.weight_bytes > 0 && e.seconds > 0.0)
      r.gbs = static_cast<double>(e.weight_bytes) / e.seconds / 1e9;
    rows.push_back(r);
  }
  return rows;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string profile_table(const StepProfile& p, const std::optional<double>& read_gbs) {
  const double steps = p.steps > 0 ? static_cast<double>(p.steps) : 1.0;
  const double step_ms = p.seconds / steps * 1e3;
  std::vector<std::vector<std::string>> cells = {
      {"op", "ms/step", "share", "weights/step", "GB/s", "of probe"}};
  auto add = [&](const std::string& name, double ms, double bytes, std::optional<double> gbs) {
    cells.push_back(
        {name, fmt("%.3f", ms), fmt("%.1f%%", step_ms > 0 ? 100.0 * ms / step_ms : 0.0),
         bytes > 0 ? human_bytes(bytes) : "", gbs ? fmt("%.2f", *gbs) : "",
         gbs && read_gbs && *read_gbs > 0 ? fmt("%.0f%%", 100.0 * *gbs / *read_gbs) : ""});
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
  const double steps = p.steps > 0 ? static_cast<double>(p.steps) : 1.0;
  const double step_ms = p.seconds / steps * 1e3;
  Json ops = Json::array();
  double ms_sum = 0.0;
  for (const Row& r : rows_of(p)) {
    Json o = Json::object();
    o["op"] = r.name;
    o["ms_per_step"] = r.ms;
    o["weight_bytes_per_step"] = r.bytes;
    o["gbs"] = r.gbs ? Json(*r.gbs) : Json(nullptr);
    o["pct_of_probe"] =
        r.gbs && read_gbs && *read_gbs > 0 ? Json(100.0 * *r.gbs / *read_gbs) : Json(nullptr);
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

}  // namespace quarry::cli
