// `quarry bench` through the real binary on the tiny-a checkpoint: one JSON
// object on stdout with the measured keys, null for a skipped test, exit 2 with
// a message naming the option for bad arguments. Speeds are not asserted; the
// bandwidth probe is shrunk to 1 MiB so this stays fast under ASan too.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.h"

namespace {

using Json = nlohmann::json;

const std::string kTinyA = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a";

using quarry::testing::CliRun;

CliRun run(const std::string& args) { return quarry::testing::run_quarry("bench " + args); }

const std::string kModel = "--model " + kTinyA + " -t 1 ";
const std::string kSmall = kModel + "--probe-bytes 1048576 ";

TEST(BenchCli, JsonHasEveryMeasurement) {
  const CliRun r = run(kSmall + "-p 16 -n 8 -r 2 --batch 4 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  // Exactly one JSON object: parse() rejects trailing content.
  Json j;
  ASSERT_NO_THROW(j = Json::parse(r.out)) << r.out;
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"pp_tps", "tg_tps", "batch_tps", "bandwidth_ceiling_tps",
                          "read_bandwidth_gbs", "decode_bandwidth_gbs", "load_seconds"}) {
    ASSERT_TRUE(j[key].is_number()) << key << ": " << j.dump();
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  ASSERT_TRUE(j["fault_in_seconds"].is_number()) << j.dump();
  EXPECT_GE(j["fault_in_seconds"].get<double>(), 0.0);
  for (const char* key : {"pp_tps_sd", "tg_tps_sd"}) {
    ASSERT_TRUE(j[key].is_number()) << key;
    EXPECT_GE(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_GT(j["rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["bytes_per_token"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["p"], 16);
  EXPECT_EQ(j["n"], 8);
  EXPECT_EQ(j["r"], 2);
  EXPECT_EQ(j["batch"], 4);
  EXPECT_TRUE(j["isa"].is_string() && !j["isa"].get<std::string>().empty());
  EXPECT_EQ(j["runs_tps"]["pp"].size(), 2u);
  EXPECT_EQ(j["runs_tps"]["batch"].size(), 2u);
  // The human table went to stderr.
  EXPECT_NE(r.err.find(" tg8 |"), std::string::npos) << r.err;
}

TEST(BenchCli, ZeroSkipsATest) {
  const CliRun r = run(kSmall + "-p 0 -n 4 -r 1 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_TRUE(j["pp_tps"].is_null());
  EXPECT_TRUE(j["pp_tps_sd"].is_null());
  EXPECT_TRUE(j["batch_tps"].is_null());  // --batch 1
  ASSERT_TRUE(j["tg_tps"].is_number());
  EXPECT_EQ(j["tg_tps_sd"], 0.0);  // one run

  const CliRun s = run(kModel + "-p 4 -n 0 -r 1 --json --probe-bytes 0");
  ASSERT_EQ(s.status, 0) << s.err;
  const Json k = Json::parse(s.out);
  EXPECT_TRUE(k["pp_tps"].is_number());
  EXPECT_TRUE(k["tg_tps"].is_null());
  EXPECT_TRUE(k["decode_bandwidth_gbs"].is_null());
  EXPECT_TRUE(k["bandwidth_ceiling_tps"].is_null());
}

TEST(BenchCli, WeightsInt8ReadsFewerBytesPerToken) {
  const CliRun exact = run(kModel + "-p 0 -n 2 -r 1 --json --probe-bytes 0");
  const CliRun q8 = run(kModel + "-p 0 -n 2 -r 1 --json --probe-bytes 0 --weights-int8");
  ASSERT_EQ(exact.status, 0) << exact.err;
  ASSERT_EQ(q8.status, 0) << q8.err;
  const Json a = Json::parse(exact.out), b = Json::parse(q8.out);
  EXPECT_EQ(a["weights_int8"], false);
  EXPECT_EQ(b["weights_int8"], true);
  EXPECT_NE(b["isa"].get<std::string>().find("int8"), std::string::npos);
  EXPECT_LT(b["bytes_per_token"].get<uint64_t>(), a["bytes_per_token"].get<uint64_t>());
}

TEST(BenchCli, HumanTableOnStdout) {
  const CliRun r = run(kSmall + "-p 8 -n 4 -r 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(" pp8 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("weights read per decoded token"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("% of it"), std::string::npos) << r.out;
}

TEST(BenchCli, ProfileSplitsEachStepByOp) {
  const CliRun r = run(kSmall + "-p 0 -n 3 -r 2 --batch 2 --json --profile");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  for (const char* test : {"tg", "batch"}) {
    const Json& p = j["profile"][test];
    ASSERT_TRUE(p.is_object()) << test << ": " << j.dump();
    EXPECT_EQ(p["steps"], 6) << test;  // -n 3 x -r 2
    ASSERT_TRUE(p["ops"].is_array() && !p["ops"].empty()) << p.dump();
    double ms = 0.0, bytes = 0.0;
    bool lm_head = false;
    for (const Json& op : p["ops"]) {
      ms += op["ms_per_step"].get<double>();
      bytes += op["weight_bytes_per_step"].get<double>();
      if (op["op"] == "lm_head") {
        lm_head = true;
        EXPECT_GT(op["weight_bytes_per_step"].get<double>(), 0.0);
        EXPECT_TRUE(op["gbs"].is_number());
        EXPECT_TRUE(op["pct_of_probe"].is_number());
      }
      if (op["op"] == "attention") {
        EXPECT_TRUE(op["gbs"].is_null());
      }
    }
    EXPECT_TRUE(lm_head) << p.dump();
    EXPECT_GT(ms, 0.0);
    EXPECT_NEAR(ms + p["other_ms_per_step"].get<double>(), p["step_ms"].get<double>(), 1e-6);
    // The ops are timed inside the steps: together they cannot take longer.
    EXPECT_LE(ms, p["step_ms"].get<double>() * (1 + 1e-9)) << p.dump();
    if (std::string(test) == "tg") {
      // Every matrix a decoded token reads: the footprint less its vectors
      // (biases, norms, sinks, the embedding row).
      const double per_token = j["bytes_per_token"].get<double>();
      EXPECT_LT(bytes, per_token);
      EXPECT_GT(bytes, 0.9 * per_token);
    }
  }
  EXPECT_NE(r.err.find("ops of the tg runs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ops of the batch-2 runs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("| lm_head "), std::string::npos) << r.err;

  // Without --profile: no key, no table.
  const CliRun plain = run(kSmall + "-p 0 -n 2 -r 1 --json");
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_FALSE(Json::parse(plain.out).contains("profile"));
  EXPECT_EQ(plain.err.find("ops of the"), std::string::npos) << plain.err;
}

// With -p, the prompt runs get their own profile: multiply-adds per op
// against the vector FMA probe of the same run.
TEST(BenchCli, ProfileSplitsEachPromptRunByOp) {
  const CliRun r = run(kSmall + "-p 8 -n 0 -r 2 --json --profile");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  const Json& prof = j["profile"];
  EXPECT_TRUE(prof["tg"].is_null()) << prof.dump();  // -n 0
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    ASSERT_TRUE(prof["fma_peak_gmacs"].is_number()) << prof.dump();
    EXPECT_GT(prof["fma_peak_gmacs"].get<double>(), 0.0);
    EXPECT_NE(r.err.find("vector FMA peak: "), std::string::npos) << r.err;
  }
  const Json& p = prof["pp"];
  ASSERT_TRUE(p.is_object()) << prof.dump();
  EXPECT_EQ(p["runs"], 2);
  double ms = 0.0;
  std::map<std::string, double> macs;
  for (const Json& op : p["ops"]) {
    ms += op["ms_per_run"].get<double>();
    macs[op["op"].get<std::string>()] = op["macs_per_run"].get<double>();
    if (op["macs_per_run"].get<double>() > 0) {
      EXPECT_TRUE(op["gmacs"].is_number()) << op.dump();
      EXPECT_EQ(op["pct_of_fma_peak"].is_number(), prof["fma_peak_gmacs"].is_number()) << op.dump();
    } else {
      EXPECT_TRUE(op["gmacs"].is_null()) << op.dump();
    }
  }
  EXPECT_NEAR(ms + p["other_ms_per_run"].get<double>(), p["run_ms"].get<double>(), 1e-6);
  EXPECT_LE(ms, p["run_ms"].get<double>() * (1 + 1e-9));
  // Every product counted; an expert's gate and up matrices are each the
  // size of its down matrix (transposed), so gate/up do twice its work.
  for (const char* op : {"q/k/v projections", "attention", "o projection", "router",
                         "experts gate/up + swiglu", "experts down", "lm_head"}) {
    EXPECT_GT(macs[op], 0.0) << op;
  }
  EXPECT_EQ(macs["experts gate/up + swiglu"], 2 * macs["experts down"]);
  EXPECT_EQ(macs["rmsnorm"], 0.0);
  EXPECT_NE(r.err.find("ops of the pp runs (per run of 8 tokens)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("| experts down "), std::string::npos) << r.err;
}

TEST(BenchCli, BadArgumentsExit2NamingTheOption) {
  const CliRun r = run(kSmall + "-r 0 --json");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("-r"), std::string::npos) << r.err;

  const CliRun b = run(kSmall + "--batch 0");
  EXPECT_EQ(b.status, 2);
  EXPECT_NE(b.err.find("--batch"), std::string::npos) << b.err;

  // tiny-a has 131072 positions.
  const CliRun p = run(kSmall + "-p 131072 -n 1");
  EXPECT_EQ(p.status, 2);
  EXPECT_NE(p.err.find("positions"), std::string::npos) << p.err;

  const CliRun m = run("--model /nonexistent/model -r 1");
  EXPECT_EQ(m.status, 1);
  EXPECT_NE(m.err.find("quarry bench:"), std::string::npos) << m.err;
}

}  // namespace
