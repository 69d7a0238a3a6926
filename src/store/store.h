// The control-plane store: SageMaker models, endpoint configs and endpoints,
// SigV4 access keys, API keys (hashed) and token usage, in one SQLite file.
//
// Thread-safe: one connection behind a mutex, so calls from request threads
// are serialised. Several processes may open the same file (WAL mode, busy
// timeout), but one `quarry serve` per file is the intended use.
//
// SageMaker names are case-insensitive, as their lower-cased ARNs suggest:
// "Foo" and "foo" are the same endpoint. Records keep the case they were
// created with. Failed operations on SageMaker resources carry AWS's wording
// in their message, so the API layer can send it unchanged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/errors.h"
#include "store/names.h"
#include "store/records.h"

namespace quarry::store {

namespace detail {
struct StoreState;  // store_impl.h
}

struct StoreOptions {
  std::string region = "us-east-1";  // for ARNs
  std::string account = "000000000000";
  // Epoch seconds; the system clock when empty. Tests inject their own.
  std::function<double()> clock;
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`: the parent directory
  // is created (0700), the file is created 0600 (it holds SigV4 secrets) and
  // tightened to 0600 if it is wider. WAL journal, foreign keys on, busy
  // timeout 5 s; schema migrations are applied up to kSchemaVersion.
  // Errors: kIo (cannot create/open), kCorrupt (not a quarry database),
  // kTooNew (written by a newer quarry).
  static StoreResult<Store> open(const std::filesystem::path& path, StoreOptions options = {});
  // A private in-memory database, for tests.
  static StoreResult<Store> open_memory(StoreOptions options = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // The schema version this build writes (PRAGMA user_version).
  static int latest_schema_version();
  // The version recorded in the open file.
  StoreResult<int> schema_version() const;

  const std::string& region() const;
  const std::string& account() const;
  std::string arn(ArnKind kind, std::string_view name) const;

  // --- Models. Names are validated (kInvalidArgument, AWS wording). --------
  // kAlreadyExists: `Cannot create already existing model "<arn>".`
  StoreResult<Model> create_model(const Model& model);
  // kNotFound: `Could not find model "<arn>".`
  StoreResult<Model> get_model(std::string_view name) const;
  StoreResult<Page<Model>> list_models(const ListQuery& query = {}) const;
  StoreStatus delete_model(std::string_view name);

  // --- Endpoint configs. ---------------------------------------------------
  // `model_names` are the variants' ModelName values; each must exist
  // (kNotFound, `Could not find model "<arn>".`), checked in the same
  // transaction as the insert. kAlreadyExists: `Cannot create already
  // existing endpoint configuration "<arn>".`
  StoreResult<EndpointConfig> create_endpoint_config(const EndpointConfig& config,
                                                     std::span<const std::string> model_names = {});
  // kNotFound: `Could not find endpoint configuration "<arn>".`
  StoreResult<EndpointConfig> get_endpoint_config(std::string_view name) const;
  StoreResult<Page<EndpointConfig>> list_endpoint_configs(const ListQuery& query = {}) const;
  // Allowed while endpoints use the config, as in SageMaker.
  StoreStatus delete_endpoint_config(std::string_view name);

  // --- Endpoints. ----------------------------------------------------------
  // Starts in kCreating. kNotFound if the config does not exist (`Could not
  // find endpoint configuration "<arn>".`); kAlreadyExists: `Cannot create
  // already existing endpoint "<arn>".`
  StoreResult<Endpoint> create_endpoint(std::string_view name, std::string_view config_name);
  // kNotFound: `Could not find endpoint "<arn>".`
  StoreResult<Endpoint> get_endpoint(std::string_view name) const;
  StoreResult<Page<Endpoint>> list_endpoints(const ListQuery& query = {}) const;
  StoreStatus delete_endpoint(std::string_view name);
  // Sets the status and bumps last_modified_at. The reason is kept only for
  // kFailed; an empty reason there becomes "Unknown failure." because
  // DescribeEndpoint must show a non-empty FailureReason for Failed.
  StoreResult<Endpoint> set_endpoint_status(std::string_view name, EndpointStatus status,
                                            std::string_view failure_reason = {});
  // UpdateEndpoint: switches to `config_name` and sets kUpdating (the caller
  // loads the new model, then sets InService or Failed). Only InService or
  // Failed endpoints can be updated; otherwise kInvalidState with AWS's
  // `Cannot update in-progress endpoint "<arn>".`
  StoreResult<Endpoint> update_endpoint_config(std::string_view name, std::string_view config_name);
  // A failed UpdateEndpoint of an endpoint that was serving: back to the
  // config it serves (`config_name`), InService, the update's failure kept as
  // FailureReason (SageMaker's blue/green update loses no availability).
  StoreResult<Endpoint> roll_back_endpoint(std::string_view name, std::string_view config_name,
                                           std::string_view failure_reason);

