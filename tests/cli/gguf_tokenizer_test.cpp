// The tokenizer embedded in a GGUF model file loads through --tokenizer.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/commands.h"
#include "formats/gguf_writer.h"

namespace quarry::cli {
namespace {

TEST(GgufTokenizer, LoadsFromGgufMetadata) {
  auto ref = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
  ASSERT_TRUE(ref.ok()) << ref.message();
  const auto path =
      std::filesystem::temp_directory_path() / ("quarry_tok_" + std::to_string(getpid()) + ".gguf");
  formats::GgufWriter w;
  w.set_string("general.architecture", "gpt-oss");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-4o");
  w.set_string_array("tokenizer.ggml.tokens", ref->gguf_token_strings());
  ASSERT_TRUE(w.write(path.string()).ok());

  auto tok = load_tokenizer(path.string());
  ASSERT_TRUE(tok.ok()) << tok.message();
  const std::string text = "GGUF vocab: héllo wörld 中文 😀 <|start|> 1234567";
  EXPECT_EQ(tok->encode_ordinary(text), ref->encode_ordinary(text));
  EXPECT_EQ(tok->encode(text, tokenizer::Specials::kAll),
            ref->encode(text, tokenizer::Specials::kAll));

  formats::GgufWriter bad;
  bad.set_string("tokenizer.ggml.pre", "llama-bpe");
  bad.set_string_array("tokenizer.ggml.tokens", ref->gguf_token_strings());
  ASSERT_TRUE(bad.write(path.string()).ok());
  auto err = load_tokenizer(path.string());
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.message().find("gpt-4o"), std::string::npos) << err.message();

  formats::GgufWriter none;
  none.set_string("general.architecture", "gpt-oss");
  ASSERT_TRUE(none.write(path.string()).ok());
  auto missing = load_tokenizer(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("tokenizer.ggml"), std::string::npos) << missing.message();
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace quarry::cli
