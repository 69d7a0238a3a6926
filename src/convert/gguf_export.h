// gpt-oss as a GGUF file in the layout llama.cpp's converter writes and its
// gpt-oss loader (LLM_ARCH_OPENAI_MOE) accepts (spec §7): gpt-oss.* metadata,
// the o200k_harmony vocabulary as tokenizer.ggml.* (tokens, types, merges,
// pre "gpt-4o"), 2-D weights in their source dtype, every vector F32, experts
// as separate ffn_gate_exps / ffn_up_exps / ffn_down_exps in block_mxfp4.
#pragma once

#include <string>

#include "base/result.h"
#include "base/thread_pool.h"
#include "convert/hf_rows.h"
#include "formats/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace quarry::convert {

// The gpt-oss.* keys (and general.*). Fails for what GGUF cannot say the way
// our reader and llama.cpp read it back (a truncated YaRN ramp, an explicit
// attention factor).
Status set_gguf_metadata(formats::GgufWriter& w, const GptOssConfig& c, const std::string& name);

// tokenizer.ggml.*: needs the model's vocabulary to be the tokenizer's (201088).
Status set_gguf_tokenizer(formats::GgufWriter& w, const tokenizer::Tokenizer& tok,
                          const GptOssConfig& c);

// Every tensor, converted from the HF rows when the writer asks for it.
// `rows` and `pool` must outlive the writer's write().
Status add_gguf_tensors(formats::GgufWriter& w, const GptOssConfig& c, const HfRows& rows,
                        ThreadPool& pool);

struct GgufExport {
  std::string name = "gpt-oss";           // general.name
  const tokenizer::Tokenizer* tokenizer;  // null: no tokenizer.ggml.* keys
  formats::WriteProgress progress;
};

// Metadata, tokenizer and tensors to `path` (written to path.tmp, then renamed).
Status write_gguf(const std::string& path, const GptOssConfig& c, const HfRows& rows,
                  const GgufExport& options, ThreadPool& pool);

}  // namespace quarry::convert
