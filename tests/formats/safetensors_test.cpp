#include "formats/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "formats/safetensors_writer.h"
#include "test_util.h"

namespace quarry::formats {
namespace {

using ::testing::HasSubstr;
using testutil::Bytes;
using testutil::safetensors_bytes;
using testutil::TempDir;

struct Dims {
  uint64_t hidden, layers, experts, inter, heads, kv_heads, head_dim, vocab;
};

Dims tiny_a_dims() {
  auto text = read_file(testutil::tiny_a_dir() + "/config.json");
  EXPECT_TRUE(text.ok());
  const auto c = nlohmann::json::parse(*text);
  return {c["hidden_size"],       c["num_hidden_layers"],   c["num_local_experts"],
          c["intermediate_size"], c["num_attention_heads"], c["num_key_value_heads"],
          c["head_dim"],          c["vocab_size"]};
}

// Every tensor of the release layout (spec §3) with its expected dtype and shape.
std::vector<TensorSpec> expected_tensors(const Dims& d) {
  std::vector<TensorSpec> out = {
      {"model.embed_tokens.weight", DType::kBF16, {d.vocab, d.hidden}},
      {"model.norm.weight", DType::kBF16, {d.hidden}},
      {"lm_head.weight", DType::kBF16, {d.vocab, d.hidden}},
  };
  const uint64_t q = d.heads * d.head_dim, kv = d.kv_heads * d.head_dim;
  for (uint64_t l = 0; l < d.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const std::vector<TensorSpec> layer = {
        {p + "input_layernorm.weight", DType::kBF16, {d.hidden}},
        {p + "self_attn.q_proj.weight", DType::kBF16, {q, d.hidden}},
        {p + "self_attn.q_proj.bias", DType::kBF16, {q}},
        {p + "self_attn.k_proj.weight", DType::kBF16, {kv, d.hidden}},
        {p + "self_attn.k_proj.bias", DType::kBF16, {kv}},
        {p + "self_attn.v_proj.weight", DType::kBF16, {kv, d.hidden}},
        {p + "self_attn.v_proj.bias", DType::kBF16, {kv}},
        {p + "self_attn.o_proj.weight", DType::kBF16, {d.hidden, q}},
        {p + "self_attn.o_proj.bias", DType::kBF16, {d.hidden}},
        {p + "self_attn.sinks", DType::kBF16, {d.heads}},
        {p + "post_attention_layernorm.weight", DType::kBF16, {d.hidden}},
        {p + "mlp.router.weight", DType::kBF16, {d.experts, d.hidden}},
        {p + "mlp.router.bias", DType::kBF16, {d.experts}},
        {p + "mlp.experts.gate_up_proj_blocks",
         DType::kU8,
         {d.experts, 2 * d.inter, d.hidden / 32, 16}},
        {p + "mlp.experts.gate_up_proj_scales",
         DType::kU8,
         {d.experts, 2 * d.inter, d.hidden / 32}},
        {p + "mlp.experts.gate_up_proj_bias", DType::kBF16, {d.experts, 2 * d.inter}},
        {p + "mlp.experts.down_proj_blocks", DType::kU8, {d.experts, d.hidden, d.inter / 32, 16}},
        {p + "mlp.experts.down_proj_scales", DType::kU8, {d.experts, d.hidden, d.inter / 32}},
        {p + "mlp.experts.down_proj_bias", DType::kBF16, {d.experts, d.hidden}},
    };
    out.insert(out.end(), layer.begin(), layer.end());
  }
  return out;
}

TEST(Safetensors, TinyALoadsWithTheReleaseShapes) {
  auto f = SafetensorsFile::open(testutil::tiny_a_dir() + "/model.safetensors");
  ASSERT_TRUE(f.ok()) << f.message();
  const auto expected = expected_tensors(tiny_a_dims());
  EXPECT_EQ(f->tensors().size(), expected.size());
  for (const auto& e : expected) {
    const TensorInfo* t = f->find(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(t->dtype, e.dtype) << e.name;
    EXPECT_EQ(t->shape, e.shape) << e.name;
    EXPECT_EQ(t->nbytes, *dtype_nbytes(e.dtype, t->numel())) << e.name;
    EXPECT_EQ(t->data, f->mapping().data() + t->file_offset);
    EXPECT_GE(t->file_offset, f->data_start());
  }
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->find("no.such.tensor"), nullptr);
  EXPECT_EQ(f->names().size(), expected.size());
  // The data section is 8-aligned and the tensors fill it exactly.
  EXPECT_EQ(f->data_start() % 8, 0u);
  const TensorInfo& last = f->tensors().back();
  EXPECT_EQ(last.file_offset + last.nbytes, f->file_size());
}

TEST(Safetensors, DtypeNames) {
  EXPECT_EQ(dtype_name(DType::kBF16), "BF16");
  EXPECT_EQ(dtype_name(DType::kMXFP4), "MXFP4");
  EXPECT_EQ(*dtype_from_safetensors("U8"), DType::kU8);
  EXPECT_FALSE(dtype_from_safetensors("F8_E4M3").has_value());
  EXPECT_FALSE(safetensors_dtype_string(DType::kMXFP4).has_value());
  EXPECT_EQ(*dtype_nbytes(DType::kMXFP4, 64), 34u);
  EXPECT_FALSE(dtype_nbytes(DType::kMXFP4, 33).has_value());
  EXPECT_FALSE(checked_numel({1ull << 40, 1ull << 40}).has_value());
}

std::vector<uint8_t> iota_bytes(size_t n, uint8_t start) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i);
  return v;
}

