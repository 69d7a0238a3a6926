// `quarry serve`: loads a model, starts the serving engine and the HTTP
// server with the OpenAI-compatible API, and runs until SIGINT/SIGTERM (then
// drains: in-flight streams get --drain-seconds to finish).
//
// Without --model it serves a small random-weight gpt-oss model that it
// synthesizes once into the user's cache directory, so the quick start works
// with nothing downloaded; the log and /v1/models say that its answers are
// noise and how to serve real weights.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/service.h"
#include "cli/commands.h"
#include "convert/hf_export.h"
#include "convert/hf_rows.h"
#include "convert/synth_config.h"
#include "engine/engine.h"
#include "http/server.h"
#include "kernels/ops.h"
#include "model/gpt_oss_model.h"

namespace quarry::cli {
namespace {

namespace fs = std::filesystem;

struct ServeArgs {
  std::string model;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::vector<std::string> served_names;
  std::vector<std::string> api_keys;
  std::string tokenizer;
  size_t threads = 0;
  size_t kv_cache_mb = 1024;
  size_t block_size = 16;
  size_t max_batch_tokens = 256;
  size_t max_running = 32;
  size_t max_waiting = 256;
  size_t max_body_mb = 16;
  double drain_seconds = 30;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "quarry serve: " << message << "\n";
  throw CLI::RuntimeError(1);
}

constexpr const char* kDefaultNotice =
    "This is Quarry's built-in demo model: a small gpt-oss-shaped model with RANDOM weights, so "
    "its answers are noise. Serve real weights with: quarry serve --model path/to/gpt-oss-20b";

fs::path cache_dir() {
  if (const char* d = std::getenv("QUARRY_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "quarry";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "quarry";
  return fs::temp_directory_path() / "quarry-cache";
}

// The demo model, synthesized on first use (about 200 MB, a few seconds):
// the real o200k_harmony vocabulary, 4 small layers. Written to a temporary
// directory and renamed, so an interrupted run never leaves half a model.
std::string ensure_default_model(const tokenizer::Tokenizer& tok) {
  const fs::path dir = cache_dir() / "models" / "demo-random-v1";
  std::error_code ec;
  if (fs::exists(dir / ".complete", ec)) return dir.string();
  convert::Dims dims;
  dims.layers = 4;
  dims.hidden = 256;
  dims.experts = 8;
  dims.top_k = 4;
  dims.heads = 8;
  dims.kv_heads = 2;
  dims.head_dim = 32;
  dims.window = 128;
  dims.max_position = 32768;
  auto config = convert::synth_config("gpt-oss-20b", dims);
  if (!config.ok()) fail("demo model: " + config.message());
  const fs::path tmp = dir.string() + ".tmp-" + std::to_string(getpid());
  fs::create_directories(tmp, ec);
  if (ec) fail("cannot create " + tmp.string() + ": " + ec.message());
  std::cerr << "quarry serve: synthesizing the demo model (random weights) into " << dir.string()
            << "\n";
  ThreadPool pool;
  convert::RandomRows rows(1);
  convert::HfExport opt;
  opt.tokenizer = &tok;
  auto shards = convert::write_hf_checkpoint(tmp.string(), *config, rows, opt, pool);
  if (!shards.ok()) fail("demo model: " + shards.message());
  { std::ofstream(tmp / ".complete") << "quarry demo model, random weights\n"; }
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) fail("cannot move the demo model into " + dir.string() + ": " + ec.message());
  return dir.string();
}

std::string default_served_name(const std::string& model_path) {
  fs::path p(model_path);
  if (p.filename().empty()) p = p.parent_path();
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

void run_serve(ServeArgs a) {
  // Signals are taken by sigwait() on this thread: block them before any
  // thread starts so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string notice;
  if (a.model.empty()) {
    auto base_tok = load_tokenizer(a.tokenizer);
    if (!base_tok.ok()) fail("tokenizer: " + base_tok.message());
    a.model = ensure_default_model(*base_tok);
    notice = kDefaultNotice;
    if (a.served_names.empty()) a.served_names = {"gpt-oss-20b"};
    std::cerr << "quarry serve: NOTE: " << notice << "\n";
  }
  if (a.served_names.empty()) a.served_names = {default_served_name(a.model)};
  if (const char* key = std::getenv("QUARRY_API_KEY"); key && *key) a.api_keys.push_back(key);

  auto tok = model_tokenizer(a.model, a.tokenizer);
  if (!tok.ok()) fail("tokenizer: " + tok.message());
  auto ops = kernels::ops_from_env();
  if (!ops.ok()) fail(ops.message());
  auto loaded = model::load_model(a.model);
  if (!loaded.ok()) fail(loaded.message());
  const model::GptOssModel& m = **loaded;
  const model::GptOssConfig& c = m.config();
  if (c.n_vocab < tokenizer::kVocabSize) {
    fail("the model's vocabulary (" + std::to_string(c.n_vocab) +
         " tokens) is too small for the harmony tokenizer (" +
         std::to_string(tokenizer::kVocabSize) + ")");
  }

  ThreadPool pool(a.threads);
  const size_t block_bytes = c.n_layer * 2 * a.block_size * c.kv_width() * sizeof(float);
  const size_t kv_blocks = std::max<size_t>(4, (a.kv_cache_mb << 20) / block_bytes);
  engine::EngineOptions eo;
  eo.max_batch_tokens = a.max_batch_tokens;
  eo.max_running = a.max_running;
  eo.max_waiting = a.max_waiting;
  engine::Engine engine(
      engine::make_gpt_oss_step_model(m, **ops, pool, kv_blocks, a.block_size, a.max_batch_tokens),
      eo);

  api::ServiceOptions so;
  so.served_names = a.served_names;
  so.api_keys = a.api_keys;
  so.model_notice = notice;
  // The access key the AWS SDKs sign with (the control-plane store of keys
  // comes with the SageMaker work); without one the AWS routes are open
  // unless an API key is set.
  const char* key_id = std::getenv("QUARRY_ACCESS_KEY_ID");
  const char* secret = std::getenv("QUARRY_SECRET_ACCESS_KEY");
  if (key_id && *key_id && secret && *secret) {
    so.aws_credentials = [id = std::string(key_id), s = std::string(secret)](
                             std::string_view k) -> std::optional<aws::Credentials> {
      if (k != id) return std::nullopt;
      return aws::Credentials{s, std::nullopt, std::nullopt};
    };
  }
  api::Service service(engine, *tok, so);

  http::ServerOptions ho;
  ho.host = a.host;
  ho.port = a.port;
  ho.max_body_bytes = a.max_body_mb << 20;
  http::Server server(
      ho,
      [&service](http::Request&& r, std::shared_ptr<http::Responder> out) {
        service.handle(std::move(r), std::move(out));
      },
      api::Service::format_error);
  auto port = server.start();
  if (!port.ok()) fail(port.message());
  std::cerr << "quarry serve: model " << a.model << " (" << c.n_layer << " layers, " << c.n_expert
            << " experts, " << (*ops)->isa << " kernels, " << pool.size() << " threads), KV cache "
            << kv_blocks << " blocks of " << a.block_size << " positions ("
            << (kv_blocks * block_bytes >> 20) << " MiB)\n";
  std::cerr << "quarry serve: served names:";
  for (const std::string& n : a.served_names) std::cerr << " " << n;
  std::cerr << (a.api_keys.empty() ? " (no API key required)\n" : " (API key required)\n");
  std::cout << "listening on http://" << a.host << ":" << *port << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "quarry serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": draining (up to "
            << a.drain_seconds << " s)\n";
  server.stop(std::chrono::milliseconds(static_cast<int64_t>(a.drain_seconds * 1000)));
  engine.shutdown(false);
  std::cerr << "quarry serve: stopped\n";
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* sub = app.add_subcommand(
      "serve", "serve a model over the OpenAI-compatible HTTP API (default: a random demo model)");
  sub->add_option("--model", args->model,
                  "model directory (Hugging Face layout) or .gguf file; default: a small "
                  "random-weight demo model kept in the cache directory");
  sub->add_option("--host", args->host, "address to listen on")->capture_default_str();
  sub->add_option("--port", args->port, "port (0: any free port)")->capture_default_str();
  sub->add_option("--served-name", args->served_names,
                  "name clients use for the model (repeatable; default: the model's directory "
                  "name)");
  sub->add_option("--api-key", args->api_keys,
                  "accepted bearer key (repeatable; QUARRY_API_KEY adds one; none = open)");
  sub->add_option("--tokenizer", args->tokenizer, "tokenizer (default: the model's own)");
  sub->add_option("--threads", args->threads, "compute threads (0: all cores)");
  sub->add_option("--kv-cache-mb", args->kv_cache_mb, "KV cache size in MiB")
      ->capture_default_str();
  sub->add_option("--max-batch-tokens", args->max_batch_tokens, "token budget per engine step")
      ->capture_default_str();
  sub->add_option("--max-running", args->max_running, "sequences per engine step")
      ->capture_default_str();
  sub->add_option("--max-waiting", args->max_waiting,
                  "queued requests beyond which new ones get 429")
      ->capture_default_str();
  sub->add_option("--max-body-mb", args->max_body_mb, "largest request body in MiB")
      ->capture_default_str();
  sub->add_option("--drain-seconds", args->drain_seconds,
                  "on SIGINT/SIGTERM, time in-flight requests get to finish")
      ->capture_default_str();
  sub->callback([args] { run_serve(*args); });
}

}  // namespace quarry::cli
