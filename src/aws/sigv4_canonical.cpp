// The canonicalisation half of SigV4 (§4.2) and the signing key (§4.3).
#include "aws/sigv4.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "aws/crypto.h"

namespace quarry::aws {

namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The whitespace a header value is trimmed of and whose runs are collapsed.
// CR and LF count because obsolete line folding may leave them in a value.
bool is_header_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// All values of header `name` (case-insensitive), canonicalised and joined
// with ',' in arrival order; nullopt when the request has none.
std::optional<std::string> joined_header(std::span<const HeaderView> headers,
                                         std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [n, v] : headers) {
    if (!iequals(n, name)) continue;
    if (out) {
      *out += ',';
    } else {
      out.emplace();
    }
    *out += canonical_header_value(v);
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (unsigned char c : s) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view raw_path) {
  // Same normalisation as the AWS SDK signers: the path is NOT decoded first,
  // so "%2E" is not a dot segment and "%3A" ends up as "%253A".
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos <= raw_path.size()) {
    size_t slash = raw_path.find('/', pos);
    if (slash == std::string_view::npos) slash = raw_path.size();
    const std::string_view seg = raw_path.substr(pos, slash - pos);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    pos = slash + 1;
  }
  std::string path = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) path += '/';
    path += segments[i];
  }
  if (!segments.empty() && raw_path.ends_with('/')) path += '/';
  return uri_encode(path, /*keep_slash=*/true);
}

std::string canonical_query(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t amp = raw_query.find('&', pos);
    if (amp == std::string_view::npos) amp = raw_query.size();
    const std::string_view part = raw_query.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    const std::string name = percent_decode(part.substr(0, eq));
    const std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1));
    // A presigned URL's own signature is not part of what it signs.
    if (iequals(name, "X-Amz-Signature")) continue;
    params.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += '&';
    out += params[i].first;
    out += '=';
    out += params[i].second;
  }
  return out;
}

std::string canonical_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (is_header_space(c)) {
      pending_space = !out.empty();  // leading whitespace is dropped
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;  // trailing whitespace never emitted
}

std::optional<std::string> find_signed_header(std::span<const HeaderView> headers,
                                              std::string_view lower_name) {
  auto v = joined_header(headers, lower_name);
  // HTTP/2 carries the host in `:authority`; a client that signed `host`
  // (or a proxy that turned one into the other) still means the same value.
  if (!v && lower_name == "host") v = joined_header(headers, ":authority");
  if (!v && lower_name == ":authority") v = joined_header(headers, "host");
  return v;
}

std::string canonical_request(const SignedRequest& r, std::span<const std::string> signed_names,
                              std::string_view payload_hash, bool* missing) {
  const size_t q = r.target.find('?');
  const std::string_view path = r.target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : r.target.substr(q + 1);
  std::string out;
  out += r.method;
  out += '\n';
  out += canonical_uri(path);
  out += '\n';
  out += canonical_query(query);
  out += '\n';
  std::string signed_line;
  if (missing) *missing = false;
  for (size_t i = 0; i < signed_names.size(); ++i) {
    std::string name(signed_names[i]);
    std::transform(name.begin(), name.end(), name.begin(), ascii_lower);
    const auto value = find_signed_header(r.headers, name);
    if (!value && missing) *missing = true;
    out += name;
    out += ':';
    if (value) out += *value;
    out += '\n';
    if (i > 0) signed_line += ';';
    signed_line += name;
  }
  out += '\n';
  out += signed_line;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view credential_scope,
                           std::string_view canonical) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += amz_date;
  out += '\n';
  out += credential_scope;
  out += '\n';
  out += sha256_hex(canonical);
  return out;
}

std::string signing_key(std::string_view secret, std::string_view yyyymmdd, std::string_view region,
                        std::string_view service) {
  // Four HMACs per request are cheap, but every request from one client
  // repeats them with the same inputs for a whole day, so keep the result.
  // The cache is bounded; when full it is simply emptied (a day's keys for a
  // handful of clients fit many times over).
  static std::mutex mu;
  static std::unordered_map<std::string, std::string> cache;
  constexpr size_t kMaxEntries = 1024;

  std::string cache_key;
  cache_key.reserve(secret.size() + yyyymmdd.size() + region.size() + service.size() + 3);
  cache_key.append(secret).append(1, '\0').append(yyyymmdd).append(1, '\0');
  cache_key.append(region).append(1, '\0').append(service);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(cache_key); it != cache.end()) return it->second;
  }
  const Digest k_date = hmac_sha256("AWS4" + std::string(secret), yyyymmdd);
  const Digest k_region = hmac_sha256(as_view(k_date), region);
  const Digest k_service = hmac_sha256(as_view(k_region), service);
  const Digest k_signing = hmac_sha256(as_view(k_service), "aws4_request");
  std::string key(as_view(k_signing));
  std::lock_guard lock(mu);
  if (cache.size() >= kMaxEntries) cache.clear();
  cache.emplace(std::move(cache_key), key);
  return key;
}

}  // namespace quarry::aws
