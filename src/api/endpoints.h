// SageMaker endpoints as models actually loaded into this server
// (shared/spec/apis.md §8.3): CreateEndpoint returns at once with status
// Creating; a background thread resolves the endpoint's model
// (Environment.HF_MODEL_ID naming a served model, or a path the server may
// read) and sets InService, or Failed with a reason. Other endpoints keep
// serving meanwhile. The store records every state change, so a restart (or
// a kill -9 mid-create) comes back to a consistent state.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/served_model.h"
#include "base/result.h"
#include "store/store.h"

namespace quarry::api {

class Endpoints {
 public:
  // Loads a model from a path (a HF directory or GGUF file) into its own engine.
  using Loader = std::function<Result<std::shared_ptr<ServedModel>>(const std::string& path)>;
  // A model already served under a name (HF_MODEL_ID = a served name or alias).
  using FindServed = std::function<std::shared_ptr<ServedModel>(std::string_view name)>;

  Endpoints(store::Store& store, Loader loader, FindServed find_served);
  ~Endpoints();  // waits for loads in progress
  Endpoints(const Endpoints&) = delete;
  Endpoints& operator=(const Endpoints&) = delete;

  // Loads the model of endpoint `name` (now Creating or Updating in the
  // store) in the background, then records InService or Failed.
  void deploy(const std::string& name);
  // Reloads what the store says should be serving (after a restart).
  void restore();
  // The endpoint's model when it is InService; null otherwise.
  std::shared_ptr<ServedModel> model(std::string_view endpoint) const;
  // Drops the endpoint's model (DeleteEndpoint).
  void remove(std::string_view endpoint);

  store::Store& store() { return store_; }

 private:
  Result<std::shared_ptr<ServedModel>> resolve(const std::string& endpoint);
  static std::string key(std::string_view name);

  store::Store& store_;
  Loader loader_;
  FindServed find_served_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ServedModel>> models_;  // by lower-case name
  std::map<std::string, uint64_t> generation_;  // deploys per endpoint: late loads lose
  std::vector<std::thread> threads_;
};

}  // namespace quarry::api
