// `quarry demo`: the main job until the server exists.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

namespace quarry::cli {

void add_demo_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("demo", "render and tokenize a sample chat with harmony");
  sub->add_option("--tokenizer", *path, "tiktoken rank file, tokenizer.json or model directory");
  sub->callback([path] {
    auto tok = load_tokenizer(*path);
    if (!tok.ok()) {
      std::cerr << "quarry demo: " << tok.message() << "\n";
      throw CLI::RuntimeError(1);
    }
    const auto ids = tok->encode_ordinary("Hello from Quarry!");
    std::cout << ids.size() << " tokens\n";
  });
}

}  // namespace quarry::cli
