// SigV4 building blocks and the verifier's checks one by one (spec §4), on
// requests made with the signing helper.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "aws/crypto.h"
#include "aws/sigv4.h"

namespace quarry::aws {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kKey = "AKIDTESTKEY";
constexpr std::string_view kSecret = "test/Secret+Key0123456789abcdefghijklmn";
const TimePoint kT = *parse_amz_date("20250805T120000Z");

CredentialLookup lookup() {
  return [](std::string_view id) -> std::optional<Credentials> {
    if (id == kKey) return Credentials{std::string(kSecret), {}, {}};
    return std::nullopt;
  };
}

// A request that owns its strings; sign() appends what the signer adds.
struct TestRequest {
  std::string method = "POST";
  std::string target = "/model/openai.gpt-oss-20b-1%3A0/converse";
  std::vector<std::pair<std::string, std::string>> headers = {{"host", "127.0.0.1:18080"},
                                                              {"content-type", "application/json"}};
  std::string body = R"({"messages":[]})";
  std::vector<HeaderView> views;

  SignedRequest view() {
    views.assign(headers.begin(), headers.end());
    return SignedRequest{method, target, views, body};
  }
  SigningOutput sign(SigningParams p = params()) {
    auto out = sign_sigv4(view(), p);
    EXPECT_TRUE(out.ok()) << out.message();
    for (auto& h : out->added_headers) headers.push_back(h);
    return *out;
  }
  AuthResult verify(TimePoint now = kT, std::string_view service = "bedrock",
                    const VerifyOptions& o = {}) {
    return verify_sigv4(view(), service, now, lookup(), o);
  }
  void set(std::string_view name, std::string value) {
    for (auto& h : headers) {
      if (h.first == name) h.second = value;
    }
  }
  static SigningParams params() {
    SigningParams p;
    p.access_key_id = kKey;
    p.secret_access_key = kSecret;
    p.time = kT;
    return p;
  }
};

void expect_error(const AuthResult& r, int status, std::string_view code,
                  std::string_view message = {}) {
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error.status, status);
  EXPECT_EQ(r.error.code, code);
  if (!message.empty()) {
    EXPECT_EQ(r.error.message, message);
  }
}

TEST(CanonicalUri, Cases) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/"), "/");
  EXPECT_EQ(canonical_uri("//"), "/");
  EXPECT_EQ(canonical_uri("/a//b"), "/a/b");
  EXPECT_EQ(canonical_uri("/a/./b/../c"), "/a/c");
  EXPECT_EQ(canonical_uri("/a/b/"), "/a/b/");
  EXPECT_EQ(canonical_uri("/a/./"), "/a/");
  EXPECT_EQ(canonical_uri("/./"), "/");
  EXPECT_EQ(canonical_uri("/a/.."), "/");
  EXPECT_EQ(canonical_uri("/a/b/.."), "/a");
  EXPECT_EQ(canonical_uri("/a/b/../"), "/a/");
  EXPECT_EQ(canonical_uri("/../../a"), "/a");
  // Encoded again, never decoded first: %2E is not a dot segment.
  EXPECT_EQ(canonical_uri("/%2E/x"), "/%252E/x");
  EXPECT_EQ(canonical_uri("/a%20b"), "/a%2520b");
  EXPECT_EQ(canonical_uri("/a b"), "/a%20b");
  EXPECT_EQ(canonical_uri("/a:b+c=d"), "/a%3Ab%2Bc%3Dd");
  EXPECT_EQ(canonical_uri("/A-Z_a.z~09"), "/A-Z_a.z~09");
  EXPECT_EQ(canonical_uri("/\xC3\xA9"), "/%C3%A9");
  EXPECT_EQ(canonical_uri("/model/openai.gpt-oss-20b-1%3A0/converse"),
            "/model/openai.gpt-oss-20b-1%253A0/converse");
  EXPECT_EQ(
      canonical_uri("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx/invoke"),
      "/model/arn%253Aaws%253Abedrock%253Aus-east-1%253A%253Afoundation-model%252Fx/invoke");
}

