#include "api/endpoints.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace quarry::api {

Endpoints::Endpoints(store::Store& store, Loader loader, FindServed find_served)
    : store_(store), loader_(std::move(loader)), find_served_(std::move(find_served)) {}

Endpoints::~Endpoints() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

std::string Endpoints::key(std::string_view name) {
  std::string k(name);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  return k;
}

Result<std::shared_ptr<ServedModel>> Endpoints::resolve(const std::string& endpoint) {
  auto ep = store_.get_endpoint(endpoint);
  if (!ep.ok()) return make_error(ep.message());
  auto config = store_.get_endpoint_config(ep->config_name);
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
    if (auto served = find_served_(source)) return served;
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
  return loader_(source);
}

void Endpoints::deploy(const std::string& name) {
  std::lock_guard lock(mu_);
  const uint64_t gen = ++generation_[key(name)];
  threads_.emplace_back([this, name, gen] {
    Result<std::shared_ptr<ServedModel>> m = resolve(name);
    std::lock_guard inner(mu_);
    if (generation_[key(name)] != gen) return;  // deleted or redeployed meanwhile
    if (!store_.get_endpoint(name).ok()) return;
    if (m.ok()) {
      models_[key(name)] = m.value();
      (void)store_.set_endpoint_status(name, store::EndpointStatus::kInService);
    } else {
      models_.erase(key(name));
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
  return it == models_.end() ? nullptr : it->second;
}

void Endpoints::remove(std::string_view endpoint) {
  std::lock_guard lock(mu_);
  ++generation_[key(endpoint)];
  models_.erase(key(endpoint));
}

}  // namespace quarry::api
