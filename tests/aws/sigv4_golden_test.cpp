// SigV4 against the golden requests the real AWS JS SDK sent (tests/data/http,
// copied from shared/golden/http): every signed fixture verifies at its
// `expect.verify_at` with the expected verdict, the intermediate strings match
// the independent derivation byte for byte, and the signer reproduces the
// SDK's Authorization header.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "aws/sigv4.h"

namespace quarry::aws {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kHttpData = fs::path(QUARRY_TEST_DATA) / "http";

constexpr std::string_view kLongTermKey = "AKIAQUARRYEXAMPLE001";
constexpr std::string_view kTempKey = "ASIAQUARRYEXAMPLE002";
constexpr std::string_view kTempToken = "quarry-test-session-token/2025-08-05+AQoDYXdzEJr";

json load_json(const fs::path& p) {
  std::ifstream in(p);
  EXPECT_TRUE(in) << p;
  return json::parse(in);
}

// A fixture with its headers kept alive for the string_views that point in.
struct Fixture {
  json j;
  std::vector<std::pair<std::string, std::string>> header_storage;
  std::vector<HeaderView> headers;
  std::string body;

  explicit Fixture(const std::string& name) : j(load_json(kHttpData / (name + ".json"))) {
    for (const auto& h : j["headers"]) {
      header_storage.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
    }
    body = j["body"].get<std::string>();
    rebuild();
  }
  void rebuild() { headers.assign(header_storage.begin(), header_storage.end()); }
  SignedRequest request() const {
    return SignedRequest{j["method"].get_ref<const std::string&>(),
                         j["target"].get_ref<const std::string&>(), headers, body};
  }
  TimePoint verify_at() const {
    auto t = parse_iso8601_utc(j["expect"]["verify_at"].get<std::string>());
    EXPECT_TRUE(t.ok());
    return *t;
  }
  std::string header(std::string_view name) const {
    for (const auto& [n, v] : header_storage) {
      if (n == name) return v;
    }
    return {};
  }
  void remove_header(std::string_view name) {
    std::erase_if(header_storage, [&](const auto& h) { return h.first == name; });
    rebuild();
  }
};

// The server's view of the test credentials (index.json `credentials`).
CredentialLookup test_lookup(std::optional<std::string> temp_token = std::string(kTempToken),
                             std::optional<TimePoint> temp_expiry = std::nullopt) {
  return [=](std::string_view id) -> std::optional<Credentials> {
    if (id == kLongTermKey) return Credentials{"quarryTestSecretKey/0123456789+abcdefghi", {}, {}};
    if (id == kTempKey) {
      return Credentials{"quarryTempSecretKey/9876543210+zyxwvutsr", temp_token, temp_expiry};
    }
    return std::nullopt;
  };
}

std::vector<std::string> signed_fixture_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kHttpData)) {
    if (e.path().extension() != ".json") continue;
    if (load_json(e.path()).contains("sigv4")) names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SignedFixture : public testing::TestWithParam<std::string> {};

TEST_P(SignedFixture, VerifiesWithExpectedResult) {
  const Fixture f(GetParam());
  const json& sig = f.j["sigv4"];
  const json& expect = f.j["expect"];
  const AuthResult r =
      verify_sigv4(f.request(), sig["service"].get<std::string>(), f.verify_at(), test_lookup());
  const std::string want = expect["result"].get<std::string>();
  if (want == "valid") {
    ASSERT_TRUE(r.verified()) << r.error.code << ": " << r.error.message;
    EXPECT_EQ(r.identity.access_key_id, sig["access_key_id"].get<std::string>());
    EXPECT_EQ(r.identity.region, sig["region"].get<std::string>());
    EXPECT_EQ(r.identity.service, sig["service"].get<std::string>());
    EXPECT_EQ(r.identity.temporary, !sig["session_token"].is_null());
  } else {
    ASSERT_TRUE(r.failed());
    EXPECT_EQ(r.error.code, want);
    EXPECT_EQ(r.error.status, want == "ValidationException" ? 400 : 403);
    if (expect.contains("message")) {
      EXPECT_EQ(r.error.message, expect["message"].get<std::string>());
    }
  }
  // Whenever the signature was computed, every intermediate string matches.
  if (!r.trace.canonical_request.empty()) {
    EXPECT_EQ(r.trace.canonical_request, sig["canonical_request"].get<std::string>());
    EXPECT_EQ(r.trace.credential_scope, sig["credential_scope"].get<std::string>());
    EXPECT_EQ(r.trace.string_to_sign, sig["string_to_sign"].get<std::string>());
    EXPECT_EQ(r.trace.signing_key_hex, sig["signing_key_hex"].get<std::string>());
    EXPECT_EQ(r.trace.signature, sig["signature"].get<std::string>());
    EXPECT_EQ(r.trace.payload_hash, sig["payload_hash"].get<std::string>());
  } else {
    EXPECT_NE(want, "valid");
  }
}

// The signer, given the SDK's header set and signed-header list, writes the
// very Authorization header the SDK wrote.
TEST_P(SignedFixture, SignerReproducesSdkAuthorization) {
  Fixture f(GetParam());
  const json& sig = f.j["sigv4"];
  const std::string sdk_authorization = f.header("authorization");
  f.remove_header("authorization");
  SigningParams p;
  p.access_key_id = sig["access_key_id"].get<std::string>();
  p.secret_access_key = sig["secret_access_key"].get<std::string>();
  if (!sig["session_token"].is_null()) p.session_token = sig["session_token"].get<std::string>();
  p.region = sig["region"].get<std::string>();
  p.service = sig["service"].get<std::string>();
  p.time = *parse_amz_date(sig["signing_time"].get<std::string>());
  p.signed_headers = sig["signed_headers"].get<std::vector<std::string>>();
  // x-amz-content-sha256 is signed literally, so even the tampered-body
  // fixture reproduces the original signature.
  auto out = sign_sigv4(f.request(), p);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(out->trace.canonical_request, sig["canonical_request"].get<std::string>());
  EXPECT_EQ(out->trace.string_to_sign, sig["string_to_sign"].get<std::string>());
  ASSERT_EQ(out->added_headers.size(), 1u);  // x-amz-* were all there already
  EXPECT_EQ(out->added_headers[0].first, "authorization");
  if (GetParam() == "bedrock-converse-tampered-signature") {
    EXPECT_NE(out->authorization, sdk_authorization);
  } else {
    EXPECT_EQ(out->authorization, sdk_authorization);
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, SignedFixture, testing::ValuesIn(signed_fixture_names()),
                         [](const testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(SigV4Golden, AllSignedFixturesPresent) {
  // Guards against an empty directory silently running zero cases.
  EXPECT_GE(signed_fixture_names().size(), 20u);
}

TEST(SigV4Golden, Http2SignsAuthorityPseudoHeader) {
  Fixture f("bedrock-converse-http2");
  const AuthResult r = verify_sigv4(f.request(), "bedrock", f.verify_at(), test_lookup());
  ASSERT_TRUE(r.verified()) << r.error.message;
  EXPECT_NE(r.trace.canonical_request.find("\n:authority:127.0.0.1:18080\n"), std::string::npos);
  // Without :authority (and no host to stand in) the signature cannot match.
  f.remove_header(":authority");
  const AuthResult bad = verify_sigv4(f.request(), "bedrock", f.verify_at(), test_lookup());
  EXPECT_EQ(bad.error.code, "InvalidSignatureException");
}

TEST(SigV4Golden, HostAndAuthorityStandInForEachOther) {
  // An HTTP/1.1 request signed with `host`, arriving over HTTP/2 as :authority.
  Fixture f("bedrock-converse");
  for (auto& h : f.header_storage) {
    if (h.first == "host") h.first = ":authority";
  }
  f.rebuild();
  EXPECT_TRUE(verify_sigv4(f.request(), "bedrock", f.verify_at(), test_lookup()).verified());
}

TEST(SigV4Golden, WrongRouteServiceIsRejected) {
  const Fixture f("bedrock-converse");
  const AuthResult r = verify_sigv4(f.request(), "sagemaker", f.verify_at(), test_lookup());
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error.status, 403);
  EXPECT_EQ(r.error.code, "InvalidSignatureException");
  EXPECT_EQ(r.error.message, "Credential should be scoped to correct service: 'sagemaker'.");
  const Fixture s("sagemaker-invoke-endpoint");
  EXPECT_EQ(verify_sigv4(s.request(), "bedrock", s.verify_at(), test_lookup()).error.message,
            "Credential should be scoped to correct service: 'bedrock'.");
}

TEST(SigV4Golden, SessionTokenMustMatchTheTemporaryKey) {
  Fixture f("bedrock-converse-session-token");
  const TimePoint at = f.verify_at();
  const SignedRequest req = f.request();
  EXPECT_TRUE(verify_sigv4(req, "bedrock", at, test_lookup()).verified());

  // The server knows a different token for this key.
  AuthResult r = verify_sigv4(req, "bedrock", at, test_lookup(std::string("other-token")));
  EXPECT_EQ(r.error.code, "UnrecognizedClientException");
  EXPECT_EQ(r.error.message, "The security token included in the request is invalid.");
  EXPECT_EQ(r.error.status, 403);

  // The server thinks the key is long-term: a token that does not belong to it.
  r = verify_sigv4(req, "bedrock", at, test_lookup(std::nullopt));
  EXPECT_EQ(r.error.code, "UnrecognizedClientException");

  // Expired temporary credentials; still fine one second before expiry.
  r = verify_sigv4(req, "bedrock", at, test_lookup(std::string(kTempToken), at));
  EXPECT_EQ(r.error.code, "ExpiredTokenException");
  EXPECT_EQ(r.error.status, 403);
  r = verify_sigv4(req, "bedrock", at,
                   test_lookup(std::string(kTempToken), at + std::chrono::seconds(1)));
  EXPECT_TRUE(r.verified());

  // The token header removed: a temporary key without its token.
  f.remove_header("x-amz-security-token");
  r = verify_sigv4(f.request(), "bedrock", at, test_lookup());
  EXPECT_EQ(r.error.code, "UnrecognizedClientException");
}

TEST(SigV4Golden, LongTermKeyWithStraySessionTokenIsRejected) {
  Fixture f("bedrock-converse");
  f.header_storage.emplace_back("x-amz-security-token", "stray");
  f.rebuild();
  const AuthResult r = verify_sigv4(f.request(), "bedrock", f.verify_at(), test_lookup());
  EXPECT_EQ(r.error.code, "UnrecognizedClientException");
}

TEST(SigV4Golden, BearerFixtureIsReportedAsBearer) {
  const Fixture f("bedrock-converse-bearer");
  const AuthResult r = verify_sigv4(f.request(), "bedrock", TimePoint{}, test_lookup());
  ASSERT_TRUE(r.is_bearer());
  EXPECT_EQ(r.bearer_token, f.j["bearer"]["token"].get<std::string>());
  EXPECT_FALSE(r.verified());
  EXPECT_FALSE(r.failed());
}

TEST(SigV4Golden, UnknownAccessKey) {
  const Fixture f("bedrock-converse");
  const AuthResult r =
      verify_sigv4(f.request(), "bedrock", f.verify_at(),
                   [](std::string_view) -> std::optional<Credentials> { return std::nullopt; });
  EXPECT_EQ(r.error.status, 403);
  EXPECT_EQ(r.error.code, "UnrecognizedClientException");
  EXPECT_EQ(r.error.message, "The security token included in the request is invalid.");
}

TEST(SigV4Golden, UnsignedConnectionHeaderIsIgnored) {
  // Node adds `Connection` after signing; dropping or changing it is harmless.
  Fixture f("bedrock-converse");
  for (auto& h : f.header_storage) {
    if (h.first == "Connection") h.second = "close";
    if (h.first == "user-agent") h.second = "something else";
  }
  f.rebuild();
  EXPECT_TRUE(verify_sigv4(f.request(), "bedrock", f.verify_at(), test_lookup()).verified());
}

TEST(SigV4Golden, SignedHeaderChangeBreaksSignature) {
  Fixture f("bedrock-converse");
  for (auto& h : f.header_storage) {
    if (h.first == "amz-sdk-request") h.second = "attempt=2; max=3";
  }
  f.rebuild();
  const AuthResult r = verify_sigv4(f.request(), "bedrock", f.verify_at(), test_lookup());
  EXPECT_EQ(r.error.code, "InvalidSignatureException");
  EXPECT_NE(r.trace.signature, f.j["sigv4"]["signature"].get<std::string>());
}

}  // namespace
}  // namespace quarry::aws
