// Models, endpoint configs and endpoints: CRUD, AWS error wording, ARNs,
// list filters / sorting / pagination, status changes, crash repair.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store.h"
#include "test_util.h"

namespace quarry::store {
namespace {

using testing::FakeClock;

class ResourcesTest : public ::testing::Test {
 protected:
  ResourcesTest() : store_(Store::open_memory(clock_.options()).value()) {}

  Model model(const std::string& name) {
    Model m;
    m.name = name;
    m.primary_container_json = R"({"Environment":{"HF_MODEL_ID":"openai/gpt-oss-20b"}})";
    m.environment_json = R"({"HF_MODEL_ID":"openai/gpt-oss-20b"})";
    m.hf_model_id = "openai/gpt-oss-20b";
    return m;
  }
  void make_config(const std::string& name, const std::string& model_name) {
    ASSERT_TRUE(store_.create_model(model(model_name)).ok());
    EndpointConfig c;
    c.name = name;
    c.production_variants_json = R"([{"VariantName":"v","ModelName":")" + model_name + R"("}])";
    const std::vector<std::string> models{model_name};
    ASSERT_TRUE(store_.create_endpoint_config(c, models).ok());
  }
  std::vector<std::string> names(const Page<Endpoint>& page) {
    std::vector<std::string> out;
    for (const auto& e : page.items) out.push_back(e.name);
    return out;
  }

