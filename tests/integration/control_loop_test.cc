// The control loop with real processes: apiserver, scheduler, controller-manager and three
// kubelets started by `cattle up`, at time scale 20 (grace 2.5 s, toleration 15 s).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sys/wait.h>

#include "apps.capnp.h"
#include "coordination.capnp.h"
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

// Tracks pods through a watch and checks the rollout invariants at every event.
class PodTracker {
 public:
  PodTracker(Client* client, int replicas, int max_surge, int max_unavailable)
      : replicas_(replicas), max_surge_(max_surge), max_unavailable_(max_unavailable) {
    WatchOptions wo;
    wo.label_selector = "app=web";
    auto w = client->Watch(client->Kind("pods"), "default", wo,
                           [this](ClientWatchEvent& ev) { OnEvent(ev); }, [](const Status&) {});
    if (w.ok()) watch_ = std::move(*w);
  }
  bool ok() const { return watch_ != nullptr; }
  int max_active() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_active_;
  }
  int min_ready() {
    std::lock_guard<std::mutex> lock(mu_);
    return min_ready_;
  }
  void Arm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
    min_ready_ = 1 << 30;
    max_active_ = 0;
  }

 private:
  void OnEvent(ClientWatchEvent& ev) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ev.type == "DELETED") {
      pods_.erase(ev.object.name());
    } else {
      bool terminating = ev.object.meta().hasDeletionTimestamp();
      bool ready = false;
      for (auto c : ev.object.get<api::Pod>().getStatus().getConditions())
        if (c.getType() == "Ready") ready = c.getStatus() == "True";
      pods_[ev.object.name()] = {terminating, ready};
    }
    int active = 0, ready = 0;
    for (auto& [name, st] : pods_) {
      if (st.first) continue;
      active++;
      ready += st.second;
    }
    if (!armed_) return;
    max_active_ = std::max(max_active_, active);
    min_ready_ = std::min(min_ready_, ready);
  }
  int replicas_, max_surge_, max_unavailable_;
  std::mutex mu_;
  std::map<std::string, std::pair<bool, bool>> pods_;
  bool armed_ = false;
  int max_active_ = 0;
  int min_ready_ = 1 << 30;
  std::unique_ptr<WatchStream> watch_;
};

std::string RsImage(const Object& rs) {
  return rs.get<api::ReplicaSet>().getSpec().getTemplate().getSpec().getContainers()[0].getImage().cStr();
}

TEST_F(ControlLoopTest, RollingUpdateSurvivesKillsKeepsItsBoundsAndRollsBack) {
  ApplyDeployment(4, "nginx:1.26");
  auto all_running = [&](const std::string& image) {
    auto pods = Pods();
    int ok = 0;
    for (auto& p : pods) {
      if (p.meta().hasDeletionTimestamp()) continue;
      if (!Running(p)) return false;
      if (std::string(p.get<api::Pod>().getSpec().getContainers()[0].getImage().cStr()) != image) return false;
      ok++;
    }
    return ok == 4;
  };
  ASSERT_TRUE(Eventually([&] { return all_running("nginx:1.26"); }, std::chrono::seconds(30)));
  // 25% of 4: surge rounds up to 1, unavailable rounds down to 1.
  PodTracker tracker(client_.get(), 4, 1, 1);
  ASSERT_TRUE(tracker.ok());
  tracker.Arm();

  auto r = client_->Patch(client_->Kind("deployments"), "default", "web", "strategic",
                          R"({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string out;
  for (const char* component : {"scheduler", "controller-manager", "apiserver"}) {
    ASSERT_EQ(Cattle(std::string("kill ") + component, &out), 0) << out;
    ASSERT_EQ(Cattle(std::string("start ") + component, &out), 0) << out;
  }
  ASSERT_TRUE(Eventually([&] { return all_running("nginx:1.27"); }, std::chrono::seconds(60))) << "rollout completes";
  EXPECT_GE(tracker.max_active(), 4) << "the tracker saw the rollout";
  EXPECT_LE(tracker.max_active(), 4 + 1) << "more than replicas + maxSurge pods at some moment";
  EXPECT_GE(tracker.min_ready(), 4 - 1) << "fewer than replicas - maxUnavailable Ready pods at some moment";

  auto rs = client_->List(client_->Kind("replicasets"), "default");
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(rs->items.size(), 2u) << "the old ReplicaSet is kept for rollback";
  std::string v1_name;
  for (auto& x : rs->items) {
    if (RsImage(x) == "nginx:1.26") {
      v1_name = x.name();
      EXPECT_EQ(x.get<api::ReplicaSet>().getSpec().getReplicas().getValue(), 0);
    }
  }
  ASSERT_FALSE(v1_name.empty());

  // Rollback: the template goes back to v1; v1's ReplicaSet returns with revision 3.
  r = client_->Patch(client_->Kind("deployments"), "default", "web", "strategic",
                     R"({"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}})");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(Eventually([&] { return all_running("nginx:1.26"); }, std::chrono::seconds(60)));
  auto v1 = client_->Get(client_->Kind("replicasets"), "default", v1_name);
  ASSERT_TRUE(v1.ok()) << "rollback reuses v1's ReplicaSet";
  EXPECT_EQ(ToStdMap(v1->meta().getAnnotations())["deployment.kubernetes.io/revision"], "3");
  EXPECT_EQ(v1->get<api::ReplicaSet>().getSpec().getReplicas().getValue(), 4);
}

TEST_F(ControlLoopTest, TwoControllerManagersHandOverWithoutDoubleCreates) {
  // A second controller-manager beside the one `cattle up` started.
  std::string log = dir_.path() + "/cm-b.log";
  pid_t b = fork();
  if (b == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::string bin = testutil::BinDir() + "/cattle-controller-manager";
    std::string server = "tcp://127.0.0.1:" + std::to_string(port_);
    std::string scale = std::to_string(kTimeScale);
    execl(bin.c_str(), bin.c_str(), "--server", server.c_str(), "--time-scale", scale.c_str(),
          "--identity", "cm-b", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto holder = [&]() -> std::string {
    auto l = client_->Get(client_->Kind("leases"), "kube-system", "kube-controller-manager");
    return l.ok() ? l->get<api::Lease>().getSpec().getHolderIdentity().cStr() : "";
  };
  ASSERT_TRUE(Eventually([&] { return !holder().empty(); }));
  std::string first = holder();
  ApplyDeployment(3);
  ASSERT_TRUE(Eventually([&] {
    int n = 0;
    for (auto& p : Pods()) n += Running(p);
    return n == 3;
  }, std::chrono::seconds(30)));

  std::string out;
  if (first == "cm-b") {
    kill(b, SIGKILL);
  } else {
    ASSERT_EQ(Cattle("kill controller-manager", &out), 0) << out;
  }
  ASSERT_TRUE(Eventually([&] { std::string h = holder(); return !h.empty() && h != first; }, std::chrono::seconds(20)))
      << "the standby takes the lease";
  auto r = client_->Patch(client_->Kind("deployments"), "default", "web", "merge", R"({"spec":{"replicas":5}})");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(Eventually([&] {
    int n = 0;
    for (auto& p : Pods()) n += Running(p);
    return n == 5;
  }, std::chrono::seconds(30))) << "the new leader acts";
  // Exactly 5 pods: nothing was created twice.
  int total = 0;
  for (auto& p : Pods()) total += !p.meta().hasDeletionTimestamp();
  EXPECT_EQ(total, 5);
  kill(b, SIGKILL);
  waitpid(b, nullptr, 0);
}

}  // namespace
}  // namespace cattle
