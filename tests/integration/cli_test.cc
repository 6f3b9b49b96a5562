// The `cattle` CLI driving a real cluster directory: up (twice), apply (created, unchanged,
// configured), get in every output, kill/start with data kept, clear errors, down.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testutil/process.h"

namespace cattle {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testutil::FreePort();
    cattle_ = testutil::BinDir() + "/cattle";
    flags_ = " --dir " + dir_.path() + "/c";
  }
  void TearDown() override { testutil::Run(cattle_ + " down" + flags_); }
  int Cattle(const std::string& args, std::string* out = nullptr) {
    std::string o;
    int rc = testutil::Run("cd " + dir_.path() + " && " + cattle_ + " " + args + flags_, &o);
    if (out) *out = o;
    return rc;
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  testutil::TempDir dir_;
  int port_ = 0;
  std::string cattle_, flags_;
};

constexpr char kWebApp[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web-app}
spec:
  replicas: 3
  selector: {matchLabels: {app: web-app}}
  template:
    metadata: {labels: {app: web-app}}
    spec:
      containers:
      - name: web-app
        image: nginx
)";

TEST_F(CliTest, UpApplyGetKillStartDown) {
  std::string out;
  ASSERT_EQ(Cattle("up --nodes 0 --port " + std::to_string(port_), &out), 0) << out;
  EXPECT_NE(out.find("apiserver"), std::string::npos);
  ASSERT_EQ(Cattle("up --nodes 0 --port " + std::to_string(port_), &out), 0) << out;
  EXPECT_NE(out.find("already running"), std::string::npos) << out;

  std::string file = Write("web-app.yaml", kWebApp);
  ASSERT_EQ(Cattle("apply -f " + file, &out), 0) << out;
  EXPECT_NE(out.find("deployment.apps/web-app created"), std::string::npos) << out;
  ASSERT_EQ(Cattle("apply -f " + file, &out), 0) << out;
  EXPECT_NE(out.find("deployment.apps/web-app unchanged"), std::string::npos) << out;
  std::string edited = kWebApp;
  edited.replace(edited.find("replicas: 3"), 11, "replicas: 5");
  Write("web-app.yaml", edited);
  ASSERT_EQ(Cattle("apply -f " + file, &out), 0) << out;
  EXPECT_NE(out.find("deployment.apps/web-app configured"), std::string::npos) << out;

  ASSERT_EQ(Cattle("get deploy", &out), 0) << out;
  EXPECT_NE(out.find("NAME"), std::string::npos);
  EXPECT_NE(out.find("web-app"), std::string::npos);
  ASSERT_EQ(Cattle("get deployment web-app -o json", &out), 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["spec"]["replicas"], 5);
  EXPECT_EQ(j["metadata"]["generation"], 2);
  EXPECT_EQ(j["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  std::string uid = j["metadata"]["uid"];
  ASSERT_EQ(Cattle("get deploy web-app -o yaml", &out), 0) << out;
  EXPECT_NE(out.find("replicas: 5"), std::string::npos) << out;
  ASSERT_EQ(Cattle("get ns -o name", &out), 0) << out;
  EXPECT_NE(out.find("namespace/kube-system"), std::string::npos) << out;

  // A crash, then a restart with the same flags and data.
  ASSERT_EQ(Cattle("kill apiserver", &out), 0) << out;
  EXPECT_EQ(Cattle("status", &out), 3) << out;
  EXPECT_NE(Cattle("get deploy", &out), 0);
  EXPECT_NE(out.find("Unavailable"), std::string::npos) << out;
  ASSERT_EQ(Cattle("start apiserver", &out), 0) << out;
  ASSERT_EQ(Cattle("status", &out), 0) << out;
  ASSERT_EQ(Cattle("get deploy web-app -o json", &out), 0) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["metadata"]["uid"], uid);

  ASSERT_EQ(Cattle("delete deploy web-app", &out), 0) << out;
  EXPECT_NE(out.find("deployment.apps \"web-app\" deleted"), std::string::npos) << out;
  EXPECT_EQ(Cattle("get deploy web-app", &out), 1);
  EXPECT_NE(out.find("NotFound"), std::string::npos) << out;
  ASSERT_EQ(Cattle("down", &out), 0) << out;
  EXPECT_NE(Cattle("status", &out), 0);
}

TEST_F(CliTest, BadInputGetsClearErrors) {
  std::string out;
  ASSERT_EQ(Cattle("up --nodes 0 --port " + std::to_string(port_), &out), 0) << out;
  std::string bad = Write("bad.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: -1
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Frobnicator
metadata: {name: x}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: typo}
datta: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: good}
data: {a: b}
)");
  EXPECT_EQ(Cattle("apply -f " + bad, &out), 1);
  EXPECT_NE(out.find("Deployment.apps \"bad\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"), std::string::npos) << out;
  EXPECT_NE(out.find("document 2: no matches for kind \"Frobnicator\" in version \"v1\""), std::string::npos) << out;
  EXPECT_NE(out.find("document 3: strict decoding error: unknown field \"datta\""), std::string::npos) << out;
  EXPECT_NE(out.find("configmap/good created"), std::string::npos) << out;
  std::string broken = Write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n");
  EXPECT_EQ(Cattle("apply -f " + broken, &out), 1);
  EXPECT_NE(out.find("yaml: line"), std::string::npos) << out;
  EXPECT_NE(Cattle("get frobs", &out), 0);
  EXPECT_NE(out.find("doesn't have a resource type \"frobs\""), std::string::npos) << out;
  EXPECT_EQ(Cattle("get cm -o bogus", &out), 2);
  EXPECT_EQ(Cattle("get cm good -o json", &out), 0) << out;
  EXPECT_EQ(Cattle("frobnicate", &out), 2);
}

}  // namespace
}  // namespace cattle