  FakeClock clock_;
  Store store_;
};

TEST_F(ResourcesTest, ModelCrud) {
  auto created = store_.create_model(model("gpt-oss-20b"));
  ASSERT_TRUE(created.ok()) << created.message();
  EXPECT_EQ(created->arn, "arn:aws:sagemaker:us-east-1:000000000000:model/gpt-oss-20b");
  EXPECT_EQ(created->created_at, 1000.0);

  auto got = store_.get_model("gpt-oss-20b");
  ASSERT_TRUE(got.ok()) << got.message();
  EXPECT_EQ(got->name, "gpt-oss-20b");
  EXPECT_EQ(got->arn, created->arn);
  EXPECT_EQ(got->hf_model_id, "openai/gpt-oss-20b");
  EXPECT_EQ(got->environment_json, R"({"HF_MODEL_ID":"openai/gpt-oss-20b"})");
  EXPECT_EQ(got->model_data_url, "");
  EXPECT_EQ(got->execution_role_arn, "");
  EXPECT_EQ(got->created_at, 1000.0);

  auto again = store_.create_model(model("gpt-oss-20b"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), StoreErrc::kAlreadyExists);
  EXPECT_EQ(again.message(),
            "Cannot create already existing model "
            "\"arn:aws:sagemaker:us-east-1:000000000000:model/gpt-oss-20b\".");

  ASSERT_TRUE(store_.delete_model("gpt-oss-20b").ok());
  auto gone = store_.get_model("gpt-oss-20b");
  EXPECT_EQ(gone.code(), StoreErrc::kNotFound);
  EXPECT_EQ(gone.message(),
            "Could not find model \"arn:aws:sagemaker:us-east-1:000000000000:model/gpt-oss-20b\".");
  auto del = store_.delete_model("gpt-oss-20b");
  EXPECT_EQ(del.code(), StoreErrc::kNotFound);
  EXPECT_EQ(del.message(), gone.message());
}

TEST_F(ResourcesTest, NamesAreValidatedAndCaseInsensitive) {
  auto bad = store_.create_model(model("bad_name!"));
  EXPECT_EQ(bad.code(), StoreErrc::kInvalidArgument);
  EXPECT_EQ(bad.message(),
            "1 validation error detected: Value 'bad_name!' at 'modelName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
  EXPECT_NE(store_.get_endpoint("bad_name!").message().find("at 'endpointName'"),
            std::string::npos);
  EXPECT_NE(store_.delete_endpoint_config("x_").message().find("at 'endpointConfigName'"),
            std::string::npos);

  ASSERT_TRUE(store_.create_model(model("MyModel")).ok());
  EXPECT_EQ(store_.get_model("mymodel")->name, "MyModel");  // keeps the case it was made with
  EXPECT_EQ(store_.get_model("MYMODEL")->arn,
            "arn:aws:sagemaker:us-east-1:000000000000:model/mymodel");
  EXPECT_EQ(store_.create_model(model("mymodel")).code(), StoreErrc::kAlreadyExists);
}

TEST_F(ResourcesTest, RegionAndAccountAreConfigurable) {
  StoreOptions o;
  o.region = "eu-central-1";
  o.account = "123456789012";
  auto s = Store::open_memory(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->region(), "eu-central-1");
  EXPECT_EQ(s->account(), "123456789012");
  EXPECT_EQ(s->create_model(model("M"))->arn,
            "arn:aws:sagemaker:eu-central-1:123456789012:model/m");
  EXPECT_EQ(s->arn(ArnKind::kEndpoint, "E"),
            "arn:aws:sagemaker:eu-central-1:123456789012:endpoint/e");
  EXPECT_EQ(
      s->get_endpoint("nope").message(),
      "Could not find endpoint \"arn:aws:sagemaker:eu-central-1:123456789012:endpoint/nope\".");
}

TEST_F(ResourcesTest, EndpointConfigCrud) {
  EndpointConfig c;
  c.name = "cfg";
  c.production_variants_json = R"([{"VariantName":"v","ModelName":"m"}])";
  const std::vector<std::string> models{"m"};
  auto missing_model = store_.create_endpoint_config(c, models);
  EXPECT_EQ(missing_model.code(), StoreErrc::kNotFound);
  EXPECT_EQ(missing_model.message(),
            "Could not find model \"arn:aws:sagemaker:us-east-1:000000000000:model/m\".");
  EXPECT_EQ(store_.get_endpoint_config("cfg").code(), StoreErrc::kNotFound);  // nothing written

  ASSERT_TRUE(store_.create_model(model("m")).ok());
  auto created = store_.create_endpoint_config(c, models);
  ASSERT_TRUE(created.ok()) << created.message();
  EXPECT_EQ(created->arn, "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/cfg");
  auto got = store_.get_endpoint_config("cfg");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->production_variants_json, c.production_variants_json);
  EXPECT_EQ(got->created_at, created->created_at);

  EXPECT_EQ(store_.create_endpoint_config(c, models).message(),
            "Cannot create already existing endpoint configuration "
            "\"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/cfg\".");

  // Deleting a config (or a model) in use is allowed, as in SageMaker.
  ASSERT_TRUE(store_.create_endpoint("ep", "cfg").ok());
  ASSERT_TRUE(store_.delete_endpoint_config("cfg").ok());
  ASSERT_TRUE(store_.delete_model("m").ok());
  EXPECT_EQ(store_.get_endpoint("ep")->config_name, "cfg");
  EXPECT_EQ(store_.delete_endpoint_config("cfg").message(),
            "Could not find endpoint configuration "
            "\"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/cfg\".");
}

TEST_F(ResourcesTest, EndpointLifecycle) {
  auto no_config = store_.create_endpoint("ep", "cfg");
  EXPECT_EQ(no_config.code(), StoreErrc::kNotFound);
  EXPECT_EQ(no_config.message(),
            "Could not find endpoint configuration "
            "\"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/cfg\".");
  make_config("cfg", "m");

  auto e = store_.create_endpoint("ep", "cfg");
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_EQ(e->arn, "arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep");
  EXPECT_EQ(e->status, EndpointStatus::kCreating);
  EXPECT_EQ(e->created_at, e->last_modified_at);
  EXPECT_EQ(store_.create_endpoint("EP", "cfg").message(),
            "Cannot create already existing endpoint "
            "\"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep\".");

  auto in_service = store_.set_endpoint_status("ep", EndpointStatus::kInService);
  ASSERT_TRUE(in_service.ok());
  EXPECT_EQ(in_service->status, EndpointStatus::kInService);
  EXPECT_GT(in_service->last_modified_at, e->last_modified_at);
  EXPECT_EQ(in_service->created_at, e->created_at);

  auto failed = store_.set_endpoint_status("ep", EndpointStatus::kFailed, "out of memory");
  EXPECT_EQ(failed->failure_reason, "out of memory");
  EXPECT_EQ(store_.get_endpoint("ep")->failure_reason, "out of memory");
  EXPECT_EQ(store_.set_endpoint_status("ep", EndpointStatus::kFailed)->failure_reason,
            "Unknown failure.");
  // The reason belongs to Failed only.
  EXPECT_EQ(store_.set_endpoint_status("ep", EndpointStatus::kInService, "x")->failure_reason, "");
  EXPECT_EQ(store_.set_endpoint_status("nope", EndpointStatus::kInService).code(),
            StoreErrc::kNotFound);

  ASSERT_TRUE(store_.delete_endpoint("ep").ok());
  auto gone = store_.get_endpoint("ep");
  EXPECT_EQ(gone.code(), StoreErrc::kNotFound);
  EXPECT_EQ(gone.message(),
            "Could not find endpoint \"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep\".");
  EXPECT_EQ(store_.delete_endpoint("ep").message(), gone.message());
}

TEST_F(ResourcesTest, UpdateEndpointConfig) {
  make_config("cfg-a", "m-a");
  make_config("cfg-b", "m-b");
  ASSERT_TRUE(store_.create_endpoint("ep", "cfg-a").ok());

  auto busy = store_.update_endpoint_config("ep", "cfg-b");
  EXPECT_EQ(busy.code(), StoreErrc::kInvalidState);
  EXPECT_EQ(busy.message(),
            "Cannot update in-progress endpoint "
            "\"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep\".");

  ASSERT_TRUE(store_.set_endpoint_status("ep", EndpointStatus::kInService).ok());
  EXPECT_EQ(store_.update_endpoint_config("ep", "nope").code(), StoreErrc::kNotFound);
  EXPECT_EQ(store_.update_endpoint_config("nope", "cfg-b").code(), StoreErrc::kNotFound);
  EXPECT_EQ(store_.get_endpoint("ep")->config_name, "cfg-a");

  auto updated = store_.update_endpoint_config("ep", "cfg-b");
  ASSERT_TRUE(updated.ok()) << updated.message();
  EXPECT_EQ(updated->config_name, "cfg-b");
  EXPECT_EQ(updated->status, EndpointStatus::kUpdating);

  // A failed endpoint can be pointed at a working config.
  ASSERT_TRUE(store_.set_endpoint_status("ep", EndpointStatus::kFailed, "boom").ok());
  auto retried = store_.update_endpoint_config("ep", "cfg-a");
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->failure_reason, "");