TEST(Safetensors, WriteReadRoundTrip) {
  SafetensorsWriter w;
  const std::vector<std::pair<TensorSpec, size_t>> specs = {
      {{"a.u8", DType::kU8, {3}}, 3},         {{"b.f32", DType::kF32, {2, 3}}, 24},
      {{"c.bf16", DType::kBF16, {5}}, 10},    {{"d.f64", DType::kF64, {2}}, 16},
      {{"e.i16", DType::kI16, {1, 1, 2}}, 4}, {{"f.scalar", DType::kI64, {}}, 8},
      {{"g.empty", DType::kF32, {0, 4}}, 0},  {{"h.f16", DType::kF16, {3}}, 6},
      {{"i.i8", DType::kI8, {1}}, 1},         {{"j.i32", DType::kI32, {1}}, 4},
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    ASSERT_TRUE(w.add(specs[i].first, iota_bytes(specs[i].second, uint8_t(i * 16))).ok());
  }
  w.set_metadata("format", "pt");
  uint64_t last_done = 0;
  w.set_progress([&](uint64_t done, uint64_t total) {
    EXPECT_LE(done, total);
    last_done = done;
  });
  TempDir dir;
  ASSERT_TRUE(w.write(dir.file("x.safetensors")).ok());
  EXPECT_EQ(last_done, w.data_bytes());
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors.tmp")));
  auto f = SafetensorsFile::open(dir.file("x.safetensors"));
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->data_start() % 8, 0u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorInfo* t = f->find(specs[i].first.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, specs[i].first.dtype);
    EXPECT_EQ(t->shape, specs[i].first.shape);
    const auto want = iota_bytes(specs[i].second, uint8_t(i * 16));
    EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->nbytes), want) << t->name;
    // Natural alignment: larger elements first.
    EXPECT_EQ(t->file_offset % dtype_block(t->dtype).block_bytes, 0u) << t->name;
  }
  // The in-memory serialization is the same file.
  auto mem = w.serialize();
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(*mem, testutil::read_bytes(dir.file("x.safetensors")));
  // A filler produces the same bytes as a copy.
  SafetensorsWriter w2;
  ASSERT_TRUE(w2.add({"t", DType::kU8, {4}}, TensorFiller([](std::span<uint8_t> out) {
                       for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i + 1);
                       return Status::Ok();
                     }))
                  .ok());
  auto m2 = w2.serialize();
  ASSERT_TRUE(m2.ok());
  auto f2 = SafetensorsFile::parse(*m2, "mem");
  ASSERT_TRUE(f2.ok()) << f2.message();
  EXPECT_EQ(f2->find("t")->data[3], 4);
}

TEST(Safetensors, WriterRejectsBadTensors) {
  SafetensorsWriter w;
  EXPECT_FALSE(w.add({"x", DType::kF32, {2}}, iota_bytes(7, 0)).ok());
  EXPECT_FALSE(w.add({"", DType::kF32, {}}, iota_bytes(4, 0)).ok());
  EXPECT_FALSE(w.add({"__metadata__", DType::kF32, {}}, iota_bytes(4, 0)).ok());
  EXPECT_FALSE(w.add({"q", DType::kMXFP4, {32}}, iota_bytes(17, 0)).ok());
  ASSERT_TRUE(w.add({"x", DType::kF32, {1}}, iota_bytes(4, 0)).ok());
  auto dup = w.add({"x", DType::kF32, {1}}, iota_bytes(4, 0));
  EXPECT_THAT(dup.message(), HasSubstr("added twice"));
  SafetensorsWriter w3;
  ASSERT_TRUE(w3.add({"f", DType::kU8, {2}}, TensorFiller([](std::span<uint8_t>) {
                       return Status(make_error("generator broke"));
                     }))
                  .ok());
  auto r = w3.serialize();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.message(), HasSubstr("'f'"));
  EXPECT_THAT(r.message(), HasSubstr("generator broke"));
}

// Parses a hand-made file and returns the error message (empty on success).
std::string parse_error(const std::vector<uint8_t>& bytes) {
  auto f = SafetensorsFile::parse(bytes, "bad.safetensors");
  return f.ok() ? std::string() : f.message();
}

