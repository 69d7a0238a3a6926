// The SageMaker control plane over JSON 1.1 (shared/spec/apis.md §8):
// POST / with X-Amz-Target: SageMaker.<Operation>. Models, endpoint configs
// and endpoints live in the store; an endpoint is a model loaded into this
// server (Endpoints).
#include <cmath>

#include "api/sagemaker.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

AwsError from_store(const store::StoreError& e) {
  switch (e.code) {
    case store::StoreErrc::kNotFound:
    case store::StoreErrc::kAlreadyExists:
    case store::StoreErrc::kInvalidArgument:
    case store::StoreErrc::kInvalidState:
      return aws_validation(e.message);
    default:
      return AwsError{500, "InternalFailure", e.message};
  }
}

// A required string member, checked like AWS's validation layer does.
std::optional<AwsError> name_member(const Json& body, const char* member, const char* field,
                                    std::string& out) {
  if (!body.contains(member) || !body[member].is_string()) {
    return aws_validation(std::string("1 validation error detected: Value null at '") + field +
                          "' failed to satisfy constraint: Member must not be null");
  }
  out = body[member].get<std::string>();
  if (auto bad = store::validate_name(out, field)) return aws_validation(*bad);
  return std::nullopt;
}

Json time_json(double t) { return Json(std::round(t * 1000.0) / 1000.0); }

std::optional<AwsError> list_query(const Json& body, store::ListQuery& q, bool endpoints) {
  if (body.contains("NameContains") && body["NameContains"].is_string()) {
    q.name_contains = body["NameContains"].get<std::string>();
  }
  if (body.contains("MaxResults")) {
    if (!body["MaxResults"].is_number_integer() || body["MaxResults"].get<int64_t>() < 1 ||
        body["MaxResults"].get<int64_t>() > 100) {
      return aws_validation(
          "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member "
          "must have value between 1 and 100");
    }
    q.max_results = body["MaxResults"].get<int>();
  }
  if (body.contains("NextToken") && body["NextToken"].is_string()) {
    q.next_token = body["NextToken"].get<std::string>();
  }
  const std::string sort_by = body.value("SortBy", "CreationTime");
  if (sort_by == "Name") q.sort_by = store::SortBy::kName;
  if (sort_by == "Status" && endpoints) q.sort_by = store::SortBy::kStatus;
  if (body.value("SortOrder", "Descending") == "Ascending") {
    q.sort_order = store::SortOrder::kAscending;
  }
  for (auto [member, slot] : {std::pair{"CreationTimeBefore", &q.creation_time_before},
                              std::pair{"CreationTimeAfter", &q.creation_time_after}}) {
    if (body.contains(member) && body[member].is_number()) *slot = body[member].get<double>();
  }
  if (endpoints) {
    if (body.contains("StatusEquals") && body["StatusEquals"].is_string()) {
      q.status_equals = store::parse_endpoint_status(body["StatusEquals"].get<std::string>());
    }
    for (auto [member, slot] : {std::pair{"LastModifiedTimeBefore", &q.last_modified_time_before},
                                std::pair{"LastModifiedTimeAfter", &q.last_modified_time_after}}) {
      if (body.contains(member) && body[member].is_number()) *slot = body[member].get<double>();
    }
  }
  return std::nullopt;
}

Json endpoint_json(store::Store& st, const store::Endpoint& e) {
  Json j{{"EndpointName", e.name}, {"EndpointArn", e.arn}, {"EndpointConfigName", e.config_name}};
  Json variants = Json::array();
  if (auto c = st.get_endpoint_config(e.config_name); c.ok()) {
    const Json pv = Json::parse(c->production_variants_json, nullptr, false);
    if (pv.is_array()) {
      for (const Json& v : pv) {
        const int count = v.value("InitialInstanceCount", 1);
        variants.push_back(Json{{"VariantName", v.value("VariantName", "AllTraffic")},
                                {"CurrentWeight", v.value("InitialVariantWeight", 1.0)},
                                {"DesiredWeight", v.value("InitialVariantWeight", 1.0)},
                                {"CurrentInstanceCount", count},
                                {"DesiredInstanceCount", count}});
      }
    }
  }
  j["ProductionVariants"] = std::move(variants);
  j["EndpointStatus"] = std::string(store::to_string(e.status));
  // Failed, or InService after an update that failed and was rolled back.
  if (!e.failure_reason.empty()) j["FailureReason"] = e.failure_reason;
  j["CreationTime"] = time_json(e.created_at);
  j["LastModifiedTime"] = time_json(e.last_modified_at);
  return j;
}

}  // namespace

