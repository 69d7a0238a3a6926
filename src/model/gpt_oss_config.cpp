#include "model/gpt_oss_config.h"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file.h"

namespace quarry::model {
namespace {

using Json = nlohmann::json;

// Typed access to config keys with messages that name the file and the key.
class Reader {
 public:
  Reader(const Json& j, const std::string& origin) : j_(j), origin_(origin) {}

  const Json* find(std::string_view key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  Error error(std::string_view key, const std::string& what) const {
    return make_error(origin_ + ": " + std::string(key) + ": " + what);
  }

  // The first of `keys` present, as a positive integer.
  Result<size_t> size(std::initializer_list<std::string_view> keys, bool required = true,
                      size_t fallback = 0) const {
    for (std::string_view k : keys) {
      const Json* v = find(k);
      if (v == nullptr) continue;
      if (!v->is_number_integer() || v->get<int64_t>() <= 0) {
        return error(k, "expected a positive integer, got " + v->dump());
      }
      return static_cast<size_t>(v->get<int64_t>());
    }
    if (required) return error(*keys.begin(), "missing");
    return fallback;
  }
  Result<double> number(std::string_view key, double fallback) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) return error(key, "expected a number, got " + v->dump());
    return v->get<double>();
  }
  // An id or a list of ids; appends to out.
  Status ids(std::string_view key, std::vector<int64_t>& out) const {
    const Json* v = find(key);
    if (v == nullptr) return Status::Ok();
    auto one = [&](const Json& e) -> Status {
      if (!e.is_number_integer() || e.get<int64_t>() < 0) {
        return error(key, "expected a token id, got " + e.dump());
      }
      out.push_back(e.get<int64_t>());
      return Status::Ok();
    };
    if (!v->is_array()) return one(*v);
    for (const Json& e : *v) {
      if (Status s = one(e); !s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  const Json& j_;
  const std::string& origin_;
};

Status read_rope(const Reader& top, const std::string& origin, GptOssConfig& c) {
  // Newer transformers write `rope_parameters` (with rope_theta inside);
  // original/config.json uses flat rope_scaling_factor / rope_ntk_* keys.
  const Json* block = top.find("rope_scaling");
  std::string block_name = "rope_scaling";
  if (block == nullptr) {
    block = top.find("rope_parameters");
    block_name = "rope_parameters";
  }
  if (block != nullptr && !block->is_object()) {
    return top.error(block_name, "expected an object");
  }
  const Json empty = Json::object();
  const std::string block_origin = origin + ": " + block_name;
  Reader rs(block != nullptr ? *block : empty, block_origin);

  double theta = 0.0;
  QUARRY_ASSIGN(theta, top.number("rope_theta", 0.0));
  if (theta == 0.0) QUARRY_ASSIGN(theta, rs.number("rope_theta", 0.0));
  if (!(theta > 1.0)) return top.error("rope_theta", "missing or not > 1");
  c.rope_theta = theta;

  if (block != nullptr) {
    const Json* type = rs.find("rope_type");
    if (type == nullptr) type = rs.find("type");
    if (type != nullptr && (!type->is_string() || (type->get<std::string>() != "yarn" &&
                                                   type->get<std::string>() != "default"))) {
      return rs.error("rope_type", "only \"yarn\" is supported, got " + type->dump());
    }
    QUARRY_ASSIGN(c.rope_factor, rs.number("factor", 1.0));
    QUARRY_ASSIGN(c.rope_beta_fast, rs.number("beta_fast", 32.0));
    QUARRY_ASSIGN(c.rope_beta_slow, rs.number("beta_slow", 1.0));
    QUARRY_ASSIGN(c.rope_attention_factor, rs.number("attention_factor", 0.0));
    double orig = 0.0;
    QUARRY_ASSIGN(orig, rs.number("original_max_position_embeddings", 0.0));
    if (orig == 0.0) QUARRY_ASSIGN(orig, top.number("initial_context_length", 4096.0));
    c.rope_original_context = orig;
    // transformers (and the reference) floor/ceil the ramp ends unless told
    // otherwise; the release says "truncate": false.
    const Json* tr = rs.find("truncate");
    if (tr != nullptr && !tr->is_boolean()) return rs.error("truncate", "expected true or false");
    c.rope_truncate = tr == nullptr ? true : tr->get<bool>();
  } else {
    QUARRY_ASSIGN(c.rope_factor, top.number("rope_scaling_factor", 1.0));
    QUARRY_ASSIGN(c.rope_beta_fast, top.number("rope_ntk_beta", 32.0));
    QUARRY_ASSIGN(c.rope_beta_slow, top.number("rope_ntk_alpha", 1.0));
    QUARRY_ASSIGN(c.rope_original_context, top.number("initial_context_length", 4096.0));
    c.rope_truncate = false;  // the original reference never truncates
  }
  return Status::Ok();
}

}  // namespace

kernels::YarnParams GptOssConfig::yarn() const {
  kernels::YarnParams p;
  p.d_head = d_head;
  p.theta = rope_theta;
  p.factor = rope_factor;
  p.original_context = rope_original_context;
  p.beta_fast = rope_beta_fast;
  p.beta_slow = rope_beta_slow;
  p.truncate = rope_truncate;
  p.attention_factor = rope_attention_factor;
  return p;
}

Result<GptOssConfig> parse_hf_config(std::string_view config_json,
                                     std::string_view generation_config_json,
                                     const std::string& origin) {
  Json j = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error(origin + ": not a JSON object");
  Reader r(j, origin);
  if (const Json* mt = r.find("model_type");
      mt != nullptr && (!mt->is_string() || mt->get<std::string>() != "gpt_oss")) {
    return r.error("model_type", "expected \"gpt_oss\", got " + mt->dump());
  }

  GptOssConfig c;
  QUARRY_ASSIGN(c.n_layer, r.size({"num_hidden_layers"}));
  QUARRY_ASSIGN(c.d_model, r.size({"hidden_size"}));
  QUARRY_ASSIGN(c.n_expert, r.size({"num_local_experts", "num_experts"}));
  QUARRY_ASSIGN(c.n_expert_active, r.size({"num_experts_per_tok", "experts_per_token"}));
  QUARRY_ASSIGN(c.d_ff, r.size({"intermediate_size"}));
  QUARRY_ASSIGN(c.n_head, r.size({"num_attention_heads"}));
  QUARRY_ASSIGN(c.n_kv_head, r.size({"num_key_value_heads"}));
  QUARRY_ASSIGN(c.d_head, r.size({"head_dim"}, false, c.d_model / c.n_head));
  QUARRY_ASSIGN(c.n_vocab, r.size({"vocab_size"}));
  QUARRY_ASSIGN(c.sliding_window, r.size({"sliding_window"}));

  if (const Json* lt = r.find("layer_types")) {
    if (!lt->is_array()) return r.error("layer_types", "expected an array of strings");
    for (size_t i = 0; i < lt->size(); ++i) {
      const Json& e = (*lt)[i];
      if (e == "sliding_attention") {
        c.layer_sliding.push_back(true);
      } else if (e == "full_attention") {
        c.layer_sliding.push_back(false);
      } else {
        return r.error("layer_types[" + std::to_string(i) + "]",
                       "expected \"sliding_attention\" or \"full_attention\", got " + e.dump());
      }
    }
  } else {
    for (size_t i = 0; i < c.n_layer; ++i) c.layer_sliding.push_back(i % 2 == 0);
  }

  if (Status s = read_rope(r, origin, c); !s.ok()) return Error{s.message()};
  QUARRY_ASSIGN(c.max_position, r.size({"max_position_embeddings"}, false,
                                       static_cast<size_t>(c.rope_original_context *
                                                           std::max(1.0, c.rope_factor))));

  double v = 0.0;
  QUARRY_ASSIGN(v, r.number("rms_norm_eps", 1e-5));
  c.rms_norm_eps = static_cast<float>(v);
  QUARRY_ASSIGN(v, r.number("swiglu_limit", 7.0));
  c.swiglu_limit = static_cast<float>(v);
  QUARRY_ASSIGN(v, r.number("swiglu_alpha", 1.702));
  c.swiglu_alpha = static_cast<float>(v);

  std::vector<int64_t> ids;
  if (Status s = r.ids("bos_token_id", ids); !s.ok()) return Error{s.message()};
  if (!ids.empty()) c.bos_id = ids[0];
  ids.clear();
  if (Status s = r.ids("pad_token_id", ids); !s.ok()) return Error{s.message()};
  if (!ids.empty()) c.pad_id = ids[0];
  if (Status s = r.ids("eos_token_id", c.eos_ids); !s.ok()) return Error{s.message()};

  if (!generation_config_json.empty()) {
    const std::string gorigin = origin + " (generation_config.json)";
    Json g = Json::parse(generation_config_json, nullptr, false);
    if (g.is_discarded() || !g.is_object()) return make_error(gorigin + ": not a JSON object");
    Reader gr(g, gorigin);
    std::vector<int64_t> eos;
    if (Status s = gr.ids("eos_token_id", eos); !s.ok()) return Error{s.message()};
    if (!eos.empty()) c.eos_ids = eos;
    ids.clear();
    if (Status s = gr.ids("bos_token_id", ids); !s.ok()) return Error{s.message()};
    if (!ids.empty()) c.bos_id = ids[0];
    ids.clear();
    if (Status s = gr.ids("pad_token_id", ids); !s.ok()) return Error{s.message()};
    if (!ids.empty()) c.pad_id = ids[0];
  }

  if (Status s = validate_config(c); !s.ok()) return make_error(origin + ": " + s.message());
  return c;
}

Result<GptOssConfig> load_hf_config(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string path = (fs::path(dir) / "config.json").string();
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  std::string gen;
  const fs::path gen_path = fs::path(dir) / "generation_config.json";
  std::error_code ec;
  if (fs::exists(gen_path, ec)) {
    auto g = read_file(gen_path.string());
    if (!g.ok()) return g.error();
    gen = std::move(g.value());
  }
  return parse_hf_config(text.value(), gen, path);
}

Status validate_config(const GptOssConfig& c) {
  auto fail = [](std::string m) { return Status(make_error(std::move(m))); };
  auto n = [](size_t v) { return std::to_string(v); };
  if (c.n_layer == 0 || c.d_model == 0 || c.n_expert == 0 || c.n_expert_active == 0 ||
      c.d_ff == 0 || c.n_head == 0 || c.n_kv_head == 0 || c.d_head == 0 || c.n_vocab == 0) {
    return fail("every dimension must be positive");
  }
  if (c.n_head % c.n_kv_head != 0) {
    return fail("num_attention_heads (" + n(c.n_head) + ") is not a multiple of " +
                "num_key_value_heads (" + n(c.n_kv_head) + ")");
  }
  if (c.d_head % 2 != 0) return fail("head_dim (" + n(c.d_head) + ") must be even for RoPE");
  if (c.n_expert_active > c.n_expert) {
    return fail("num_experts_per_tok (" + n(c.n_expert_active) + ") exceeds num_local_experts (" +
                n(c.n_expert) + ")");
  }
  if (c.d_model % 32 != 0) {
    return fail("hidden_size (" + n(c.d_model) + ") must be a multiple of 32 (MXFP4 blocks)");
  }
  if (c.d_ff % 32 != 0) {
    return fail("intermediate_size (" + n(c.d_ff) + ") must be a multiple of 32 (MXFP4 blocks)");
  }
  if (c.layer_sliding.size() != c.n_layer) {
    return fail("layer_types has " + n(c.layer_sliding.size()) + " entries for " + n(c.n_layer) +
                " layers");
  }
  if (c.sliding_window == 0) return fail("sliding_window must be positive");
  if (!(c.rope_theta > 1.0)) return fail("rope_theta must be > 1");
  if (!(c.rope_factor > 0.0) || !std::isfinite(c.rope_factor)) {
    return fail("rope_scaling.factor must be a positive number");
  }
  if (c.rope_factor > 1.0 &&
      !(c.rope_original_context > 0.0 && c.rope_beta_fast > 0.0 && c.rope_beta_slow > 0.0)) {
    return fail(
        "rope_scaling: original_max_position_embeddings, beta_fast and beta_slow must "
        "be positive");
  }
  if (!(c.rms_norm_eps > 0.0f)) return fail("rms_norm_eps must be positive");
  if (!(c.swiglu_limit > 0.0f)) return fail("swiglu_limit must be positive");
  if (c.max_position == 0) return fail("max_position_embeddings must be positive");
  return Status::Ok();
}

}  // namespace quarry::model
