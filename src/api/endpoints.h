// SageMaker endpoints as models actually loaded into this server
// (shared/spec/apis.md §8.3): CreateEndpoint returns at once with status
// Creating; a background thread resolves the endpoint's model
// (Environment.HF_MODEL_ID naming a served model, or a path the server may
// read) and sets InService, or Failed with a reason. Other endpoints keep
// serving meanwhile. The store records every state change, so a restart (or
// a kill -9 mid-create) comes back to a consistent state.
//
// Lifetimes: a request in flight holds its model (through the engine's
// callback), so the last reference to a model that this class loaded could
// otherwise be dropped on that model's own engine thread, which cannot join
// itself. A model this class loaded is therefore dropped only after its
// engine has stopped: a removed or replaced one is retired on a background
// thread (its requests drain, then it is freed there), and shutdown() stops
// every engine it owns before the rest of the server goes away.
#pragma once

#include <atomic>
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
  ~Endpoints();  // shutdown()
  Endpoints(const Endpoints&) = delete;
  Endpoints& operator=(const Endpoints&) = delete;

  // Loads the model of endpoint `name` (now Creating or Updating in the
  // store) in the background, then records InService or Failed. An update
  // is blue/green, as SageMaker's: the old model serves until the new one
  // is up, and if the new one fails the endpoint stays InService on its old
  // config with the failure as FailureReason.
  void deploy(const std::string& name);
  // Reloads what the store says should be serving (after a restart).
  void restore();
  // The endpoint's model when it is InService; null otherwise.
  std::shared_ptr<ServedModel> model(std::string_view endpoint) const;
  // Drops the endpoint's model (DeleteEndpoint); requests in flight on a
  // model this class loaded finish first, on a background thread.
  void remove(std::string_view endpoint);
  // Waits for loads and retirements in progress, then stops (cancelling what
  // is in flight) and frees every model this class loaded. Idempotent.
  void shutdown();

  store::Store& store() { return store_; }
  // Load and retirement threads not yet joined (finished ones are joined
  // when the next one starts).
  size_t threads_held() const;

 private:
  struct Entry {
    std::shared_ptr<ServedModel> model;
    bool owned = false;  // loaded here (not a model the server already serves)
    std::string config;  // the endpoint config it was deployed from
  };
  Result<Entry> resolve(const std::string& endpoint);
  static std::string key(std::string_view name);
  // Called with mu_ held: drops `e`, after its engine drains if it is owned.
  void retire_locked(Entry e);

  store::Store& store_;
  Loader loader_;
  FindServed find_served_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> models_;                 // by lower-case name
  std::map<std::string, uint64_t> generation_;          // deploys per endpoint: late loads lose
  std::vector<std::shared_ptr<ServedModel>> retiring_;  // owned, engines stopping
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;  // set when its work has returned
  };
  // Called with mu_ held: runs fn on a new thread, first joining the threads
  // that have finished (a long-running server keeps no idle handles).
  void start_locked(std::function<void()> fn);
  std::vector<Worker> threads_;  // loads and retirements
  bool stopped_ = false;         // shutdown() began: no new threads
};

}  // namespace quarry::api
