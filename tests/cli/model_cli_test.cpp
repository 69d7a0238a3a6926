// `quarry logits` and `quarry generate --jsonl` through the real binary on the
// tiny-a golden checkpoint: one output line per input line, errors as
// {"error": ...} lines with exit 0, exit 1 for a model that cannot be loaded.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;

const std::string kData = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/";

struct CliRun {
  int status = -1;
  std::vector<std::string> lines;
  std::string err;
};

CliRun run(const std::string& args, const std::string& input) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const std::string stem =
      (fs::temp_directory_path() /
       ("quarry_model_cli_" + std::to_string(getpid()) + "_" + std::to_string(counter++)))
          .string();
  std::ofstream(stem + ".in", std::ios::binary) << input;
  const std::string cmd =
      std::string(QUARRY_BIN) + " " + args + " < " + stem + ".in 2> " + stem + ".err";
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(stem + ".err");
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  fs::remove(stem + ".in");
  fs::remove(stem + ".err");
  std::istringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) r.lines.push_back(line);
  return r;
}

const Json& golden_case(const std::string& name) {
  static const Json g = [] {
    std::ifstream in(kData + "tiny-a.golden.json");
    return Json::parse(in);
  }();
  for (const Json& c : g["cases"]) {
    if (c["name"] == name) return c;
  }
  static const Json none;
  return none;
}

TEST(ModelCli, LogitsMatchTheGoldenAndErrorsAreLines) {
  const Json& c = golden_case("short");
  ASSERT_FALSE(c.is_null());
  Json req;
  req["input_ids"] = c["input_ids"];
  req["positions"] = Json::array({0, c["input_ids"].size() - 1});
  const std::string input = req.dump() + "\n" +
                            R"({"input_ids": [1, 1000]})"
                            "\n"
                            R"({"input_ids": []})"
                            "\n"
                            R"({"input_ids": [1, 2], "positions": [2]})"
                            "\n"
                            "not json\n"
                            R"({"input_ids": [5, 6, 7]})"
                            "\n";
  const CliRun r = run("logits --model " + kData + "tiny-a --jsonl", input);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 6u);
  const Json out = Json::parse(r.lines[0]);
  ASSERT_EQ(out["logits"].size(), 2u);
  const Json& want_last = c["logits"][c["logits"].size() - 1];
  ASSERT_EQ(want_last["position"], c["input_ids"].size() - 1);
  double err = 0;
  for (size_t i = 0; i < want_last["full"].size(); ++i) {
    err = std::max(
        err, std::abs(out["logits"][1][i].get<double>() - want_last["full"][i].get<double>()));
    err = std::max(
        err, std::abs(out["logits"][0][i].get<double>() - c["logits"][0]["full"][i].get<double>()));
  }
  EXPECT_LE(err, 2e-3);
  EXPECT_NE(Json::parse(r.lines[1])["error"].get<std::string>().find("input_ids[1]"),
            std::string::npos);
  EXPECT_NE(Json::parse(r.lines[2])["error"].get<std::string>().find("empty"), std::string::npos);
  EXPECT_NE(Json::parse(r.lines[3])["error"].get<std::string>().find("positions[0]"),
            std::string::npos);
  EXPECT_TRUE(Json::parse(r.lines[4]).contains("error"));
  EXPECT_EQ(Json::parse(r.lines[5])["logits"].size(), 3u);  // no positions: every position
}

TEST(ModelCli, GenerateIsGreedyExactlyN) {
  const Json& c = golden_case("short");
  Json req;
  req["input_ids"] = c["input_ids"];
  req["max_tokens"] = c["greedy"]["new_tokens"].size();
  const std::string input = req.dump() + "\n" +
                            R"({"input_ids": [3], "max_tokens": 0})"
                            "\n"
                            R"({"input_ids": [3]})"
                            "\n"
                            R"({"input_ids": [3], "max_tokens": -1})"
                            "\n";
  const CliRun r = run("generate --model " + kData + "tiny-a --jsonl --threads 2", input);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(Json::parse(r.lines[0])["new_tokens"], c["greedy"]["new_tokens"]);
  EXPECT_EQ(Json::parse(r.lines[1])["new_tokens"], Json::array());
  EXPECT_NE(Json::parse(r.lines[2])["error"].get<std::string>().find("max_tokens"),
            std::string::npos);
  EXPECT_TRUE(Json::parse(r.lines[3]).contains("error"));
}

TEST(ModelCli, BadModelPathExitsOne) {
  const CliRun r = run("logits --model /nonexistent/model --jsonl", "{}\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.lines.empty());
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
  const CliRun g = run("generate --model " + kData + " --jsonl", "{}\n");  // a dir, no config.json
  EXPECT_EQ(g.status, 1);
  EXPECT_NE(g.err.find("quarry generate"), std::string::npos) << g.err;
}

}  // namespace
