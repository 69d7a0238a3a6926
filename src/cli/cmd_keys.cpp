// `quarry keys create|list|revoke` and `quarry usage`: the access keys (SigV4,
// for the AWS SDKs) and API keys (bearer, for the openai SDK and Bedrock API
// keys) in the control-plane store, and the tokens each one used. They work
// on the same --data-dir as `quarry serve` (a running server picks up new
// keys on its next request: keys are looked up in the store).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "store/data_dir.h"
#include "store/store.h"

namespace quarry::cli {
namespace {

struct KeysArgs {
  std::string data_dir;
  std::string description;
  bool api = false;
  std::string id;
  bool json = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "quarry keys: " << message << "\n";
  throw CLI::RuntimeError(1);
}

store::Store open_store(const KeysArgs& a) {
  std::filesystem::path dir = a.data_dir;
  if (dir.empty()) {
    auto d = store::default_data_dir();
    if (!d.ok()) fail(d.message());
    dir = d.value();
  }
  auto st = store::Store::open(dir / "quarry.db");
  if (!st.ok()) fail((dir / "quarry.db").string() + ": " + st.message());
  return std::move(st.value());
}

void create(const KeysArgs& a) {
  store::Store st = open_store(a);
  if (a.api) {
    auto k = st.create_api_key(a.description);
    if (!k.ok()) fail(k.message());
    std::cout << "api key id " << k->key.id << "\n"
              << "key " << k->plaintext << "\n"
              << "(shown once; only its SHA-256 is stored)\n";
    return;
  }
  auto k = st.create_access_key(a.description);
  if (!k.ok()) fail(k.message());
  std::cout << "access key id " << k->access_key_id << "\n"
            << "secret access key " << k->secret << "\n";
}

void list(const KeysArgs& a) {
  store::Store st = open_store(a);
  auto access = st.list_access_keys();
  auto api = st.list_api_keys();
  if (!access.ok()) fail(access.message());
  if (!api.ok()) fail(api.message());
  for (const store::AccessKey& k : *access) {
    std::cout << "access  " << k.access_key_id << "  " << (k.active() ? "active " : "revoked")
              << "  " << k.description << "\n";
  }
  for (const store::ApiKey& k : *api) {
    std::cout << "api     " << k.id << " (" << k.prefix << "...)  "
              << (k.active() ? "active " : "revoked") << "  " << k.description << "\n";
  }
}

void revoke(const KeysArgs& a) {
  store::Store st = open_store(a);
  store::StoreStatus s = st.revoke_access_key(a.id);
  if (!s.ok() && s.code() == store::StoreErrc::kNotFound) s = st.revoke_api_key(a.id);
  if (!s.ok()) fail(s.error().message);
  std::cout << "revoked " << a.id << "\n";
}

void usage(const KeysArgs& a) {
  store::Store st = open_store(a);
  auto rows = st.usage();
  if (!rows.ok()) fail(rows.message());
  for (const store::UsageRow& u : *rows) {
    if (a.json) {
      nlohmann::ordered_json j{
          {"principal", u.principal},         {"model", u.model},
          {"requests", u.requests},           {"input_tokens", u.input_tokens},
          {"output_tokens", u.output_tokens}, {"reasoning_tokens", u.reasoning_tokens}};
      std::cout << j.dump() << "\n";
    } else {
      std::cout << u.principal << "  " << u.model << "  requests " << u.requests << "  input "
                << u.input_tokens << "  output " << u.output_tokens << " (reasoning "
                << u.reasoning_tokens << ")\n";
    }
  }
}

}  // namespace

void add_keys_commands(CLI::App& app) {
  auto a = std::make_shared<KeysArgs>();
  const std::string dir_help =
      "store directory (default: $QUARRY_DATA_DIR, else ~/.local/share/quarry)";
  CLI::App* keys = app.add_subcommand("keys", "access keys (SigV4) and API keys (bearer)");
  keys->require_subcommand(1);
  CLI::App* c = keys->add_subcommand("create", "create an access key, or with --api an API key");
  c->add_option("--data-dir", a->data_dir, dir_help);
  c->add_option("--description", a->description, "a note shown by `keys list`");
  c->add_flag("--api", a->api, "an API key (bearer) instead of an access key");
  c->callback([a] { create(*a); });
  CLI::App* l = keys->add_subcommand("list", "list keys (secrets are never shown again)");
  l->add_option("--data-dir", a->data_dir, dir_help);
  l->callback([a] { list(*a); });
  CLI::App* r = keys->add_subcommand("revoke", "revoke an access key id or an API key id");
  r->add_option("--data-dir", a->data_dir, dir_help);
  r->add_option("id", a->id, "the key id")->required();
  r->callback([a] { revoke(*a); });
  CLI::App* u = app.add_subcommand("usage", "requests and tokens per key and model");
  u->add_option("--data-dir", a->data_dir, dir_help);
  u->add_flag("--json", a->json, "one JSON object per line");
  u->callback([a] { usage(*a); });
}

}  // namespace quarry::cli
