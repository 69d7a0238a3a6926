// `quarry synth` writes a random-weight gpt-oss checkpoint in the release
// layout (or as GGUF); `quarry convert` turns a Hugging Face model directory
// into a GGUF file. Both stream tensor by tensor through convert::HfRows, so
// memory stays at one tensor however large the model.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/progress.h"
#include "convert/gguf_export.h"
#include "convert/hf_export.h"
#include "convert/synth_config.h"
#include "model/gpt_oss_model.h"

namespace quarry::cli {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& command, const std::string& message, int code = 1) {
  std::cerr << "quarry " << command << ": " << message << "\n";
  throw CLI::RuntimeError(code);
}

// Refuses to overwrite without --force, and to start a write the disk cannot hold.
void check_output(const std::string& command, const std::string& out, bool is_dir, bool force,
                  uint64_t bytes) {
  std::error_code ec;
  if (!force && fs::exists(out, ec)) {
    if (!is_dir || !fs::is_empty(out, ec)) {
      fail(command, out + " already exists (pass --force to overwrite)");
    }
  }
  if (is_dir && fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    fail(command, out + " exists and is not a directory");
  }
  fs::path probe = fs::absolute(out, ec);
  while (!probe.empty() && !fs::exists(probe, ec)) probe = probe.parent_path();
  const fs::space_info space = fs::space(probe.empty() ? fs::path(".") : probe, ec);
  if (!ec && space.available < bytes + (bytes >> 6)) {
    fail(command, "writing " + human_bytes(static_cast<double>(bytes)) + " needs more room than " +
                      human_bytes(static_cast<double>(space.available)) + " free at " +
                      probe.string());
  }
}

uint64_t checkpoint_bytes(const convert::GptOssConfig& c) {
  uint64_t total = 0;
  model::for_each_tensor(c, model::WeightFormat::kHF, [&](const model::WeightSpec& s) {
    uint64_t n = s.dtype == formats::DType::kU8 ? 1 : 2;
    for (uint64_t d : s.shape) n *= d;
    total += n;
  });
  return total;
}

struct SynthArgs {
  std::string preset = "gpt-oss-20b";
  convert::Dims dims;
  uint64_t seed = 0;
  std::string format = "hf";
  std::string out;
  std::string tokenizer;
  size_t threads = 0;
  bool force = false;
};

void run_synth(const SynthArgs& a) {
  auto config = convert::synth_config(a.preset, a.dims);
  if (!config.ok()) fail("synth", config.message(), 2);
  const convert::GptOssConfig& c = *config;
  std::optional<tokenizer::Tokenizer> tok;
  if (c.n_vocab == tokenizer::kVocabSize) {
    auto t = load_tokenizer(a.tokenizer);
    if (!t.ok()) fail("synth", t.message());
    tok = std::move(t.value());
  } else {
    std::cerr << "quarry synth: vocabulary " << c.n_vocab << " is not o200k_harmony's ("
              << tokenizer::kVocabSize << "): no tokenizer is written\n";
  }
  const bool gguf = a.format == "gguf";
  const uint64_t bytes = checkpoint_bytes(c);
  check_output("synth", a.out, !gguf, a.force, bytes);

  ThreadPool pool(a.threads);
  convert::RandomRows rows(a.seed);
  ProgressBar bar("synth " + a.out);
  auto progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  if (gguf) {
    convert::GgufExport opt{a.preset + "-synth", tok ? &*tok : nullptr, progress};
    if (Status s = convert::write_gguf(a.out, c, rows, opt, pool); !s.ok()) {
      fail("synth", s.message());
    }
  } else {
    convert::HfExport opt;
    opt.tokenizer = tok ? &*tok : nullptr;
    opt.progress = progress;
    auto shards = convert::write_hf_checkpoint(a.out, c, rows, opt, pool);
    if (!shards.ok()) fail("synth", shards.message());
  }
  bar.finish(bytes);
  std::cout << "wrote " << a.out << " (" << (gguf ? "GGUF" : "Hugging Face layout")
            << "): " << c.n_layer << " layers, hidden " << c.d_model << ", " << c.n_expert
            << " experts (top " << c.n_expert_active << "), vocabulary " << c.n_vocab << ", seed "
            << a.seed << "\n";
}

struct ConvertArgs {
  std::string in;
  std::string out;
  std::string tokenizer;
  std::string name;
  size_t threads = 0;
  bool force = false;
};

