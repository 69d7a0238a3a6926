// SageMaker names (AWS's validation wording), ARNs, the default data path.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "store/data_dir.h"
#include "store/names.h"

namespace quarry::store {
namespace {

TEST(ValidateName, AcceptsWhatThePatternAccepts) {
  for (const char* ok : {"a", "Z", "7", "gpt-oss-20b", "a-b", "a--b", "A1b2C3", "x---y-z"}) {
    EXPECT_EQ(validate_name(ok, "endpointName"), std::nullopt) << ok;
  }
  EXPECT_EQ(validate_name(std::string(63, 'a'), "endpointName"), std::nullopt);
  // 63 characters with hyphens inside still pass.
  EXPECT_EQ(validate_name("a" + std::string(61, '-') + "b", "endpointName"), std::nullopt);
}

TEST(ValidateName, RejectsWithAwsWording) {
  EXPECT_EQ(validate_name("bad_name!", "endpointName"),
            "1 validation error detected: Value 'bad_name!' at 'endpointName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
  // The field is the caller's.
  auto msg = validate_name("-x", "modelName");
  ASSERT_TRUE(msg);
  EXPECT_NE(msg->find("Value '-x' at 'modelName' failed"), std::string::npos) << *msg;
  for (const char* bad : {"", "-a", "a-", "a_b", "a.b", "a b", "é", "a/b"}) {
    auto m = validate_name(bad, "endpointName");
    ASSERT_TRUE(m) << bad;
    EXPECT_EQ(m->rfind("1 validation error detected: ", 0), 0u) << *m;
  }
}

TEST(ValidateName, TooManyCharacters) {
  // 64 alphanumerics break the {0,62} repetition and the length limit.
  auto m = validate_name(std::string(64, 'a'), "endpointConfigName");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rfind("2 validation errors detected: ", 0), 0u) << *m;
  EXPECT_NE(m->find("regular expression pattern"), std::string::npos);
  EXPECT_NE(m->find("; Value '"), std::string::npos);
  EXPECT_NE(m->find("Member must have length less than or equal to 63"), std::string::npos);
  // Hyphens do not count in the pattern, only in the length.
  auto h = validate_name("a" + std::string(70, '-') + "b", "endpointName");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("1 validation error detected: ", 0), 0u) << *h;
  EXPECT_NE(h->find("length less than or equal to 63"), std::string::npos);
}

TEST(Arn, Format) {
  EXPECT_EQ(sagemaker_arn("us-east-1", "000000000000", ArnKind::kEndpoint, "My-Endpoint"),
            "arn:aws:sagemaker:us-east-1:000000000000:endpoint/my-endpoint");
  EXPECT_EQ(sagemaker_arn("eu-west-3", "123456789012", ArnKind::kEndpointConfig, "Cfg"),
            "arn:aws:sagemaker:eu-west-3:123456789012:endpoint-config/cfg");
  EXPECT_EQ(sagemaker_arn("us-east-1", "000000000000", ArnKind::kModel, "gpt-oss-20b"),
            "arn:aws:sagemaker:us-east-1:000000000000:model/gpt-oss-20b");
}

// Sets or clears environment variables for one test, restoring them after.
class EnvGuard {
 public:
  explicit EnvGuard(std::initializer_list<const char*> names) {
    for (const char* n : names) {
      const char* v = std::getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
    }
  }
  ~EnvGuard() {
    for (auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(DefaultDataDir, Precedence) {
  EnvGuard guard({"QUARRY_DATA_DIR", "XDG_DATA_HOME", "HOME"});
  ::setenv("QUARRY_DATA_DIR", "/srv/quarry", 1);
  ::setenv("XDG_DATA_HOME", "/xdg", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_data_dir().value(), "/srv/quarry");
  EXPECT_EQ(default_db_path().value(), "/srv/quarry/quarry.db");

  ::setenv("QUARRY_DATA_DIR", "", 1);  // empty counts as unset
  EXPECT_EQ(default_data_dir().value(), "/xdg/quarry");

  ::setenv("XDG_DATA_HOME", "relative/dir", 1);  // ignored, per the XDG spec
  EXPECT_EQ(default_data_dir().value(), "/home/u/.local/share/quarry");

  ::unsetenv("XDG_DATA_HOME");
  EXPECT_EQ(default_db_path().value(), "/home/u/.local/share/quarry/quarry.db");

  ::unsetenv("HOME");
  ::unsetenv("QUARRY_DATA_DIR");
  auto none = default_data_dir();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("QUARRY_DATA_DIR"), std::string::npos);
}

}  // namespace
}  // namespace quarry::store
