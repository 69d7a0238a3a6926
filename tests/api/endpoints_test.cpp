// Endpoints keeps every model it loads alive until that model's engine has
// stopped, so that a request in flight (whose engine callback holds the
// model) never drops the last reference on the engine's own thread: on
// DeleteEndpoint, on a redeploy, and at shutdown. Real store (in memory),
// real engine over a fake step model that can be held inside a step.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "api/endpoints.h"
#include "engine/engine.h"
#include "store/store.h"

namespace quarry::api {
namespace {

using namespace std::chrono_literals;

// What the test observes of one loaded model.
struct Probe {
  std::mutex mu;
  std::condition_variable cv;
  bool gate_open = true;
  bool in_step = false;
  std::thread::id engine_thread;
  std::atomic<bool> freed{false};
  std::thread::id freed_on;

  void set_gate(bool open) {
    std::lock_guard lock(mu);
    gate_open = open;
    cv.notify_all();
  }
  void wait_in_step() {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return in_step; }));
  }
};

class GatedModel : public engine::StepModel {
 public:
  explicit GatedModel(Probe& p) : p_(p) {}
  size_t n_vocab() const override { return 8; }
  size_t max_positions() const override { return 64; }
  size_t kv_blocks() const override { return 16; }
  size_t block_size() const override { return 16; }
  Status forward(const model::ForwardBatch& batch) override {
    std::unique_lock lock(p_.mu);
    p_.engine_thread = std::this_thread::get_id();
    p_.in_step = true;
    p_.cv.notify_all();
    p_.cv.wait(lock, [&] { return p_.gate_open; });
    std::fill(batch.logits, batch.logits + batch.logit_rows.size() * n_vocab(), 0.0f);
    return Status();
  }

 private:
  Probe& p_;
};

struct Owner {
  Probe* probe = nullptr;
  std::unique_ptr<engine::Engine> engine;
  ~Owner() {
    engine.reset();
    probe->freed_on = std::this_thread::get_id();
    probe->freed = true;
  }
};

std::shared_ptr<ServedModel> make_served(Probe& p) {
  auto owner = std::make_shared<Owner>();
  owner->probe = &p;
  owner->engine = std::make_unique<engine::Engine>(std::make_unique<GatedModel>(p));
  auto served = std::make_shared<ServedModel>();
  served->engine = owner->engine.get();
  served->owner = owner;
  return served;
}

template <class Pred>
bool eventually(Pred pred) {
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(1ms)) {
    if (pred()) return true;
  }
  return pred();
}

class EndpointsLifetime : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::open_memory();
    ASSERT_TRUE(s.ok()) << s.message();
    st_.emplace(std::move(s.value()));
    ASSERT_NO_FATAL_FAILURE(
        add_config("c", "m", "file://" + std::filesystem::temp_directory_path().string()));
    ASSERT_TRUE(st_->create_endpoint("ep", "c").ok());
    // "c2" names a model whose path does not exist: its loads fail.
    ASSERT_NO_FATAL_FAILURE(add_config("c2", "bad", "file:///nonexistent/model"));
    eps_ = std::make_unique<Endpoints>(
        *st_,
        [this](const std::string&) -> Result<std::shared_ptr<ServedModel>> {
          return make_served(probes_[loads_++]);
        },
        [](std::string_view) { return std::shared_ptr<ServedModel>(); });
  }
  // A model loaded from `url` and an endpoint config `config` serving it.
  void add_config(const std::string& config, const std::string& model, const std::string& url) {
    store::Model m;
    m.name = model;
    m.model_data_url = url;
    ASSERT_TRUE(st_->create_model(m).ok());
    store::EndpointConfig c;
    c.name = config;
    c.production_variants_json = R"([{"VariantName":"AllTraffic","ModelName":")" + model + R"("}])";
    const std::string names[] = {model};
    ASSERT_TRUE(st_->create_endpoint_config(c, names).ok());
  }
  void TearDown() override {
    eps_.reset();
    for (size_t i = 0; i < loads_; ++i) EXPECT_TRUE(probes_[i].freed) << i;
  }

  // Deploys "ep" and starts a request that is held inside its first step;
  // the request's callback keeps the model, as a generation does.
  std::shared_ptr<ServedModel> deploy_and_start(Probe& p, std::atomic<int>& finish) {
    eps_->deploy("ep");
    EXPECT_TRUE(eventually([&] { return eps_->model("ep") != nullptr; }));
    std::shared_ptr<ServedModel> served = eps_->model("ep");
    p.set_gate(false);
    engine::Request req;
    req.prompt = {1, 2, 3};
    req.max_tokens = 40;
    req.sampling.temperature = 0;
    auto sub = served->engine->submit(std::move(req), [keep = served, &finish](engine::Update&& u) {
      if (u.finished) finish = static_cast<int>(u.finish);
    });
    EXPECT_EQ(sub.code, engine::SubmitCode::kOk);
    p.wait_in_step();
    return served;
  }

  std::optional<store::Store> st_;
  Probe probes_[2];
  std::atomic<size_t> loads_{0};
  std::unique_ptr<Endpoints> eps_;
};

