// Credentials and accounting: SigV4 access keys, API keys (hashed), usage.
#include <mutex>

#include "store/secrets.h"
#include "store/sqlite_util.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace quarry::store {

using detail::Stmt;

namespace {

constexpr size_t kApiKeyPrefixLength = 8;
constexpr size_t kMaxApiKeyLength = 256;
// Generating a random id that is already taken is astronomically unlikely;
// a few retries make it impossible in practice rather than an error path.
constexpr int kIdAttempts = 3;

StoreError invalid(std::string message) {
  return store_error(StoreErrc::kInvalidArgument, std::move(message));
}

bool all_of_chars(std::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool is_upper_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_visible_ascii(char c) { return c > ' ' && c < 0x7f; }

constexpr const char* kAccessKeyColumns =
    "access_key_id, secret, description, created_at, revoked_at";

AccessKey read_access_key(const Stmt& s) {
  AccessKey k;
  k.access_key_id = s.text(0);
  k.secret = s.text(1);
  k.description = s.text(2);
  k.created_at = s.real(3);
  k.revoked_at = s.opt_real(4);
  return k;
}

constexpr const char* kApiKeyColumns = "id, key_hash, prefix, description, created_at, revoked_at";

ApiKey read_api_key(const Stmt& s) {
  ApiKey k;
  k.id = s.text(0);
  k.key_hash = s.text(1);
  k.prefix = s.text(2);
  k.description = s.text(3);
  k.created_at = s.real(4);
  k.revoked_at = s.opt_real(5);
  return k;
}

template <class T, class Reader>
StoreResult<std::vector<T>> read_all(Stmt& s, Reader reader) {
  std::vector<T> out;
  for (;;) {
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return out;
    out.push_back(reader(s));
  }
}

StoreStatus insert_access_key(const detail::StoreState& impl, const AccessKey& k) {
  Stmt s(impl.db,
         "INSERT INTO access_keys (access_key_id, secret, description, created_at) "
         "VALUES (?, ?, ?, ?)",
         "inserting access key");
  s.bind(k.access_key_id).bind(k.secret).bind(k.description).bind(k.created_at);
  return s.run();
}

StoreStatus insert_api_key(const detail::StoreState& impl, const ApiKey& k) {
  Stmt s(impl.db,
         "INSERT INTO api_keys (id, key_hash, prefix, description, created_at) "
         "VALUES (?, ?, ?, ?, ?)",
         "inserting API key");
  s.bind(k.id).bind(k.key_hash).bind(k.prefix).bind(k.description).bind(k.created_at);
  return s.run();
}

// A record for `plaintext` with a fresh random id (not yet inserted).
StoreResult<ApiKey> make_api_key(const detail::StoreState& impl, std::string_view plaintext,
                                 std::string_view description) {
  auto id = detail::random_string(detail::kHexLower, 16);
  if (!id) return id.error();
  ApiKey k;
  k.id = std::move(id.value());
  k.key_hash = detail::sha256_hex(plaintext);
  k.prefix = std::string(plaintext.substr(0, kApiKeyPrefixLength));
  k.description = description;
  k.created_at = impl.now();
  return k;
}

// Sets revoked_at (keeping an earlier one) on the row `id` of `table`;
// `extra` adds assignments such as wiping a secret.
StoreStatus revoke(const detail::StoreState& impl, const char* table, const char* id_column,
                   const char* extra, std::string_view id, const char* noun) {
  Stmt s(impl.db,
         std::string("UPDATE ") + table + " SET revoked_at = coalesce(revoked_at, ?)" + extra +
             " WHERE " + id_column + " = ?",
         std::string("revoking ") + noun);
  s.bind(impl.now()).bind(id);
  if (auto st = s.run(); !st) return st;
  if (sqlite3_changes(impl.db) == 0) {
    return store_error(StoreErrc::kNotFound,
                       "store: no " + std::string(noun) + " with id '" + std::string(id) + "'");
  }
  return StoreStatus::Ok();
}

}  // namespace

// --- SigV4 access keys -----------------------------------------------------

StoreResult<AccessKey> Store::create_access_key(std::string_view description) {
  std::lock_guard lock(impl_->mu);
  for (int attempt = 0;; ++attempt) {
    auto id = detail::random_string(detail::kUpperAlnum, 16);
    if (!id) return id.error();
    auto secret = detail::random_string(detail::kBase64, 40);
    if (!secret) return secret.error();
    AccessKey k;
    k.access_key_id = "AKIA" + *id;
    k.secret = std::move(secret.value());
    k.description = description;
    k.created_at = impl_->now();
    auto st = insert_access_key(*impl_, k);
    if (st) return k;
    if (st.code() != StoreErrc::kAlreadyExists || attempt + 1 == kIdAttempts) return st.error();
  }
}

StoreResult<AccessKey> Store::add_access_key(std::string_view access_key_id,
                                             std::string_view secret,
                                             std::string_view description) {
  if (access_key_id.size() < 16 || access_key_id.size() > 128 ||
      !all_of_chars(access_key_id, is_upper_alnum)) {
    return invalid("store: an access key id is 16 to 128 characters of A-Z and 0-9, got '" +
                   std::string(access_key_id) + "'");
  }
  if (secret.empty() || secret.size() > 128 || !all_of_chars(secret, is_visible_ascii)) {
    return invalid(
        "store: a secret access key is 1 to 128 printable ASCII characters without spaces");
  }
  std::lock_guard lock(impl_->mu);
  AccessKey k;
  k.access_key_id = access_key_id;
  k.secret = secret;
  k.description = description;
  k.created_at = impl_->now();
  auto st = insert_access_key(*impl_, k);
  if (st) return k;
  if (st.code() == StoreErrc::kAlreadyExists) {
    return store_error(StoreErrc::kAlreadyExists,
                       "store: access key '" + k.access_key_id + "' already exists");
  }
  return st.error();
}

StoreResult<std::vector<AccessKey>> Store::list_access_keys() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         std::string("SELECT ") + kAccessKeyColumns +
             " FROM access_keys ORDER BY created_at, access_key_id",
         "listing access keys");
  return read_all<AccessKey>(s, read_access_key);
}

