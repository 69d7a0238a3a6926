// Loading the rank table: tiktoken files, HF tokenizer.json, GGUF token lists.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/utf8.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer_impl.h"

namespace quarry::tokenizer {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = base64_value(c)) < 0) {
        return false;
      }
    }
    const uint32_t w = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<char>(w >> 16));
    if (pad < 2) out.push_back(static_cast<char>((w >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(w & 0xFF));
  }
  return true;
}

// GPT-2 byte -> code point table (bytes that are printable map to themselves).
struct ByteUnicode {
  uint32_t to_cp[256];
  int16_t from_cp[324];  // code point -> byte, -1 if none
  ByteUnicode() {
    for (auto& b : from_cp) b = -1;
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool self = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      to_cp[b] = self ? b : 256 + extra++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteUnicode& byte_unicode() {
  static const ByteUnicode t;
  return t;
}

// Checks that `name` (a special token's text in a file) agrees with id `id`.
bool special_name_ok(uint32_t id, std::string_view name) {
  auto parsed = special_from_text(name);
  return parsed && *parsed == id;
}

}  // namespace

std::string bytes_to_hf_unicode(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) utf8::append(out, byte_unicode().to_cp[b]);
  return out;
}

bool hf_unicode_to_bytes(std::string_view text, std::string& out) {
  out.clear();
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    const int n = utf8::decode_one(text, i, cp);
    if (n == 0 || cp >= 324 || byte_unicode().from_cp[cp] < 0) return false;
    out.push_back(static_cast<char>(byte_unicode().from_cp[cp]));
    i += n;
  }
  return true;
}

Result<Tokenizer> Tokenizer::from_tiktoken_text(std::string_view text, const std::string& origin) {
  std::vector<std::string> tokens;
  tokens.reserve(kNumMergeable);
  size_t pos = 0, line_no = 0;
  std::string bytes;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = origin + ":" + std::to_string(line_no);
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return make_error(where + ": expected '<base64> <rank>'");
    if (!base64_decode(line.substr(0, sp), bytes) || bytes.empty()) {
      return make_error(where + ": invalid base64 token");
    }
    uint64_t rank = 0;
    const std::string_view digits = line.substr(sp + 1);
    if (digits.empty() || digits.size() > 9) return make_error(where + ": invalid rank");
    for (char c : digits) {
      if (c < '0' || c > '9') return make_error(where + ": invalid rank");
      rank = rank * 10 + static_cast<uint64_t>(c - '0');
    }
    if (rank != tokens.size()) {
      return make_error(where + ": rank " + std::to_string(rank) + " out of order (expected " +
                        std::to_string(tokens.size()) + ")");
    }
    tokens.push_back(bytes);
  }
  return make_tokenizer(std::move(tokens), origin);
}

Result<Tokenizer> Tokenizer::from_tiktoken_file(const std::string& path) {
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  return from_tiktoken_text(text.value(), path);
}

Result<Tokenizer> Tokenizer::from_hf_tokenizer_json_text(std::string_view text,
                                                         const std::string& origin) {
  using Json = nlohmann::json;
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(origin + ": invalid JSON");
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) {
    return make_error(origin + ": missing object \"model\"");
  }
  const Json& model = j["model"];
  if (model.contains("type") && model["type"] != "BPE") {
    return make_error(origin + ": model.type must be \"BPE\"");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return make_error(origin + ": missing object model.vocab");
  }
  std::vector<std::string> tokens(kNumMergeable);
  std::vector<bool> seen(kNumMergeable, false);
  std::string bytes;
  for (const auto& [key, value] : model["vocab"].items()) {
    if (!value.is_number_unsigned()) {
      return make_error(origin + ": model.vocab[\"" + key + "\"]: id must be an unsigned integer");
    }
    const uint64_t id = value.get<uint64_t>();
    if (id >= kNumMergeable) {
      if (id < kVocabSize && special_name_ok(static_cast<uint32_t>(id), key)) continue;
      return make_error(origin + ": model.vocab[\"" + key + "\"]: id " + std::to_string(id) +
                        " is not an o200k_base rank");
    }
    if (!hf_unicode_to_bytes(key, bytes) || bytes.empty()) {
      return make_error(origin + ": model.vocab[\"" + key + "\"]: not a byte-level token string");
    }
    if (seen[id]) return make_error(origin + ": id " + std::to_string(id) + " appears twice");
    seen[id] = true;
    tokens[id] = bytes;
  }
  for (uint32_t id = 0; id < kNumMergeable; ++id) {
    if (!seen[id])
      return make_error(origin + ": model.vocab has no token for id " + std::to_string(id));
  }
  if (j.contains("added_tokens")) {
    if (!j["added_tokens"].is_array())
      return make_error(origin + ": added_tokens must be an array");
    size_t i = 0;
    for (const auto& t : j["added_tokens"]) {
      const std::string where = origin + ": added_tokens[" + std::to_string(i++) + "]";
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_unsigned() ||
          !t.contains("content") || !t["content"].is_string()) {
        return make_error(where + ": needs \"id\" and \"content\"");
      }
      const uint64_t id = t["id"].get<uint64_t>();
      if (id < kNumMergeable || id >= kVocabSize ||
          !special_name_ok(static_cast<uint32_t>(id), t["content"].get<std::string>())) {
        return make_error(where + ": " + t["content"].get<std::string>() + " with id " +
                          std::to_string(id) + " disagrees with o200k_harmony");
      }
    }
  }
  return make_tokenizer(std::move(tokens), origin);
}

Result<Tokenizer> Tokenizer::from_hf_tokenizer_json(const std::string& path) {
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  return from_hf_tokenizer_json_text(text.value(), path);
}

Result<Tokenizer> Tokenizer::from_gguf_tokens(std::span<const std::string> tokens,
                                              std::string_view pre, const std::string& origin) {
  if (pre != "gpt-4o") {
    return make_error(origin + ": tokenizer.ggml.pre is \"" + std::string(pre) +
                      "\"; only \"gpt-4o\" (o200k) is supported");
  }
  if (tokens.size() < kNumMergeable || tokens.size() > kVocabSize) {
    return make_error(origin + ": tokenizer.ggml.tokens has " + std::to_string(tokens.size()) +
                      " entries; expected " + std::to_string(kVocabSize));
  }
  std::vector<std::string> ranks(kNumMergeable);
  for (uint32_t id = 0; id < kNumMergeable; ++id) {
    if (!hf_unicode_to_bytes(tokens[id], ranks[id]) || ranks[id].empty()) {
      return make_error(origin + ": tokenizer.ggml.tokens[" + std::to_string(id) +
                        "]: not a byte-level token string");
    }
  }
  for (uint32_t id = kNumMergeable; id < tokens.size(); ++id) {
    if (!special_name_ok(id, tokens[id])) {
      return make_error(origin + ": tokenizer.ggml.tokens[" + std::to_string(id) + "] is \"" +
                        tokens[id] + "\", expected " + special_text(id));
    }
  }
  return make_tokenizer(std::move(ranks), origin);
}

Result<Tokenizer> Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path json = fs::path(path) / "tokenizer.json";
    if (!fs::exists(json, ec)) return make_error(path + ": directory has no tokenizer.json");
    return from_hf_tokenizer_json(json.string());
  }
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  const std::string& t = text.value();
  if (t.rfind("GGUF", 0) == 0) {
    return make_error(path + ": GGUF files are read by the model loader (quarry logits/serve)");
  }
  const size_t first = t.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && t[first] == '{') return from_hf_tokenizer_json_text(t, path);
  return from_tiktoken_text(t, path);
}

}  // namespace quarry::tokenizer
