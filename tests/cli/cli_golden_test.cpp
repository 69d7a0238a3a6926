// Runs build/bin/quarry on every shared golden case through the JSON-lines CLI
// contract (one output line per input line, errors as {"error": ...}, exit 0).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::ordered_json;

std::vector<Json> read_jsonl(const std::string& path) {
  std::ifstream in(std::string(QUARRY_TEST_DATA) + "/" + path);
  EXPECT_TRUE(in) << path;
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(Json::parse(line));
  }
  return rows;
}

struct RunResult {
  int status = -1;
  std::vector<std::string> lines;
};

// Runs `quarry ARGS --tokenizer RANKS` with `input` on stdin.
RunResult run_quarry(const std::string& args, const std::string& input) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path in_path =
      fs::temp_directory_path() /
      ("quarry_cli_in_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string cmd = std::string(QUARRY_BIN) + " " + args + " --tokenizer " +
                          QUARRY_RANKS_FILE + " < " + in_path.string();
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  r.status = pclose(p);
  fs::remove(in_path);
  std::istringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) r.lines.push_back(line);
  return r;
}

std::vector<Json> run_lines(const std::string& args, const std::vector<Json>& inputs) {
  std::string input;
  for (const auto& j : inputs) input += j.dump() + "\n";
  RunResult r = run_quarry(args, input);
  EXPECT_EQ(r.status, 0) << args;
  EXPECT_EQ(r.lines.size(), inputs.size()) << args;
  std::vector<Json> out;
  for (const auto& l : r.lines) out.push_back(Json::parse(l));
  out.resize(inputs.size());
  return out;
}

TEST(CliGolden, TokenizeOrdinary) {
  const auto rows = read_jsonl("tokenizer/o200k_base.jsonl");
  std::vector<Json> in;
  for (const auto& r : rows) in.push_back({{"text", r["text"]}, {"allow_special", false}});
  const auto out = run_lines("tokenize --jsonl", in);
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(out[i]["ids"], rows[i]["ids"]) << rows[i]["id"];
}

TEST(CliGolden, TokenizeWithSpecials) {
  const auto rows = read_jsonl("tokenizer/o200k_harmony_special.jsonl");
  std::vector<Json> in;
  for (const auto& r : rows) in.push_back({{"text", r["text"]}, {"allow_special", true}});
  for (const auto& r : rows) in.push_back({{"text", r["text"]}, {"allow_special", "all"}});
  for (const auto& r : rows) in.push_back({{"text", r["text"]}});
  const auto out = run_lines("tokenize --jsonl", in);
  const size_t n = rows.size();
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(out[i]["ids"], rows[i]["ids"]) << rows[i]["text"];
    EXPECT_EQ(out[n + i]["ids"], rows[i]["ids"]) << rows[i]["text"];
    EXPECT_EQ(out[2 * n + i]["ids"], rows[i]["ordinary_ids"]) << rows[i]["text"];
  }
}

TEST(CliGolden, Detokenize) {
  std::vector<Json> rows, in;
  for (const auto& r : read_jsonl("tokenizer/o200k_decode.jsonl")) {
    if (r["kind"] == "byte_ranks") continue;
    rows.push_back(r);
    in.push_back({{"ids", r["ids"]}});
  }
  for (const auto& r : read_jsonl("tokenizer/o200k_base.jsonl")) {
    rows.push_back({{"text", r["text"]}});
    in.push_back({{"ids", r["ids"]}});
  }
  const auto out = run_lines("detokenize --jsonl", in);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json& r = rows[i];
    const std::string got = out[i].value("text", "<missing>");
    if (r.contains("text_lossy")) {
      EXPECT_EQ(got, r["text_lossy"]) << r.dump();
    } else if (r.contains("text_any_of")) {
      bool any = false;
      for (const auto& t : r["text_any_of"]) any = any || t == got;
      EXPECT_TRUE(any) << r.dump();
    } else {
      EXPECT_EQ(got, r["text"]) << r.dump();
    }
  }
}