TEST(SafetensorsMalformed, TooShortAndHeaderPastTheEnd) {
  EXPECT_THAT(parse_error({1, 2, 3}), HasSubstr("bad.safetensors: file is 3 bytes"));
  const auto past = Bytes().u64(100).raw("{}").vec();
  EXPECT_THAT(parse_error(past), HasSubstr("header length 100 (at offset 0) runs past the end"));
  const auto huge = Bytes().u64(~uint64_t{0}).vec();
  EXPECT_THAT(parse_error(huge), HasSubstr("runs past the end"));
}

TEST(SafetensorsMalformed, HeaderNotJsonOrNotAnObject) {
  const std::string e = parse_error(safetensors_bytes("{\"a\": nope}", 0));
  EXPECT_THAT(e, HasSubstr("bad.safetensors: header is not valid JSON at byte offset 15"));
  EXPECT_THAT(parse_error(safetensors_bytes("[1, 2]", 0)), HasSubstr("is a JSON array"));
  EXPECT_THAT(parse_error(safetensors_bytes(std::string(200, '[') + std::string(200, ']'), 0)),
              HasSubstr("nests deeper than 16 levels (byte offset 24)"));
  EXPECT_THAT(parse_error(safetensors_bytes("{\"__metadata__\": {\"k\": 1}}", 0)),
              HasSubstr("\"__metadata__\" value for 'k' is not a string (header byte offset 9)"));
}

TEST(SafetensorsMalformed, EntryErrorsNameTensorAndOffset) {
  struct Case {
    std::string header;
    size_t data;
    std::string want;
  };
  const std::vector<Case> cases = {
      {R"({"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 1]}})", 1,
       "tensor 'w': unknown or unsupported dtype \"Q7\" (header byte offset 9)"},
      {R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8,
       "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8 (file offset"},
      {R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 1000]}})", 16,
       "tensor 'w': data_offsets [0, 1000] run past the data section (16 bytes from file offset"},
      {R"({"w": {"dtype": "U8", "shape": [-4], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': shape dimension -4 is not a count"},
      {R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [4, 0]}})", 4,
       "tensor 'w': data_offsets [4, 0] end before begin"},
      {R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0.5, 4]}})", 4,
       "tensor 'w': \"data_offsets\" must be [begin, end]"},
      {R"({"w": {"shape": [4], "data_offsets": [0, 4]}})", 4, "tensor 'w': missing or non-string"},
      {R"({"w": [1]})", 4, "tensor 'w': entry is a JSON array"},
      {R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})", 4,
       "overflows 64-bit"},
  };
  for (const auto& c : cases) {
    const std::string e = parse_error(safetensors_bytes(c.header, c.data));
    EXPECT_THAT(e, HasSubstr("bad.safetensors: ")) << c.header;
    EXPECT_THAT(e, HasSubstr(c.want)) << c.header;
    EXPECT_THAT(e, HasSubstr("offset")) << c.header;
  }
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  const std::string h = R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},)"
                        R"( "b": {"dtype": "U8", "shape": [8], "data_offsets": [4, 12]}})";
  const std::string e = parse_error(safetensors_bytes(h, 12));
  const uint64_t start = 8 + h.size();
  EXPECT_THAT(e, HasSubstr("tensor 'b' (file offset " + std::to_string(start + 4) +
                           ", 8 bytes) overlaps tensor 'a' (file offset " + std::to_string(start) +
                           ", 8 bytes)"));
}

TEST(SafetensorsMalformed, TruncatedFileNamesTheTensor) {
  const auto full = testutil::read_bytes(testutil::tiny_a_dir() + "/model.safetensors");
  TempDir dir;
  auto cut = full;
  cut.resize(full.size() / 2);
  testutil::write_bytes(dir.file("cut.safetensors"), cut);
  auto f = SafetensorsFile::open(dir.file("cut.safetensors"));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.message(), HasSubstr(dir.file("cut.safetensors") + ": tensor '"));
  EXPECT_THAT(f.message(), HasSubstr("run past the data section"));
  EXPECT_THAT(f.message(), HasSubstr("header byte offset"));
}

TEST(SafetensorsMalformed, EveryPrefixOfAFileFailsCleanly) {
  SafetensorsWriter w;
  ASSERT_TRUE(w.add({"a", DType::kF32, {2}}, iota_bytes(8, 1)).ok());
  ASSERT_TRUE(w.add({"b", DType::kU8, {3}}, iota_bytes(3, 9)).ok());
  auto full = w.serialize();
  ASSERT_TRUE(full.ok());
  for (size_t n = 0; n < full->size(); ++n) {
    std::vector<uint8_t> prefix(full->begin(), full->begin() + n);
    EXPECT_FALSE(SafetensorsFile::parse(prefix, "p").ok()) << n;
  }
  EXPECT_TRUE(SafetensorsFile::parse(*full, "p").ok());
}

TEST(SafetensorsMalformed, MissingFileNamesThePath) {
  auto f = SafetensorsFile::open("/nonexistent/dir/model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.message(), HasSubstr("/nonexistent/dir/model.safetensors: cannot open"));
}

}  // namespace
}  // namespace quarry::formats
