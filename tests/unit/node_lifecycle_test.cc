// NodeLifecycleController and TaintEvictionController on a FakeClock against a real registry
// (LocalApiServer). Kubelets are simulated by writing Nodes, Leases and pods through the
// client. Timing is the fake clock's: the node controller's passes are counted, so "not
// before" is checked after the pass at that time has finished; real-time polling is only a
// safety net for asynchronous effects.
#include "controller-manager/node_lifecycle_controller.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/events.h"
#include "cattle/fake_clock.h"
#include "cattle/informer_factory.h"
#include "coordination.capnp.h"
#include "core.capnp.h"

namespace cattle::controllers {
namespace {

using std::chrono::seconds;

bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::string S(capnp::Text::Reader t) { return t.cStr(); }

Object FromJson(const std::string& json) {
  auto o = Object::FromJson(KindRegistry::Default(), Json::parse(json));
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return std::move(o).value();
}

class NodeLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_kind = client->Kind("nodes");
    pods_kind = client->Kind("pods");
    leases_kind = client->kinds().ByGroupResource("coordination.k8s.io", "leases");
  }
  void TearDown() override { StopControllers(); }

  // Starts both controllers and waits for the node controller's first pass (at t0).
  void StartControllers(NodeLifecycleOptions options = {}) {
    nlc = std::make_unique<NodeLifecycleController>(&informers, client, &node_recorder, &clock, TimeScale(1), options);
    tec = std::make_unique<TaintEvictionController>(&informers, client, &taint_recorder, &clock, TimeScale(1));
    nlc->Run(2);
    tec->Run(1);
    informers.Start();
    ASSERT_TRUE(Eventually([&] { return nlc->monitor_passes() >= 1; }));
    passes = 1;
  }
  void StopControllers() {
    if (tec) tec->Stop();
    if (nlc) nlc->Stop();
    informers.Stop();
  }

