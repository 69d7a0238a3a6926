// Runs the real quarry binary (QUARRY_BIN) for the CLI tests: `args` on the
// command line, `input` on stdin, stdout and stderr captured apart.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace quarry::testing {

struct CliRun {
  int status = -1;  // exit status, -1 when the process did not exit normally
  std::string out, err;
};

inline CliRun run_quarry(const std::string& args, const std::string& input = "") {
  namespace fs = std::filesystem;
  static int counter = 0;
  const std::string stem = (fs::temp_directory_path() / ("quarry_cli_" + std::to_string(getpid()) +
                                                         "_" + std::to_string(counter++)))
                               .string();
  std::ofstream(stem + ".in", std::ios::binary) << input;
  const std::string cmd = std::string(QUARRY_BIN) + " " + args + " < " + stem + ".in > " + stem +
                          ".out 2> " + stem + ".err";
  CliRun r;
  const int st = std::system(cmd.c_str());
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream o(stem + ".out", std::ios::binary), e(stem + ".err", std::ios::binary);
  r.out.assign(std::istreambuf_iterator<char>(o), {});
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  for (const char* ext : {".in", ".out", ".err"}) fs::remove(stem + ext);
  return r;
}

}  // namespace quarry::testing