  // An update that failed while the old config served: back to it, InService,
  // the failure kept; a restart reloads it without the stale reason.
  auto back = store_.roll_back_endpoint("ep", "cfg-b", "cfg-a failed");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->config_name, "cfg-b");
  EXPECT_EQ(back->status, EndpointStatus::kInService);
  EXPECT_EQ(back->failure_reason, "cfg-a failed");
  EXPECT_EQ(store_.roll_back_endpoint("nope", "cfg-b", "x").code(), StoreErrc::kNotFound);
  ASSERT_TRUE(store_.repair_after_restart().ok());
  EXPECT_EQ(store_.get_endpoint("ep")->status, EndpointStatus::kCreating);
  EXPECT_EQ(store_.get_endpoint("ep")->failure_reason, "");
}

TEST_F(ResourcesTest, ListEndpointsFiltersSortsAndPages) {
  make_config("cfg", "m");
  for (const char* n : {"alpha", "Bravo", "charlie-prod", "delta-prod", "echo"}) {
    ASSERT_TRUE(store_.create_endpoint(n, "cfg").ok());
  }
  ASSERT_TRUE(store_.set_endpoint_status("alpha", EndpointStatus::kInService).ok());
  ASSERT_TRUE(store_.set_endpoint_status("echo", EndpointStatus::kFailed, "x").ok());

  // Defaults: CreationTime, descending.
  auto all = store_.list_endpoints();
  ASSERT_TRUE(all.ok()) << all.message();
  EXPECT_EQ(names(*all),
            (std::vector<std::string>{"echo", "delta-prod", "charlie-prod", "Bravo", "alpha"}));
  EXPECT_EQ(all->next_token, "");

  ListQuery q;
  q.sort_by = SortBy::kName;
  q.sort_order = SortOrder::kAscending;
  EXPECT_EQ(names(*store_.list_endpoints(q)),  // case-insensitive order
            (std::vector<std::string>{"alpha", "Bravo", "charlie-prod", "delta-prod", "echo"}));

  q.name_contains = "PROD";
  EXPECT_EQ(names(*store_.list_endpoints(q)),
            (std::vector<std::string>{"charlie-prod", "delta-prod"}));

  ListQuery by_status;
  by_status.status_equals = EndpointStatus::kCreating;
  by_status.sort_by = SortBy::kName;
  by_status.sort_order = SortOrder::kDescending;
  EXPECT_EQ(names(*store_.list_endpoints(by_status)),
            (std::vector<std::string>{"delta-prod", "charlie-prod", "Bravo"}));

  ListQuery status_sort;
  status_sort.sort_by = SortBy::kStatus;
  status_sort.sort_order = SortOrder::kAscending;
  EXPECT_EQ(names(*store_.list_endpoints(status_sort)),
            (std::vector<std::string>{"Bravo", "charlie-prod", "delta-prod", "echo", "alpha"}));

  // Times: the fake clock gave alpha..echo created_at 1002, 1003, ... (two
  // readings went to the model and config).
  ListQuery window;
  window.creation_time_after = all->items[4].created_at;   // after alpha
  window.creation_time_before = all->items[0].created_at;  // before echo
  EXPECT_EQ(names(*store_.list_endpoints(window)),
            (std::vector<std::string>{"delta-prod", "charlie-prod", "Bravo"}));
  ListQuery modified;
  modified.last_modified_time_after = all->items[1].created_at;
  EXPECT_EQ(names(*store_.list_endpoints(modified)), (std::vector<std::string>{"echo", "alpha"}));

  // Pages of two, following next_token to the end.
  ListQuery page;
  page.max_results = 2;
  page.sort_by = SortBy::kName;
  page.sort_order = SortOrder::kAscending;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    auto p = store_.list_endpoints(page);
    ASSERT_TRUE(p.ok()) << p.message();
    for (const auto& e : p->items) seen.push_back(e.name);
    page.next_token = p->next_token;
    ++pages;
  } while (!page.next_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  page.max_results = 100;
  EXPECT_EQ(seen, names(*store_.list_endpoints(page)));
}

