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
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/memory_budget.h"
#include "api/service.h"
#include "cli/commands.h"
#include "convert/hf_export.h"
#include "convert/hf_rows.h"
#include "convert/synth_config.h"
#include "engine/engine.h"
#include "http/server.h"
#include "kernels/ops.h"
#include "model/gpt_oss_model.h"
#include "model/kv_cache.h"
#include "store/data_dir.h"
#include "store/store.h"

namespace quarry::cli {
namespace {

namespace fs = std::filesystem;

struct ServeArgs {
  std::string model;
  std::string data_dir;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::vector<std::string> served_names;
  std::vector<std::string> api_keys;
  std::string tokenizer;
  std::string memory_budget;  // a size; empty: $QUARRY_MEMORY_BUDGET, else MemAvailable
  size_t threads = 0;
  size_t kv_cache_mb = 1024;
  size_t block_size = 16;
  size_t max_batch_tokens = 256;
  size_t max_running = 32;
  size_t max_waiting = 256;
  size_t max_body_mb = 16;
  double drain_seconds = 30;
  bool weights_int8 = false;
  bool mlock = false;
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

std::string default_served_name(const std::string& model_path);

// MemAvailable from /proc/meminfo in bytes (0 when unknown).
uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb << 10;
  }
  return 0;
}

// Bytes of weights a model path holds (a file, or the files of a directory).
// They are mapped, not read, but a model that does not fit pages forever.
uint64_t model_bytes(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.is_regular_file(ec) && e.path().extension() == ".safetensors") total += e.file_size(ec);
  }
  return total;
}

// One loaded model with everything that serves it; a ServedModel's owner.
struct LoadedModel {
  api::MemoryReservation memory;  // first: given back after the rest is freed
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::unique_ptr<model::GptOssModel> model;
  std::unique_ptr<engine::Engine> engine;
  size_t kv_blocks = 0, block_bytes = 0;
};

// Loads a model (HF directory or GGUF file) with its tokenizer into a new
// engine. Refuses a model whose weights and KV cache would not fit in the
// memory available or in what is left of the budget; the model holds its
// reservation until it is dropped.
Result<std::shared_ptr<api::ServedModel>> load_served(const std::string& path, const ServeArgs& a,
                                                      const kernels::Ops& ops, ThreadPool& pool,
                                                      api::MemoryBudget& budget) {
  auto tok = model_tokenizer(path, a.tokenizer);
  if (!tok.ok()) return make_error("tokenizer: " + tok.message());
  auto loaded = model::load_model(path);
  if (!loaded.ok()) return loaded.error();
  const model::GptOssConfig& c = (*loaded)->config();
  if (c.n_vocab < tokenizer::kVocabSize) {
    return make_error("the model's vocabulary (" + std::to_string(c.n_vocab) +
                      " tokens) is too small for the harmony tokenizer (" +
                      std::to_string(tokenizer::kVocabSize) + ")");
  }
  auto owner = std::make_shared<LoadedModel>();
  owner->block_bytes =
      model::KvCache::block_bytes(c.n_layer, c.layer_sliding, c.kv_width(), a.block_size);
  owner->kv_blocks = std::max<size_t>(4, (a.kv_cache_mb << 20) / owner->block_bytes);
  const uint64_t need = model_bytes(path) + owner->kv_blocks * owner->block_bytes;
  if (const uint64_t avail = available_memory(); avail > 0) {
    if (need > avail) {
      return make_error("not enough memory: the model and its KV cache need " +
                        std::to_string(need >> 20) + " MiB, " + std::to_string(avail >> 20) +
                        " MiB are available");
    }
  }
  static std::atomic<uint64_t> loads{0};
  auto reservation = budget.hold(path + "#" + std::to_string(++loads), need);
  if (!reservation.ok()) return reservation.error();
  owner->memory = std::move(reservation.value());
  owner->tok = std::make_unique<tokenizer::Tokenizer>(std::move(tok.value()));
  owner->model = std::move(loaded.value());
  if (a.weights_int8) {
    if (auto q = owner->model->quantize_dense_q8(pool); !q.ok()) return q.error();
  }
  if (a.mlock) {
    if (Status st = owner->model->bring_in(model::GptOssModel::Residency::kLocked); !st.ok()) {
      return make_error("--mlock: " + st.message());
    }
  } else {
    // Start reading the weights now rather than page by page inside the first
    // requests (advice only: a failure changes nothing but that).
    (void)owner->model->bring_in(model::GptOssModel::Residency::kBackground);
  }
  engine::EngineOptions eo;
  eo.max_batch_tokens = a.max_batch_tokens;
  eo.max_running = a.max_running;
  eo.max_waiting = a.max_waiting;
  owner->engine = std::make_unique<engine::Engine>(
      engine::make_gpt_oss_step_model(*owner->model, ops, pool, owner->kv_blocks, a.block_size,
                                      a.max_batch_tokens),
      eo);
  auto served = std::make_shared<api::ServedModel>();
  served->name = default_served_name(path);
  served->engine = owner->engine.get();
  served->tokenizer = owner->tok.get();
  served->owner = owner;
  return served;
}