TEST(CliGolden, HarmonyRender) {
  const auto rows = read_jsonl("harmony/render_cases.jsonl");
  std::vector<Json> in;
  for (const auto& r : rows) in.push_back({{"request", r["request"]}, {"options", r["options"]}});
  const auto out = run_lines("harmony render --jsonl", in);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(out[i]["ids"], rows[i]["expected_ids"]) << rows[i]["id"] << " " << out[i].dump();
    EXPECT_EQ(out[i]["prompt"], rows[i]["expected_prompt"]) << rows[i]["id"];
  }
}

Json without_call_ids(Json openai) {
  if (openai.contains("tool_calls")) {
    for (auto& c : openai["tool_calls"]) c.erase("id");
  }
  return openai;
}

TEST(CliGolden, HarmonyParse) {
  const auto rows = read_jsonl("harmony/parse_cases.jsonl");
  std::vector<Json> in;
  for (const auto& r : rows) in.push_back({{"completion_ids", r["completion_ids"]}});
  const auto out = run_lines("harmony parse --jsonl", in);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json& r = rows[i];
    if (r.contains("expected_messages")) {
      EXPECT_EQ(out[i]["messages"], r["expected_messages"]) << r["id"] << " " << out[i].dump();
      EXPECT_EQ(without_call_ids(out[i]["openai"]), r["expected_openai"]) << r["id"];
    } else {
      EXPECT_EQ(out[i]["messages"], r["non_strict"]["messages"]) << r["id"] << " " << out[i].dump();
    }
  }
}

TEST(CliContract, BadInputGivesErrorLinesAndExitZero) {
  const std::string input =
      "{\"text\": \"ok\"}\n"
      "{\"text\": \"trunc\n"
      "{\"text\": 42}\n"
      "[1, 2]\n"
      "{\"text\": \"\xff\xfe invalid utf-8\"}\n"
      "{\"allow_special\": true}\n"
      "{\"text\": \"x\", \"allow_special\": \"some\"}\n";
  RunResult r = run_quarry("tokenize --jsonl", input);
  EXPECT_EQ(r.status, 0);
  ASSERT_EQ(r.lines.size(), 7u);
  EXPECT_TRUE(Json::parse(r.lines[0]).contains("ids"));
  for (size_t i = 1; i < 7; ++i) {
    const Json j = Json::parse(r.lines[i]);
    ASSERT_TRUE(j.contains("error")) << r.lines[i];
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  }
  RunResult d = run_quarry("detokenize --jsonl",
                           "{\"ids\": [1, 201088]}\n{\"ids\": [-1]}\n{\"ids\": [1.5]}\n"
                           "{\"ids\": \"abc\"}\n{\"ids\": [18446744073709551615]}\n{}\n");
  EXPECT_EQ(d.status, 0);
  ASSERT_EQ(d.lines.size(), 6u);
  for (const auto& l : d.lines) EXPECT_TRUE(Json::parse(l).contains("error")) << l;
  EXPECT_NE(d.lines[0].find("ids[1]"), std::string::npos) << d.lines[0];
  RunResult p = run_quarry("harmony parse --jsonl",
                           "{\"completion_ids\": [200005, 999999]}\n{\"completion_ids\": [\n");
  EXPECT_EQ(p.status, 0);
  ASSERT_EQ(p.lines.size(), 2u);
  for (const auto& l : p.lines) EXPECT_TRUE(Json::parse(l).contains("error")) << l;
  RunResult h = run_quarry("harmony render --jsonl",
                           "{\"request\": {\"messages\": [{\"role\": \"wizard\"}]}}\n{}\n");
  EXPECT_EQ(h.status, 0);
  ASSERT_EQ(h.lines.size(), 2u);
  for (const auto& l : h.lines) EXPECT_TRUE(Json::parse(l).contains("error")) << l;
}

}  // namespace
