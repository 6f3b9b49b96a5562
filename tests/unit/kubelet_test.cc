// The simulated kubelet against an in-process apiserver (real registry and store, no
// sockets) on a fake clock: node registration, Lease and status heartbeats, pods from
// Pending to Running, scripted crashes with CrashLoopBackOff, restart policies, graceful
// deletion, adoption by a restarted kubelet, hollow nodes. Timers fire only when the test
// advances the clock; real-time deadlines are a safety net against hangs.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/events.h"
#include "cattle/fake_clock.h"
#include "core.capnp.h"
#include "kubelet-sim/annotations.h"
#include "kubelet-sim/backoff.h"
#include "kubelet-sim/ip_allocator.h"
#include "kubelet-sim/kubelet.h"
#include "kubelet-sim/sim_runtime.h"

namespace cattle::kubelet {
namespace {

using std::chrono::seconds;

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

std::string At(int64_t offset_s) {
  return FormatRfc3339(FakeClock::kDefaultWallNanos + offset_s * 1'000'000'000LL);
}

// One node: its runtime, event recorder and kubelet.
struct TestNode {
  std::unique_ptr<SimulatedRuntime> runtime;
  std::unique_ptr<EventRecorder> recorder;
  std::unique_ptr<Kubelet> kubelet;
};

class KubeletTest : public ::testing::Test {
 protected:
  ~KubeletTest() override {
    for (auto& n : nodes_) n.kubelet.reset();  // threads first, then what they use
    nodes_.clear();
  }

  ApiClient* api() { return server_.client.get(); }
  const KindInfo* Kind(const std::string& plural) { return api()->Kind(plural); }

  KubeletOptions Options(const std::string& node) {
    KubeletOptions o;
    o.node_name = node;
    o.pod_worker_threads = 2;
    return o;
  }

  Kubelet* StartNode(KubeletOptions options, Informer* shared_pods = nullptr) {
    TestNode n;
    n.runtime = std::make_unique<SimulatedRuntime>(&clock_);
    n.recorder = std::make_unique<EventRecorder>(api(), &clock_, "kubelet", options.node_name);
    n.kubelet = std::make_unique<Kubelet>(api(), &clock_, n.runtime.get(), n.recorder.get(), options, shared_pods);
    n.kubelet->Start();
    Kubelet* k = n.kubelet.get();
    nodes_.push_back(std::move(n));
    EXPECT_TRUE(Eventually([&] { return k->running(); })) << "kubelet did not start";
    return k;
  }
  Kubelet* StartNode(const std::string& node) { return StartNode(Options(node)); }

  // Stops (and forgets) the kubelet of node `i`, as if its process was killed.
  void StopNode(size_t i) {
    nodes_[i].kubelet->Stop();
    nodes_[i].kubelet.reset();
  }

  Json MakePodJson(const std::string& name, const std::string& node, Json annotations = Json::object(),
                   const std::string& restart = "Always") {
    Json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec",
                 {{"nodeName", node},
                  {"restartPolicy", restart},
                  {"containers", Json::array({{{"name", "web"}, {"image", "nginx"}}})}}}};
    if (!annotations.empty()) pod["metadata"]["annotations"] = annotations;
    return pod;
  }

  Json CreatePod(const Json& pod) {
    auto obj = Object::FromJson(api()->kinds(), pod);
    EXPECT_TRUE(obj.ok()) << obj.status().ToString();
    auto created = api()->Create(*obj);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->ToJson() : Json();
  }

  // The pod as JSON, or null when it does not exist.
  Json Pod(const std::string& name) {
    auto got = api()->Get(Kind("pods"), "default", name);
    return got.ok() ? got->ToJson() : Json();
  }

  static Json Condition(const Json& obj, const std::string& type) {
    for (const auto& c : obj["status"].value("conditions", Json::array()))
      if (c.value("type", "") == type) return c;
    return Json();
  }

  static Json Container(const Json& pod) {
    auto cs = pod["status"].value("containerStatuses", Json::array());
    return cs.empty() ? Json() : cs[0];
  }

  // Waits until pod `name` satisfies `pred`; returns it (null on timeout).
  Json WaitForPod(const std::string& name, const std::function<bool(const Json&)>& pred) {
    Json last;
    bool ok = Eventually([&] {
      last = Pod(name);
      return !last.is_null() && pred(last);
    });
    EXPECT_TRUE(ok) << "pod " << name << " never matched; last: " << last.dump(2);
    return ok ? last : Json();
  }

  // Waits until node 0's runtime has been told to stop pod `name`'s container.
  void WaitUntilStopping(const std::string& name) {
    std::string id = Container(Pod(name)).value("containerID", "");
    EXPECT_TRUE(Eventually([&] {
      auto info = nodes_[0].runtime->Inspect(id);
      return info && info->stopping;
    })) << name;
  }

  static bool IsRunning(const Json& pod) {
    return pod["status"].value("phase", "") == "Running" && Container(pod).contains("state") &&
           Container(pod)["state"].contains("running");
  }