  // A kubelet's registration: the node with Ready=True and its lease, both `age` old.
  void AddNode(const std::string& name, Duration age = Duration(0)) {
    std::string ts = FormatRfc3339(clock.WallNanos() - age.count());
    auto node = client->Create(FromJson(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name +
                                        R"("},"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady",)"
                                        R"("lastHeartbeatTime":")" + ts + R"(","lastTransitionTime":")" + ts + R"("}]}})"));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    Object lease(leases_kind);
    lease.meta().setName(name);
    lease.meta().setNamespace(kNodeLeaseNamespace);
    auto spec = lease.as<api::Lease>().initSpec();
    spec.setHolderIdentity(name);
    spec.initLeaseDurationSeconds().setValue(40);
    spec.setRenewTime(FormatRfc3339Micro(clock.WallNanos() - age.count()));
    auto l = client->Create(lease);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
  }

  // The kubelet's heartbeat: renews the lease, and waits until the controllers' cache has it.
  void RenewLease(const std::string& name) {
    auto lease = client->Get(leases_kind, kNodeLeaseNamespace, name);
    ASSERT_TRUE(lease.ok());
    lease->as<api::Lease>().getSpec().setRenewTime(FormatRfc3339Micro(clock.WallNanos()));
    auto updated = client->Update(*lease);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
    WaitCached(informers.For(leases_kind, kNodeLeaseNamespace), std::string(kNodeLeaseNamespace) + "/" + name,
               updated->resource_version());
  }

  // The kubelet posting status: Ready=`status` with a fresh heartbeat.
  void PostNodeStatus(const std::string& name, const std::string& status) {
    auto node = client->Get(nodes_kind, "", name);
    ASSERT_TRUE(node.ok());
    std::string ts = FormatRfc3339(clock.WallNanos());
    auto st = node->as<api::Node>().getStatus();
    auto conds = st.initConditions(1);
    conds[0].setType("Ready");
    conds[0].setStatus(status);
    conds[0].setReason(status == "True" ? "KubeletReady" : "KubeletNotReady");
    conds[0].setLastHeartbeatTime(ts);
    conds[0].setLastTransitionTime(ts);
    auto r = client->UpdateStatus(*node);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    WaitCached(informers.For(nodes_kind), name, r->resource_version());
  }

  void WaitCached(Informer* inf, const std::string& key, int64_t rv) {
    ASSERT_TRUE(Eventually([&] {
      auto o = inf->Get(key);
      return o && o->resource_version() >= rv;
    }));
  }

  // A pod bound to `node`, just created (no status written, so that the controllers may
  // act on it at once without a conflict with the test).
  void AddProbe(const std::string& name, const std::string& node, const std::string& tolerations = "") {
    std::string json = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                       R"(","namespace":"default"},"spec":{"nodeName":")" + node +
                       R"(","containers":[{"name":"c","image":"nginx"}])" +
                       (tolerations.empty() ? "" : ",\"tolerations\":" + tolerations) + "}}";
    auto pod = client->Create(FromJson(json));
    ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  }

  // A pod bound to `node`, Running and Ready. `tolerations` is JSON (admission adds the
  // default 300 s not-ready/unreachable tolerations unless the pod has its own).
  void AddPod(const std::string& name, const std::string& node, const std::string& tolerations = "") {
    AddProbe(name, node, tolerations);
    auto pod = client->Get(pods_kind, "default", name);
    ASSERT_TRUE(pod.ok());
    auto st = pod->as<api::Pod>().getStatus();
    st.setPhase("Running");
    auto conds = st.initConditions(1);
    conds[0].setType("Ready");
    conds[0].setStatus("True");
    conds[0].setLastTransitionTime(FormatRfc3339(clock.WallNanos()));
    auto r = client->UpdateStatus(*pod);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Advances the clock by one node-monitor-period, the healthy kubelets having renewed
  // their leases, and waits until the node controller's pass at the new time is done.
  void Tick(const std::vector<std::string>& healthy, Duration period = seconds(5)) {
    for (const auto& n : healthy) RenewLease(n);
    clock.Advance(period);
    passes++;
    ASSERT_TRUE(Eventually([&] { return nlc->monitor_passes() >= passes; })) << "no monitor pass";
  }

  Object GetNode(const std::string& name) {
    auto n = client->Get(nodes_kind, "", name);
    EXPECT_TRUE(n.ok());
    return std::move(n).value();
  }
  std::string ReadyStatus(const std::string& name) {
    auto node = GetNode(name);
    for (auto c : node.get<api::Node>().getStatus().getConditions())
      if (c.getType() == "Ready") return S(c.getStatus());
    return "";
  }
  // "key:effect" of every taint.
  std::set<std::string> Taints(const std::string& name) {
    std::set<std::string> out;
    auto node = GetNode(name);
    for (auto t : node.get<api::Node>().getSpec().getTaints()) out.insert(S(t.getKey()) + ":" + S(t.getEffect()));
    return out;
  }
  std::string TaintTime(const std::string& name, const std::string& key) {
    auto node = GetNode(name);
    for (auto t : node.get<api::Node>().getSpec().getTaints())
      if (t.getKey() == key && t.getEffect() == "NoExecute") return S(t.getTimeAdded());
    return "";
  }
  // Deleted or Terminating.
  bool Evicted(const std::string& pod) {
    auto p = client->Get(pods_kind, "default", pod);
    return !p.ok() || p->meta().hasDeletionTimestamp();
  }
  std::string PodReady(const std::string& pod) {
    auto p = client->Get(pods_kind, "default", pod);
    if (!p.ok()) return "";
    for (auto c : p->get<api::Pod>().getStatus().getConditions())
      if (c.getType() == "Ready") return S(c.getStatus());
    return "";
  }
  // Every reason of the events recorded on `name`.
  std::vector<std::string> EventsFor(const std::string& name) {
    node_recorder.Flush();
    taint_recorder.Flush();
    std::vector<std::string> out;
    auto list = client->List(client->Kind("events"), "");
    EXPECT_TRUE(list.ok());
    for (const auto& e : list->items) {
      auto j = e.ToJson();
      if (j["involvedObject"].value("name", "") == name) out.push_back(j.value("reason", "") + ": " + j.value("message", ""));
    }
    return out;
  }

  FakeClock clock;
  apiserver::LocalApiServer server{&clock};
  ApiClient* client = server.client.get();
  InformerFactory informers{client, &clock};
  EventRecorder node_recorder{client, &clock, "node-controller"};
  EventRecorder taint_recorder{client, &clock, "taint-eviction-controller"};
  std::unique_ptr<NodeLifecycleController> nlc;
  std::unique_ptr<TaintEvictionController> tec;
  const KindInfo* nodes_kind = nullptr;
  const KindInfo* pods_kind = nullptr;
  const KindInfo* leases_kind = nullptr;
  int64_t passes = 0;
};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