TEST(CanonicalQuery, SortsAndReencodes) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1"), "a=1&b=2");
  EXPECT_EQ(canonical_query("a=2&a=1"), "a=1&a=2");  // same name: by value
  EXPECT_EQ(canonical_query("a"), "a=");
  EXPECT_EQ(canonical_query("a=b=c"), "a=b%3Dc");
  EXPECT_EQ(canonical_query("a=1&&b=2&"), "a=1&b=2");
  EXPECT_EQ(canonical_query("x=a%20b"), "x=a%20b");
  EXPECT_EQ(canonical_query("x=a b"), "x=a%20b");
  EXPECT_EQ(canonical_query("x=a+b"), "x=a%2Bb");  // '+' is not a space here
  EXPECT_EQ(canonical_query("x=a/b"), "x=a%2Fb");
  EXPECT_EQ(canonical_query("x=%7e%7E"), "x=~~");
  EXPECT_EQ(canonical_query("x=%3a"), "x=%3A");
  EXPECT_EQ(canonical_query("%zz=1"), "%25zz=1");    // a stray '%' is literal
  EXPECT_EQ(canonical_query("B=1&a=1"), "B=1&a=1");  // byte order: upper case first
  // Sorted by the encoded name: "a%20b" < "a-b" because '%' < '-'.
  EXPECT_EQ(canonical_query("a-b=2&a%20b=1"), "a%20b=1&a-b=2");
  EXPECT_EQ(canonical_query("X-Amz-Signature=abc&a=1&x-amz-signature=d"), "a=1");
}

TEST(CanonicalHeaders, ValueWhitespace) {
  EXPECT_EQ(canonical_header_value("  a   b  "), "a b");
  EXPECT_EQ(canonical_header_value("a\t\tb"), "a b");
  EXPECT_EQ(canonical_header_value("a\r\n b"), "a b");
  EXPECT_EQ(canonical_header_value("attempt=1; max=1"), "attempt=1; max=1");
  EXPECT_EQ(canonical_header_value(""), "");
  EXPECT_EQ(canonical_header_value(" \t "), "");
}

TEST(CanonicalHeaders, DuplicatesJoinedInArrivalOrder) {
  const std::vector<HeaderView> headers = {
      {"X-Foo", "a"}, {"Host", "h"}, {"x-foo", "  b   c "}, {"X-FOO", ""}};
  const std::vector<std::string> names = {"host", "x-foo"};
  bool missing = true;
  const std::string cr =
      canonical_request(SignedRequest{"GET", "/p?q=1", headers, ""}, names, "HASH", &missing);
  EXPECT_FALSE(missing);
  EXPECT_EQ(cr, "GET\n/p\nq=1\nhost:h\nx-foo:a,b c,\n\nhost;x-foo\nHASH");
  const std::vector<std::string> absent = {"host", "x-bar"};
  canonical_request(SignedRequest{"GET", "/", headers, ""}, absent, "HASH", &missing);
  EXPECT_TRUE(missing);
}

TEST(Crypto, Basics) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_lower(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(is_hex64(std::string(64, 'a'), true));
  EXPECT_FALSE(is_hex64(std::string(64, 'A'), true));
  EXPECT_TRUE(is_hex64(std::string(64, 'A'), false));
  EXPECT_FALSE(is_hex64(std::string(63, 'a'), false));
}