std::string default_served_name(const std::string& model_path) {
  fs::path p(model_path);
  if (p.filename().empty()) p = p.parent_path();
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

// The budget from --memory-budget, else $QUARRY_MEMORY_BUDGET, else the
// memory available now (unlimited when /proc/meminfo does not say).
uint64_t memory_budget_bytes(const ServeArgs& a) {
  std::string from = "--memory-budget", text = a.memory_budget;
  if (text.empty()) {
    const char* env = std::getenv("QUARRY_MEMORY_BUDGET");
    if (env == nullptr || *env == '\0') {
      const uint64_t avail = available_memory();
      return avail > 0 ? avail : api::MemoryBudget::kUnlimited;
    }
    from = "QUARRY_MEMORY_BUDGET";
    text = env;
  }
  auto bytes = api::parse_byte_size(text);
  if (!bytes.ok()) fail(from + ": " + bytes.message());
  return *bytes;
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

  api::MemoryBudget budget(memory_budget_bytes(a));
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

  auto ops = kernels::ops_from_env();
  if (!ops.ok()) fail(ops.message());
  ThreadPool pool(a.threads);
  // Every model shares the one compute pool (its parallel loops take turns),
  // so several endpoints never oversubscribe the cores.
  auto primary_loaded = load_served(a.model, a, **ops, pool, budget);
  if (!primary_loaded.ok()) fail(primary_loaded.message());
  std::shared_ptr<api::ServedModel> primary = primary_loaded.value();
  primary->name = a.served_names.front();
  const LoadedModel& lm = *std::static_pointer_cast<LoadedModel>(primary->owner);
  const model::GptOssConfig& c = lm.model->config();

  // The control-plane store (SageMaker resources, keys, usage).
  namespace store = quarry::store;
  fs::path data_dir = a.data_dir;
  if (data_dir.empty()) {
    auto d = store::default_data_dir();
    if (!d.ok()) fail(d.message());
    data_dir = d.value();
  }
  auto st = store::Store::open(data_dir / "quarry.db");
  if (!st.ok()) fail("store " + (data_dir / "quarry.db").string() + ": " + st.message());
  store::Store& db = st.value();

  api::ServiceOptions so;
  so.served_names = a.served_names;
  so.api_keys = a.api_keys;
  so.model_notice = notice;
  so.store = &db;
  // SigV4 keys: QUARRY_ACCESS_KEY_ID / QUARRY_SECRET_ACCESS_KEY (the client
  // kits' convention), then the keys of `quarry keys create`.
  std::string env_id, env_secret;
  if (const char* v = std::getenv("QUARRY_ACCESS_KEY_ID")) env_id = v;
  if (const char* v = std::getenv("QUARRY_SECRET_ACCESS_KEY")) env_secret = v;
  bool any_access_key = !env_id.empty() && !env_secret.empty();
  if (auto keys = db.list_access_keys(); keys.ok()) {
    for (const store::AccessKey& k : *keys) any_access_key |= k.active();
  }
  if (any_access_key) {
    so.aws_credentials = [env_id, env_secret,
                          &db](std::string_view id) -> std::optional<aws::Credentials> {
      if (!env_id.empty() && id == env_id && !env_secret.empty()) {
        return aws::Credentials{env_secret, std::nullopt, std::nullopt};
      }
      auto k = db.lookup_access_key(id);
      if (!k.ok()) return std::nullopt;
      return aws::Credentials{k->secret, std::nullopt, std::nullopt};
    };
  }
  so.loader = [&a, &pool, &budget, o = *ops](const std::string& path) {
    return load_served(path, a, *o, pool, budget);
  };
  so.memory_budget = &budget;
  api::Service service(primary, so);

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
            << lm.kv_blocks << " blocks of " << a.block_size << " positions ("
            << (lm.kv_blocks * lm.block_bytes >> 20) << " MiB); memory budget "
            << (budget.unlimited() ? std::string("unlimited")
                                   : std::to_string(budget.reserved() >> 20) + " of " +
                                         std::to_string(budget.total() >> 20) + " MiB reserved")
            << "; store " << (data_dir / "quarry.db").string() << "\n";
  std::cerr << "quarry serve: served names:";
  for (const std::string& n : a.served_names) std::cerr << " " << n;
  std::cerr << (a.api_keys.empty() ? " (no API key required)\n" : " (API key required)\n");
  std::cout << "listening on http://" << a.host << ":" << *port << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "quarry serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": draining (up to "
            << a.drain_seconds << " s)\n";
  server.stop(std::chrono::milliseconds(static_cast<int64_t>(a.drain_seconds * 1000)));
  primary->engine->shutdown(false);
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
  sub->add_option("--data-dir", args->data_dir,
                  "control-plane store directory (default: $QUARRY_DATA_DIR, else "
                  "~/.local/share/quarry)");
  sub->add_option("--tokenizer", args->tokenizer, "tokenizer (default: the model's own)");
  sub->add_option("--threads", args->threads, "compute threads (0: all cores)");
  sub->add_option("--memory-budget", args->memory_budget,
                  "memory all loaded models (weights + KV caches) may hold together, in bytes or "
                  "with a suffix K/M/G/T (512M, 8G, 8GiB; default: $QUARRY_MEMORY_BUDGET, else "
                  "the memory available at start)");
  sub->add_flag("--weights-int8", args->weights_int8,
                "requantize the dense matrices (attention, router, lm_head) to int8 at load: "
                "faster decode, slightly different logits");
  sub->add_flag("--mlock", args->mlock,
                "keep every loaded model's weights in RAM (mlock), so an idle server's pages "
                "are not dropped and read back from disk; needs a locked-memory limit (ulimit -l) "
                "above the model size or CAP_IPC_LOCK");
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
