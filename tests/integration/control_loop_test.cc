// The control loop with real processes: apiserver, scheduler, controller-manager and three
// kubelets started by `cattle up`, at time scale 20 (grace 2.5 s, toleration 15 s).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "apps.capnp.h"
#include "cattle/client.h"
#include "core.capnp.h"
#include "testutil/process.h"

namespace cattle {
namespace {

using testutil::Eventually;

constexpr double kTimeScale = 20;

class ControlLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* bin : {"cattle-scheduler", "cattle-controller-manager", "cattle-kubelet"}) {
      if (access((testutil::BinDir() + "/" + bin).c_str(), X_OK) != 0)
        GTEST_SKIP() << bin << " is not built";
    }
    port_ = testutil::FreePort();
    flags_ = " --dir " + dir_.path() + "/c";
    std::string out;
    ASSERT_EQ(Cattle("up --nodes 3 --time-scale " + std::to_string(kTimeScale) + " --port " + std::to_string(port_), &out), 0) << out;
    ClientOptions o;
    o.endpoint = "tcp://127.0.0.1:" + std::to_string(port_);
    o.request_timeout = std::chrono::seconds(3);
    client_ = std::make_unique<Client>(o);
  }
  void TearDown() override {
    client_.reset();
    testutil::Run(testutil::BinDir() + "/cattle down" + flags_);
  }
  int Cattle(const std::string& args, std::string* out = nullptr) {
    return testutil::Run(testutil::BinDir() + "/cattle " + args + flags_, out);
  }

  std::vector<Object> Pods(const std::string& selector = "app=web") {
    ListOptions lo;
    lo.label_selector = selector;
    auto l = client_->List(client_->Kind("pods"), "default", lo);
    return l.ok() ? std::move(l->items) : std::vector<Object>{};
  }
  static bool Running(const Object& p) {
    auto pod = p.get<api::Pod>();
    if (p.meta().hasDeletionTimestamp()) return false;
    if (std::string(pod.getStatus().getPhase().cStr()) != "Running") return false;
    for (auto c : pod.getStatus().getConditions())
      if (c.getType() == "Ready") return c.getStatus() == "True";
    return false;
  }
  static std::string Node(const Object& p) { return p.get<api::Pod>().getSpec().getNodeName().cStr(); }
  std::string ReadyStatus(const std::string& node) {
    auto n = client_->Get(client_->Kind("nodes"), "", node);
    if (!n.ok()) return "?";
    for (auto c : n->get<api::Node>().getStatus().getConditions())
      if (c.getType() == "Ready") return c.getStatus().cStr();
    return "?";
  }
  bool HasTaint(const std::string& node, const std::string& key) {
    auto n = client_->Get(client_->Kind("nodes"), "", node);
    if (!n.ok()) return false;
    for (auto t : n->get<api::Node>().getSpec().getTaints())
      if (t.getKey() == key && t.getEffect() == "NoExecute") return true;
    return false;
  }
  void ApplyDeployment(int replicas, const std::string& image = "nginx:1.26") {
    auto obj = Object::FromJson(client_->kinds(), Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
      "metadata":{"name":"web","namespace":"default"},
      "spec":{"replicas":)" + std::to_string(replicas) + R"(,"selector":{"matchLabels":{"app":"web"}},
        "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":")" + image + R"("}]}}}})"));
    ASSERT_TRUE(obj.ok());
    auto r = client_->Create(*obj);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  testutil::TempDir dir_;
  int port_ = 0;
  std::string flags_;
  std::unique_ptr<Client> client_;
};

TEST_F(ControlLoopTest, KillingAKubeletEvictsItsPodsAndTheyComeBackElsewhere) {
  for (const char* n : {"node-1", "node-2", "node-3"}) ASSERT_EQ(ReadyStatus(n), "True") << n;
  ApplyDeployment(6);
  ASSERT_TRUE(Eventually([&] {
    auto pods = Pods();
    int running = 0;
    for (auto& p : pods) running += Running(p);
    return running == 6 && pods.size() == 6;
  }, std::chrono::seconds(30))) << "6 Running pods";
  std::map<std::string, int> per_node;
  std::map<std::string, std::tuple<std::string, std::string>> before;  // name -> uid, ip
  for (auto& p : Pods()) {
    per_node[Node(p)]++;
    before[p.name()] = {p.uid(), p.get<api::Pod>().getStatus().getPodIP().cStr()};
  }
  EXPECT_EQ(per_node.size(), 3u) << "pods spread over the three nodes";
  std::set<std::string> on_node2;
  for (auto& p : Pods())
    if (Node(p) == "node-2") on_node2.insert(p.name());
  ASSERT_FALSE(on_node2.empty());

  std::string out;
  ASSERT_EQ(Cattle("kill kubelet/node-2", &out), 0) << out;
  // Unknown and tainted after the (scaled) grace period of 50 s.
  ASSERT_TRUE(Eventually([&] { return ReadyStatus("node-2") == "Unknown" && HasTaint("node-2", "node.kubernetes.io/unreachable"); },
                         std::chrono::seconds(20)));
  // After the (scaled) 300 s toleration: node-2's pods are Terminating, and 6 Running pods
  // exist on node-1 and node-3 with new names, UIDs and IPs.
  ASSERT_TRUE(Eventually([&] {
    auto pods = Pods();
    int running = 0;
    for (auto& p : pods) {
      if (on_node2.count(p.name()) && !p.meta().hasDeletionTimestamp()) return false;
      if (Running(p) && Node(p) != "node-2") running++;
    }
    return running == 6;
  }, std::chrono::seconds(60))) << "replacements Running elsewhere";
  for (auto& p : Pods()) {
    if (on_node2.count(p.name())) {
      EXPECT_TRUE(p.meta().hasDeletionTimestamp()) << p.name() << " stays Terminating: no kubelet confirms";
      continue;
    }
    if (before.count(p.name())) continue;
    std::string ip = p.get<api::Pod>().getStatus().getPodIP().cStr();
    for (auto& [name, old] : before) {
      EXPECT_NE(std::get<0>(old), p.uid());
      if (on_node2.count(name)) EXPECT_NE(std::get<1>(old), ip) << "replacement " << p.name() << " reuses an IP";
    }
  }

  // The kubelet returns: Ready, untainted; the Terminating pods finish and disappear.
  ASSERT_EQ(Cattle("start kubelet/node-2", &out), 0) << out;
  ASSERT_TRUE(Eventually([&] { return ReadyStatus("node-2") == "True" && !HasTaint("node-2", "node.kubernetes.io/unreachable"); },
                         std::chrono::seconds(20)));
  ASSERT_TRUE(Eventually([&] {
    for (auto& p : Pods())
      if (on_node2.count(p.name())) return false;
    return true;
  }, std::chrono::seconds(20))) << "terminating pods removed once their kubelet confirms";
  int running = 0;
  for (auto& p : Pods()) running += Running(p);
  EXPECT_EQ(running, 6);
  ASSERT_EQ(Cattle("status", &out), 0) << out;
  EXPECT_NE(out.find("node Ready=True"), std::string::npos) << out;
}

}  // namespace
}  // namespace cattle