TEST_F(ResourcesTest, ListRejectsBadQueries) {
  ListQuery q;
  q.max_results = 0;
  EXPECT_EQ(store_.list_endpoints(q).message(),
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
  q.max_results = 101;
  EXPECT_EQ(store_.list_endpoints(q).code(), StoreErrc::kInvalidArgument);
  q = ListQuery{};
  q.next_token = "abc";
  EXPECT_EQ(store_.list_endpoints(q).code(), StoreErrc::kInvalidArgument);
  q.next_token = "-1";
  EXPECT_EQ(store_.list_endpoints(q).code(), StoreErrc::kInvalidArgument);
  q = ListQuery{};
  q.sort_by = SortBy::kStatus;
  EXPECT_NE(store_.list_models(q).message().find("[Name, CreationTime]"), std::string::npos);
  q = ListQuery{};
  q.status_equals = EndpointStatus::kFailed;
  EXPECT_EQ(store_.list_endpoint_configs(q).code(), StoreErrc::kInvalidArgument);
  // A token past the end is an empty last page, not an error.
  q = ListQuery{};
  q.next_token = "50";
  auto past = store_.list_endpoints(q);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->items.empty());
  EXPECT_EQ(past->next_token, "");
}

TEST_F(ResourcesTest, ListModelsAndConfigs) {
  for (const char* n : {"m-1", "m-2", "other"}) ASSERT_TRUE(store_.create_model(model(n)).ok());
  ListQuery q;
  q.name_contains = "m-";
  q.sort_order = SortOrder::kAscending;
  auto models = store_.list_models(q);
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->items.size(), 2u);
  EXPECT_EQ(models->items[0].name, "m-1");
  EXPECT_EQ(models->items[1].hf_model_id, "openai/gpt-oss-20b");

  EndpointConfig c;
  c.name = "c";
  ASSERT_TRUE(store_.create_endpoint_config(c).ok());
  auto configs = store_.list_endpoint_configs();
  ASSERT_TRUE(configs.ok());
  ASSERT_EQ(configs->items.size(), 1u);
  EXPECT_EQ(configs->items[0].production_variants_json, "[]");
}

