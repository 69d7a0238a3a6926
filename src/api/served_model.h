// A model the server can generate with: its serving engine and tokenizer,
// kept alive by `owner` (the loaded weights, thread pool and engine). The
// server's own model and every SageMaker endpoint's model are ServedModels.
#pragma once

#include <memory>
#include <string>

#include "engine/engine.h"
#include "tokenizer/tokenizer.h"

namespace quarry::api {

struct ServedModel {
  std::string name;  // the canonical name (first served name, or the endpoint's model)
  engine::Engine* engine = nullptr;
  const tokenizer::Tokenizer* tokenizer = nullptr;
  std::shared_ptr<void> owner;
};

}  // namespace quarry::api