void handle_sagemaker_control(Service& svc, const http::Request& r, const std::string& request_id,
                              std::shared_ptr<http::Responder> out) {
  auto ok = [&](const Json& body) {
    out->respond(200,
                 {{"Content-Type", "application/x-amz-json-1.1"}, {"x-amzn-RequestId", request_id}},
                 body.dump(-1, ' ', false, Json::error_handler_t::replace));
  };
  auto fail = [&](const AwsError& e) {
    ++svc.metrics().request_errors;
    respond_aws_error(*out, e, request_id, /*json11=*/true);
  };
  Endpoints* eps = svc.endpoints();
  if (eps == nullptr) {
    return fail(AwsError{400, "UnknownOperationException",
                         "This server runs without a control-plane store."});
  }
  store::Store& st = eps->store();
  const std::string target(r.header("x-amz-target").value_or(""));
  if (!target.starts_with("SageMaker.")) {
    return fail(AwsError{400, "UnknownOperationException", "Unknown operation " + target + "."});
  }
  const std::string op = target.substr(10);
  const Json body = Json::parse(r.body.empty() ? std::string("{}") : r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return fail(AwsError{400, "SerializationException", "The request body is not valid JSON."});
  }
  std::string name;
  if (op == "CreateModel") {
    if (auto e = name_member(body, "ModelName", "modelName", name)) return fail(*e);
    store::Model m;
    m.name = name;
    Json container = body.value("PrimaryContainer", Json());
    if (!container.is_object() && body.contains("Containers") && body["Containers"].is_array() &&
        !body["Containers"].empty()) {
      container = body["Containers"][0];
    }
    if (!container.is_object()) container = Json::object();
    m.primary_container_json = container.dump();
    const Json env = container.value("Environment", Json::object());
    m.environment_json = env.dump();
    m.hf_model_id = env.is_object() ? env.value("HF_MODEL_ID", "") : "";
    m.model_data_url = container.value("ModelDataUrl", "");
    m.execution_role_arn = body.value("ExecutionRoleArn", "");
    auto created = st.create_model(m);
    if (!created.ok()) return fail(from_store(created.error()));
    return ok(Json{{"ModelArn", created->arn}});
  }
  if (op == "DescribeModel") {
    if (auto e = name_member(body, "ModelName", "modelName", name)) return fail(*e);
    auto m = st.get_model(name);
    if (!m.ok()) return fail(from_store(m.error()));
    Json j{{"ModelName", m->name},
           {"ModelArn", m->arn},
           {"PrimaryContainer", Json::parse(m->primary_container_json, nullptr, false)},
           {"CreationTime", time_json(m->created_at)}};
    if (!m->execution_role_arn.empty()) j["ExecutionRoleArn"] = m->execution_role_arn;
    return ok(j);
  }
  if (op == "DeleteModel") {
    if (auto e = name_member(body, "ModelName", "modelName", name)) return fail(*e);
    if (auto s = st.delete_model(name); !s.ok()) return fail(from_store(s.error()));
    return ok(Json::object());
  }
  if (op == "ListModels") {
    store::ListQuery q;
    if (auto e = list_query(body, q, false)) return fail(*e);
    auto page = st.list_models(q);
    if (!page.ok()) return fail(from_store(page.error()));
    Json items = Json::array();
    for (const store::Model& m : page->items) {
      items.push_back(Json{
          {"ModelName", m.name}, {"ModelArn", m.arn}, {"CreationTime", time_json(m.created_at)}});
    }
    Json j{{"Models", items}};
    if (!page->next_token.empty()) j["NextToken"] = page->next_token;
    return ok(j);
  }
  if (op == "CreateEndpointConfig") {
    if (auto e = name_member(body, "EndpointConfigName", "endpointConfigName", name))
      return fail(*e);
    const Json pv = body.value("ProductionVariants", Json());
    if (!pv.is_array() || pv.empty()) {
      return fail(aws_validation(
          "1 validation error detected: Value null at 'productionVariants' failed to satisfy "
          "constraint: Member must not be null"));
    }
    if (body.contains("AsyncInferenceConfig")) {
      return fail(aws_validation("Asynchronous inference is not supported by this server."));
    }
    std::vector<std::string> models;
    for (const Json& v : pv) {
      if (!v.is_object() || !v.contains("ModelName") || !v["ModelName"].is_string()) {
        return fail(aws_validation("Each production variant needs a ModelName."));
      }
      models.push_back(v["ModelName"].get<std::string>());
    }
    store::EndpointConfig c;
    c.name = name;
    c.production_variants_json = pv.dump();
    auto created = st.create_endpoint_config(c, models);
    if (!created.ok()) return fail(from_store(created.error()));
    return ok(Json{{"EndpointConfigArn", created->arn}});
  }
  if (op == "DescribeEndpointConfig") {
    if (auto e = name_member(body, "EndpointConfigName", "endpointConfigName", name))
      return fail(*e);
    auto c = st.get_endpoint_config(name);
    if (!c.ok()) return fail(from_store(c.error()));
    return ok(Json{{"EndpointConfigName", c->name},
                   {"EndpointConfigArn", c->arn},
                   {"ProductionVariants", Json::parse(c->production_variants_json, nullptr, false)},
                   {"CreationTime", time_json(c->created_at)}});
  }
  if (op == "DeleteEndpointConfig") {
    if (auto e = name_member(body, "EndpointConfigName", "endpointConfigName", name))
      return fail(*e);
    if (auto s = st.delete_endpoint_config(name); !s.ok()) return fail(from_store(s.error()));
    return ok(Json::object());
  }
  if (op == "CreateEndpoint" || op == "UpdateEndpoint") {
    if (auto e = name_member(body, "EndpointName", "endpointName", name)) return fail(*e);
    std::string config;
    if (auto e = name_member(body, "EndpointConfigName", "endpointConfigName", config)) {
      return fail(*e);
    }
    auto ep = op == "CreateEndpoint" ? st.create_endpoint(name, config)
                                     : st.update_endpoint_config(name, config);
    if (!ep.ok()) return fail(from_store(ep.error()));
    eps->deploy(ep->name);
    return ok(Json{{"EndpointArn", ep->arn}});
  }
  if (op == "DescribeEndpoint") {
    if (auto e = name_member(body, "EndpointName", "endpointName", name)) return fail(*e);
    auto ep = st.get_endpoint(name);
    if (!ep.ok()) return fail(from_store(ep.error()));
    return ok(endpoint_json(st, *ep));
  }
  if (op == "DeleteEndpoint") {
    if (auto e = name_member(body, "EndpointName", "endpointName", name)) return fail(*e);
    if (auto s = st.delete_endpoint(name); !s.ok()) return fail(from_store(s.error()));
    eps->remove(name);
    return ok(Json::object());
  }
  if (op == "ListEndpoints") {
    store::ListQuery q;
    if (auto e = list_query(body, q, true)) return fail(*e);
    auto page = st.list_endpoints(q);
    if (!page.ok()) return fail(from_store(page.error()));
    Json items = Json::array();
    for (const store::Endpoint& e : page->items) {
      items.push_back(Json{{"EndpointName", e.name},
                           {"EndpointArn", e.arn},
                           {"CreationTime", time_json(e.created_at)},
                           {"LastModifiedTime", time_json(e.last_modified_at)},
                           {"EndpointStatus", std::string(store::to_string(e.status))}});
    }
    Json j{{"Endpoints", items}};
    if (!page->next_token.empty()) j["NextToken"] = page->next_token;
    return ok(j);
  }
  fail(AwsError{400, "UnknownOperationException", "Unknown operation " + target + "."});
}

}  // namespace quarry::api
