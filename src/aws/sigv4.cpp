// SigV4 verification (§4.4, checks in the spec's order) and signing.
#include "aws/sigv4.h"

#include <algorithm>
#include <array>

#include "aws/crypto.h"

namespace quarry::aws {

namespace {

using std::chrono::seconds;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

constexpr std::string_view kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kBadToken = "The security token included in the request is invalid.";

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    const size_t at = s.find(sep, pos);
    out.push_back(s.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos));
    if (at == std::string_view::npos) return out;
    pos = at + 1;
  }
}

AuthResult fail(int status, std::string code, std::string message) {
  AuthResult r;
  r.kind = AuthResult::Kind::kError;
  r.error = AuthError{status, std::move(code), std::move(message)};
  return r;
}

AuthResult incomplete(std::string message) {
  return fail(403, "IncompleteSignatureException", std::move(message));
}

AuthResult invalid(std::string message) {
  return fail(403, "InvalidSignatureException", std::move(message));
}

// Every header named `name` (any case), in arrival order.
std::vector<std::string_view> header_values(std::span<const HeaderView> headers,
                                            std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

// The Authorization header, broken into its parts (§4.1).
struct ParsedAuthorization {
  std::string access_key_id;
  std::string scope_date;
  std::string region;
  std::string service;
  std::string credential_scope;  // everything after the access key id
  std::vector<std::string> signed_names;
  std::string signature;
  std::string amz_date;  // the request time as yyyymmddThhmmssZ
  TimePoint time;
};

// The request time: X-Amz-Date, else an RFC 1123 `Date` (AWS accepts it; the
// SDKs always send X-Amz-Date). `present` is false when neither is usable;
// `error` is set for a malformed X-Amz-Date.
struct RequestTime {
  bool present = false;
  std::optional<AuthResult> error;
  std::string amz_date;
  TimePoint time;
};

RequestTime request_time(std::span<const HeaderView> headers) {
  RequestTime rt;
  if (auto v = find_signed_header(headers, "x-amz-date")) {
    rt.present = true;
    auto t = parse_amz_date(*v);
    if (!t) {
      rt.error = incomplete("Date must be in ISO-8601 'basic format'. Got '" + *v +
                            "'. See http://en.wikipedia.org/wiki/ISO_8601");
      return rt;
    }
    rt.time = *t;
    rt.amz_date = *v;
    return rt;
  }
  if (auto v = find_signed_header(headers, "date")) {
    if (auto t = parse_http_date(*v)) {
      rt.present = true;
      rt.time = *t;
      rt.amz_date = format_amz_date(*t);
    }
  }
  return rt;
}

// Parses a non-empty `auth` and the request time (§4.1). On failure returns
// the IncompleteSignatureException to send.
std::optional<AuthResult> parse_authorization(std::string_view auth,
                                              std::span<const HeaderView> headers,
                                              ParsedAuthorization& out) {
  const std::string whole(auth);
  size_t sp = 0;
  while (sp < auth.size() && !is_space(auth[sp])) ++sp;
  const std::string_view algorithm = auth.substr(0, sp);
  if (algorithm != kAlgorithm && algorithm.starts_with("AWS4-")) {
    return incomplete("Unsupported AWS 'algorithm': '" + std::string(algorithm) + "'.");
  }
  // Any other scheme (Basic, or Bearer where it is not allowed) has none of
  // the SigV4 parameters; AWS answers that with the missing-parameter list.
  const bool sigv4 = algorithm == kAlgorithm;
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view part : split(sigv4 ? auth.substr(sp) : std::string_view(), ',')) {
    part = trim(part);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return incomplete("'" + std::string(part) +
                        "' not a valid key=value pair (missing equal-sign) in Authorization "
                        "header: '" +
                        whole + "'.");
    }
    const std::string_view key = trim(part.substr(0, eq));
    const std::string_view value = trim(part.substr(eq + 1));
    std::optional<std::string_view>* slot = key == "Credential"      ? &credential
                                            : key == "SignedHeaders" ? &signed_headers
                                            : key == "Signature"     ? &signature
                                                                     : nullptr;
    if (slot == nullptr) continue;  // unknown parameters are not signed; ignore
    if (*slot) {
      return incomplete("Authorization header has more than one '" + std::string(key) +
                        "' parameter.");
    }
    *slot = value;
  }

  RequestTime rt = request_time(headers);
  // Like AWS, name everything that is missing in one message.
  std::string missing;
  if (!credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!rt.present) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) return incomplete(missing + "Authorization=" + whole);
  if (rt.error) return rt.error;

  const auto cred = split(*credential, '/');
  if (cred.size() != 5 || cred[0].empty() || cred[1].empty() || cred[2].empty() ||
      cred[3].empty()) {
    return incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        std::string(*credential) + "'");
  }
  if (cred[4] != "aws4_request") {
    return incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                      std::string(cred[4]) + "'.");
  }
  out.access_key_id = cred[0];
  out.scope_date = cred[1];
  out.region = cred[2];
  out.service = cred[3];
  out.credential_scope = std::string(credential->substr(cred[0].size() + 1));

  bool has_host = false;
  for (std::string_view name : split(*signed_headers, ';')) {
    if (name.empty()) {
      return incomplete("SignedHeaders must be a ';'-separated list of header names, got '" +
                        std::string(*signed_headers) + "'.");
    }
    out.signed_names.push_back(to_lower(name));
    has_host =
        has_host || out.signed_names.back() == "host" || out.signed_names.back() == ":authority";
  }
  if (!has_host) {
    return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  if (!is_hex64(*signature, /*lower_only=*/true)) {
    return incomplete("Signature must be 64 lower-case hexadecimal digits, got '" +
                      std::string(*signature) + "'.");
  }
  out.signature = *signature;
  out.amz_date = rt.amz_date;
  out.time = rt.time;
  return std::nullopt;
}

