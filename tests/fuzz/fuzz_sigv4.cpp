// Fuzzes SigV4 verification (src/aws/sigv4.h): the Authorization-header
// parser, the request-time headers, canonicalisation and the checks of §4.4,
// over arbitrary requests. The input is one flags byte, then a request in
// HTTP/1-like text:
//   METHOD SP TARGET [SP anything] LF      (CRLF or LF; a missing SP: target "")
//   name ':' value LF ...                  (the value is not trimmed: SigV4 does that)
//   LF
//   body                                   (the rest, byte for byte)
// Flags: bit 0 allow_bearer, bit 1 `now` = the request's own X-Amz-Date (else
// 2025-08-05T12:00:00Z, the goldens' clock), bit 2 pin region us-east-1, bit 3
// debug_mismatch, bit 4 service "sagemaker" (else "bedrock"), bit 5 also sign
// the request (minus its auth headers) and verify that, bits 6-7 how it is
// signed (header hash, no header, UNSIGNED-PAYLOAD, temporary credentials).
// Checks: never a crash or exception; a verdict is always well formed; the
// building blocks keep their documented properties; and whatever sign_sigv4
// signs, verify_sigv4 accepts, for any request whose header names could come
// off the wire.
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.h"

using namespace quarry::aws;

namespace {

constexpr std::string_view kKey = "AKIAQUARRYEXAMPLE001";
constexpr std::string_view kSecret = "quarryTestSecretKey/0123456789+abcdefghi";
constexpr std::string_view kTempKey = "ASIAQUARRYEXAMPLE002";
constexpr std::string_view kTempSecret = "quarryTempSecretKey/9876543210+zyxwvutsr";
constexpr std::string_view kToken = "quarry-test-session-token/2025-08-05+AQoDYXdzEJr";

TimePoint golden_now() {
  using namespace std::chrono;
  return sys_days{year{2025} / 8 / 5} + hours{12};
}

std::optional<Credentials> lookup(std::string_view id) {
  if (id == kKey) return Credentials{std::string(kSecret), std::nullopt, std::nullopt};
  if (id == kTempKey) {
    return Credentials{std::string(kTempSecret), std::string(kToken),
                       golden_now() + std::chrono::hours(1)};
  }
  return std::nullopt;
}

// QUARRY_FUZZ_VERBOSE=1: print each verdict (for looking at a corpus).
bool verbose() {
  static const bool v = std::getenv("QUARRY_FUZZ_VERBOSE") != nullptr;
  return v;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

struct ParsedInput {
  std::string_view method, target, body;
  std::vector<HeaderView> headers;
};

// Lines end at LF; one CR before it is dropped.
std::string_view take_line(std::string_view& s, bool* ended) {
  const size_t lf = s.find('\n');
  std::string_view line = s.substr(0, lf);
  s = lf == std::string_view::npos ? std::string_view() : s.substr(lf + 1);
  *ended = lf != std::string_view::npos;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

ParsedInput parse_input(std::string_view s) {
  ParsedInput p;
  bool ended = false;
  const std::string_view first = take_line(s, &ended);
  const size_t sp = first.find(' ');
  p.method = first.substr(0, sp);
  if (sp != std::string_view::npos) {
    const std::string_view rest = first.substr(sp + 1);
    p.target = rest.substr(0, rest.find(' '));
  }
  while (ended) {
    const std::string_view line = take_line(s, &ended);
    if (line.empty()) break;
    const size_t colon = line.find(':', line.front() == ':' ? 1 : 0);  // ":authority: x"
    if (colon == std::string_view::npos) {
      p.headers.emplace_back(line, std::string_view());
    } else {
      p.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
  }
  p.body = ended ? s : std::string_view();
  return p;
}

// RFC 9110 tchar: what a header name off the wire is made of (HTTP/2
// pseudo-headers add a leading ':').
bool wire_name(std::string_view n) {
  if (!n.empty() && n.front() == ':') n.remove_prefix(1);
  if (n.empty()) return false;
  for (unsigned char c : n) {
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool wire_value(std::string_view v) {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == v.npos;
}

void check_verdict(const AuthResult& r, bool allow_bearer, std::string_view service) {
  switch (r.kind) {
    case AuthResult::Kind::kError:
      if (r.error.code.empty() || r.error.message.empty()) std::abort();
      if (r.error.status != 400 && r.error.status != 403) std::abort();
      break;
    case AuthResult::Kind::kBearer:
      if (!allow_bearer) std::abort();
      break;
    case AuthResult::Kind::kSigV4:
      if (r.identity.service != service) std::abort();
      if (r.identity.access_key_id != kKey && r.identity.access_key_id != kTempKey) std::abort();
      if (r.trace.signature.size() != 64) std::abort();
      break;
  }
}

bool only_unreserved_or_escapes(std::string_view s, bool keep_slash) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      continue;
    }
    if (c != '%' || i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return false;
    }
    i += 2;
  }
  return true;
}

void check_building_blocks(const ParsedInput& p) {
  const std::string_view t = p.target;
  const size_t q = t.find('?');
  const std::string_view path = t.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);

  for (bool keep_slash : {false, true}) {
    const std::string e = uri_encode(t, keep_slash);
    if (!only_unreserved_or_escapes(e, keep_slash)) std::abort();
    if (percent_decode(e) != t) std::abort();  // escapes decode back to the bytes
  }
  const std::string uri = canonical_uri(path);
  if (uri.empty() || uri.front() != '/' || !only_unreserved_or_escapes(uri, true)) std::abort();
  // name=value pairs joined with '&', both sides escaped: no other separator.
  const std::string cq = canonical_query(query);
  size_t pos = 0;
  while (!cq.empty() && pos <= cq.size()) {
    size_t amp = cq.find('&', pos);
    if (amp == std::string::npos) amp = cq.size();
    const std::string_view pair = std::string_view(cq).substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || !only_unreserved_or_escapes(pair.substr(0, eq), false) ||
        !only_unreserved_or_escapes(pair.substr(eq + 1), false)) {
      std::abort();
    }
    pos = amp + 1;
  }
  for (const auto& [n, v] : p.headers) {
    const std::string c = canonical_header_value(v);
    if (canonical_header_value(c) != c) std::abort();  // idempotent
    if (!c.empty() && (c.front() == ' ' || c.back() == ' ')) std::abort();
    if (c.find_first_of("\t\r\n") != std::string::npos || c.find("  ") != std::string::npos) {
      std::abort();
    }
    (void)find_signed_header(p.headers, n);
  }
}

// Whatever sign_sigv4 signs, verify_sigv4 must accept.
void check_sign_verify(const ParsedInput& p, unsigned how) {
  std::vector<HeaderView> headers;
  bool has_host = false;
  for (const auto& h : p.headers) {
    if (!wire_name(h.first) || !wire_value(h.second)) return;  // not a request off the wire
    if (iequals(h.first, "authorization") || iequals(h.first, "x-amz-date") ||
        iequals(h.first, "x-amz-security-token") || iequals(h.first, "x-amz-content-sha256")) {
      continue;
    }
    has_host = has_host || iequals(h.first, "host") || iequals(h.first, ":authority");
    headers.push_back(h);
  }
  const SignedRequest request{p.method, p.target, headers, p.body};
  SigningParams params;
  params.access_key_id = std::string(how == 3 ? kTempKey : kKey);
  params.secret_access_key = std::string(how == 3 ? kTempSecret : kSecret);
  if (how == 3) params.session_token = std::string(kToken);
  params.time = golden_now();
  params.payload = how == 1   ? PayloadSigning::kNoHeader
                   : how == 2 ? PayloadSigning::kUnsigned
                              : PayloadSigning::kHeaderHash;
  auto out = sign_sigv4(request, params);
  if (!out.ok()) {
    if (has_host) std::abort();  // nothing else can make it fail here
    return;
  }
  if (!has_host) std::abort();
  std::vector<HeaderView> sent = headers;
  for (const auto& [n, v] : out->added_headers) sent.emplace_back(n, v);
  const SignedRequest signed_request{p.method, p.target, sent, p.body};
  const AuthResult r = verify_sigv4(signed_request, "bedrock", golden_now(), lookup);
  if (verbose()) {
    std::fprintf(stderr, "-- signed and verified: %s\n",
                 r.verified() ? "yes" : r.error.message.c_str());
  }
  if (!r.verified() || r.identity.access_key_id != params.access_key_id ||
      r.identity.region != "us-east-1" || r.identity.temporary != (how == 3) ||
      r.trace.signature != out->trace.signature ||
      r.trace.canonical_request != out->trace.canonical_request) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const ParsedInput p =
      parse_input(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  VerifyOptions options;
  options.allow_bearer = (flags & 1) != 0;
  if (flags & 4) options.pinned_region = "us-east-1";
  options.debug_mismatch = (flags & 8) != 0;
  const std::string_view service = (flags & 16) ? "sagemaker" : "bedrock";
  TimePoint now = golden_now();
  if (flags & 2) {
    for (const auto& [n, v] : p.headers) {
      if (!iequals(n, "x-amz-date")) continue;
      if (auto t = parse_amz_date(v)) now = *t;
      break;
    }
  }
  const SignedRequest request{p.method, p.target, p.headers, p.body};
  const AuthResult r = verify_sigv4(request, service, now, lookup, options);
  check_verdict(r, options.allow_bearer, service);
  if (verbose()) {
    std::fprintf(stderr, "-- flags %02x: %s %s\n", flags,
                 r.verified()    ? "verified"
                 : r.is_bearer() ? "bearer"
                                 : r.error.code.c_str(),
                 r.failed() ? r.error.message.substr(0, 120).c_str() : "");
  }

  check_building_blocks(p);
  if (flags & 32) check_sign_verify(p, flags >> 6);
  return 0;
}
