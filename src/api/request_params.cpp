#include "api/request_params.h"

#include <cmath>
#include <limits>

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

const Json* field(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

// A number field within [lo, hi]; nullopt = absent. Sets `err` on a bad value.
std::optional<double> number(const Json& body, const char* name, double lo, double hi,
                             std::optional<ApiError>& err) {
  const Json* v = field(body, name);
  if (v == nullptr || err) return std::nullopt;
  if (!v->is_number()) {
    err = invalid(std::string(name) + ": expected a number, got " + v->type_name(), name,
                  "invalid_type");
    return std::nullopt;
  }
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    err = invalid(std::string(name) + ": " + v->dump() + " is outside [" + Json(lo).dump() + ", " +
                      Json(hi).dump() + "]",
                  name, d < lo ? "integer_below_min_value" : "invalid_value");
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> integer(const Json& body, const char* name, int64_t lo, int64_t hi,
                               std::optional<ApiError>& err) {
  const Json* v = field(body, name);
  if (v == nullptr || err) return std::nullopt;
  if (!v->is_number_integer()) {
    err = invalid(std::string(name) + ": expected an integer, got " +
                      (v->is_number() ? std::string("a fraction") : std::string(v->type_name())),
                  name, "invalid_type");
    return std::nullopt;
  }
  const int64_t i = v->is_number_unsigned()
                        ? static_cast<int64_t>(std::min<uint64_t>(
                              v->get<uint64_t>(), std::numeric_limits<int64_t>::max()))
                        : v->get<int64_t>();
  if (i < lo || i > hi) {
    err = invalid(std::string(name) + ": " + std::to_string(i) + " is outside [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]",
                  name, i < lo ? "integer_below_min_value" : "invalid_value");
    return std::nullopt;
  }
  return i;
}

std::optional<bool> boolean(const Json& body, const char* name, std::optional<ApiError>& err) {
  const Json* v = field(body, name);
  if (v == nullptr || err) return std::nullopt;
  if (!v->is_boolean()) {
    err = invalid(std::string(name) + ": expected a boolean, got " + v->type_name(), name,
                  "invalid_type");
    return std::nullopt;
  }
  return v->get<bool>();
}

}  // namespace

std::optional<ApiError> parse_generation_params(const Json& body, Endpoint endpoint, size_t n_vocab,
                                                GenerationParams& out) {
  std::optional<ApiError> err;
  engine::SamplingOptions& s = out.sampling;
  if (auto t = number(body, "temperature", 0.0, 2.0, err)) s.temperature = static_cast<float>(*t);
  if (auto p = number(body, "top_p", 0.0, 1.0, err)) {
    // top_p 0 means "only the most likely token": a tiny nucleus is exactly that.
    s.top_p = std::max(static_cast<float>(*p), 1e-9f);
  }
  if (auto k = integer(body, "top_k", -1, 1 << 30, err)) s.top_k = static_cast<int32_t>(*k);
  if (auto m = number(body, "min_p", 0.0, 1.0, err)) s.min_p = static_cast<float>(*m);
  if (auto p = number(body, "presence_penalty", -2.0, 2.0, err)) {
    s.presence_penalty = static_cast<float>(*p);
  }
  if (auto f = number(body, "frequency_penalty", -2.0, 2.0, err)) {
    s.frequency_penalty = static_cast<float>(*f);
  }
  if (auto r = number(body, "repetition_penalty", 1e-3, 100.0, err)) {
    s.repetition_penalty = static_cast<float>(*r);
  }
  if (auto seed = integer(body, "seed", std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::max(), err)) {
    s.seed = static_cast<uint64_t>(*seed);
  }
  if (err) return err;

  if (const Json* bias = field(body, "logit_bias")) {
    if (!bias->is_object()) return invalid("logit_bias: expected an object", "logit_bias");
    for (auto it = bias->begin(); it != bias->end(); ++it) {
      const std::string param = "logit_bias." + it.key();
      char* end = nullptr;
      const long id = std::strtol(it.key().c_str(), &end, 10);
      if (it.key().empty() || *end != '\0' || id < 0 || static_cast<size_t>(id) >= n_vocab) {
        return invalid(param + ": not a token id of this model", param);
      }
      if (!it->is_number() || it->get<double>() < -100 || it->get<double>() > 100) {
        return invalid(param + ": expected a number in [-100, 100]", param);
      }
      s.logit_bias.emplace_back(static_cast<int32_t>(id), it->get<float>());
    }
  }

  const char* cap_names[] = {"max_completion_tokens", "max_tokens"};
  if (endpoint == Endpoint::kResponses) cap_names[0] = cap_names[1] = "max_output_tokens";
  for (const char* name : cap_names) {
    if (auto m = integer(body, name, 1, std::numeric_limits<int32_t>::max(), err)) {
      if (!out.max_tokens) out.max_tokens = static_cast<size_t>(*m);
    }
  }
  if (endpoint == Endpoint::kCompletions && !out.max_tokens && !field(body, "max_tokens")) {
    out.max_tokens = 16;  // the completions API's documented default
  }
  if (endpoint != Endpoint::kResponses) {
    if (auto n = integer(body, "n", 1, 128, err)) out.n = static_cast<size_t>(*n);
  }
  if (auto st = boolean(body, "stream", err)) out.stream = *st;
  if (err) return err;

  if (const Json* so = field(body, "stream_options")) {
    if (!out.stream) {
      return invalid("stream_options: only allowed when stream is true", "stream_options");
    }
    if (!so->is_object()) return invalid("stream_options: expected an object", "stream_options");
    if (auto u = boolean(*so, "include_usage", err)) out.include_usage = *u;
    if (err) {
      err->param = "stream_options.include_usage";
      return err;
    }
  }

  if (const Json* stop = field(body, "stop")) {
    if (stop->is_string()) {
      out.stop.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= 4) {
      for (size_t i = 0; i < stop->size(); ++i) {
        if (!(*stop)[i].is_string()) {
          const std::string p = "stop[" + std::to_string(i) + "]";
          return invalid(p + ": expected a string", p);
        }
        out.stop.push_back((*stop)[i].get<std::string>());
      }
    } else {
      return invalid("stop: expected a string or an array of at most 4 strings", "stop");
    }
  }

  if (endpoint == Endpoint::kChat) {
    const bool want = boolean(body, "logprobs", err).value_or(false);
    auto top = integer(body, "top_logprobs", 0, 20, err);
    if (err) return err;
    if (top && !want) {
      return invalid("top_logprobs: requires logprobs to be true", "top_logprobs");
    }
    if (want) out.top_logprobs = static_cast<int>(top.value_or(0));
  } else if (endpoint == Endpoint::kCompletions) {
    if (auto lp = integer(body, "logprobs", 0, 5, err)) out.top_logprobs = static_cast<int>(*lp);
    if (auto e = boolean(body, "echo", err)) out.echo = *e;
    if (err) return err;
    if (field(body, "suffix")) return invalid("suffix: not supported by this model", "suffix");
  }
  if (out.top_logprobs >= 0) s.logprobs = out.top_logprobs;
  return err;
}

}  // namespace quarry::api