StoreStatus Store::revoke_access_key(std::string_view access_key_id) {
  std::lock_guard lock(impl_->mu);
  // The secret is useless once revoked; keeping it would only be a risk.
  return revoke(*impl_, "access_keys", "access_key_id", ", secret = NULL", access_key_id,
                "access key");
}

StoreResult<AccessKey> Store::lookup_access_key(std::string_view access_key_id) const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         std::string("SELECT ") + kAccessKeyColumns +
             " FROM access_keys WHERE access_key_id = ? AND revoked_at IS NULL",
         "reading access key");
  s.bind(access_key_id);
  auto row = s.step();
  if (!row) return row.error();
  if (!*row) {
    return store_error(StoreErrc::kNotFound,
                       "store: no active access key '" + std::string(access_key_id) + "'");
  }
  return read_access_key(s);
}

// --- API keys --------------------------------------------------------------

StoreResult<NewApiKey> Store::create_api_key(std::string_view description) {
  std::lock_guard lock(impl_->mu);
  for (int attempt = 0;; ++attempt) {
    auto random = detail::random_string(detail::kBase62, 40);
    if (!random) return random.error();
    NewApiKey created;
    created.plaintext = "qk-" + *random;
    auto key = make_api_key(*impl_, created.plaintext, description);
    if (!key) return key.error();
    created.key = std::move(key.value());
    auto st = insert_api_key(*impl_, created.key);
    if (st) return created;
    if (st.code() != StoreErrc::kAlreadyExists || attempt + 1 == kIdAttempts) return st.error();
  }
}