TEST_F(NodeLifecycleTest, NodeBecomesUnknownAndTaintedOnlyAfterTheGracePeriod) {
  // The leases were last renewed 10 minutes ago: a starting controller still gives the
  // nodes a full grace period, counted on its own clock from when it first saw them.
  AddNode("node-1", std::chrono::minutes(10));
  AddNode("node-2", std::chrono::minutes(10));
  AddPod("web-1", "node-1");
  StartControllers();
  EXPECT_EQ(ReadyStatus("node-1"), "True");

  // t0+5 ... t0+50: node-1's kubelet is silent, but within node-monitor-grace-period (50 s).
  for (int t = 5; t <= 50; t += 5) {
    Tick({"node-2"});
    ASSERT_EQ(ReadyStatus("node-1"), "True") << "at t0+" << t;
    ASSERT_TRUE(Taints("node-1").empty()) << "at t0+" << t;
  }
  EXPECT_EQ(PodReady("web-1"), "True");

  // t0+55: past the grace period.
  Tick({"node-2"});
  EXPECT_EQ(ReadyStatus("node-1"), "Unknown");
  auto node = GetNode("node-1");
  int unknown = 0;
  for (auto c : node.get<api::Node>().getStatus().getConditions()) {
    if (c.getType() == "Ready") {
      EXPECT_EQ(S(c.getReason()), "NodeStatusUnknown");
      EXPECT_EQ(S(c.getMessage()), "Kubelet stopped posting node status.");
    }
    if (S(c.getStatus()) == "Unknown") unknown++;
  }
  EXPECT_EQ(unknown, 4);  // Ready, MemoryPressure, DiskPressure, PIDPressure
  EXPECT_TRUE(Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute"));
  EXPECT_EQ(TaintTime("node-1", kTaintNodeUnreachable), FormatRfc3339(clock.WallNanos()));
  EXPECT_TRUE(Eventually([&] { return Taints("node-1").count("node.kubernetes.io/unreachable:NoSchedule") > 0; }));
  EXPECT_EQ(PodReady("web-1"), "False");  // MarkPodsNotReady
  // node-2 is untouched.
  EXPECT_EQ(ReadyStatus("node-2"), "True");
  EXPECT_TRUE(Taints("node-2").empty());

  auto events = EventsFor("node-1");
  EXPECT_TRUE(Contains(events, "RegisteredNode: Registered Node node-1 in Controller"));
  EXPECT_TRUE(Contains(events, "NodeNotReady: Node node-1 status is now: NodeNotReady"));
  EXPECT_TRUE(Contains(EventsFor("web-1"), "NodeNotReady: Node is not ready"));
}

TEST_F(NodeLifecycleTest, TolerationSecondsDecideWhenPodsAreEvicted) {
  AddNode("node-1");
  AddNode("node-2");
  AddPod("web-default", "node-1");  // admission: unreachable for 300 s
  AddPod("web-zero", "node-1",
         R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":0}])");
  AddPod("web-forever", "node-1", R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute"}])");
  AddPod("other", "node-2");
  StartControllers();
  for (int t = 5; t <= 55; t += 5) Tick({"node-2"});
  std::string added = TaintTime("node-1", kTaintNodeUnreachable);
  ASSERT_FALSE(added.empty());
  ASSERT_EQ(added, FormatRfc3339(clock.WallNanos()));  // tainted at t0+55

  // tolerationSeconds 0: at once.
  EXPECT_TRUE(Eventually([&] { return Evicted("web-zero"); }));
  auto evicted = client->Get(pods_kind, "default", "web-zero");
  ASSERT_TRUE(evicted.ok());  // bound: it stays Terminating until a kubelet confirms
  bool disruption = false;
  for (auto c : evicted->get<api::Pod>().getStatus().getConditions())
    disruption |= c.getType() == "DisruptionTarget" && c.getReason() == "DeletionByTaintManager";
  EXPECT_TRUE(disruption);
  EXPECT_TRUE(Contains(EventsFor("web-zero"), "TaintManagerEviction: Marking for deletion Pod default/web-zero"));

  // Up to 1 s before timeAdded + 300 s the 300 s pod stays. A probe pod that tolerates
  // nothing, created then, is evicted at once: once it is, the controller has seen this time.
  for (int t = 60; t <= 350; t += 5) Tick({"node-2"});
  clock.Advance(seconds(4));  // t0+354 = timeAdded + 299 s
  AddProbe("probe-1", "node-1",
         R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":0}])");
  ASSERT_TRUE(Eventually([&] { return Evicted("probe-1"); }));
  EXPECT_FALSE(Evicted("web-default"));
  EXPECT_FALSE(Evicted("web-forever"));

  // timeAdded + 300 s.
  passes++;
  clock.Advance(seconds(1));
  EXPECT_TRUE(Eventually([&] { return Evicted("web-default"); }));
  EXPECT_TRUE(Contains(EventsFor("web-default"), "TaintManagerEviction: Marking for deletion Pod default/web-default"));

  // Tolerating forever: never, however long.
  ASSERT_TRUE(Eventually([&] { return nlc->monitor_passes() >= passes; }));
  for (int i = 0; i < 100; ++i) Tick({"node-2"}, seconds(5));
  AddProbe("probe-2", "node-1",
         R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":0}])");
  ASSERT_TRUE(Eventually([&] { return Evicted("probe-2"); }));
  EXPECT_FALSE(Evicted("web-forever"));
  EXPECT_FALSE(Evicted("other"));
}

TEST_F(NodeLifecycleTest, UntoleratedNoExecuteTaintEvictsAtOnceAndRemovalCancels) {
  AddNode("node-1");
  AddNode("node-2");
  AddPod("plain", "node-1");
  AddPod("tolerant", "node-1",
         R"([{"key":"example.com/maintenance","operator":"Exists","effect":"NoExecute","tolerationSeconds":600},)"
         R"( {"key":"example.com/probe","operator":"Exists","effect":"NoExecute"}])");
  StartControllers();
  auto set_taint = [&](const std::string& key) {
    auto node = GetNode("node-1");
    if (key.empty()) {
      node.as<api::Node>().getSpec().disownTaints();
    } else {
      auto taints = node.as<api::Node>().getSpec().initTaints(1);
      taints[0].setKey(key);
      taints[0].setEffect("NoExecute");
      taints[0].setTimeAdded(FormatRfc3339(clock.WallNanos()));
    }
    ASSERT_TRUE(client->Update(node).ok());
  };
  // An administrator taints node-1.
  set_taint("example.com/maintenance");
  EXPECT_TRUE(Eventually([&] { return Evicted("plain"); }));
  EXPECT_FALSE(Evicted("tolerant"));

  // The taint goes before the 600 s run out: the scheduled eviction is cancelled.
  set_taint("");
  EXPECT_TRUE(Eventually([&] {
    return Contains(EventsFor("tolerant"), "TaintManagerEviction: Cancelling deletion of Pod default/tolerant");
  }));
  for (int t = 5; t <= 700; t += 5) Tick({"node-1", "node-2"});
  // A taint that evicts a probe pod at once but that "tolerant" tolerates forever: once the
  // probe is evicted, the controller has acted on this time.
  set_taint("example.com/probe");
  AddProbe("probe", "node-1");
  ASSERT_TRUE(Eventually([&] { return Evicted("probe"); }));
  EXPECT_FALSE(Evicted("tolerant"));
}

// The taint manager ignores status writes (Kubernetes' PodUpdated) but not a change of
// tolerations: a pod whose tolerationSeconds is lowered on a tainted node goes at once.
TEST_F(NodeLifecycleTest, LoweredTolerationSecondsOnAnUpdateEvicts) {
  AddNode("node-1");
  AddNode("node-2");
  AddPod("tolerant", "node-1",
         R"([{"key":"example.com/maintenance","operator":"Exists","effect":"NoExecute","tolerationSeconds":600}])");
  StartControllers();
  auto node = GetNode("node-1");
  auto taints = node.as<api::Node>().getSpec().initTaints(1);
  taints[0].setKey("example.com/maintenance");
  taints[0].setEffect("NoExecute");
  taints[0].setTimeAdded(FormatRfc3339(clock.WallNanos()));
  ASSERT_TRUE(client->Update(node).ok());
  AddProbe("probe", "node-1");  // evicted at once: the controller has seen the taint
  ASSERT_TRUE(Eventually([&] { return Evicted("probe"); }));

  auto pods = client->Kind("pods");
  auto pod = client->Get(pods, "default", "tolerant");
  ASSERT_TRUE(pod.ok()) << pod.status().ToString();
  pod->as<api::Pod>().getStatus().setPhase("Running");
  auto written = client->UpdateStatus(*pod);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_FALSE(Evicted("tolerant"));
  Object lowered = written->Clone();
  lowered.as<api::Pod>().getSpec().getTolerations()[0].getTolerationSeconds().setValue(0);
  auto updated = client->Update(lowered);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_TRUE(Eventually([&] { return Evicted("tolerant"); }));
}

TEST_F(NodeLifecycleTest, ReturningKubeletRemovesTaintsAndNodeIsReadyAgain) {
  AddNode("node-1");
  AddNode("node-2");
  StartControllers();
  for (int t = 5; t <= 55; t += 5) Tick({"node-2"});
  ASSERT_EQ(ReadyStatus("node-1"), "Unknown");
  ASSERT_TRUE(Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute"));
  ASSERT_TRUE(Eventually([&] { return Taints("node-1").count("node.kubernetes.io/unreachable:NoSchedule") > 0; }));

  // The kubelet comes back: renews its lease and posts Ready=True.
  PostNodeStatus("node-1", "True");
  Tick({"node-1", "node-2"});
  EXPECT_EQ(ReadyStatus("node-1"), "True");
  EXPECT_FALSE(Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute"));
  EXPECT_TRUE(Eventually([&] { return Taints("node-1").empty(); }));
  // And it gets a fresh grace period.
  for (int t = 5; t <= 50; t += 5) Tick({"node-2"});
  EXPECT_EQ(ReadyStatus("node-1"), "True");
  Tick({"node-2"});
  EXPECT_EQ(ReadyStatus("node-1"), "Unknown");
}

TEST_F(NodeLifecycleTest, KubeletReportingNotReadyGetsTheNotReadyTaint) {
  AddNode("node-1");
  AddNode("node-2");
  StartControllers();
  PostNodeStatus("node-1", "False");
  Tick({"node-1", "node-2"});
  auto taints = Taints("node-1");
  EXPECT_TRUE(taints.count("node.kubernetes.io/not-ready:NoExecute"));
  EXPECT_FALSE(taints.count("node.kubernetes.io/unreachable:NoExecute"));
  EXPECT_EQ(ReadyStatus("node-1"), "False");  // the kubelet's word stands
  EXPECT_TRUE(Eventually([&] { return Taints("node-1").count("node.kubernetes.io/not-ready:NoSchedule") > 0; }));
  // Then it goes silent: the taint is swapped for unreachable at once (no rate limit).
  for (int t = 5; t <= 55; t += 5) Tick({"node-2"});
  taints = Taints("node-1");
  EXPECT_TRUE(taints.count("node.kubernetes.io/unreachable:NoExecute"));
  EXPECT_FALSE(taints.count("node.kubernetes.io/not-ready:NoExecute"));
}

TEST_F(NodeLifecycleTest, NoExecuteTaintsAreRateLimitedPerZone) {
  for (const char* n : {"node-1", "node-2", "node-3", "node-4", "node-5"}) AddNode(n);
  StartControllers();
  std::vector<std::string> healthy = {"node-3", "node-4", "node-5"};
  for (int t = 5; t <= 55; t += 5) Tick(healthy);
  ASSERT_EQ(ReadyStatus("node-1"), "Unknown");
  ASSERT_EQ(ReadyStatus("node-2"), "Unknown");
  // 0.1 nodes/s: one node now, the other 10 s later.
  int tainted = Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute") +
                Taints("node-2").count("node.kubernetes.io/unreachable:NoExecute");
  EXPECT_EQ(tainted, 1);
  Tick(healthy);
  tainted = Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute") +
            Taints("node-2").count("node.kubernetes.io/unreachable:NoExecute");
  EXPECT_EQ(tainted, 1);
  Tick(healthy);
  tainted = Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute") +
            Taints("node-2").count("node.kubernetes.io/unreachable:NoExecute");
  EXPECT_EQ(tainted, 2);
}

TEST_F(NodeLifecycleTest, EveryNodeDownStopsEvictions) {
  // Kubernetes assumes its own network is at fault when every node of every zone is gone.
  AddNode("node-1");
  AddNode("node-2");
  AddPod("web", "node-1");
  StartControllers();
  for (int t = 5; t <= 55; t += 5) Tick({});
  EXPECT_EQ(ReadyStatus("node-1"), "Unknown");
  EXPECT_EQ(ReadyStatus("node-2"), "Unknown");
  for (int t = 60; t <= 400; t += 5) Tick({});
  EXPECT_FALSE(Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute"));
  EXPECT_FALSE(Taints("node-2").count("node.kubernetes.io/unreachable:NoExecute"));
  EXPECT_FALSE(Evicted("web"));
  // One node returns: the other is tainted.
  PostNodeStatus("node-2", "True");
  Tick({"node-2"});
  EXPECT_TRUE(Taints("node-1").count("node.kubernetes.io/unreachable:NoExecute"));
}

TEST_F(NodeLifecycleTest, NodeThatNeverReportedGetsTheStartupGracePeriod) {
  AddNode("node-2");
  auto created = client->Create(FromJson(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}})"));
  ASSERT_TRUE(created.ok());
  StartControllers();
  for (int t = 5; t <= 60; t += 5) Tick({"node-2"});
  EXPECT_EQ(ReadyStatus("node-1"), "");  // 60 s from its creation: not yet
  Tick({"node-2"});
  EXPECT_EQ(ReadyStatus("node-1"), "Unknown");
  auto node = GetNode("node-1");
  for (auto c : node.get<api::Node>().getStatus().getConditions()) {
    if (c.getType() == "Ready") {
      EXPECT_EQ(S(c.getReason()), "NodeStatusNeverUpdated");
    }
  }
}

}  // namespace
}  // namespace cattle::controllers