  // Crash repair, to call once at server start before serving requests.
  // After a restart no model is loaded, whatever the database says, so:
  //  - endpoints in Deleting are deleted (their names are in `deleted`): the
  //    previous process died between "Deleting" and removing the record;
  //  - endpoints in Creating or Updating (a load interrupted, e.g. by kill -9)
  //    and endpoints in InService (loaded by the previous process) are
  //    returned in `to_load`; InService ones are set back to Creating, so
  //    DescribeEndpoint tells the truth while their weights load.
  // The caller loads each one in `to_load` and then calls
  // set_endpoint_status(name, kInService) or (kFailed, reason). Failed
  // endpoints are left alone.
  StoreResult<RepairResult> repair_after_restart();

  // --- SigV4 access keys. --------------------------------------------------
  // A new key: "AKIA" + 16 of [A-Z0-9], a 40-char secret, from the CSPRNG.
  StoreResult<AccessKey> create_access_key(std::string_view description);
  // Records a key chosen elsewhere (e.g. QUARRY_ACCESS_KEY_ID/SECRET, spec
  // §9). The id must be 16..128 of [A-Z0-9], the secret 1..128 printable
  // ASCII without spaces (kInvalidArgument); kAlreadyExists if the id is taken.
  StoreResult<AccessKey> add_access_key(std::string_view access_key_id, std::string_view secret,
                                        std::string_view description);
  // All keys, revoked ones included, oldest first.
  StoreResult<std::vector<AccessKey>> list_access_keys() const;
  // Marks the key revoked and wipes its secret. kNotFound if unknown;
  // revoking twice keeps the first revoked_at.
  StoreStatus revoke_access_key(std::string_view access_key_id);
  // The active key with this id; kNotFound for unknown or revoked ids.
  StoreResult<AccessKey> lookup_access_key(std::string_view access_key_id) const;

  // --- API keys (OpenAI / Bedrock bearer). ---------------------------------
  // A new key "qk-" + 40 base62 chars; the plaintext is returned only here.
  StoreResult<NewApiKey> create_api_key(std::string_view description);
  // Records a key chosen elsewhere (e.g. QUARRY_API_KEY): 16..256 printable
  // ASCII without spaces; kAlreadyExists if the same key is already stored.
  StoreResult<ApiKey> add_api_key(std::string_view plaintext, std::string_view description);
  StoreResult<std::vector<ApiKey>> list_api_keys() const;
  StoreStatus revoke_api_key(std::string_view id);
  // The id of the active key whose hash matches, else nullopt. Hashes are
  // compared in constant time. A database failure also gives nullopt (fail
  // closed).
  std::optional<std::string> verify_api_key(std::string_view plaintext) const;

  // --- Usage. --------------------------------------------------------------
  // Adds one request and these token counts (each >= 0) to the row for
  // (principal, model), creating it if needed.
  StoreStatus add_usage(std::string_view principal, std::string_view model, int64_t input_tokens,
                        int64_t output_tokens, int64_t reasoning_tokens);
  // All rows, by principal then model.
  StoreResult<std::vector<UsageRow>> usage() const;

 private:
  explicit Store(std::unique_ptr<detail::StoreState> impl);
  std::unique_ptr<detail::StoreState> impl_;
};

}  // namespace quarry::store