  FakeClock clock_;
  apiserver::LocalApiServer server_{&clock_};
  std::vector<TestNode> nodes_;
};

// --- small parts ---------------------------------------------------------------------------

TEST(KubeletPartsTest, DurationsParseAndPrintAsGo) {
  EXPECT_EQ(ParseDuration("5s"), std::optional<Duration>(seconds(5)));
  EXPECT_EQ(ParseDuration("1m30s"), std::optional<Duration>(seconds(90)));
  EXPECT_EQ(ParseDuration("500ms"), std::optional<Duration>(std::chrono::milliseconds(500)));
  EXPECT_EQ(ParseDuration("2"), std::optional<Duration>(seconds(2)));
  EXPECT_FALSE(ParseDuration("5x").has_value());
  EXPECT_FALSE(ParseDuration("-1").has_value());
  EXPECT_EQ(FormatGoDuration(seconds(10)), "10s");
  EXPECT_EQ(FormatGoDuration(seconds(80)), "1m20s");
  EXPECT_EQ(FormatGoDuration(seconds(300)), "5m0s");
  EXPECT_EQ(FormatGoDuration(seconds(3600)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(500)), "500ms");
  EXPECT_EQ(FormatGoDuration(Duration::zero()), "0s");
}

TEST(KubeletPartsTest, PerContainerAnnotationsWin) {
  std::map<std::string, std::string> a = {{"cattle.dev/exit-after", "5s"},
                                          {"cattle.dev/exit-code", "1"},
                                          {"cattle.dev/exit-code.sidecar", "2"},
                                          {"cattle.dev/never-ready.sidecar", "true"}};
  auto web = ParseBehaviour(a, "web");
  auto sidecar = ParseBehaviour(a, "sidecar");
  EXPECT_EQ(web.exit_after, std::optional<Duration>(seconds(5)));
  EXPECT_EQ(web.exit_code, 1);
  EXPECT_FALSE(web.never_ready);
  EXPECT_EQ(sidecar.exit_code, 2);
  EXPECT_TRUE(sidecar.never_ready);
}

TEST(KubeletPartsTest, CrashLoopBackOffDoublesToFiveMinutesAndResetsAfterTenMinutes) {
  Backoff b(seconds(10), seconds(300), TimeScale(1));
  TimePoint t = FakeClock::kStart;
  EXPECT_FALSE(b.InBackOffSince("web", t, t));  // first exit: restart at once
  b.Next("web", t, t);
  EXPECT_EQ(b.Get("web"), seconds(10));
  EXPECT_TRUE(b.InBackOffSince("web", t + seconds(5), t + seconds(14)));
  EXPECT_FALSE(b.InBackOffSince("web", t + seconds(5), t + seconds(15)));
  std::vector<int> seen;
  for (int i = 0; i < 7; ++i) {
    b.Next("web", t, t);
    seen.push_back(static_cast<int>(std::chrono::duration_cast<seconds>(b.Get("web")).count()));
  }
  EXPECT_EQ(seen, (std::vector<int>{20, 40, 80, 160, 300, 300, 300}));
  // An exit more than 10 minutes after the last restart starts over.
  EXPECT_FALSE(b.InBackOffSince("web", t + seconds(601), t + seconds(601)));
  b.Next("web", t + seconds(601), t + seconds(601));
  EXPECT_EQ(b.Get("web"), seconds(10));
  // Scaled: the same nominal back-off lasts a tenth on a clock at scale 10.
  Backoff fast(seconds(10), seconds(300), TimeScale(10));
  fast.Next("web", t, t);
  EXPECT_TRUE(fast.InBackOffSince("web", t, t + std::chrono::milliseconds(999)));
  EXPECT_FALSE(fast.InBackOffSince("web", t, t + seconds(1)));
}

TEST(KubeletPartsTest, PodIpsComeRoundRobinFromTheCidrAndAreNotReusedWhileHeld) {
  auto cidr = Ipv4Cidr::Parse("10.244.3.0/24");
  ASSERT_TRUE(cidr.has_value());
  PodIpAllocator ips(*cidr);
  EXPECT_EQ(*ips.Allocate("a"), "10.244.3.2");
  EXPECT_EQ(*ips.Allocate("b"), "10.244.3.3");
  EXPECT_EQ(*ips.Allocate("a"), "10.244.3.2");  // same UID, same IP
  ips.Release("a");
  EXPECT_EQ(*ips.Allocate("c"), "10.244.3.4");  // round-robin: the freed one is not next
  EXPECT_TRUE(ips.Reserve("d", "10.244.3.5"));
  EXPECT_FALSE(ips.Reserve("e", "10.244.3.5"));
  EXPECT_EQ(*ips.Allocate("f"), "10.244.3.6");
  std::set<std::string> all;
  for (int i = 0; i < 300; ++i) {
    auto ip = ips.Allocate("x" + std::to_string(i));
    if (!ip.ok()) break;
    EXPECT_TRUE(all.insert(*ip).second) << *ip;
  }
  EXPECT_EQ(ips.InUse(), 253u);  // .2 .. .254
  EXPECT_FALSE(ips.Allocate("one-too-many").ok());
}

TEST(KubeletPartsTest, NodeIndexCidrAndImagesAreDerivedStably) {
  EXPECT_EQ(NodeIndexFromName("node-7"), 7);
  EXPECT_EQ(NodeIndexFromName("gpu"), NodeIndexFromName("gpu"));
  EXPECT_EQ(*PodCidrFor("10.244", 7), "10.244.7.0/24");
  EXPECT_EQ(*PodCidrFor("10.244", 300), "10.245.44.0/24");
  EXPECT_FALSE(PodCidrFor("10.244", 256 * 12).ok());
  EXPECT_EQ(InternalIpFor(7), "127.0.7.1");
  auto taints = ParseTaints("dedicated=gpu:NoSchedule,spot:PreferNoSchedule");
  ASSERT_TRUE(taints.ok());
  ASSERT_EQ(taints->size(), 2u);
  EXPECT_EQ((*taints)[1].key, "spot");
  EXPECT_FALSE(ParseTaints("a=b:Sometimes").ok());
  EXPECT_EQ(NormalizeImage("nginx"), "docker.io/library/nginx:latest");
  EXPECT_EQ(NormalizeImage("bitnami/redis:7"), "docker.io/bitnami/redis:7");
  EXPECT_EQ(NormalizeImage("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
  std::string id = FakeImageId("docker.io/library/nginx:latest");
  EXPECT_EQ(id.rfind("docker.io/library/nginx@sha256:", 0), 0u);
  EXPECT_EQ(id.size(), std::string("docker.io/library/nginx@sha256:").size() + 64);
  EXPECT_EQ(id, FakeImageId("docker.io/library/nginx:latest"));
}

// --- the node ------------------------------------------------------------------------------

TEST_F(KubeletTest, NodeRegistersWithCapacityLabelsConditionsAndARenewedLease) {
  KubeletOptions o = Options("node-3");
  o.labels = {{"topology.kubernetes.io/zone", "a"}};
  o.taints = {{"dedicated", "gpu", "NoSchedule"}};
  Kubelet* k = StartNode(o);
  EXPECT_EQ(k->pod_cidr(), "10.244.3.0/24");

  auto got = api()->Get(Kind("nodes"), "", "node-3");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Json node = got->ToJson();
  auto labels = node["metadata"]["labels"];
  EXPECT_EQ(labels["kubernetes.io/hostname"], "node-3");
  EXPECT_EQ(labels["kubernetes.io/os"], "linux");
  EXPECT_EQ(labels["kubernetes.io/arch"], "amd64");
  EXPECT_EQ(labels["node.kubernetes.io/instance-type"], "cattle-sim");
  EXPECT_EQ(labels["topology.kubernetes.io/zone"], "a");
  EXPECT_EQ(node["spec"]["podCIDR"], "10.244.3.0/24");
  EXPECT_EQ(node["spec"]["podCIDRs"], Json::array({"10.244.3.0/24"}));
  ASSERT_EQ(node["spec"]["taints"].size(), 1u);
  EXPECT_EQ(node["spec"]["taints"][0]["key"], "dedicated");
  EXPECT_EQ(node["spec"]["taints"][0]["effect"], "NoSchedule");
  auto status = node["status"];
  EXPECT_EQ(status["capacity"]["cpu"], "4");
  EXPECT_EQ(status["capacity"]["memory"], "8Gi");
  EXPECT_EQ(status["capacity"]["pods"], "110");
  EXPECT_TRUE(status["capacity"].contains("ephemeral-storage"));
  EXPECT_EQ(status["allocatable"]["pods"], "110");
  Json ready = Condition(node, "Ready");
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["reason"], "KubeletReady");
  EXPECT_EQ(ready["message"], "kubelet is posting ready status");
  EXPECT_EQ(ready["lastHeartbeatTime"], At(0));
  EXPECT_EQ(Condition(node, "MemoryPressure")["reason"], "KubeletHasSufficientMemory");
  EXPECT_EQ(Condition(node, "DiskPressure")["status"], "False");
  EXPECT_EQ(Condition(node, "PIDPressure")["status"], "False");
  EXPECT_EQ(status["addresses"][0]["type"], "InternalIP");
  EXPECT_EQ(status["addresses"][0]["address"], "127.0.3.1");
  EXPECT_EQ(status["addresses"][1]["type"], "Hostname");
  EXPECT_EQ(status["nodeInfo"]["kubeletVersion"], "v1.32.0-cattle");
  EXPECT_EQ(status["nodeInfo"]["containerRuntimeVersion"], "cattle-sim://1.0");
  EXPECT_EQ(status["nodeInfo"]["operatingSystem"], "linux");
  EXPECT_EQ(status["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);

  auto lease_of = [&]() -> Json {
    auto l = api()->Get(Kind("leases"), "kube-node-lease", "node-3");
    return l.ok() ? l->ToJson() : Json();
  };
  Json lease;
  ASSERT_TRUE(Eventually([&] { return !(lease = lease_of()).is_null(); }));
  EXPECT_EQ(lease["spec"]["holderIdentity"], "node-3");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 40);
  EXPECT_EQ(lease["spec"]["renewTime"], FormatRfc3339Micro(FakeClock::kDefaultWallNanos));
  EXPECT_EQ(lease["metadata"]["ownerReferences"][0]["kind"], "Node");
  EXPECT_EQ(lease["metadata"]["ownerReferences"][0]["uid"], node["metadata"]["uid"]);

  // Every 10 s of the clock: a renewal, and a node status post with a new heartbeat whose
  // transition time stays.
  for (int i = 1; i <= 3; ++i) {
    clock_.Advance(seconds(10));
    std::string want = FormatRfc3339Micro(FakeClock::kDefaultWallNanos + i * 10'000'000'000LL);
    EXPECT_TRUE(Eventually([&] { return lease_of()["spec"]["renewTime"] == want; }))
        << "renewal " << i << ": " << lease_of().dump();
    EXPECT_TRUE(Eventually([&] {
      auto n = api()->Get(Kind("nodes"), "", "node-3");
      return n.ok() && Condition(n->ToJson(), "Ready")["lastHeartbeatTime"] == At(i * 10);
    })) << "status " << i;
  }
  Json later = api()->Get(Kind("nodes"), "", "node-3")->ToJson();
  EXPECT_EQ(Condition(later, "Ready")["lastTransitionTime"], At(0));
}

TEST_F(KubeletTest, RestartedKubeletKeepsTheNodeSpecAndRecoversReadiness) {
  StartNode("node-1");
  StopNode(0);
  // Meanwhile: cordoned, and the node controller marked it Unknown.
  auto node = api()->Get(Kind("nodes"), "", "node-1");
  ASSERT_TRUE(node.ok());
  Object cordoned = node->Clone();
  cordoned.as<api::Node>().getSpec().setUnschedulable(true);
  ASSERT_TRUE(api()->Update(cordoned).ok());
  node = api()->Get(Kind("nodes"), "", "node-1");
  Object unknown = node->Clone();
  for (auto c : unknown.as<api::Node>().getStatus().getConditions()) {
    if (std::string(c.getType().cStr()) == "Ready") {
      c.setStatus("Unknown");
      c.setReason("NodeStatusUnknown");
      c.setLastTransitionTime(At(5));
    }
  }
  ASSERT_TRUE(api()->UpdateStatus(unknown).ok());
  clock_.Advance(seconds(20));

  StartNode("node-1");
  Json ready;
  ASSERT_TRUE(Eventually([&] {
    Json n = api()->Get(Kind("nodes"), "", "node-1")->ToJson();
    ready = Condition(n, "Ready");
    return ready["status"] == "True";
  }));
  EXPECT_EQ(ready["lastTransitionTime"], At(20));
  Json n = api()->Get(Kind("nodes"), "", "node-1")->ToJson();
  EXPECT_EQ(n["spec"].value("unschedulable", false), true);
}

// --- pods ----------------------------------------------------------------------------------

TEST_F(KubeletTest, BoundPodRunsWithAnIpFromTheNodeCidrConditionsAndContainerStatus) {
  StartNode("node-1");
  CreatePod(MakePodJson("web", "node-1"));
  Json pod = WaitForPod("web", [](const Json& p) { return IsRunning(p) && Condition(p, "Ready")["status"] == "True"; });
  ASSERT_FALSE(pod.is_null());
  auto st = pod["status"];
  std::string ip = st["podIP"];
  EXPECT_EQ(ip.rfind("10.244.1.", 0), 0u) << ip;
  EXPECT_NE(ip, "10.244.1.0");
  EXPECT_NE(ip, "10.244.1.1");
  EXPECT_EQ(st["podIPs"], Json::array({{{"ip", ip}}}));
  EXPECT_EQ(st["hostIP"], "127.0.1.1");
  EXPECT_EQ(st["hostIPs"][0]["ip"], "127.0.1.1");
  EXPECT_EQ(st["startTime"], At(0));
  EXPECT_EQ(st["qosClass"], "BestEffort");
  for (const char* type : {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    Json c = Condition(pod, type);
    EXPECT_EQ(c["status"], "True") << type;
    EXPECT_EQ(c["lastTransitionTime"], At(0)) << type;
  }
  Json cs = Container(pod);
  EXPECT_EQ(cs["name"], "web");
  EXPECT_EQ(cs["ready"], true);
  EXPECT_EQ(cs["started"], true);
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_EQ(cs["state"]["running"]["startedAt"], At(0));
  EXPECT_EQ(cs["lastState"], Json::object());
  EXPECT_EQ(cs["image"], "docker.io/library/nginx:latest");
  EXPECT_EQ(cs["imageID"], FakeImageId("docker.io/library/nginx:latest"));
  std::string id = cs["containerID"];
  EXPECT_EQ(id.rfind("cattle://", 0), 0u);
  EXPECT_EQ(id.size(), 9u + 64u);

  // A second pod: another IP from the same range.
  CreatePod(MakePodJson("web2", "node-1"));
  Json pod2 = WaitForPod("web2", IsRunning);
  std::string ip2 = pod2["status"]["podIP"];
  EXPECT_EQ(ip2.rfind("10.244.1.", 0), 0u);
  EXPECT_NE(ip2, ip);
  // A pod bound to another node is not ours.
  CreatePod(MakePodJson("elsewhere", "node-2"));
  CreatePod(MakePodJson("web3", "node-1"));
  WaitForPod("web3", IsRunning);
  EXPECT_EQ(Pod("elsewhere")["status"]["phase"], "Pending");
  EXPECT_FALSE(Pod("elsewhere")["status"].contains("podIP"));
}

// The watch event of the kubelet's own status write does not sync the pod again
// (Kubernetes' kubelet syncs a pod for changes to it, not for the status it wrote); a
// status change by someone else does, and the kubelet writes its own view back.
TEST_F(KubeletTest, OwnStatusWritesDoNotResyncButForeignStatusChangesDo) {
  StartNode("node-1");
  CreatePod(MakePodJson("web", "node-1"));
  Json web = WaitForPod("web", [](const Json& p) { return IsRunning(p) && Condition(p, "Ready")["status"] == "True"; });
  ASSERT_FALSE(web.is_null());
  // A pod's events arrive in order: once a later pod runs, the events of web's writes are in.
  CreatePod(MakePodJson("marker", "node-1"));
  ASSERT_FALSE(WaitForPod("marker", IsRunning).is_null());
  const int64_t syncs = nodes_[0].kubelet->pod_syncs();
  EXPECT_EQ(syncs, 2) << "one sync per pod created, none for the kubelet's own status writes";

  // Someone else marks the pod not ready (as the node lifecycle controller does): synced,
  // and the kubelet's own status is written back.
  auto got = api()->Get(Kind("pods"), "default", "web");
  ASSERT_TRUE(got.ok());
  Object changed = got->Clone();
  for (auto c : changed.as<api::Pod>().getStatus().getConditions())
    if (std::string(c.getType().cStr()) == "Ready") c.setStatus("False");
  ASSERT_TRUE(api()->UpdateStatus(changed).ok());
  EXPECT_FALSE(WaitForPod("web", [](const Json& p) { return Condition(p, "Ready")["status"] == "True"; }).is_null());
  EXPECT_GT(nodes_[0].kubelet->pod_syncs(), syncs);
}

TEST_F(KubeletTest, CrashingContainerRestartsInPlaceWithCrashLoopBackOffDoubling) {
  StartNode("node-1");
  Json created = CreatePod(MakePodJson("crash", "node-1", {{"cattle.dev/exit-after", "5s"}, {"cattle.dev/exit-code", "1"}}));
  Json pod = WaitForPod("crash", IsRunning);
  ASSERT_FALSE(pod.is_null());
  const std::string uid = created["metadata"]["uid"];
  const std::string ip = pod["status"]["podIP"];
  const std::string first_id = Container(pod)["containerID"];

  // First exit at 5 s: restarted at once (Kubernetes backs off from the second exit on).
  clock_.Advance(seconds(5));
  pod = WaitForPod("crash", [](const Json& p) { return Container(p)["restartCount"] == 1 && IsRunning(p); });
  ASSERT_FALSE(pod.is_null());
  Json cs = Container(pod);
  EXPECT_EQ(pod["metadata"]["uid"], uid);
  EXPECT_EQ(pod["status"]["podIP"], ip);
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_EQ(cs["lastState"]["terminated"]["reason"], "Error");
  EXPECT_EQ(cs["lastState"]["terminated"]["startedAt"], At(0));
  EXPECT_EQ(cs["lastState"]["terminated"]["finishedAt"], At(5));
  EXPECT_EQ(cs["lastState"]["terminated"]["containerID"], first_id);
  EXPECT_NE(cs["containerID"], first_id);
  EXPECT_EQ(cs["state"]["running"]["startedAt"], At(5));

  // Second exit at 10 s: CrashLoopBackOff for 10 s.
  clock_.Advance(seconds(5));
  pod = WaitForPod("crash", [](const Json& p) {
    return Container(p)["state"].contains("waiting") && Container(p)["state"]["waiting"]["reason"] == "CrashLoopBackOff";
  });
  ASSERT_FALSE(pod.is_null());
  cs = Container(pod);
  EXPECT_EQ(cs["restartCount"], 1);
  EXPECT_EQ(cs["ready"], false);
  EXPECT_EQ(cs["started"], false);
  EXPECT_EQ(cs["lastState"]["terminated"]["finishedAt"], At(10));
  std::string msg = cs["state"]["waiting"]["message"];
  EXPECT_EQ(msg, "back-off 10s restarting failed container=web pod=crash_default(" + uid + ")");
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(Condition(pod, "Ready")["status"], "False");
  EXPECT_EQ(Condition(pod, "Ready")["reason"], "ContainersNotReady");

  clock_.Advance(seconds(9));
  clock_.Advance(seconds(1));
  pod = WaitForPod("crash", [](const Json& p) { return Container(p)["restartCount"] == 2 && IsRunning(p); });
  ASSERT_FALSE(pod.is_null());
  EXPECT_EQ(Container(pod)["state"]["running"]["startedAt"], At(20));

  // Third exit at 25 s: the back-off doubles to 20 s.
  clock_.Advance(seconds(5));
  pod = WaitForPod("crash", [](const Json& p) {
    return Container(p)["state"].contains("waiting") &&
           Container(p)["state"]["waiting"].value("message", "").rfind("back-off 20s", 0) == 0;
  });
  ASSERT_FALSE(pod.is_null());
  clock_.Advance(seconds(19));
  clock_.Advance(seconds(1));
  pod = WaitForPod("crash", [](const Json& p) { return Container(p)["restartCount"] == 3 && IsRunning(p); });
  ASSERT_FALSE(pod.is_null());
  EXPECT_EQ(Container(pod)["state"]["running"]["startedAt"], At(45));
  EXPECT_EQ(pod["metadata"]["uid"], uid);
  EXPECT_EQ(pod["status"]["podIP"], ip);

  // Logs: the current instance and the one before it.
  auto logs = nodes_[0].kubelet->ContainerLogs("default", "crash", "web", false);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  ASSERT_FALSE(logs->empty());
  EXPECT_NE((*logs)[0].find("started"), std::string::npos);
  auto previous = nodes_[0].kubelet->ContainerLogs("default", "crash", "web", true);
  ASSERT_TRUE(previous.ok());
  ASSERT_GE(previous->size(), 2u);
  EXPECT_NE(previous->back().find("exiting with code 1"), std::string::npos);
}

TEST_F(KubeletTest, RestartPolicyNeverAndOnFailureEndInSucceededOrFailed) {
  StartNode("node-1");
  CreatePod(MakePodJson("fails", "node-1", {{"cattle.dev/exit-after", "3s"}, {"cattle.dev/exit-code", "2"}}, "Never"));
  CreatePod(MakePodJson("succeeds", "node-1", {{"cattle.dev/exit-after", "3s"}}, "Never"));
  CreatePod(MakePodJson("job", "node-1", {{"cattle.dev/exit-after", "3s"}}, "OnFailure"));
  WaitForPod("fails", IsRunning);
  WaitForPod("succeeds", IsRunning);
  WaitForPod("job", IsRunning);
  clock_.Advance(seconds(3));

  Json failed = WaitForPod("fails", [](const Json& p) { return p["status"]["phase"] == "Failed"; });
  ASSERT_FALSE(failed.is_null());
  Json cs = Container(failed);
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_EQ(cs["state"]["terminated"]["exitCode"], 2);
  EXPECT_EQ(cs["state"]["terminated"]["reason"], "Error");
  EXPECT_EQ(cs["state"]["terminated"]["finishedAt"], At(3));
  EXPECT_EQ(Condition(failed, "Ready")["reason"], "PodCompleted");
  EXPECT_EQ(Condition(failed, "PodReadyToStartContainers")["status"], "False");
  EXPECT_FALSE(failed["status"]["podIP"].get<std::string>().empty());

  Json ok = WaitForPod("succeeds", [](const Json& p) { return p["status"]["phase"] == "Succeeded"; });
  ASSERT_FALSE(ok.is_null());
  EXPECT_EQ(Container(ok)["state"]["terminated"]["reason"], "Completed");
  Json job = WaitForPod("job", [](const Json& p) { return p["status"]["phase"] == "Succeeded"; });
  ASSERT_FALSE(job.is_null());
  EXPECT_EQ(Container(job)["restartCount"], 0);

  // OnFailure restarts a failing container.
  CreatePod(MakePodJson("retry", "node-1", {{"cattle.dev/exit-after", "3s"}, {"cattle.dev/exit-code", "1"}}, "OnFailure"));
  WaitForPod("retry", IsRunning);
  clock_.Advance(seconds(3));
  Json retry = WaitForPod("retry", [](const Json& p) { return Container(p)["restartCount"] == 1; });
  ASSERT_FALSE(retry.is_null());
  EXPECT_EQ(retry["status"]["phase"], "Running");
}

TEST_F(KubeletTest, ReadinessIsScriptedByAnnotations) {
  StartNode("node-1");
  CreatePod(MakePodJson("never", "node-1", {{"cattle.dev/never-ready", "true"}}));
  CreatePod(MakePodJson("slow", "node-1", {{"cattle.dev/ready-after", "3s"}}));
  Json never = WaitForPod("never", IsRunning);
  Json slow = WaitForPod("slow", IsRunning);
  ASSERT_FALSE(never.is_null());
  ASSERT_FALSE(slow.is_null());
  EXPECT_EQ(Container(never)["ready"], false);
  EXPECT_EQ(Container(never)["started"], true);
  EXPECT_EQ(Condition(never, "Ready")["status"], "False");
  EXPECT_EQ(Condition(never, "ContainersReady")["message"], "containers with unready status: [web]");
  EXPECT_EQ(Container(slow)["ready"], false);
  clock_.Advance(seconds(3));
  slow = WaitForPod("slow", [](const Json& p) { return Condition(p, "Ready")["status"] == "True"; });
  ASSERT_FALSE(slow.is_null());
  EXPECT_EQ(Container(slow)["ready"], true);
  EXPECT_EQ(Condition(slow, "Ready")["lastTransitionTime"], At(3));
  EXPECT_EQ(Condition(slow, "PodScheduled")["lastTransitionTime"], At(0));
  EXPECT_EQ(Container(Pod("never"))["ready"], false);
}

TEST_F(KubeletTest, ImagePullFailureShowsErrImagePullThenImagePullBackOff) {
  StartNode("node-1");
  CreatePod(MakePodJson("badimage", "node-1", {{"cattle.dev/image-pull-fail", "true"}}));
  auto waiting_reason = [](const Json& p) {
    Json cs = Container(p);
    return cs.contains("state") && cs["state"].contains("waiting") ? cs["state"]["waiting"].value("reason", "") : "";
  };
  Json pod = WaitForPod("badimage", [&](const Json& p) { return waiting_reason(p) == "ErrImagePull"; });
  ASSERT_FALSE(pod.is_null());
  EXPECT_EQ(pod["status"]["phase"], "Pending");
  EXPECT_EQ(Container(pod)["restartCount"], 0);
  clock_.Advance(seconds(1));
  pod = WaitForPod("badimage", [&](const Json& p) { return waiting_reason(p) == "ImagePullBackOff"; });
  ASSERT_FALSE(pod.is_null());
  EXPECT_EQ(Container(pod)["state"]["waiting"]["message"], "Back-off pulling image \"nginx\"");
  // After the 10 s back-off it pulls (and fails) again.
  clock_.Advance(seconds(9));
  pod = WaitForPod("badimage", [&](const Json& p) { return waiting_reason(p) == "ErrImagePull"; });
  ASSERT_FALSE(pod.is_null());
}

TEST_F(KubeletTest, DeletedPodStopsItsContainersThenIsRemoved) {
  StartNode("node-1");
  CreatePod(MakePodJson("web", "node-1"));
  CreatePod(MakePodJson("slowstop", "node-1", {{"cattle.dev/stop-delay", "5s"}}));
  WaitForPod("web", IsRunning);
  WaitForPod("slowstop", IsRunning);

  auto deleted = api()->Delete(Kind("pods"), "default", "web");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_TRUE(deleted->meta().hasDeletionTimestamp());  // graceful: the kubelet finishes it
  EXPECT_TRUE(Eventually([&] { return Pod("web").is_null(); })) << Pod("web").dump(2);

  // The slow one takes its 5 s to stop: it is still there, Terminating, until then.
  ASSERT_TRUE(api()->Delete(Kind("pods"), "default", "slowstop").ok());
  WaitUntilStopping("slowstop");
  clock_.Advance(seconds(4));
  EXPECT_FALSE(Pod("slowstop").is_null());
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Eventually([&] { return Pod("slowstop").is_null(); }));
  EXPECT_TRUE(Eventually([&] { return nodes_[0].kubelet->pod_worker_count() == 0; }));
  EXPECT_TRUE(Eventually([&] { return nodes_[0].runtime->ContainerCount() == 0; }));

  // A stop that outlasts the grace period is cut short by it.
  Json quick = MakePodJson("stubborn", "node-1", {{"cattle.dev/stop-delay", "1h"}});
  quick["spec"]["terminationGracePeriodSeconds"] = 2;
  CreatePod(quick);
  WaitForPod("stubborn", IsRunning);
  ASSERT_TRUE(api()->Delete(Kind("pods"), "default", "stubborn").ok());
  WaitUntilStopping("stubborn");
  clock_.Advance(seconds(2));
  EXPECT_TRUE(Eventually([&] { return Pod("stubborn").is_null(); }));
}

TEST_F(KubeletTest, RestartedKubeletAdoptsRunningPodsWithoutChangingIpOrRestarts) {
  StartNode("node-1");
  Json created = CreatePod(MakePodJson("crash", "node-1", {{"cattle.dev/exit-after", "5s"}}));
  CreatePod(MakePodJson("steady", "node-1"));
  CreatePod(MakePodJson("doomed", "node-1"));
  CreatePod(MakePodJson("vanished", "node-1"));
  WaitForPod("crash", IsRunning);
  Json steady = WaitForPod("steady", IsRunning);
  WaitForPod("doomed", IsRunning);
  WaitForPod("vanished", IsRunning);
  clock_.Advance(seconds(5));
  Json before = WaitForPod("crash", [](const Json& p) { return Container(p)["restartCount"] == 1 && IsRunning(p); });
  ASSERT_FALSE(before.is_null());
  StopNode(0);

  // While the kubelet is away: one pod is deleted gracefully (it waits for a kubelet), one
  // is force-deleted.
  ASSERT_TRUE(api()->Delete(Kind("pods"), "default", "doomed").ok());
  DeleteOptions force;
  force.grace_period_seconds = 0;
  ASSERT_TRUE(api()->Delete(Kind("pods"), "default", "vanished", force).ok());
  Json steady_before = Pod("steady");

  Kubelet* k = StartNode("node-1");
  // The terminating pod is finished by the new kubelet.
  EXPECT_TRUE(Eventually([&] { return Pod("doomed").is_null(); }));
  EXPECT_TRUE(Eventually([&] { return k->pod_worker_count() == 2; }));
  // A new pod gets a fresh IP, not one of the adopted pods'.
  CreatePod(MakePodJson("fresh", "node-1"));
  Json fresh = WaitForPod("fresh", IsRunning);
  EXPECT_NE(fresh["status"]["podIP"], before["status"]["podIP"]);
  EXPECT_NE(fresh["status"]["podIP"], steady_before["status"]["podIP"]);

  // The adopted pods' status was left alone: same IP, container, start time and restarts.
  Json steady_after = Pod("steady");
  EXPECT_EQ(steady_after["status"], steady_before["status"]);
  EXPECT_EQ(steady_after["metadata"]["resourceVersion"], steady_before["metadata"]["resourceVersion"]);
  Json after = Pod("crash");
  EXPECT_EQ(after["status"]["podIP"], before["status"]["podIP"]);
  EXPECT_EQ(Container(after)["restartCount"], 1);
  EXPECT_EQ(Container(after)["containerID"], Container(before)["containerID"]);

  // The adopted container still exits on its script (5 s after it started at 5 s): the
  // restart count continues from 1, and the container that exited is the adopted one.
  clock_.Advance(seconds(5));
  Json later = WaitForPod("crash", [](const Json& p) { return Container(p)["restartCount"] == 2; });
  ASSERT_FALSE(later.is_null());
  EXPECT_EQ(later["metadata"]["uid"], created["metadata"]["uid"]);
  EXPECT_EQ(later["status"]["podIP"], before["status"]["podIP"]);
  EXPECT_EQ(Container(later)["lastState"]["terminated"]["containerID"], Container(before)["containerID"]);
  EXPECT_EQ(Container(later)["lastState"]["terminated"]["startedAt"], At(5));
  EXPECT_EQ(Container(later)["lastState"]["terminated"]["finishedAt"], At(10));
  EXPECT_EQ(Pod("steady")["metadata"]["resourceVersion"], steady_before["metadata"]["resourceVersion"]);
}

TEST_F(KubeletTest, EventsAreRecordedForContainersAndTheNode) {
  StartNode("node-1");
  CreatePod(MakePodJson("web", "node-1"));
  WaitForPod("web", IsRunning);
  nodes_[0].recorder->Flush();
  auto reasons = [&](const std::string& ns) {
    std::multiset<std::string> out;
    auto list = api()->List(Kind("events"), ns);
    if (list.ok())
      for (const auto& e : list->items) {
        Json j = e.ToJson();
        out.insert(j.value("reason", "") + ": " + j.value("message", ""));
      }
    return out;
  };
  auto pod_events = reasons("default");
  EXPECT_TRUE(pod_events.count("Pulling: Pulling image \"nginx\"")) << Json(pod_events).dump(2);
  EXPECT_TRUE(pod_events.count("Created: Created container web"));
  EXPECT_TRUE(pod_events.count("Started: Started container web"));
  bool pulled = false;
  for (const auto& e : pod_events) pulled |= e.rfind("Pulled: Successfully pulled image \"nginx\" in 0s", 0) == 0;
  EXPECT_TRUE(pulled);

  ASSERT_TRUE(api()->Delete(Kind("pods"), "default", "web").ok());
  EXPECT_TRUE(Eventually([&] { return Pod("web").is_null(); }));
  nodes_[0].recorder->Flush();
  EXPECT_TRUE(reasons("default").count("Killing: Stopping container web"));
  auto node_events = reasons("default");
  EXPECT_TRUE(node_events.count("Starting: Starting kubelet.")) << Json(node_events).dump(2);
  EXPECT_TRUE(node_events.count("NodeReady: Node node-1 status is now: NodeReady"));
}

TEST_F(KubeletTest, HollowModeRunsThreeNodesWithTheirOwnLeasesCidrsAndPods) {
  KubeletOptions base;
  base.pod_worker_threads = 1;
  std::set<std::string> cidrs;
  for (const auto& o : HollowNodeOptions(base, 3, "hollow-")) cidrs.insert(StartNode(o)->pod_cidr());
  EXPECT_EQ(cidrs, (std::set<std::string>{"10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"}));
  for (int i = 1; i <= 3; ++i) {
    std::string name = "hollow-" + std::to_string(i);
    EXPECT_TRUE(api()->Get(Kind("nodes"), "", name).ok()) << name;
    EXPECT_TRUE(Eventually([&] { return api()->Get(Kind("leases"), "kube-node-lease", name).ok(); })) << name;
    CreatePod(MakePodJson("pod-" + std::to_string(i), name));
  }
  for (int i = 1; i <= 3; ++i) {
    Json pod = WaitForPod("pod-" + std::to_string(i), IsRunning);
    ASSERT_FALSE(pod.is_null());
    std::string ip = pod["status"]["podIP"];
    EXPECT_EQ(ip.rfind("10.244." + std::to_string(i) + ".", 0), 0u) << ip;
    EXPECT_EQ(pod["status"]["hostIP"], "127.0." + std::to_string(i) + ".1");
  }
  auto leases = api()->List(Kind("leases"), "kube-node-lease");
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(leases->items.size(), 3u);
  auto nodes = api()->List(Kind("nodes"), "");
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->items.size(), 3u);
}

TEST_F(KubeletTest, HollowNodesSharingOnePodInformerRunOnlyTheirOwnPods) {
  // As cattle-kubelet --nodes does: one watch of every bound pod for all the nodes.
  Informer shared(std::make_unique<ClientListerWatcher>(api(), Kind("pods"), "", "", "spec.nodeName!="), &clock_);
  CreatePod(MakePodJson("early", "hollow-2"));  // already there when the router is added
  shared.Start();
  KubeletOptions base;
  base.pod_worker_threads = 1;
  std::vector<Kubelet*> kubelets;
  PodRouter router;
  for (const auto& o : HollowNodeOptions(base, 2, "hollow-")) {
    kubelets.push_back(StartNode(o, &shared));
    router.Add(kubelets.back());
  }
  shared.AddHandlers(router.Handlers());
  CreatePod(MakePodJson("late", "hollow-1"));
  for (auto [name, subnet] : {std::pair{"early", "10.244.2."}, std::pair{"late", "10.244.1."}}) {
    Json pod = WaitForPod(name, IsRunning);
    ASSERT_FALSE(pod.is_null()) << name;
    std::string ip = pod["status"]["podIP"];
    EXPECT_EQ(ip.rfind(subnet, 0), 0u) << name << " " << ip;
  }
  EXPECT_EQ(kubelets[0]->pod_worker_count(), 1u);
  EXPECT_EQ(kubelets[1]->pod_worker_count(), 1u);
  ASSERT_TRUE(api()->Delete(Kind("pods"), "default", "late").ok());
  EXPECT_TRUE(Eventually([&] { return Pod("late").is_null(); })) << "hollow-1 stopped it and removed it";
  EXPECT_TRUE(Eventually([&] { return kubelets[0]->pod_worker_count() == 0; }));
  EXPECT_EQ(kubelets[1]->pod_worker_count(), 1u);
  shared.Stop();  // before the kubelets its handlers call
}

}  // namespace
}  // namespace cattle::kubelet