TEST_F(ResourcesTest, RepairAfterRestart) {
  make_config("cfg", "m");
  for (const char* n : {"creating", "updating", "in-service", "failed", "deleting"}) {
    ASSERT_TRUE(store_.create_endpoint(n, "cfg").ok());
  }
  ASSERT_TRUE(store_.set_endpoint_status("updating", EndpointStatus::kUpdating).ok());
  ASSERT_TRUE(store_.set_endpoint_status("in-service", EndpointStatus::kInService).ok());
  ASSERT_TRUE(store_.set_endpoint_status("failed", EndpointStatus::kFailed, "bad").ok());
  ASSERT_TRUE(store_.set_endpoint_status("deleting", EndpointStatus::kDeleting).ok());

  auto r = store_.repair_after_restart();
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->deleted, std::vector<std::string>{"deleting"});
  std::vector<std::string> to_load;
  for (const auto& e : r->to_load) to_load.push_back(e.name);
  EXPECT_EQ(to_load, (std::vector<std::string>{"creating", "updating", "in-service"}));
  EXPECT_EQ(r->to_load[1].status, EndpointStatus::kUpdating);
  EXPECT_EQ(r->to_load[2].status, EndpointStatus::kCreating);  // reset: nothing is loaded yet

  EXPECT_EQ(store_.get_endpoint("deleting").code(), StoreErrc::kNotFound);
  EXPECT_EQ(store_.get_endpoint("failed")->status, EndpointStatus::kFailed);
  EXPECT_EQ(store_.get_endpoint("in-service")->status, EndpointStatus::kCreating);

  // Once the caller has settled every endpoint, a second run finds nothing.
  for (const auto& e : r->to_load) {
    ASSERT_TRUE(store_.set_endpoint_status(e.name, EndpointStatus::kInService).ok());
  }
  ASSERT_TRUE(store_.set_endpoint_status("failed", EndpointStatus::kFailed, "bad").ok());
  auto again = store_.repair_after_restart();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->deleted.empty());
  EXPECT_EQ(again->to_load.size(), 3u);  // InService ones always need loading after a restart
}

TEST(EndpointStatusText, RoundTrips) {
  for (auto s : {EndpointStatus::kCreating, EndpointStatus::kInService, EndpointStatus::kUpdating,
                 EndpointStatus::kFailed, EndpointStatus::kDeleting}) {
    EXPECT_EQ(parse_endpoint_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(EndpointStatus::kInService), "InService");
  EXPECT_EQ(parse_endpoint_status("inservice"), std::nullopt);
}

}  // namespace
}  // namespace quarry::store
