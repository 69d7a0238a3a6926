// A model the server can generate with: its serving engine and tokenizer,
// kept alive by `owner` (the loaded weights, thread pool and engine). The
// server's own model and every SageMaker endpoint's model are ServedModels.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "grammar/turn_constraint.h"

#include "engine/engine.h"
#include "tokenizer/tokenizer.h"

namespace quarry::api {

struct ServedModel {
  std::string name;  // the canonical name (first served name, or the endpoint's model)
  engine::Engine* engine = nullptr;
  const tokenizer::Tokenizer* tokenizer = nullptr;
  std::shared_ptr<void> owner;

  // The tokenizer's index for constrained decoding, built on first use.
  const std::shared_ptr<const grammar::VocabIndex>& vocab_index() const {
    std::call_once(vocab_once_, [this] {
      auto v = grammar::VocabIndex::build(*tokenizer);
      if (v.ok()) vocab_ = v.value();
    });
    return vocab_;
  }

 private:
  mutable std::once_flag vocab_once_;
  mutable std::shared_ptr<const grammar::VocabIndex> vocab_;
};

}  // namespace quarry::api
