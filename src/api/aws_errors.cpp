#include "api/aws_errors.h"

#include <cstdio>
#include <random>

namespace quarry::api {

std::string aws_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

void respond_aws_error(http::Responder& out, const AwsError& e, const std::string& request_id,
                       bool json11) {
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  if (json11) body["__type"] = e.code;
  body["message"] = e.message;
  for (auto& [k, v] : e.extra.items()) body[k] = v;
  std::vector<http::Header> h = {
      {"Content-Type", json11 ? "application/x-amz-json-1.1" : "application/json"},
      {"x-amzn-ErrorType", e.code},
      {"x-amzn-RequestId", request_id}};
  if (e.status == 429 || e.status == 503) h.push_back({"Retry-After", "1"});
  out.respond(e.status, std::move(h),
              body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace quarry::api