StoreResult<ApiKey> Store::add_api_key(std::string_view plaintext, std::string_view description) {
  // At least twice the displayed prefix, so the prefix kept in clear never
  // gives away most of a key.
  if (plaintext.size() < 2 * kApiKeyPrefixLength || plaintext.size() > kMaxApiKeyLength ||
      !all_of_chars(plaintext, is_visible_ascii)) {
    return invalid("store: an API key is 16 to 256 printable ASCII characters without spaces");
  }
  std::lock_guard lock(impl_->mu);
  auto key = make_api_key(*impl_, plaintext, description);
  if (!key) return key.error();
  auto st = insert_api_key(*impl_, *key);
  if (st) return key;
  if (st.code() == StoreErrc::kAlreadyExists) {
    return store_error(StoreErrc::kAlreadyExists, "store: this API key is already stored");
  }
  return st.error();
}

StoreResult<std::vector<ApiKey>> Store::list_api_keys() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         std::string("SELECT ") + kApiKeyColumns + " FROM api_keys ORDER BY created_at, id",
         "listing API keys");
  return read_all<ApiKey>(s, read_api_key);
}

StoreStatus Store::revoke_api_key(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return revoke(*impl_, "api_keys", "id", "", id, "API key");
}

std::optional<std::string> Store::verify_api_key(std::string_view plaintext) const {
  if (plaintext.size() < kApiKeyPrefixLength || plaintext.size() > kMaxApiKeyLength) {
    return std::nullopt;
  }
  const std::string hash = detail::sha256_hex(plaintext);
  std::lock_guard lock(impl_->mu);
  // Find candidates by the public prefix (indexed), then compare the hashes
  // in constant time, so timing never tells how much of a hash matched.
  Stmt s(impl_->db, "SELECT id, key_hash FROM api_keys WHERE prefix = ? AND revoked_at IS NULL",
         "verifying API key");
  s.bind(plaintext.substr(0, kApiKeyPrefixLength));
  std::optional<std::string> match;
  for (;;) {
    auto row = s.step();
    if (!row || !*row) break;
    if (detail::constant_time_equal(hash, s.text(1))) match = s.text(0);
  }
  return match;
}

// --- Usage -----------------------------------------------------------------

StoreStatus Store::add_usage(std::string_view principal, std::string_view model,
                             int64_t input_tokens, int64_t output_tokens,
                             int64_t reasoning_tokens) {
  if (principal.empty() || model.empty()) {
    return invalid("store: usage needs a principal and a model");
  }
  if (input_tokens < 0 || output_tokens < 0 || reasoning_tokens < 0) {
    return invalid("store: token counts cannot be negative");
  }
  std::lock_guard lock(impl_->mu);
  const double now = impl_->now();
  Stmt s(impl_->db,
         "INSERT INTO usage (principal, model, requests, input_tokens, output_tokens, "
         "reasoning_tokens, first_used_at, last_used_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?) "
         "ON CONFLICT (principal, model) DO UPDATE SET requests = requests + 1, "
         "input_tokens = input_tokens + excluded.input_tokens, "
         "output_tokens = output_tokens + excluded.output_tokens, "
         "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
         "last_used_at = excluded.last_used_at",
         "recording usage");
  s.bind(principal).bind(model).bind(input_tokens).bind(output_tokens).bind(reasoning_tokens);
  s.bind(now).bind(now);
  return s.run();
}

StoreResult<std::vector<UsageRow>> Store::usage() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT principal, model, requests, input_tokens, output_tokens, reasoning_tokens, "
         "first_used_at, last_used_at FROM usage ORDER BY principal, model",
         "reading usage");
  return read_all<UsageRow>(s, [](const Stmt& r) {
    UsageRow u;
    u.principal = r.text(0);
    u.model = r.text(1);
    u.requests = r.int64(2);
    u.input_tokens = r.int64(3);
    u.output_tokens = r.int64(4);
    u.reasoning_tokens = r.int64(5);
    u.first_used_at = r.real(6);
    u.last_used_at = r.real(7);
    return u;
  });
}

}  // namespace quarry::store