TEST(SigningKey, AwsDocumentationExample) {
  // docs.aws.amazon.com "Create a signed AWS API request" worked example.
  EXPECT_EQ(hex_lower(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                  "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

TEST(AmzDate, FormatAndParse) {
  EXPECT_EQ(format_amz_date(kT), "20250805T120000Z");
  EXPECT_EQ(format_amz_date(kT + milliseconds(999)), "20250805T120000Z");
  EXPECT_EQ(format_amz_date(TimePoint{}), "19700101T000000Z");
  EXPECT_TRUE(parse_amz_date("20240229T235959Z").ok());
  for (const char* bad : {"20250229T000000Z", "20251301T000000Z", "20250805T240000Z",
                          "20250805T126000Z", "20250805T120060Z", "20250805t120000Z",
                          "20250805T120000", "2025-08-05T12:00:00Z", "2025080aT120000Z", "",
                          // Years the nanosecond clock cannot hold (found by fuzz_sigv4).
                          "99990101T000000Z", "17000101T000000Z", "00010101T000000Z"}) {
    EXPECT_FALSE(parse_amz_date(bad).ok()) << bad;
  }
  EXPECT_EQ(*parse_http_date("Tue, 05 Aug 2025 12:00:00 GMT"), kT);
  EXPECT_FALSE(parse_http_date("Tue, 05 Aug 2025 12:00:00 UTC").ok());
  EXPECT_FALSE(parse_http_date("Xyz, 05 Aug 2025 12:00:00 GMT").ok());
  auto far = parse_http_date("Tue, 05 Aug 1012 12:00:00 GMT");
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.message().find("out of range"), std::string::npos) << far.message();
  EXPECT_EQ(*parse_iso8601_utc("2025-08-05T12:00:00Z"), kT);
  EXPECT_FALSE(parse_iso8601_utc("2025-08-05T12:00:00.5Z").ok());
}

TEST(SignThenVerify, RoundTrips) {
  for (PayloadSigning mode :
       {PayloadSigning::kHeaderHash, PayloadSigning::kNoHeader, PayloadSigning::kUnsigned}) {
    TestRequest r;
    r.target = "/endpoints/my%20ep/invocations?b=2&a=x%2Fy";
    SigningParams p = TestRequest::params();
    p.payload = mode;
    p.service = "sagemaker";
    p.region = "eu-central-1";
    const SigningOutput s = r.sign(p);
    const AuthResult v = r.verify(kT, "sagemaker");
    ASSERT_TRUE(v.verified()) << v.error.message;
    EXPECT_EQ(v.identity.access_key_id, kKey);
    EXPECT_EQ(v.identity.region, "eu-central-1");
    EXPECT_EQ(v.trace.signature, s.trace.signature);
    EXPECT_EQ(v.trace.canonical_request, s.trace.canonical_request);
  }
}

TEST(SignThenVerify, UnsignedPayloadLeavesBodyUnprotected) {
  TestRequest r;
  SigningParams p = TestRequest::params();
  p.payload = PayloadSigning::kUnsigned;
  r.sign(p);
  r.body = "anything else";
  EXPECT_TRUE(r.verify().verified());
}

TEST(SignThenVerify, BodyWithoutHashHeaderIsSigned) {
  TestRequest r;
  SigningParams p = TestRequest::params();
  p.payload = PayloadSigning::kNoHeader;
  r.sign(p);
  r.body += " ";
  expect_error(r.verify(), 403, "InvalidSignatureException");
}

TEST(SignThenVerify, Http2AuthorityAndUnsignedHeaders) {
  TestRequest r;
  r.headers = {{":method", "POST"}, {":authority", "localhost:8080"},
               {":path", r.target}, {":scheme", "http"},
               {"User-Agent", "x"}, {"Content-Type", "application/json"}};
  const SigningOutput s = r.sign();
  EXPECT_NE(s.authorization.find("SignedHeaders=:authority;content-type;x-amz-content-sha256;"
                                 "x-amz-date, "),
            std::string::npos)
      << s.authorization;
  EXPECT_TRUE(r.verify().verified());
}

TEST(SignThenVerify, SessionToken) {
  TestRequest r;
  SigningParams p = TestRequest::params();
  p.session_token = "tok/1+2";
  r.sign(p);
  const AuthResult v =
      verify_sigv4(r.view(), "bedrock", kT, [](std::string_view) -> std::optional<Credentials> {
        return Credentials{std::string(kSecret), "tok/1+2", {}};
      });
  ASSERT_TRUE(v.verified()) << v.error.message;
  EXPECT_TRUE(v.identity.temporary);
}

TEST(SignThenVerify, DateHeaderInsteadOfXAmzDate) {
  // AWS accepts an RFC 1123 `Date` when X-Amz-Date is absent; the string to
  // sign still carries the ISO 8601 basic form.
  TestRequest r;
  r.headers.emplace_back("Date", "Tue, 05 Aug 2025 12:00:00 GMT");
  const std::vector<std::string> names = {"content-type", "date", "host"};
  const std::string hash = sha256_hex(r.body);
  const std::string cr = canonical_request(r.view(), names, hash);
  const std::string scope = "20250805/us-east-1/bedrock/aws4_request";
  const std::string sts = string_to_sign("20250805T120000Z", scope, cr);
  const std::string sig =
      hex_lower(hmac_sha256(signing_key(kSecret, "20250805", "us-east-1", "bedrock"), sts));
  r.headers.emplace_back("Authorization",
                         "AWS4-HMAC-SHA256 Credential=" + std::string(kKey) + "/" + scope +
                             ",SignedHeaders=content-type;date;host,Signature=" + sig);
  const AuthResult v = r.verify();
  ASSERT_TRUE(v.verified()) << v.error.message;
}

TEST(Verify, MissingAuthorization) {
  TestRequest r;
  expect_error(r.verify(), 403, "MissingAuthenticationTokenException",
               "Missing Authentication Token");
  r.headers.emplace_back("Authorization", "  ");
  expect_error(r.verify(), 403, "MissingAuthenticationTokenException");
}

TEST(Verify, PresignedQueryIsIncomplete) {
  TestRequest r;
  r.target += "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Signature=00";
  expect_error(r.verify(), 403, "IncompleteSignatureException");
}

TEST(Verify, BearerIsReported) {
  for (const char* value : {"Bearer tok-1", "bearer   tok-1  ", "BEARER\ttok-1"}) {
    TestRequest r;
    r.headers.emplace_back("Authorization", value);
    const AuthResult v = r.verify();
    ASSERT_TRUE(v.is_bearer()) << value;
    EXPECT_EQ(v.bearer_token, "tok-1");
  }
}

TEST(Verify, BearerWhereNotAllowed) {
  // SageMaker routes: SigV4 only, so a bearer token is just an incomplete
  // signature (AWS's wording, including the missing date header).
  TestRequest r;
  r.headers.emplace_back("Authorization", "Bearer tok-1");
  VerifyOptions o;
  o.allow_bearer = false;
  expect_error(r.verify(kT, "sagemaker", o), 403, "IncompleteSignatureException",
               "Authorization header requires 'Credential' parameter. Authorization header "
               "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
               "parameter. Authorization header requires existence of either a 'X-Amz-Date' or a "
               "'Date' header. Authorization=Bearer tok-1");
}

TEST(Verify, UnparsableAuthorization) {
  const std::string cred =
      "Credential=" + std::string(kKey) + "/20250805/us-east-1/bedrock/aws4_request";
  const std::string sh = "SignedHeaders=host;x-amz-date";
  const std::string sig = "Signature=" + std::string(64, '0');
  struct Case {
    std::string auth;
    std::string message;  // empty: only the code is checked
  };
  const std::vector<Case> cases = {
      {"AWS4-HMAC-SHA256",
       "Authorization header requires 'Credential' parameter. Authorization header requires "
       "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
       "Authorization=AWS4-HMAC-SHA256"},
      {"AWS4-HMAC-SHA512 " + cred + ", " + sh + ", " + sig,
       "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'."},
      {"Basic dXNlcjpwYXNz",
       "Authorization header requires 'Credential' parameter. Authorization header requires "
       "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
       "Authorization=Basic dXNlcjpwYXNz"},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sig,
       "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 " +
           cred + ", " + sig},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig + ", junk", ""},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig + ", " + sig, ""},
      {"AWS4-HMAC-SHA256 Credential=" + std::string(kKey) + "/20250805/us-east-1/bedrock, " + sh +
           ", " + sig,
       ""},
      {"AWS4-HMAC-SHA256 Credential=" + std::string(kKey) +
           "/20250805/us-east-1/bedrock/aws5_request, " + sh + ", " + sig,
       "Credential should be scoped with a valid terminator: 'aws4_request', not "
       "'aws5_request'."},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=content-type;x-amz-date, " + sig,
       "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
      {"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig, ""},
      // Signatures that are not 64 lower-case hex digits.
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + std::string(64, 'z'), ""},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + std::string(64, 'A'), ""},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + std::string(63, '0'), ""},
  };
  for (const auto& c : cases) {
    TestRequest r;
    r.headers.emplace_back("X-Amz-Date", "20250805T120000Z");
    r.headers.emplace_back("Authorization", c.auth);
    SCOPED_TRACE(c.auth);
    expect_error(r.verify(), 403, "IncompleteSignatureException", c.message);
  }
  // Commas with and without spaces are both fine (that one then fails later).
  TestRequest r;
  r.headers.emplace_back("X-Amz-Date", "20250805T120000Z");
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig);
  expect_error(r.verify(), 403, "InvalidSignatureException");
}

