// AWS Signature Version 4 (header-based AWS4-HMAC-SHA256): the verifier the
// server runs on every AWS-family route, the canonicalisation steps it is made
// of (exposed for tests), and a signer that tests use to build requests.
// Spec: shared/spec/apis.md §4. Plain C++: no HTTP library types, so the
// caller adapts its own request (a vector of string_view pairs is enough).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/amz_date.h"
#include "base/result.h"

namespace quarry::aws {

// One header as received: name in wire case, raw value. For HTTP/2 the
// pseudo-headers (`:authority`, ...) are included like any other header.
using HeaderView = std::pair<std::string_view, std::string_view>;

// The parts of a request that SigV4 covers.
struct SignedRequest {
  std::string_view method;              // "POST"
  std::string_view target;              // path + "?query", still percent-encoded
  std::span<const HeaderView> headers;  // in arrival order
  std::string_view body;                // exactly the bytes received
};

// What the server knows about one access key id.
struct Credentials {
  std::string secret_access_key;
  // Set for temporary credentials: the request must carry and sign exactly
  // this X-Amz-Security-Token.
  std::optional<std::string> session_token;
  // Temporary credentials stop working at this instant.
  std::optional<TimePoint> expiry;
};

// access key id -> credentials, or nullopt for an unknown key. Called from
// request threads concurrently, so it must be thread-safe.
using CredentialLookup = std::function<std::optional<Credentials>(std::string_view)>;

// An authentication failure, ready to be sent as an AWS error (§3.2).
struct AuthError {
  int status = 403;
  std::string code;     // "InvalidSignatureException", ...
  std::string message;  // AWS's wording where the spec gives it
};

// Who signed a request that verified.
struct SigV4Identity {
  std::string access_key_id;
  std::string region;      // from the credential scope
  std::string service;     // from the credential scope (== the route's service)
  bool temporary = false;  // signed with a session token
};

// The intermediate values of one signature computation, for tests and for
// debugging a client whose signatures do not match.
struct SigV4Trace {
  std::string canonical_request;
  std::string credential_scope;  // "20250805/us-east-1/bedrock/aws4_request"
  std::string string_to_sign;
  std::string signing_key_hex;
  std::string signature;     // what the server computed (lower-case hex)
  std::string payload_hash;  // the HashedPayload line
};

// The outcome of verify_sigv4. Exactly one of three things happened:
//   kSigV4  - a valid SigV4 signature: `identity` says who.
//   kBearer - `Authorization: Bearer <token>`: SigV4 was not attempted; the
//             caller checks `bearer_token` itself (Bedrock API keys, §4.5)
//             or rejects it where bearer auth is not allowed.
//   kError  - rejected: send `error`.
struct AuthResult {
  enum class Kind { kSigV4, kBearer, kError };
  Kind kind = Kind::kError;
  SigV4Identity identity;
  std::string bearer_token;
  AuthError error;
  SigV4Trace trace;  // filled once the signature was computed (check 9)

  bool verified() const { return kind == Kind::kSigV4; }
  bool is_bearer() const { return kind == Kind::kBearer; }
  bool failed() const { return kind == Kind::kError; }
};

struct VerifyOptions {
  // Accept only this region in the credential scope (§4.4 step 5); empty
  // accepts any region (quarry's default).
  std::string pinned_region;
  // Allowed distance between the request time and now, either way.
  std::chrono::seconds max_skew{300};
  // Append the canonical request and string to sign to a mismatch message,
  // as some AWS services do. Off by default: it echoes request headers.
  bool debug_mismatch = false;
  // Report `Authorization: Bearer` as AuthResult::kBearer (Bedrock routes and
  // /openai/v1). Off for SageMaker routes, which accept SigV4 only: a bearer
  // token then fails like any other non-SigV4 Authorization (403
  // IncompleteSignatureException listing the missing SigV4 parameters).
  bool allow_bearer = true;
};

// Runs the checks of §4.4 in order. `expected_service` is the signing name
// the route requires ("bedrock" or "sagemaker"). `now` is injectable so
// tests can pin the clock. Thread-safe.
AuthResult verify_sigv4(const SignedRequest& request, std::string_view expected_service,
                        TimePoint now, const CredentialLookup& lookup,
                        const VerifyOptions& options = {});

// ---- Signing (for tests and tools) ----------------------------------------

enum class PayloadSigning {
  kHeaderHash,  // send x-amz-content-sha256 = hex SHA-256 of the body (JS SDK)
  kNoHeader,    // sign the body hash without sending the header (boto3)
  kUnsigned,    // send and sign x-amz-content-sha256 = UNSIGNED-PAYLOAD
};

struct SigningParams {
  std::string access_key_id;
  std::string secret_access_key;
  std::optional<std::string> session_token;  // adds x-amz-security-token
  std::string region = "us-east-1";
  std::string service = "bedrock";
  TimePoint time;
  PayloadSigning payload = PayloadSigning::kHeaderHash;
  // Sign exactly these lower-case names (sorted here); empty signs every
  // header present except those the AWS SDKs never sign (user-agent,
  // connection, authorization, ...).
  std::vector<std::string> signed_headers;
};

struct SigningOutput {
  // Headers to append to the request, in this order: x-amz-date,
  // x-amz-security-token, x-amz-content-sha256 (each only if the request does
  // not already have it), then authorization.
  std::vector<std::pair<std::string, std::string>> added_headers;
  std::string authorization;
  SigV4Trace trace;
};

// Signs `request` like the AWS SDKs do. Fails when the request already has an
// Authorization header, has neither a `host` nor an `:authority` header, or
// lacks a header listed in `signed_headers`.
Result<SigningOutput> sign_sigv4(const SignedRequest& request, const SigningParams& params);

// ---- Building blocks (exposed for tests) ----------------------------------

// §4.2 CanonicalURI of a raw (still percent-encoded) path: dot segments and
// empty segments removed, trailing slash kept, then percent-encoded again.
std::string canonical_uri(std::string_view raw_path);

// §4.2 CanonicalQueryString of a raw query (the part after '?').
std::string canonical_query(std::string_view raw_query);

// §4.2 one header value: trimmed, runs of whitespace collapsed to one space.
std::string canonical_header_value(std::string_view value);

// Percent-encodes every byte outside A-Z a-z 0-9 - . _ ~ (and '/' when
// `keep_slash`), upper-case hex.
std::string uri_encode(std::string_view s, bool keep_slash);

// Decodes %XX escapes; a '%' not followed by two hex digits stays literal.
std::string percent_decode(std::string_view s);

// The value a signed header contributes: every header of that (lower-case)
// name joined with ',' in arrival order, each canonicalised; `host` and
// `:authority` stand in for each other. nullopt when the request has none.
std::optional<std::string> find_signed_header(std::span<const HeaderView> headers,
                                              std::string_view lower_name);

// §4.2 the whole canonical request. `signed_names` are the SignedHeaders
// names in their listed order. Sets *missing when a signed header is absent
// (its line is then `name:` and the signature cannot match).
std::string canonical_request(const SignedRequest& request,
                              std::span<const std::string> signed_names,
                              std::string_view payload_hash, bool* missing = nullptr);

// §4.3 the string to sign.
std::string string_to_sign(std::string_view amz_date, std::string_view credential_scope,
                           std::string_view canonical_request);

// kSigning = HMAC chain of §4.3. Cached per (secret, date, region, service)
// in a bounded process-wide cache; thread-safe.
std::string signing_key(std::string_view secret, std::string_view yyyymmdd, std::string_view region,
                        std::string_view service);

}  // namespace quarry::aws
