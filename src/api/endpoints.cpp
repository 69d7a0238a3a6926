#include "api/endpoints.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace quarry::api {

Endpoints::Endpoints(store::Store& store, Loader loader, FindServed find_served)
    : store_(store), loader_(std::move(loader)), find_served_(std::move(find_served)) {}

Endpoints::~Endpoints() { shutdown(); }

void Endpoints::shutdown() {
  // Every engine this class loaded, retiring or serving. After stopped_ no
  // model is published and no thread starts, so this list is complete.
  std::vector<std::shared_ptr<ServedModel>> owned;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    owned = retiring_;
    for (const auto& [k, e] : models_) {
      if (e.owned) owned.push_back(e.model);
    }
  }
  // Cancel what is in flight and stop them: retirements (which drain) end now.
  for (const auto& m : owned) m->engine->shutdown(/*drain=*/false);
  std::vector<Worker> threads;
  std::map<std::string, Entry> models;
  std::vector<std::shared_ptr<ServedModel>> retiring;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (Worker& w : threads) w.thread.join();
  {
    std::lock_guard lock(mu_);
    models.swap(models_);
    retiring.swap(retiring_);
  }
  // The models are freed here, on this thread, their engines stopped.
}

void Endpoints::retire_locked(Entry e) {
  if (!e.model || !e.owned) return;  // a model the server serves anyway
  retiring_.push_back(e.model);
  if (stopped_) return;  // shutdown() stops it
  start_locked([this, m = std::move(e.model)] {
    m->engine->shutdown(/*drain=*/true);
    std::lock_guard lock(mu_);
    std::erase(retiring_, m);
    // `m`, now the last reference, is freed on this thread (its engine is stopped).
  });
}

void Endpoints::start_locked(std::function<void()> fn) {
  std::erase_if(threads_, [](Worker& w) {
    if (!w.done->load(std::memory_order_acquire)) return false;
    // Its work has returned and it takes no lock from here on: at most its
    // callable (say a model it freed) is still being destroyed.
    w.thread.join();
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread t([fn = std::move(fn), done]() mutable {
    fn();
    fn = nullptr;  // what it holds goes here, before `done`
    done->store(true, std::memory_order_release);
  });
  threads_.push_back(Worker{std::move(t), std::move(done)});
}

size_t Endpoints::threads_held() const {
  std::lock_guard lock(mu_);
  return threads_.size();
}

std::string Endpoints::key(std::string_view name) {
  std::string k(name);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  return k;
}

Result<Endpoints::Entry> Endpoints::resolve(const std::string& endpoint) {
  auto ep = store_.get_endpoint(endpoint);
  if (!ep.ok()) return make_error(ep.message());
  const std::string config_name = ep->config_name;
  auto config = store_.get_endpoint_config(config_name);
  if (!config.ok()) return make_error(config.message());
  const auto variants = nlohmann::json::parse(config->production_variants_json, nullptr, false);
  if (!variants.is_array() || variants.empty() || !variants[0].is_object() ||
      !variants[0].contains("ModelName") || !variants[0]["ModelName"].is_string()) {
    return make_error("The endpoint configuration has no production variant with a ModelName.");
  }
  auto model = store_.get_model(variants[0]["ModelName"].get<std::string>());
  if (!model.ok()) return make_error(model.message());
  std::string source = model->hf_model_id;
  if (!source.empty()) {
    if (auto served = find_served_(source)) return Entry{served, false, config_name};
  } else {
    source = model->model_data_url;
    if (source.starts_with("file://")) source = source.substr(7);
  }
  if (source.empty()) {
    return make_error("The model has neither Environment.HF_MODEL_ID nor ModelDataUrl.");
  }
  std::error_code ec;
  if (!std::filesystem::exists(source, ec)) {
    return make_error("Model \"" + source +
                      "\" is neither a model this server serves nor a path it can read.");
  }
  if (!loader_) return make_error("This server cannot load further models.");
  auto loaded = loader_(source);
  if (!loaded.ok()) return loaded.error();
  return Entry{loaded.value(), true, config_name};
}

void Endpoints::deploy(const std::string& name) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  const uint64_t gen = ++generation_[key(name)];
  start_locked([this, name, gen] {
    // A model loaded here but not published has served nothing: it is freed
    // on this thread (after `inner` is released).
    Result<Entry> m = resolve(name);
    std::lock_guard inner(mu_);
    if (stopped_ || generation_[key(name)] != gen) return;  // deleted or redeployed meanwhile
    auto ep = store_.get_endpoint(name);
    if (!ep.ok()) return;
    auto it = models_.find(key(name));
    if (!m.ok() && it != models_.end()) {
      // A failed update: the model that served before keeps serving.
      (void)store_.roll_back_endpoint(
          name, it->second.config,
          "Updating to endpoint configuration \"" + ep->config_name + "\" failed: " + m.message() +
              " The endpoint was rolled back to \"" + it->second.config + "\".");
      return;
    }
    if (it != models_.end()) {
      retire_locked(std::move(it->second));
      models_.erase(it);
    }
    if (m.ok()) {
      models_[key(name)] = std::move(m.value());
      (void)store_.set_endpoint_status(name, store::EndpointStatus::kInService);
    } else {
      (void)store_.set_endpoint_status(name, store::EndpointStatus::kFailed, m.message());
    }
  });
}

void Endpoints::restore() {
  auto repaired = store_.repair_after_restart();
  if (!repaired.ok()) return;
  for (const store::Endpoint& e : repaired->to_load) deploy(e.name);
}

std::shared_ptr<ServedModel> Endpoints::model(std::string_view endpoint) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(key(endpoint));
  return it == models_.end() ? nullptr : it->second.model;
}

void Endpoints::remove(std::string_view endpoint) {
  std::lock_guard lock(mu_);
  ++generation_[key(endpoint)];
  auto it = models_.find(key(endpoint));
  if (it == models_.end()) return;
  retire_locked(std::move(it->second));
  models_.erase(it);
}

}  // namespace quarry::api