void run_convert(const ConvertArgs& a) {
  std::error_code ec;
  if (!fs::is_directory(a.in, ec)) {
    fail("convert", a.in + " is not a directory (expected a Hugging Face model directory)", 2);
  }
  auto m = model::load_model(a.in);
  if (!m.ok()) fail("convert", m.message());
  const model::GptOssModel& model = **m;
  if (model.weights().format != model::WeightFormat::kHF) {
    fail("convert", a.in + " does not hold the Hugging Face tensor names");
  }
  const convert::GptOssConfig& c = model.config();
  std::optional<tokenizer::Tokenizer> tok;
  if (c.n_vocab == tokenizer::kVocabSize) {
    // --tokenizer, else the directory's tokenizer.json, else the built-in table.
    std::string path = a.tokenizer;
    if (path.empty() && fs::exists(fs::path(a.in) / "tokenizer.json", ec)) path = a.in;
    auto t = load_tokenizer(path);
    if (!t.ok()) fail("convert", t.message());
    tok = std::move(t.value());
  } else {
    std::cerr << "quarry convert: vocabulary " << c.n_vocab << " is not o200k_harmony's: the GGUF "
              << "file gets no tokenizer.ggml.* keys\n";
  }
  uint64_t bytes = 0;
  for (const std::string& n : model.source().names()) bytes += model.source().find(n)->nbytes;
  check_output("convert", a.out, false, a.force, bytes + bytes / 16);

  ThreadPool pool(a.threads);
  convert::SourceRows rows(model.source());
  ProgressBar bar("convert " + a.out);
  convert::GgufExport opt{a.name.empty() ? fs::path(a.in).filename().string() : a.name,
                          tok ? &*tok : nullptr,
                          [&bar](uint64_t done, uint64_t total) { bar.update(done, total); }};
  if (Status s = convert::write_gguf(a.out, c, rows, opt, pool); !s.ok())
    fail("convert", s.message());
  bar.finish(bytes);
  std::cout << "wrote " << a.out << " from " << a.in << "\n";
}

}  // namespace

void add_convert_commands(CLI::App& app) {
  auto s = std::make_shared<SynthArgs>();
  CLI::App* synth = app.add_subcommand(
      "synth", "write a random-weight gpt-oss checkpoint (release layout, or GGUF)");
  synth->add_option("--preset", s->preset, "gpt-oss-20b (default) or gpt-oss-120b")
      ->check(CLI::IsMember(convert::preset_names()));
  synth->add_option("--layers", s->dims.layers, "num_hidden_layers");
  synth->add_option("--hidden", s->dims.hidden, "hidden_size (multiple of 32)");
  synth->add_option("--intermediate", s->dims.intermediate,
                    "expert width (multiple of 32; default: --hidden)");
  synth->add_option("--experts", s->dims.experts, "num_local_experts");
  synth->add_option("--top-k", s->dims.top_k, "num_experts_per_tok");
  synth->add_option("--heads", s->dims.heads, "num_attention_heads");
  synth->add_option("--kv-heads", s->dims.kv_heads, "num_key_value_heads");
  synth->add_option("--head-dim", s->dims.head_dim, "head_dim");
  synth->add_option("--window", s->dims.window, "sliding_window");
  synth->add_option("--vocab", s->dims.vocab,
                    "vocab_size (default 201088 with the real o200k_harmony tokenizer)");
  synth->add_option("--max-position", s->dims.max_position, "max_position_embeddings");
  synth->add_option("--seed", s->seed, "random seed (default 0)");
  synth->add_option("--format", s->format, "hf (default) or gguf")
      ->check(CLI::IsMember({"hf", "gguf"}));
  synth->add_option("--out", s->out, "output directory (hf) or file (gguf)")->required();
  synth->add_option("--tokenizer", s->tokenizer, "tokenizer source (default: built-in o200k)");
  synth->add_option("--threads", s->threads, "threads (default: all)");
  synth->add_flag("--force", s->force, "overwrite an existing output");
  synth->callback([s] { run_synth(*s); });

  auto c = std::make_shared<ConvertArgs>();
  CLI::App* conv =
      app.add_subcommand("convert", "convert a Hugging Face gpt-oss directory to a GGUF file");
  conv->add_option("model_dir", c->in, "Hugging Face model directory")->required();
  conv->add_option("--out", c->out, "output .gguf file")->required();
  conv->add_option("--tokenizer", c->tokenizer,
                   "tokenizer source (default: the directory's tokenizer.json)");
  conv->add_option("--name", c->name, "general.name (default: the directory name)");
  conv->add_option("--threads", c->threads, "threads (default: all)");
  conv->add_flag("--force", c->force, "overwrite an existing output");
  conv->callback([c] { run_convert(*c); });
}

}  // namespace quarry::cli
