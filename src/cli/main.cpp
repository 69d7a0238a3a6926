// quarry: the command-line entry point. Each subcommand lives in cmd_*.cpp.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"quarry: self-hosted inference for open-weight reasoning models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "quarry 0.1.0");
  quarry::cli::add_demo_command(app);
  quarry::cli::add_tokenize_commands(app);
  quarry::cli::add_harmony_commands(app);
  quarry::cli::add_model_commands(app);
  quarry::cli::add_convert_commands(app);
  quarry::cli::add_bench_command(app);
  quarry::cli::add_serve_command(app);
  quarry::cli::add_keys_commands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