bool has_presigned_query(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return false;
  for (std::string_view part : split(target.substr(q + 1), '&')) {
    const std::string name = to_lower(percent_decode(part.substr(0, part.find('='))));
    if (name == "x-amz-algorithm" || name == "x-amz-credential" || name == "x-amz-signature") {
      return true;
    }
  }
  return false;
}

std::string window_message(bool expired, const std::string& amz_date, TimePoint now, seconds skew) {
  const std::string minutes = std::to_string(skew.count() / 60) + " min.)";
  if (expired) {
    return "Signature expired: " + amz_date + " is now earlier than " +
           format_amz_date(now - skew) + " (" + format_amz_date(now) + " - " + minutes;
  }
  return "Signature not yet current: " + amz_date + " is still later than " +
         format_amz_date(now + skew) + " (" + format_amz_date(now) + " + " + minutes;
}

}  // namespace

AuthResult verify_sigv4(const SignedRequest& request, std::string_view expected_service,
                        TimePoint now, const CredentialLookup& lookup,
                        const VerifyOptions& options) {
  // 1. Authorization present? Bearer goes elsewhere.
  const auto auths = header_values(request.headers, "authorization");
  if (auths.size() > 1) return incomplete("Authorization header must appear only once.");
  const std::string_view auth = auths.empty() ? std::string_view() : trim(auths.front());
  if (auth.empty()) {
    if (has_presigned_query(request.target)) {
      return incomplete(
          "Query-string (presigned) SigV4 authentication is not supported; sign the "
          "Authorization header instead.");
    }
    return fail(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  const size_t scheme_end = std::min(auth.find_first_of(" \t"), auth.size());
  if (options.allow_bearer && iequals(auth.substr(0, scheme_end), "bearer")) {
    AuthResult r;
    r.kind = AuthResult::Kind::kBearer;
    r.bearer_token = trim(auth.substr(scheme_end));
    return r;
  }

  // 2. Parse.
  ParsedAuthorization p;
  if (auto err = parse_authorization(auth, request.headers, p)) return std::move(*err);

  // 3. Scope date == date of X-Amz-Date.
  const std::string_view day = std::string_view(p.amz_date).substr(0, 8);
  if (p.scope_date != day) {
    return invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        p.scope_date + "' != '" + std::string(day) + "', from '" + p.amz_date + "'.");
  }

  // 4. Service of the route.
  if (p.service != expected_service) {
    return invalid("Credential should be scoped to correct service: '" +
                   std::string(expected_service) + "'.");
  }

  // 5. Region: any, unless pinned.
  if (!options.pinned_region.empty() && p.region != options.pinned_region) {
    return invalid("Credential should be scoped to a valid region.");
  }

  // 6. Time window.
  if (now - p.time > options.max_skew) {
    return invalid(window_message(true, p.amz_date, now, options.max_skew));
  }
  if (p.time - now > options.max_skew) {
    return invalid(window_message(false, p.amz_date, now, options.max_skew));
  }

  // 7. Access key and session token.
  const std::optional<Credentials> creds = lookup ? lookup(p.access_key_id) : std::nullopt;
  if (!creds) return fail(403, "UnrecognizedClientException", std::string(kBadToken));
  const auto token = find_signed_header(request.headers, "x-amz-security-token");
  if (creds->session_token) {
    const bool signed_token = std::find(p.signed_names.begin(), p.signed_names.end(),
                                        "x-amz-security-token") != p.signed_names.end();
    if (!token || !signed_token || !constant_time_equal(*token, *creds->session_token)) {
      return fail(403, "UnrecognizedClientException", std::string(kBadToken));
    }
  } else if (token) {
    // A session token sent with a long-term key belongs to some other key.
    return fail(403, "UnrecognizedClientException", std::string(kBadToken));
  }
  if (creds->expiry && now >= *creds->expiry) {
    return fail(403, "ExpiredTokenException",
                "The security token included in the request is expired");
  }

  // 8. Payload hash. The header value is what was signed; when it is a hash,
  // the body must match it or the signature would protect nothing.
  std::string payload_hash;
  if (auto declared = find_signed_header(request.headers, "x-amz-content-sha256")) {
    payload_hash = *declared;
    if (payload_hash != kUnsignedPayload) {
      if (!is_hex64(payload_hash, /*lower_only=*/false)) {
        // quarry choice: streaming (chunk-signed) payloads are not used by
        // these operations, and any other value would leave the body unchecked.
        return fail(400, "ValidationException",
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest.");
      }
      if (to_lower(payload_hash) != sha256_hex(request.body)) {
        return fail(400, "ValidationException",
                    "The provided x-amz-content-sha256 header does not match what was computed.");
      }
    }
  } else {
    payload_hash = sha256_hex(request.body);
  }

  // 9. Recompute and compare.
  AuthResult r;
  SigV4Trace& t = r.trace;
  bool missing = false;
  t.payload_hash = payload_hash;
  t.canonical_request = canonical_request(request, p.signed_names, payload_hash, &missing);
  t.credential_scope = p.credential_scope;
  t.string_to_sign = string_to_sign(p.amz_date, t.credential_scope, t.canonical_request);
  const std::string key = signing_key(creds->secret_access_key, p.scope_date, p.region, p.service);
  t.signing_key_hex = hex_lower(key);
  t.signature = hex_lower(hmac_sha256(key, t.string_to_sign));
  if (missing || !constant_time_equal(t.signature, p.signature)) {
    std::string message(kMismatch);
    if (options.debug_mismatch) {
      message += "\n\nThe Canonical String for this request should have been\n'" +
                 t.canonical_request + "'\n\nThe String-to-Sign should have been\n'" +
                 t.string_to_sign + "'\n";
    }
    AuthResult e = invalid(std::move(message));
    e.trace = std::move(r.trace);
    return e;
  }
  r.kind = AuthResult::Kind::kSigV4;
  r.identity =
      SigV4Identity{p.access_key_id, p.region, p.service, creds->session_token.has_value()};
  return r;
}

Result<SigningOutput> sign_sigv4(const SignedRequest& request, const SigningParams& params) {
  SigningOutput out;
  const std::string amz_date = format_amz_date(params.time);
  auto has = [&](std::string_view name) { return !header_values(request.headers, name).empty(); };
  if (has("authorization")) return make_error("the request is already signed (Authorization)");
  auto& added = out.added_headers;
  if (!has("x-amz-date")) added.emplace_back("x-amz-date", amz_date);
  if (params.session_token && !has("x-amz-security-token")) {
    added.emplace_back("x-amz-security-token", *params.session_token);
  }
  if (params.payload != PayloadSigning::kNoHeader && !has("x-amz-content-sha256")) {
    added.emplace_back("x-amz-content-sha256", params.payload == PayloadSigning::kUnsigned
                                                   ? std::string(kUnsignedPayload)
                                                   : sha256_hex(request.body));
  }

  // The request as it will be sent: its headers plus the ones added above.
  std::vector<HeaderView> all(request.headers.begin(), request.headers.end());
  for (const auto& [n, v] : added) all.emplace_back(n, v);
  SignedRequest full = request;
  full.headers = all;

  std::vector<std::string> names;
  if (!params.signed_headers.empty()) {
    for (const auto& n : params.signed_headers) names.push_back(to_lower(n));
  } else {
    // The AWS SDKs' list of headers never signed (proxies and the HTTP stack
    // add or rewrite them), plus the HTTP/2 pseudo-headers other than
    // :authority.
    // clang-format off
    static constexpr std::array<std::string_view, 17> kUnsignable = {
        "authorization", "connection", "expect", "from", "keep-alive", "max-forwards", "pragma",
        "referer", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
        "x-amzn-trace-id", ":path", ":method", ":scheme"};
    // clang-format on
    for (const auto& h : all) {
      std::string n = to_lower(h.first);
      if (std::find(kUnsignable.begin(), kUnsignable.end(), n) == kUnsignable.end()) {
        names.push_back(std::move(n));
      }
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (std::find(names.begin(), names.end(), "host") == names.end() &&
      std::find(names.begin(), names.end(), ":authority") == names.end()) {
    return make_error("a SigV4 request must sign `host` or `:authority`");
  }

  const auto declared = find_signed_header(all, "x-amz-content-sha256");
  const std::string payload_hash = declared ? *declared : sha256_hex(request.body);
  SigV4Trace& t = out.trace;
  bool missing = false;
  t.payload_hash = payload_hash;
  t.canonical_request = canonical_request(full, names, payload_hash, &missing);
  if (missing) return make_error("a header listed in signed_headers is not in the request");
  const std::string day = amz_date.substr(0, 8);
  t.credential_scope = day + "/" + params.region + "/" + params.service + "/aws4_request";
  t.string_to_sign = string_to_sign(amz_date, t.credential_scope, t.canonical_request);
  const std::string key = signing_key(params.secret_access_key, day, params.region, params.service);
  t.signing_key_hex = hex_lower(key);
  t.signature = hex_lower(hmac_sha256(key, t.string_to_sign));

  std::string signed_line;
  for (const auto& n : names) signed_line += (signed_line.empty() ? "" : ";") + n;
  out.authorization = std::string(kAlgorithm) + " Credential=" + params.access_key_id + "/" +
                      t.credential_scope + ", SignedHeaders=" + signed_line +
                      ", Signature=" + t.signature;
  added.emplace_back("authorization", out.authorization);
  return out;
}

}  // namespace quarry::aws