TEST_F(EndpointsLifetime, RemoveLetsTheRequestFinishThenFreesTheModelOffItsThread) {
  std::atomic<int> finish{-1};
  std::weak_ptr<ServedModel> weak = deploy_and_start(probes_[0], finish);
  eps_->remove("ep");
  EXPECT_EQ(eps_->model("ep"), nullptr);
  probes_[0].set_gate(true);
  ASSERT_TRUE(eventually([&] { return probes_[0].freed.load(); }));
  EXPECT_EQ(finish, static_cast<int>(engine::FinishReason::kLength));  // drained, not cut
  EXPECT_NE(probes_[0].freed_on, probes_[0].engine_thread);
  EXPECT_TRUE(weak.expired());
}

TEST_F(EndpointsLifetime, RedeployRetiresTheOldModelOffItsThread) {
  std::atomic<int> finish{-1};
  std::shared_ptr<ServedModel> first = deploy_and_start(probes_[0], finish);
  eps_->deploy("ep");
  ASSERT_TRUE(eventually([&] { return eps_->model("ep") && eps_->model("ep") != first; }));
  first.reset();
  probes_[0].set_gate(true);
  ASSERT_TRUE(eventually([&] { return probes_[0].freed.load(); }));
  EXPECT_EQ(finish, static_cast<int>(engine::FinishReason::kLength));
  EXPECT_NE(probes_[0].freed_on, probes_[0].engine_thread);
  EXPECT_FALSE(probes_[1].freed);  // the new one serves
}

TEST_F(EndpointsLifetime, ShutdownCancelsWhatIsInFlightAndFreesOffTheEngineThread) {
  std::atomic<int> finish{-1};
  deploy_and_start(probes_[0], finish).reset();
  std::thread opener([&] {
    std::this_thread::sleep_for(50ms);
    probes_[0].set_gate(true);
  });
  eps_->shutdown();
  opener.join();
  EXPECT_TRUE(probes_[0].freed);
  EXPECT_EQ(finish, static_cast<int>(engine::FinishReason::kCancelled));
  EXPECT_NE(probes_[0].freed_on, probes_[0].engine_thread);
  EXPECT_EQ(eps_->model("ep"), nullptr);
}

// UpdateEndpoint is blue/green, as SageMaker's: a new config whose model
// cannot load leaves the endpoint InService on the model and config that
// served before, with the failure as its reason; an endpoint that had no
// model (Failed) stays Failed.
TEST_F(EndpointsLifetime, AFailedUpdateRollsBackToTheModelThatServed) {
  eps_->deploy("ep");
  ASSERT_TRUE(eventually([&] { return eps_->model("ep") != nullptr; }));
  const std::shared_ptr<ServedModel> before = eps_->model("ep");
  ASSERT_TRUE(st_->update_endpoint_config("ep", "c2").ok());
  EXPECT_EQ(eps_->model("ep"), before);  // serves while Updating
  eps_->deploy("ep");
  ASSERT_TRUE(eventually(
      [&] { return st_->get_endpoint("ep")->status != store::EndpointStatus::kUpdating; }));
  const auto ep = st_->get_endpoint("ep");
  EXPECT_EQ(ep->status, store::EndpointStatus::kInService);
  EXPECT_EQ(ep->config_name, "c");
  EXPECT_NE(ep->failure_reason.find("Updating to endpoint configuration \"c2\" failed: "),
            std::string::npos)
      << ep->failure_reason;
  EXPECT_NE(ep->failure_reason.find("/nonexistent/model"), std::string::npos);
  EXPECT_NE(ep->failure_reason.find("rolled back to \"c\""), std::string::npos);
  EXPECT_EQ(eps_->model("ep"), before);
  EXPECT_EQ(loads_, 1u);

  // No model to fall back on: Failed.
  ASSERT_TRUE(st_->create_endpoint("ep2", "c2").ok());
  eps_->deploy("ep2");
  ASSERT_TRUE(eventually(
      [&] { return st_->get_endpoint("ep2")->status == store::EndpointStatus::kFailed; }));
  ASSERT_TRUE(st_->update_endpoint_config("ep2", "c2").ok());
  eps_->deploy("ep2");
  ASSERT_TRUE(eventually(
      [&] { return st_->get_endpoint("ep2")->status != store::EndpointStatus::kUpdating; }));
  EXPECT_EQ(st_->get_endpoint("ep2")->status, store::EndpointStatus::kFailed);
  EXPECT_EQ(eps_->model("ep2"), nullptr);
}

// A long-running server that deploys and deletes endpoints keeps no handle
// of a load or retirement thread that has finished.
TEST_F(EndpointsLifetime, FinishedThreadsAreJoined) {
  ASSERT_TRUE(st_->create_endpoint("ep2", "c2").ok());
  for (int i = 0; i < 20; ++i) {
    if (i > 0) {
      ASSERT_TRUE(st_->update_endpoint_config("ep2", "c2").ok());
    }
    eps_->deploy("ep2");
    ASSERT_TRUE(eventually(
        [&] { return st_->get_endpoint("ep2")->status == store::EndpointStatus::kFailed; }));
  }
  EXPECT_LE(eps_->threads_held(), 2u);
}

}  // namespace
}  // namespace quarry::api
