#include "cli/bench_profile.h"

#include <cstdio>
#include <vector>

#include "cli/progress.h"
#include "cli/text_table.h"

namespace quarry::cli {
namespace {

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

// The names and formats of one ProfileBound.
struct Kind {
  const char* per;  // "step" or "run": in column headers and JSON keys
  uint64_t model::OpProfile::Entry::*amount;
  const char* amount_head;  // table column; the JSON key is amount_key + "_per_" + per
  const char* amount_key;
  std::string (*amount_text)(double);
  const char* ms_fmt;
  const char* rate_head;
  const char* rate_key;
  const char* rate_fmt;
  const char* share_head;
  const char* share_key;
};

const Kind& kind_of(ProfileBound b) {
  static const Kind memory{.per = "step",
                           .amount = &model::OpProfile::Entry::weight_bytes,
                           .amount_head = "weights/step",
                           .amount_key = "weight_bytes",
                           .amount_text = human_bytes,
                           .ms_fmt = "%.3f",
                           .rate_head = "GB/s",
                           .rate_key = "gbs",
                           .rate_fmt = "%.2f",
                           .share_head = "of probe",
                           .share_key = "pct_of_probe"};
  static const Kind compute{.per = "run",
                            .amount = &model::OpProfile::Entry::macs,
                            .amount_head = "MACs/run",
                            .amount_key = "macs",
                            .amount_text = macs_text,
                            .ms_fmt = "%.1f",
                            .rate_head = "GMAC/s",
                            .rate_key = "gmacs",
                            .rate_fmt = "%.1f",
                            .share_head = "of FMA peak",
                            .share_key = "pct_of_fma_peak"};
  return b == ProfileBound::kMemory ? memory : compute;
}

struct Row {
  const char* name = "";
  double ms = 0.0;      // per step
  double amount = 0.0;  // bytes or multiply-adds per step
  // Amount per second in G (GB/s, GMAC/s), where there is an amount.
  std::optional<double> rate() const {
    if (amount <= 0.0 || ms <= 0.0) return std::nullopt;
    return amount / ms / 1e6;
  }
};

std::vector<Row> rows_of(const StepProfile& p, const Kind& k) {
  std::vector<Row> rows;
  const double steps = p.steps > 0 ? static_cast<double>(p.steps) : 1.0;
  for (size_t i = 0; i < static_cast<size_t>(model::Op::kCount); ++i) {
    const auto op = static_cast<model::Op>(i);
    const model::OpProfile::Entry& e = p.ops.at(op);
    if (e.calls == 0) continue;
    rows.push_back(
        {model::op_name(op), e.seconds / steps * 1e3, static_cast<double>(e.*k.amount) / steps});
  }
  return rows;
}

double step_ms_of(const StepProfile& p) {
  return p.seconds / (p.steps > 0 ? static_cast<double>(p.steps) : 1.0) * 1e3;
}

std::optional<double> share_of(const std::optional<double>& v, const std::optional<double>& of) {
  if (!v || !of || *of <= 0.0) return std::nullopt;
  return 100.0 * *v / *of;
}

}  // namespace

std::string profile_table(const StepProfile& p, ProfileBound bound,
                          const std::optional<double>& ceiling) {
  const Kind& k = kind_of(bound);
  const double step_ms = step_ms_of(p);
  const std::string per = std::string("ms/") + k.per;
  std::vector<std::vector<std::string>> cells = {
      {"op", per, "share", k.amount_head, k.rate_head, k.share_head}};
  auto add = [&](const Row& r) {
    const std::optional<double> rate = r.rate(), pct = share_of(rate, ceiling);
    cells.push_back({r.name, fmt(k.ms_fmt, r.ms),
                     fmt("%.1f%%", step_ms > 0 ? 100.0 * r.ms / step_ms : 0.0),
                     r.amount > 0 ? k.amount_text(r.amount) : "",
                     rate ? fmt(k.rate_fmt, *rate) : "", pct ? fmt("%.0f%%", *pct) : ""});
  };
  Row all{"all ops"};
  for (const Row& r : rows_of(p, k)) {
    add(r);
    all.ms += r.ms;
    all.amount += r.amount;
  }
  add(all);
  add({"outside the ops", step_ms - all.ms, 0.0});
  add({k.per, step_ms, all.amount});
  return markdown_table(cells, {true});
}

Json profile_json(const StepProfile& p, ProfileBound bound, const std::optional<double>& ceiling) {
  const Kind& k = kind_of(bound);
  const std::string per = k.per;
  const double step_ms = step_ms_of(p);
  Json ops = Json::array();
  double ms_sum = 0.0;
  for (const Row& r : rows_of(p, k)) {
    const std::optional<double> rate = r.rate(), pct = share_of(rate, ceiling);
    Json o = Json::object();
    o["op"] = r.name;
    o["ms_per_" + per] = r.ms;
    o[std::string(k.amount_key) + "_per_" + per] = r.amount;
    o[k.rate_key] = rate ? Json(*rate) : Json(nullptr);
    o[k.share_key] = pct ? Json(*pct) : Json(nullptr);
    ops.push_back(std::move(o));
    ms_sum += r.ms;
  }
  Json j = Json::object();
  j[per + "s"] = p.steps;
  j[per + "_ms"] = step_ms;
  j["ops"] = std::move(ops);
  j["other_ms_per_" + per] = step_ms - ms_sum;
  return j;
}

}  // namespace quarry::cli