TEST(Verify, RequestTimeHeader) {
  TestRequest r;
  r.sign();
  std::erase_if(r.headers, [](const auto& h) { return h.first == "x-amz-date"; });
  expect_error(r.verify(), 403, "IncompleteSignatureException");
  EXPECT_NE(r.verify().error.message.find(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header."),
            std::string::npos);
  r.headers.emplace_back("X-Amz-Date", "2025-08-05T12:00:00Z");
  expect_error(r.verify(), 403, "IncompleteSignatureException",
               "Date must be in ISO-8601 'basic format'. Got '2025-08-05T12:00:00Z'. See "
               "http://en.wikipedia.org/wiki/ISO_8601");
}

TEST(Verify, DuplicateAuthorizationIsIncomplete) {
  TestRequest r;
  const SigningOutput s = r.sign();
  r.headers.emplace_back("Authorization", s.authorization);
  expect_error(r.verify(), 403, "IncompleteSignatureException");
}

TEST(Verify, ScopeDateMustMatchRequestDate) {
  TestRequest r;
  r.headers.emplace_back("x-amz-date", "20250804T235959Z");
  r.sign();  // scope from the params' time: 20250805
  expect_error(r.verify(kT), 403, "InvalidSignatureException",
               "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
               "from HTTP: '20250805' != '20250804', from '20250804T235959Z'.");
}

TEST(Verify, PinnedRegion) {
  TestRequest r;
  r.sign();
  VerifyOptions o;
  o.pinned_region = "us-east-1";
  EXPECT_TRUE(r.verify(kT, "bedrock", o).verified());
  o.pinned_region = "eu-west-1";
  expect_error(r.verify(kT, "bedrock", o), 403, "InvalidSignatureException",
               "Credential should be scoped to a valid region.");
}

TEST(Verify, ClockSkewBoundary) {
  TestRequest r;
  r.sign();
  EXPECT_TRUE(r.verify(kT + seconds(300)).verified());
  EXPECT_TRUE(r.verify(kT - seconds(300)).verified());
  expect_error(r.verify(kT + seconds(301)), 403, "InvalidSignatureException",
               "Signature expired: 20250805T120000Z is now earlier than 20250805T120001Z "
               "(20250805T120501Z - 5 min.)");
  expect_error(r.verify(kT - seconds(301)), 403, "InvalidSignatureException",
               "Signature not yet current: 20250805T120000Z is still later than "
               "20250805T115959Z (20250805T115459Z + 5 min.)");
  // An SDK whose clock is 20 minutes off is told so (and then corrects itself).
  EXPECT_EQ(r.verify(kT + std::chrono::minutes(20)).error.code, "InvalidSignatureException");
}

TEST(Verify, UnknownAccessKey) {
  TestRequest r;
  SigningParams p = TestRequest::params();
  p.access_key_id = "AKIDUNKNOWN";
  r.sign(p);
  expect_error(r.verify(), 403, "UnrecognizedClientException",
               "The security token included in the request is invalid.");
}

TEST(Verify, PayloadHashMismatchIs400) {
  TestRequest r;
  r.sign();
  r.body = R"({"messages":[1]})";
  expect_error(r.verify(), 400, "ValidationException",
               "The provided x-amz-content-sha256 header does not match what was computed.");
  // Upper-case hex still names the same hash.
  TestRequest u;
  u.headers.emplace_back("x-amz-content-sha256",
                         "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
  u.body = "";
  u.sign();
  EXPECT_TRUE(u.verify().verified());
  // Neither a hash nor UNSIGNED-PAYLOAD.
  TestRequest s;
  s.headers.emplace_back("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  s.sign();
  expect_error(s.verify(), 400, "ValidationException");
}

TEST(Verify, MismatchAndMissingSignedHeader) {
  TestRequest r;
  r.headers.emplace_back("x-amzn-sagemaker-custom-attributes", "a=1");
  r.sign();
  r.set("x-amzn-sagemaker-custom-attributes", "a=2");
  const AuthResult v = r.verify();
  expect_error(v, 403, "InvalidSignatureException",
               "The request signature we calculated does not match the signature you provided. "
               "Check your AWS Secret Access Key and signing method. Consult the service "
               "documentation for details.");
  EXPECT_NE(v.trace.canonical_request.find("x-amzn-sagemaker-custom-attributes:a=2"),
            std::string::npos);
  VerifyOptions o;
  o.debug_mismatch = true;
  EXPECT_NE(r.verify(kT, "bedrock", o).error.message.find(v.trace.string_to_sign),
            std::string::npos);
  std::erase_if(r.headers,
                [](const auto& h) { return h.first == "x-amzn-sagemaker-custom-attributes"; });
  expect_error(r.verify(), 403, "InvalidSignatureException");
}

TEST(Verify, WhitespaceInSignedValuesIsCanonical) {
  TestRequest r;
  r.headers.emplace_back("X-Custom", "a  b");
  r.sign();
  r.set("X-Custom", "\t a b   ");  // same canonical value
  EXPECT_TRUE(r.verify().verified());
}

TEST(Verify, ConcurrentVerificationSharesTheKeyCache) {
  TestRequest r;
  r.sign();
  const SignedRequest req = r.view();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        // Different regions keep inserting into the cache while others read.
        if (verify_sigv4(req, "bedrock", kT, lookup()).verified()) ok++;
        (void)signing_key(kSecret, "20250805", std::to_string(t * 1000 + i), "bedrock");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

TEST(Sign, RefusesSignedRequests) {
  TestRequest r;
  r.sign();
  EXPECT_FALSE(sign_sigv4(r.view(), TestRequest::params()).ok());
}

TEST(Sign, RequiresHostAndListedHeaders) {
  TestRequest r;
  r.headers = {{"content-type", "application/json"}};
  EXPECT_FALSE(sign_sigv4(r.view(), TestRequest::params()).ok());
  TestRequest s;
  SigningParams p = TestRequest::params();
  p.signed_headers = {"host", "x-not-there"};
  EXPECT_FALSE(sign_sigv4(s.view(), p).ok());
}

}  // namespace
}  // namespace quarry::aws
