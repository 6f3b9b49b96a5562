// The scheduler: each filter and score plugin on hand-built objects, Kubernetes' failure
// message, the scheduling queue's back-off, the assume cache, and the whole Scheduler over
// an in-process apiserver on a FakeClock (binding, spreading, FailedScheduling with the
// exact message and the PodScheduled condition, requeueing on cluster events, back-off).
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/fake_clock.h"
#include "scheduler/least_allocated.h"
#include "scheduler/node_affinity.h"
#include "scheduler/node_ready.h"
#include "scheduler/node_resources_fit.h"
#include "scheduler/node_unschedulable.h"
#include "scheduler/preemption.h"
#include "scheduler/selector_spread.h"
#include "scheduler/taint_toleration.h"

namespace cattle::scheduler {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// --- building objects ------------------------------------------------------------------

ObjectPtr Parse(const Json& j) {
  auto o = Object::FromJson(KindRegistry::Default(), j);
  EXPECT_TRUE(o.ok()) << o.status().ToString() << "\n" << j.dump();
  if (!o.ok()) abort();
  return std::make_shared<const Object>(std::move(*o));
}

Json NodeJson(const std::string& name, const std::string& cpu = "4",
              const std::string& memory = "8Gi", const std::string& pods = "110") {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}}},
          {"status",
           {{"allocatable", {{"cpu", cpu}, {"memory", memory}, {"pods", pods}}},
            {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

// A pod with one container requesting `cpu` and `memory` ("" leaves a request out).
Json PodJson(const std::string& name, const std::string& cpu = "", const std::string& memory = "") {
  Json requests = Json::object();
  if (!cpu.empty()) requests["cpu"] = cpu;
  if (!memory.empty()) requests["memory"] = memory;
  Json container = {{"name", "c"}, {"image", "nginx"}};
  if (!requests.empty()) container["resources"] = {{"requests", requests}};
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"containers", Json::array({container})}}}};
}

Json& WithController(Json& pod, const std::string& uid) {
  pod["metadata"]["ownerReferences"] = Json::array({{{"apiVersion", "apps/v1"},
                                                     {"kind", "ReplicaSet"},
                                                     {"name", "rs-" + uid},
                                                     {"uid", uid},
                                                     {"controller", true}}});
  return pod;
}

PodInfoPtr Pod(const Json& j) { return PodInfo::From(Parse(j)); }
NodeInfoPtr Node(const Json& j) { return std::make_shared<NodeInfo>(Parse(j)); }

// A pod as bound to `node`, for NodeInfo::AddPod.
PodInfoPtr BoundPod(Json j, const std::string& node, const std::string& uid) {
  j["spec"]["nodeName"] = node;
  j["metadata"]["uid"] = uid;
  return Pod(j);
}

Json Taint(const std::string& key, const std::string& value, const std::string& effect) {
  return {{"key", key}, {"value", value}, {"effect", effect}};
}

Json Toleration(const std::string& key, const std::string& op, const std::string& value,
                const std::string& effect) {
  Json t = Json::object();
  if (!key.empty()) t["key"] = key;
  if (!op.empty()) t["operator"] = op;
  if (!value.empty()) t["value"] = value;
  if (!effect.empty()) t["effect"] = effect;
  return t;
}

std::string Describe(const FilterResult& r) {
  if (r.ok()) return "ok";
  std::string code = r.code() == Code::kUnschedulable                  ? "Unschedulable"
                     : r.code() == Code::kUnschedulableAndUnresolvable ? "Unresolvable"
                                                                       : "Error";
  return code + ": " + r.Message();
}

// --- TaintToleration ---------------------------------------------------------------------

std::string Taints(const Json& taints, const Json& tolerations) {
  Json n = NodeJson("n");
  n["spec"]["taints"] = taints;
  Json p = PodJson("p");
  p["spec"]["tolerations"] = tolerations;
  return Describe(TaintToleration().Filter(*Pod(p), *Node(n)));
}

TEST(SchedulerPluginTest, PodInfoIsTheSameAcrossStatusWritesUntilThePodEnds) {
  Json p = PodJson("p", "100m");
  p["metadata"]["uid"] = "u1";
  p["spec"]["nodeName"] = "n";
  Json running = p;
  running["status"] = {{"phase", "Running"}, {"podIP", "10.0.0.5"}};
  EXPECT_TRUE(PodInfo::Same(*Parse(p), *Parse(running)));
  Json done = running;
  done["status"]["phase"] = "Succeeded";
  EXPECT_FALSE(PodInfo::Same(*Parse(running), *Parse(done))) << "a finished pod frees its node";
  Json resized = running;
  resized["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "50m";
  EXPECT_FALSE(PodInfo::Same(*Parse(running), *Parse(resized)));
  Json relabeled = running;
  relabeled["metadata"]["labels"] = {{"app", "x"}};
  EXPECT_FALSE(PodInfo::Same(*Parse(running), *Parse(relabeled))) << "spreading looks at labels";
  Json adopted = running;
  WithController(adopted, "rs-1");
  EXPECT_FALSE(PodInfo::Same(*Parse(running), *Parse(adopted)));
  Json deleting = running;
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_FALSE(PodInfo::Same(*Parse(running), *Parse(deleting)));
}

TEST(SchedulerPluginTest, TaintTolerationMatchesKubernetesRules) {
  Json gpu = Json::array({Taint("dedicated", "gpu", "NoSchedule")});
  const std::string rejected = "Unresolvable: node(s) had untolerated taint {dedicated: gpu}";
  EXPECT_EQ(Taints(gpu, Json::array()), rejected);
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("dedicated", "Equal", "gpu", "NoSchedule")})),
            "ok");
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("dedicated", "", "gpu", "NoSchedule")})), "ok")
      << "an empty operator means Equal";
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("dedicated", "Equal", "cpu", "NoSchedule")})),
            rejected);
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("dedicated", "Exists", "", "")})), "ok")
      << "Exists matches any value, an empty effect every effect";
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("", "Exists", "", "")})), "ok")
      << "an empty key with Exists tolerates everything";
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("dedicated", "Exists", "", "NoExecute")})),
            rejected)
      << "a different effect does not match";
  EXPECT_EQ(Taints(gpu, Json::array({Toleration("other", "Exists", "", "")})), rejected);
  EXPECT_EQ(Taints(Json::array({Taint("soft", "x", "PreferNoSchedule")}), Json::array()), "ok")
      << "PreferNoSchedule is not a filter";
  EXPECT_EQ(Taints(Json::array({Taint("evict", "", "NoExecute")}), Json::array()),
            "Unresolvable: node(s) had untolerated taint {evict: }");
  // The first untolerated taint is the one reported.
  EXPECT_EQ(Taints(Json::array({Taint("a", "1", "NoSchedule"), Taint("b", "2", "NoSchedule")}),
                   Json::array({Toleration("a", "Exists", "", "")})),
            "Unresolvable: node(s) had untolerated taint {b: 2}");
}

TEST(SchedulerPluginTest, UnreachableNodeIsRejectedDespiteTheDefaultTolerations) {
  // The node lifecycle controller taints an unreachable node NoSchedule and NoExecute; a
  // pod's default tolerations (admission) cover NoExecute only.
  Json taints = Json::array({Taint("node.kubernetes.io/unreachable", "", "NoSchedule"),
                             Taint("node.kubernetes.io/unreachable", "", "NoExecute")});
  Json defaults = Json::array();
  for (const char* key : {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}) {
    Json t = Toleration(key, "Exists", "", "NoExecute");
    t["tolerationSeconds"] = 300;
    defaults.push_back(t);
  }
  EXPECT_EQ(Taints(taints, defaults),
            "Unresolvable: node(s) had untolerated taint {node.kubernetes.io/unreachable: }");
}

// --- NodeUnschedulable, NodeReady ----------------------------------------------------

TEST(SchedulerPluginTest, NodeUnschedulableHonoursTheUnschedulableToleration) {
  Json cordoned = NodeJson("n");
  cordoned["spec"]["unschedulable"] = true;
  NodeUnschedulable plugin;
  EXPECT_EQ(Describe(plugin.Filter(*Pod(PodJson("p")), *Node(cordoned))),
            "Unresolvable: node(s) were unschedulable");
  EXPECT_EQ(Describe(plugin.Filter(*Pod(PodJson("p")), *Node(NodeJson("n")))), "ok");
  Json tolerant = PodJson("p");
  tolerant["spec"]["tolerations"] =
      Json::array({Toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule")});
  EXPECT_EQ(Describe(plugin.Filter(*Pod(tolerant), *Node(cordoned))), "ok");
  tolerant["spec"]["tolerations"] =
      Json::array({Toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoExecute")});
  EXPECT_EQ(Describe(plugin.Filter(*Pod(tolerant), *Node(cordoned))),
            "Unresolvable: node(s) were unschedulable");
}

TEST(SchedulerPluginTest, NodeReadyNeedsReadyTrue) {
  NodeReady plugin;
  auto pod = Pod(PodJson("p"));
  EXPECT_EQ(Describe(plugin.Filter(*pod, *Node(NodeJson("n")))), "ok");
  for (const char* status : {"False", "Unknown"}) {
    Json n = NodeJson("n");
    n["status"]["conditions"] = Json::array({{{"type", "MemoryPressure"}, {"status", "False"}},
                                             {{"type", "Ready"}, {"status", status}}});
    EXPECT_EQ(Describe(plugin.Filter(*pod, *Node(n))), "Unresolvable: node(s) were not ready")
        << status;
  }
  Json bare = NodeJson("n");
  bare["status"].erase("conditions");
  EXPECT_EQ(Describe(plugin.Filter(*pod, *Node(bare))), "Unresolvable: node(s) were not ready");
}

// --- NodeAffinity --------------------------------------------------------------------

std::string Affinity(const Json& node_labels, const Json& terms,
                     const Json& node_selector = nullptr) {
  Json n = NodeJson("node-a");
  n["metadata"]["labels"] = node_labels;
  Json p = PodJson("p");
  if (!terms.is_null())
    p["spec"]["affinity"] = {
        {"nodeAffinity",
         {{"requiredDuringSchedulingIgnoredDuringExecution", {{"nodeSelectorTerms", terms}}}}}};
  if (!node_selector.is_null()) p["spec"]["nodeSelector"] = node_selector;
  return Describe(NodeAffinity().Filter(*Pod(p), *Node(n)));
}

Json Expr(const std::string& key, const std::string& op, const Json& values = Json::array()) {
  Json e = {{"key", key}, {"operator", op}};
  if (!values.empty()) e["values"] = values;
  return e;
}

Json Term(const Json& exprs, const Json& fields = Json::array()) {
  Json t = Json::object();
  if (!exprs.empty()) t["matchExpressions"] = exprs;
  if (!fields.empty()) t["matchFields"] = fields;
  return t;
}

TEST(SchedulerPluginTest, NodeAffinitySelectorAndRequiredTerms) {
  const std::string no = "Unresolvable: node(s) didn't match Pod's node affinity/selector";
  Json labels = {{"disk", "ssd"}, {"zone", "a"}, {"cores", "8"}};
  EXPECT_EQ(Affinity(labels, nullptr), "ok");
  EXPECT_EQ(Affinity(labels, nullptr, {{"disk", "ssd"}}), "ok");
  EXPECT_EQ(Affinity(labels, nullptr, {{"disk", "ssd"}, {"zone", "b"}}), no);
  EXPECT_EQ(Affinity(labels, nullptr, {{"gpu", "yes"}}), no);

  auto one = [&](const Json& expr) {
    return Affinity(labels, Json::array({Term(Json::array({expr}))}));
  };
  EXPECT_EQ(one(Expr("disk", "In", {"hdd", "ssd"})), "ok");
  EXPECT_EQ(one(Expr("disk", "In", {"hdd"})), no);
  EXPECT_EQ(one(Expr("disk", "NotIn", {"hdd"})), "ok");
  EXPECT_EQ(one(Expr("disk", "NotIn", {"ssd"})), no);
  EXPECT_EQ(one(Expr("gpu", "NotIn", {"yes"})), "ok") << "NotIn matches a missing label";
  EXPECT_EQ(one(Expr("disk", "Exists")), "ok");
  EXPECT_EQ(one(Expr("gpu", "Exists")), no);
  EXPECT_EQ(one(Expr("gpu", "DoesNotExist")), "ok");
  EXPECT_EQ(one(Expr("disk", "DoesNotExist")), no);
  EXPECT_EQ(one(Expr("cores", "Gt", {"4"})), "ok");
  EXPECT_EQ(one(Expr("cores", "Gt", {"8"})), no);
  EXPECT_EQ(one(Expr("cores", "Lt", {"9"})), "ok");
  EXPECT_EQ(one(Expr("cores", "Lt", {"8"})), no);
  EXPECT_EQ(one(Expr("disk", "Gt", {"1"})), no) << "a non-integer label never compares";
  EXPECT_EQ(one(Expr("cores", "Gt", {"x"})), no) << "a malformed requirement matches nothing";
  EXPECT_EQ(one(Expr("disk", "Near", {"ssd"})), no);

  // Expressions in a term are ANDed; terms are ORed; an empty term is skipped.
  EXPECT_EQ(Affinity(labels, Json::array({Term(Json::array(
                                 {Expr("disk", "In", {"ssd"}), Expr("zone", "In", {"b"})}))})),
            no);
  EXPECT_EQ(Affinity(labels, Json::array({Term(Json::array({Expr("zone", "In", {"b"})})),
                                          Term(Json::array({Expr("zone", "In", {"a"})}))})),
            "ok");
  EXPECT_EQ(Affinity(labels, Json::array({Json::object()})), no);
  EXPECT_EQ(
      Affinity(labels, Json::array({Json::object(), Term(Json::array({Expr("disk", "Exists")}))})),
      "ok");
  // Selector and affinity must both match.
  EXPECT_EQ(
      Affinity(labels, Json::array({Term(Json::array({Expr("disk", "Exists")}))}), {{"zone", "b"}}),
      no);

  // matchFields: metadata.name with In/NotIn and one value.
  auto field = [&](const Json& expr) {
    return Affinity(labels, Json::array({Term(Json::array(), Json::array({expr}))}));
  };
  EXPECT_EQ(field(Expr("metadata.name", "In", {"node-a"})), "ok");
  EXPECT_EQ(field(Expr("metadata.name", "In", {"node-b"})), no);
  EXPECT_EQ(field(Expr("metadata.name", "NotIn", {"node-b"})), "ok");
  EXPECT_EQ(field(Expr("metadata.name", "NotIn", {"node-a"})), no);
  EXPECT_EQ(field(Expr("metadata.name", "In", {"node-a", "node-b"})), no) << "exactly one value";
  EXPECT_EQ(
      Affinity(labels, Json::array({Term(Json::array({Expr("disk", "Exists")}),
                                         Json::array({Expr("metadata.name", "In", {"node-b"})}))})),
      no);
}

// --- NodeResourcesFit ----------------------------------------------------------------

TEST(SchedulerPluginTest, NodeResourcesFitCountsRequestsAgainstAllocatable) {
  NodeResourcesFit fit;
  auto node = Node(NodeJson("n", "2", "4Gi", "3"));
  node->AddPod(BoundPod(PodJson("a", "1", "1Gi"), "n", "uid-a"));
  EXPECT_EQ(Describe(fit.Filter(*Pod(PodJson("p", "1", "3Gi")), *node)), "ok")
      << "exactly full fits";
  EXPECT_EQ(Describe(fit.Filter(*Pod(PodJson("p", "1001m")), *node)),
            "Unschedulable: Insufficient cpu");
  EXPECT_EQ(Describe(fit.Filter(*Pod(PodJson("p", "", "3073Mi")), *node)),
            "Unschedulable: Insufficient memory");
  EXPECT_EQ(Describe(fit.Filter(*Pod(PodJson("p", "2", "4Gi")), *node)),
            "Unschedulable: Insufficient cpu, Insufficient memory");
  node->AddPod(BoundPod(PodJson("b"), "n", "uid-b"));
  node->AddPod(BoundPod(PodJson("c"), "n", "uid-c"));
  EXPECT_EQ(Describe(fit.Filter(*Pod(PodJson("p")), *node)), "Unschedulable: Too many pods");
  EXPECT_EQ(Describe(fit.Filter(*Pod(PodJson("p", "2")), *node)),
            "Unschedulable: Too many pods, Insufficient cpu");
  EXPECT_TRUE(node->RemovePod("uid-a"));
  EXPECT_FALSE(node->RemovePod("uid-a"));
  EXPECT_EQ(node->requested().milli_cpu, 0);
}

TEST(SchedulerPluginTest, PodRequestsTakeInitContainersAsAMaximum) {
  Json p = PodJson("p", "500m", "100Mi");
  p["spec"]["containers"].push_back(
      {{"name", "d"}, {"image", "x"}, {"resources", {{"requests", {{"cpu", "500m"}}}}}});
  p["spec"]["initContainers"] = Json::array(
      {{{"name", "i1"},
        {"image", "x"},
        {"resources", {{"requests", {{"cpu", "2"}, {"memory", "50Mi"}}}}}},
       {{"name", "i2"}, {"image", "x"}, {"resources", {{"requests", {{"cpu", "1"}}}}}}});
  auto pod = Pod(p);
  EXPECT_EQ(pod->requests.milli_cpu, 2000);            // max(500m+500m, 2)
  EXPECT_EQ(pod->requests.memory, 100 * 1024 * 1024);  // max(100Mi, 50Mi)
  EXPECT_EQ(pod->non_zero_requests.milli_cpu, 2000);
  EXPECT_EQ(pod->non_zero_requests.memory, 300 * 1024 * 1024)
      << "the second container's missing memory counts as 200Mi";
  // A sidecar (restartable init container) runs alongside everything after it.
  p["spec"]["initContainers"][0]["restartPolicy"] = "Always";
  EXPECT_EQ(Pod(p)->requests.milli_cpu, 3000);  // 2 + 500m + 500m
  // Overhead is added.
  p["spec"]["overhead"] = {{"cpu", "250m"}};
  EXPECT_EQ(Pod(p)->requests.milli_cpu, 3250);
  EXPECT_TRUE(Pod(PodJson("empty"))->requests.IsZero());
}

// --- scores --------------------------------------------------------------------------

TEST(SchedulerPluginTest, LeastAllocatedUsesKubernetesFormula) {
  NodeResourcesLeastAllocated plugin;
  auto node = Node(NodeJson("n", "4", "8Gi"));
  node->AddPod(BoundPod(PodJson("a", "1", "2Gi"), "n", "uid-a"));
  // cpu (4000-2000)*100/4000 = 50, memory (8Gi-4Gi)*100/8Gi = 50.
  EXPECT_EQ(plugin.Score(*Pod(PodJson("p", "1", "2Gi")), *node), 50);
  // cpu: 1 + 3 of 4 → 0; memory: 2Gi + 200Mi (no request) of 8Gi → 72; mean 36.
  EXPECT_EQ(plugin.Score(*Pod(PodJson("p", "3")), *node), 36);
  // No requests: 100m and 200Mi are assumed: cpu 3900*100/4000 = 97, memory 97.
  auto empty = Node(NodeJson("m", "4", "8Gi"));
  EXPECT_EQ(plugin.Score(*Pod(PodJson("p")), *empty), 97);
  // Requests above allocatable score 0.
  EXPECT_EQ(plugin.Score(*Pod(PodJson("p", "5", "9Gi")), *empty), 0);
  // A resource the node does not have is left out of the mean.
  auto cpu_only = Node(NodeJson("c", "4", "0"));
  EXPECT_EQ(plugin.Score(*Pod(PodJson("p", "1")), *cpu_only), 75);
  // Fewer requests on a node → higher score.
  EXPECT_GT(plugin.Score(*Pod(PodJson("p", "1")), *empty),
            plugin.Score(*Pod(PodJson("p", "1")), *node));
}

TEST(SchedulerPluginTest, SelectorSpreadPrefersNodesWithFewerPodsOfTheController) {
  SelectorSpread plugin;
  std::vector<NodeInfoPtr> nodes = {Node(NodeJson("a")), Node(NodeJson("b")), Node(NodeJson("c"))};
  Json sibling = PodJson("s");
  WithController(sibling, "rs-1");
  nodes[0]->AddPod(BoundPod(sibling, "a", "s1"));
  nodes[0]->AddPod(BoundPod(sibling, "a", "s2"));
  nodes[1]->AddPod(BoundPod(sibling, "b", "s3"));
  Json other = PodJson("o");
  WithController(other, "rs-2");
  nodes[2]->AddPod(BoundPod(other, "c", "o1"));
  nodes[2]->AddPod(BoundPod(PodJson("bare"), "c", "b1"));
  Json terminating = sibling;
  terminating["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z";
  nodes[2]->AddPod(BoundPod(terminating, "c", "t1"));

  Json pj = PodJson("p");
  auto pod = Pod(WithController(pj, "rs-1"));
  std::vector<const NodeInfo*> view = {nodes[0].get(), nodes[1].get(), nodes[2].get()};
  std::vector<int64_t> scores;
  for (auto* n : view) scores.push_back(plugin.Score(*pod, *n));
  EXPECT_EQ(scores, (std::vector<int64_t>{2, 1, 0}));
  plugin.NormalizeScores(*pod, view, &scores);
  EXPECT_EQ(scores, (std::vector<int64_t>{0, 50, 100}));

  // Zones blend in with weight 2/3: a=1 (zone z1), b=0 (z1), c=0 (z2).
  std::vector<NodeInfoPtr> zoned;
  for (const char* name : {"a", "b", "c"}) {
    Json n = NodeJson(name);
    n["metadata"]["labels"] = {
        {"topology.kubernetes.io/zone", std::string(name) == "c" ? "z2" : "z1"}};
    zoned.push_back(Node(n));
  }
  zoned[0]->AddPod(BoundPod(sibling, "a", "s1"));
  view = {zoned[0].get(), zoned[1].get(), zoned[2].get()};
  scores.clear();
  for (auto* n : view) scores.push_back(plugin.Score(*pod, *n));
  plugin.NormalizeScores(*pod, view, &scores);
  EXPECT_EQ(scores, (std::vector<int64_t>{0, 33, 100}));

  // Without a controller there is no preference.
  auto orphan = Pod(PodJson("q"));
  scores = {plugin.Score(*orphan, *nodes[0]), plugin.Score(*orphan, *nodes[1])};
  plugin.NormalizeScores(*orphan, {nodes[0].get(), nodes[1].get()}, &scores);
  EXPECT_EQ(scores, (std::vector<int64_t>{0, 0}));
}

// --- framework: the failure message and node choice ------------------------------------

void RegisterDefaultPlugins(Framework* f) {
  f->AddFilter(std::make_unique<NodeUnschedulable>());
  f->AddFilter(std::make_unique<TaintToleration>());
  f->AddFilter(std::make_unique<NodeReady>());
  f->AddFilter(std::make_unique<NodeAffinity>());
  f->AddFilter(std::make_unique<NodeResourcesFit>());
  f->AddScore(std::make_unique<NodeResourcesLeastAllocated>(), 1);
  f->AddScore(std::make_unique<SelectorSpread>(), 2);
}

TEST(SchedulerFrameworkTest, FitErrorMessageIsKubernetes) {
  NodeToStatus statuses;
  statuses.emplace("a", FilterResult::Unresolvable(
                            "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"));
  statuses.emplace("b", FilterResult::Unschedulable({"Insufficient cpu"}));
  statuses.emplace("c", FilterResult::Unschedulable({"Insufficient cpu", "Insufficient memory"}));
  EXPECT_EQ(FitErrorMessage(3, statuses, "", "preemption: x."),
            "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: x.");
  EXPECT_EQ(FitErrorMessage(3, {}, "Preemption is not helpful for scheduling", ""),
            "0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  EXPECT_EQ(FitErrorMessage(2, {}, "", ""), "0/2 nodes are available:");
}

TEST(SchedulerFrameworkTest, FirstRejectingFilterDecidesAndPreemptionIsExplained) {
  Framework f;
  RegisterDefaultPlugins(&f);
  std::mt19937_64 rng(1);
  Json tainted = NodeJson("node-1", "1");
  tainted["spec"]["taints"] =
      Json::array({Taint("node.kubernetes.io/unreachable", "", "NoSchedule")});
  tainted["status"]["conditions"][0]["status"] = "Unknown";
  std::vector<NodeInfoPtr> nodes = {Node(tainted), Node(NodeJson("node-2", "1")),
                                    Node(NodeJson("node-3", "1"))};
  auto pod = Pod(PodJson("big", "2"));
  ScheduleResult r = f.SchedulePod(*pod, nodes, &rng);
  EXPECT_EQ(r.node, "");
  EXPECT_EQ(r.code, Code::kUnschedulable);
  EXPECT_EQ(
      r.message,
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: "
      "}, "
      "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
      "scheduling, 2 No preemption victims found for incoming pod.");

  // Lower-priority pods whose removal would not be enough: their filter reasons.
  Json high = PodJson("big", "2");
  high["spec"]["priority"] = 100;
  Json low = PodJson("low", "200m");
  nodes[1]->AddPod(BoundPod(low, "node-2", "low-1"));
  r = f.SchedulePod(*Pod(high), nodes, &rng);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }, "
            "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No "
            "preemption "
            "victims found for incoming pod, 1 Preemption is not helpful for scheduling.");
  // Removal would make room: Kubernetes would preempt, so there is no PostFilter message.
  Json medium = PodJson("medium", "900m");
  medium["spec"]["priority"] = 100;
  nodes[2]->AddPod(BoundPod(low, "node-3", "low-2"));
  nodes[2]->AddPod(BoundPod(PodJson("low2", "200m"), "node-3", "low-3"));
  nodes[1]->AddPod(BoundPod(PodJson("low3", "700m"), "node-2", "low-4"));
  r = f.SchedulePod(*Pod(medium), nodes, &rng);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }, "
            "2 Insufficient cpu.");
  medium["spec"]["preemptionPolicy"] = "Never";
  r = f.SchedulePod(*Pod(medium), nodes, &rng);
  EXPECT_EQ(r.message,
            "0/3 nodes are available: 1 node(s) had untolerated taint "
            "{node.kubernetes.io/unreachable: }, "
            "2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.");

  EXPECT_EQ(f.SchedulePod(*pod, {}, &rng).message, "no nodes available to schedule pods");
}

TEST(SchedulerFrameworkTest, PicksTheBestScoredFeasibleNode) {
  Framework f;
  RegisterDefaultPlugins(&f);
  std::mt19937_64 rng(7);
  std::vector<NodeInfoPtr> nodes = {Node(NodeJson("busy", "4")), Node(NodeJson("idle", "4")),
                                    Node(NodeJson("small", "1"))};
  nodes[0]->AddPod(BoundPod(PodJson("x", "3"), "busy", "x1"));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(f.SchedulePod(*Pod(PodJson("p", "1")), nodes, &rng).node, "idle");
  // Ties are broken at random: both equal nodes get chosen.
  std::vector<NodeInfoPtr> twins = {Node(NodeJson("t1")), Node(NodeJson("t2"))};
  std::set<std::string> chosen;
  for (int i = 0; i < 64; ++i)
    chosen.insert(f.SchedulePod(*Pod(PodJson("p", "1")), twins, &rng).node);
  EXPECT_EQ(chosen, (std::set<std::string>{"t1", "t2"}));
}

TEST(SchedulerFrameworkTest, LargeClustersAreSampledFromARotatingStart) {
  Framework f;
  RegisterDefaultPlugins(&f);
  // percentageOfNodesToScore: all below 100 nodes, else 50 % minus 1 % per 125 nodes, at
  // least 5 %, and at least 100 nodes.
  EXPECT_EQ(f.NumFeasibleNodesToFind(50), 50u);
  EXPECT_EQ(f.NumFeasibleNodesToFind(150), 100u);
  EXPECT_EQ(f.NumFeasibleNodesToFind(250), 120u);
  EXPECT_EQ(f.NumFeasibleNodesToFind(1000), 420u);
  EXPECT_EQ(f.NumFeasibleNodesToFind(10000), 500u);
  std::mt19937_64 rng(7);
  std::vector<NodeInfoPtr> nodes;
  for (int i = 0; i < 250; ++i) nodes.push_back(Node(NodeJson("n" + std::to_string(i))));
  size_t next = 0;
  auto pod = Pod(PodJson("p", "1"));
  EXPECT_EQ(f.SchedulePod(*pod, nodes, &rng, &next).feasible_nodes, 120);
  EXPECT_EQ(next, 120u);
  f.SchedulePod(*pod, nodes, &rng, &next);
  EXPECT_EQ(next, 240u);
  f.SchedulePod(*pod, nodes, &rng, &next);
  EXPECT_EQ(next, 110u) << "round the list";
  // A pod that fits nowhere is checked against every node, whatever the sample size.
  auto r = f.SchedulePod(*Pod(PodJson("huge", "64")), nodes, &rng, &next);
  EXPECT_EQ(r.node, "");
  EXPECT_EQ(r.message.rfind("0/250 nodes are available: 250 Insufficient cpu.", 0), 0u) << r.message;
  EXPECT_EQ(next, 110u);
  f.set_percentage_of_nodes_to_score(100);
  EXPECT_EQ(f.SchedulePod(*pod, nodes, &rng, &next).feasible_nodes, 250);
}

// --- the scheduling queue ------------------------------------------------------------

TEST(SchedulingQueueTest, PopsByPriorityThenArrival) {
  FakeClock clock;
  SchedulingQueue q(&clock);
  q.Add("default/low", 0);
  q.Add("default/high", 10);
  q.Add("default/low2", 0);
  q.Add("default/low", 0);  // known already: no duplicate
  QueuedPod p;
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    ASSERT_GT(q.ActiveLen(), 0);  // Pop would block
    ASSERT_TRUE(q.Pop(&p));
    order.push_back(p.key);
    q.Done(p.key);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"default/high", "default/low", "default/low2"}));
  EXPECT_EQ(q.ActiveLen(), 0);
  q.ShutDown();
  EXPECT_FALSE(q.Pop(&p));
}

TEST(SchedulingQueueTest, BackoffDoublesToTheCapAndEventsMovePodsToActive) {
  FakeClock clock;
  SchedulingQueue q(&clock, {seconds(1), seconds(10)});
  q.Add("default/p", 0);
  QueuedPod p;
  std::vector<int64_t> backoffs;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    ASSERT_TRUE(q.Pop(&p));
    EXPECT_EQ(p.attempts, attempt);
    q.AddUnschedulable(p.key);
    auto expiry = q.BackoffExpiry(p.key);
    ASSERT_TRUE(expiry.has_value());
    backoffs.push_back(std::chrono::duration_cast<milliseconds>(*expiry - clock.Now()).count());
    clock.Advance(*expiry - clock.Now());
  }
  EXPECT_EQ(backoffs, (std::vector<int64_t>{1000, 2000, 4000, 8000, 10000, 10000}));

  // A cluster event moves a backing-off pod to the active queue at once.
  ASSERT_TRUE(q.Pop(&p));
  q.AddUnschedulable(p.key);
  EXPECT_EQ(q.ActiveLen(), 0);
  q.MoveAllToActive("NodeAdd");
  ASSERT_EQ(q.ActiveLen(), 1);
  EXPECT_FALSE(q.BackoffExpiry(p.key).has_value());
  // An event during the attempt sends the failed pod straight back.
  ASSERT_TRUE(q.Pop(&p));
  q.MoveAllToActive("NodeUpdate");
  q.AddUnschedulable(p.key);
  ASSERT_EQ(q.ActiveLen(), 1);
  // A pod deleted during its attempt is dropped when the attempt ends.
  ASSERT_TRUE(q.Pop(&p));
  q.Delete(p.key);
  EXPECT_TRUE(q.Contains(p.key));
  q.AddUnschedulable(p.key);
  EXPECT_FALSE(q.Contains(p.key));
}

TEST(SchedulingQueueTest, PopWaitsForTheBackoffOnTheClock) {
  FakeClock clock;
  SchedulingQueue q(&clock, {seconds(1), seconds(10)});
  q.Add("default/p", 0);
  QueuedPod p;
  ASSERT_TRUE(q.Pop(&p));
  q.AddUnschedulable(p.key);
  std::atomic<bool> popped{false};
  std::thread t([&] {
    QueuedPod x;
    if (q.Pop(&x)) popped = true;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1, seconds(10)));
  clock.Advance(milliseconds(999));
  ASSERT_TRUE(clock.AwaitWaiters(1, seconds(10)));
  EXPECT_FALSE(popped.load());
  clock.Advance(milliseconds(1));
  t.join();
  EXPECT_TRUE(popped.load());
}

// --- the scheduler over an in-process apiserver ----------------------------------------

bool Eventually(const std::function<bool()>& cond, std::chrono::seconds timeout = seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return cond();
}

// Forwards to the in-process apiserver; while holding, pod watch events are kept back (as
// from a slow watch) and delivered, in order, on Release.
class HoldingClient : public ApiClient {
 public:
  explicit HoldingClient(ApiClient* inner) : inner_(inner) {}
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    holding_ = true;
  }
  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // Delivers what was held; with `keep_holding`, later events are held again.
  void Release(bool keep_holding = false) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [cb, ev] : held_) cb(ev);
    held_.clear();
    holding_ = keep_holding;
  }

  const KindRegistry& kinds() const override { return inner_->kinds(); }
  Result<Object> Get(const KindInfo* k, const std::string& ns, const std::string& n) override {
    return inner_->Get(k, ns, n);
  }
  Result<ObjectList> List(const KindInfo* k, const std::string& ns, const ListOptions& o) override {
    return inner_->List(k, ns, o);
  }
  Result<Object> Create(const Object& obj, const WriteOptions& o) override {
    return inner_->Create(obj, o);
  }
  Result<Object> Update(const Object& obj, const WriteOptions& o) override {
    return inner_->Update(obj, o);
  }
  Result<Object> Patch(const KindInfo* k, const std::string& ns, const std::string& n,
                       const std::string& t, const std::string& p, const WriteOptions& o) override {
    return inner_->Patch(k, ns, n, t, p, o);
  }
  Result<Object> Delete(const KindInfo* k, const std::string& ns, const std::string& n,
                        const DeleteOptions& o) override {
    return inner_->Delete(k, ns, n, o);
  }
  Result<Object> Bind(const std::string& ns, const std::string& pod, const std::string& node,
                      const std::string& uid) override {
    return inner_->Bind(ns, pod, node, uid);
  }
  Result<std::unique_ptr<WatchStream>> Watch(const KindInfo* k, const std::string& ns,
                                             const WatchOptions& o,
                                             std::function<void(ClientWatchEvent&)> on_event,
                                             std::function<void(const Status&)> on_error) override {
    if (k->plural != "pods")
      return inner_->Watch(k, ns, o, std::move(on_event), std::move(on_error));
    auto cb = std::make_shared<std::function<void(ClientWatchEvent&)>>(std::move(on_event));
    return inner_->Watch(
        k, ns, o,
        [this, cb](ClientWatchEvent& ev) {
          std::lock_guard<std::mutex> lock(mu_);
          if (holding_) {
            held_.emplace_back(*cb, ClientWatchEvent{ev.type, ev.object.Clone()});
          } else {
            (*cb)(ev);
          }
        },
        std::move(on_error));
  }

 private:
  ApiClient* inner_;
  std::mutex mu_;
  bool holding_ = false;
  std::vector<std::pair<std::function<void(ClientWatchEvent&)>, ClientWatchEvent>> held_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() { RegisterDefaultPlugins(&framework); }
  ~SchedulerTest() override {
    if (sched) sched->Stop();
    informers.Stop();
  }

  void Start() {
    SchedulerOptions o;
    o.seed = 42;
    sched = std::make_unique<Scheduler>(&holding, &informers, &recorder, &framework, &clock, o);
    informers.Start();
    sched->Run();
  }

  ApiClient* client() { return server.client.get(); }
  const KindInfo* Kind(const std::string& plural) { return client()->Kind(plural); }

  void Create(const Json& j) {
    auto r = client()->Create(*Parse(j));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Json Get(const std::string& plural, const std::string& name) {
    auto r = client()->Get(Kind(plural), Kind(plural)->namespaced ? "default" : "", name);
    if (!r.ok()) return nullptr;
    return r->ToJson();
  }
  std::string NodeOf(const std::string& pod) {
    Json p = Get("pods", pod);
    if (p.is_null() || !p["spec"].contains("nodeName")) return "";
    return p["spec"]["nodeName"];
  }
  // The events about `pod` with `reason`.
  std::vector<Json> Events(const std::string& pod, const std::string& reason) {
    std::vector<Json> out;
    auto l = client()->List(Kind("events"), "default");
    if (!l.ok()) return out;
    for (const auto& e : l->items) {
      Json j = e.ToJson();
      if (j["involvedObject"]["name"] == pod && j["reason"] == reason) out.push_back(j);
    }
    return out;
  }
  Json Condition(const std::string& pod, const std::string& type) {
    Json p = Get("pods", pod);
    if (p.is_null()) return nullptr;
    for (const auto& c : p["status"].value("conditions", Json::array()))
      if (c["type"] == type) return c;
    return nullptr;
  }

  FakeClock clock;  // first: outlives every thread waiting on it
  apiserver::LocalApiServer server{&clock};
  HoldingClient holding{server.client.get()};  // what the scheduler and its informers use
  InformerFactory informers{&holding, &clock};
  EventRecorder recorder{server.client.get(), &clock, "default-scheduler"};
  Framework framework;
  std::unique_ptr<Scheduler> sched;
};

TEST_F(SchedulerTest, BindsPendingPodsAndSpreadsThemAcrossNodes) {
  for (const char* n : {"node-1", "node-2", "node-3"}) Create(NodeJson(n));
  // Pods created before the scheduler starts arrive together: only the assume cache
  // keeps the snapshot right between a binding and its watch event.
  for (int i = 1; i <= 6; ++i) {
    Json p = PodJson("web-" + std::to_string(i), "100m", "64Mi");
    Create(WithController(p, "rs-web"));
  }
  Start();
  ASSERT_TRUE(Eventually([&] {
    for (int i = 1; i <= 6; ++i)
      if (NodeOf("web-" + std::to_string(i)).empty()) return false;
    return true;
  }));
  std::map<std::string, int> per_node;
  for (int i = 1; i <= 6; ++i) per_node[NodeOf("web-" + std::to_string(i))]++;
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"node-1", 2}, {"node-2", 2}, {"node-3", 2}}));
  EXPECT_TRUE(Eventually([&] { return sched->scheduled() == 6; })) << sched->scheduled();
  Json cond = Condition("web-1", "PodScheduled");
  ASSERT_FALSE(cond.is_null());
  EXPECT_EQ(cond["status"], "True");
  ASSERT_TRUE(Eventually([&] { return Events("web-1", "Scheduled").size() == 1; }));
  Json ev = Events("web-1", "Scheduled")[0];
  EXPECT_EQ(ev["type"], "Normal");
  EXPECT_EQ(ev["message"], "Successfully assigned default/web-1 to " + NodeOf("web-1"));
  EXPECT_EQ(ev["source"]["component"], "default-scheduler");
  // Pods of another scheduler are left alone.
  Json foreign = PodJson("foreign");
  foreign["spec"]["schedulerName"] = "other-scheduler";
  Create(foreign);
  Create(PodJson("mine"));
  ASSERT_TRUE(Eventually([&] { return !NodeOf("mine").empty(); }));
  EXPECT_EQ(NodeOf("foreign"), "");
}

TEST_F(SchedulerTest, AssumedPodsKeepABurstFromOvercommittingANode) {
  Create(NodeJson("only", "1"));
  Start();
  ASSERT_TRUE(Eventually([&] { return sched->queue().idle_waits() > 0; }));  // synced, idle
  // The scheduler's pod watch lags: it sees the new pods but none of its own bindings.
  // Only the assumed pods tell it that the node is filling up.
  holding.Hold();
  for (const char* name : {"a", "b", "c"}) Create(PodJson(name, "400m"));
  Informer* pods = informers.For(Kind("pods"));
  ASSERT_TRUE(Eventually([&] { return holding.held() == 3; }));  // watch events come asynchronously
  holding.Release(/*keep_holding=*/true);  // the three creations, not what follows
  ASSERT_TRUE(Eventually([&] { return pods->Get("default/c") != nullptr; }));
  ASSERT_TRUE(Eventually([&] { return !Events("c", "FailedScheduling").empty(); }));
  EXPECT_EQ(
      Events("c", "FailedScheduling")[0]["message"],
      "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No "
      "preemption victims found for incoming pod.");
  EXPECT_EQ(NodeOf("a"), "only");
  EXPECT_EQ(NodeOf("b"), "only");
  EXPECT_EQ(NodeOf("c"), "");
  EXPECT_EQ(sched->cache().assumed_count(), 2u);
  holding.Release();
  ASSERT_TRUE(Eventually([&] { return sched->cache().assumed_count() == 0; }));
  EXPECT_EQ(sched->cache().Snapshot()[0]->requested().milli_cpu, 800);
}

TEST_F(SchedulerTest, ExhaustedResourcesGiveFailedSchedulingAndUnschedulableCondition) {
  Json unreachable = NodeJson("node-1", "1");
  unreachable["spec"]["taints"] =
      Json::array({Taint("node.kubernetes.io/unreachable", "", "NoSchedule"),
                   Taint("node.kubernetes.io/unreachable", "", "NoExecute")});
  unreachable["status"]["conditions"][0]["status"] = "Unknown";
  Create(unreachable);
  Create(NodeJson("node-2", "1"));
  Create(NodeJson("node-3", "1"));
  Create(PodJson("hungry", "2"));
  Start();
  const std::string message =
      "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: "
      "}, "
      "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
      "scheduling, 2 No preemption victims found for incoming pod.";
  ASSERT_TRUE(Eventually([&] { return !Events("hungry", "FailedScheduling").empty(); }));
  Json ev = Events("hungry", "FailedScheduling")[0];
  EXPECT_EQ(ev["type"], "Warning");
  EXPECT_EQ(ev["message"], message);
  ASSERT_TRUE(Eventually([&] { return !Condition("hungry", "PodScheduled").is_null(); }));
  Json cond = Condition("hungry", "PodScheduled");
  EXPECT_EQ(cond["status"], "False");
  EXPECT_EQ(cond["reason"], "Unschedulable");
  EXPECT_EQ(cond["message"], message);
  EXPECT_EQ(cond["lastTransitionTime"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(NodeOf("hungry"), "");
  EXPECT_EQ(sched->queue().Attempts("default/hungry"), 1);
}

TEST_F(SchedulerTest, AddedNodeSchedulesThePendingPodWithoutWaitingForTheBackoff) {
  Create(NodeJson("small", "1"));
  Create(PodJson("big", "2"));
  Start();
  ASSERT_TRUE(Eventually([&] { return sched->queue().BackoffExpiry("default/big").has_value(); }));
  EXPECT_EQ(*sched->queue().BackoffExpiry("default/big"), clock.Now() + seconds(1));
  Create(NodeJson("large", "4"));
  // The clock does not move: only the node event can have requeued the pod.
  ASSERT_TRUE(Eventually([&] { return NodeOf("big") == "large"; }));
  EXPECT_EQ(sched->failed_attempts(), 1);
}

TEST_F(SchedulerTest, DeletedBoundPodMakesRoomForThePendingOne) {
  Create(NodeJson("only", "1"));
  Create(PodJson("first", "700m"));
  Start();
  ASSERT_TRUE(Eventually([&] { return NodeOf("first") == "only"; }));
  Create(PodJson("second", "700m"));
  ASSERT_TRUE(
      Eventually([&] { return sched->queue().BackoffExpiry("default/second").has_value(); }));
  ASSERT_TRUE(Eventually([&] { return !Events("second", "FailedScheduling").empty(); }));
  EXPECT_EQ(
      Events("second", "FailedScheduling")[0]["message"],
      "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No "
      "preemption victims found for incoming pod.");
  DeleteOptions now;
  now.grace_period_seconds = 0;
  auto d = client()->Delete(Kind("pods"), "default", "first", now);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE(Eventually([&] { return NodeOf("second") == "only"; }));
}

TEST_F(SchedulerTest, UnschedulablePodsAreRetriedWithDoublingBackoff) {
  Create(NodeJson("small", "1"));
  Create(PodJson("big", "2"));
  Start();
  SchedulingQueue& q = sched->queue();
  const std::string key = "default/big";
  auto waiting_with = [&](int attempts, Duration backoff) {
    return Eventually([&] {
      auto expiry = q.BackoffExpiry(key);
      return q.Attempts(key) == attempts && expiry && *expiry == clock.Now() + backoff;
    });
  };
  ASSERT_TRUE(waiting_with(1, seconds(1)));
  // The condition written by the first attempt has reached the scheduler's informer, so
  // later attempts see it unchanged (Kubernetes compares with its informer's copy too).
  Informer* pods = informers.For(Kind("pods"));
  ASSERT_TRUE(Eventually([&] {
    auto p = pods->Get(key);
    return p && p->get<api::Pod>().getStatus().getConditions().size() > 0;
  }));
  // Just before the back-off ends nothing happens: the queue wakes, finds nothing due and
  // sleeps again.
  int64_t waits = q.idle_waits();
  clock.Advance(milliseconds(999));
  ASSERT_TRUE(Eventually([&] { return q.idle_waits() > waits; }));
  EXPECT_EQ(q.Attempts(key), 1);
  clock.Advance(milliseconds(1));
  ASSERT_TRUE(waiting_with(2, seconds(2)));
  // Each further failure doubles the back-off, up to 10 s.
  const std::pair<int, int> steps[] = {
      {2, 4}, {4, 8}, {8, 10}, {10, 10}};  // (advance, next back-off)
  int attempts = 2;
  for (auto [advance, backoff] : steps) {
    clock.Advance(seconds(advance));
    ++attempts;
    ASSERT_TRUE(waiting_with(attempts, seconds(backoff))) << "attempt " << attempts;
  }
  EXPECT_EQ(NodeOf("big"), "");
  // Every attempt was reported; the condition was written once (it did not change).
  ASSERT_TRUE(Eventually([&] {
    auto evs = Events("big", "FailedScheduling");
    return evs.size() == 1 && evs[0]["count"] == 6;
  }));
  EXPECT_EQ(Condition("big", "PodScheduled")["lastTransitionTime"], "2024-01-01T00:00:00Z");
}

TEST_F(SchedulerTest, CacheCountsAssumedPodsUntilTheInformerShowsTheBinding) {
  Create(NodeJson("n", "1"));
  Create(PodJson("p", "600m"));
  Informer* pods = informers.For(Kind("pods"));
  Informer* nodes = informers.For(Kind("nodes"));
  pods->AddIndex(kPodNodeNameIndex, PodNodeNameIndex);
  informers.Start();
  ASSERT_TRUE(informers.WaitForSync(seconds(10)));
  Cache cache(pods, nodes, &clock, seconds(30));
  auto pod = PodInfo::From(pods->Get("default/p"));
  cache.Assume(pod, "n");
  auto snap = cache.Snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0]->requested().milli_cpu, 600) << "assumed before the binding is seen";
  EXPECT_TRUE(cache.IsAssumed("default/p"));
  auto b = client()->Bind("default", "p", "n", pod->uid);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(Eventually([&] { return cache.assumed_count() == 0; }));
  snap = cache.Snapshot();
  EXPECT_EQ(snap[0]->requested().milli_cpu, 600) << "counted once, from the informer";
  EXPECT_EQ(snap[0]->pods().size(), 1u);

  // An assumption the informer never confirms expires after the TTL.
  Create(PodJson("q", "100m"));
  ASSERT_TRUE(Eventually([&] { return pods->Get("default/q") != nullptr; }));
  cache.Assume(PodInfo::From(pods->Get("default/q")), "n");
  clock.Advance(seconds(29));
  EXPECT_EQ(cache.Snapshot()[0]->requested().milli_cpu, 700);
  clock.Advance(seconds(1));
  EXPECT_EQ(cache.Snapshot()[0]->requested().milli_cpu, 600);
  EXPECT_FALSE(cache.IsAssumed("default/q"));
}

TEST_F(SchedulerTest, CacheFollowsNodesAndBoundPodsIncrementally) {
  Informer* pods = informers.For(Kind("pods"));
  Informer* nodes = informers.For(Kind("nodes"));
  Cache cache(pods, nodes, &clock, seconds(30));  // before the informers start
  informers.Start();
  ASSERT_TRUE(informers.WaitForSync(seconds(10)));
  EXPECT_TRUE(cache.Snapshot().empty());
  Create(NodeJson("b"));
  Create(NodeJson("a"));
  Json bound = PodJson("p", "300m");
  bound["spec"]["nodeName"] = "b";
  Create(bound);
  auto node = [&](const std::vector<NodeInfoPtr>& snap, const std::string& name) -> NodeInfoPtr {
    for (const auto& n : snap)
      if (n->name() == name) return n;
    return nullptr;
  };
  ASSERT_TRUE(Eventually([&] {
    auto snap = cache.Snapshot();
    return snap.size() == 2 && node(snap, "b")->requested().milli_cpu == 300;
  }));
  auto before = cache.Snapshot();
  EXPECT_EQ(before[0]->name(), "a") << "ordered by name";
  EXPECT_EQ(before[1]->pods().size(), 1u);
  EXPECT_EQ(cache.Snapshot()[0], before[0]) << "an unchanged node is not rebuilt";

  ASSERT_TRUE(client()->Delete(Kind("pods"), "default", "p", DeleteOptions{.grace_period_seconds = 0}).ok());
  ASSERT_TRUE(Eventually([&] { return node(cache.Snapshot(), "b")->pods().empty(); }));
  EXPECT_EQ(before[1]->requested().milli_cpu, 300) << "a snapshot handed out never changes";
  ASSERT_TRUE(client()->Delete(Kind("nodes"), "", "a").ok());
  ASSERT_TRUE(Eventually([&] { return cache.Snapshot().size() == 1; }));
  EXPECT_EQ(cache.Snapshot()[0]->name(), "b");
}

TEST_F(SchedulerTest, UpdateSnapshotReplacesOnlyTheNodesThatChanged) {
  Create(NodeJson("a"));
  Create(NodeJson("b"));
  Create(NodeJson("c"));
  Create(PodJson("p", "200m"));
  Create(PodJson("q", "300m"));
  Informer* pods = informers.For(Kind("pods"));
  Informer* nodes = informers.For(Kind("nodes"));
  Cache cache(pods, nodes, &clock, seconds(30));
  informers.Start();
  ASSERT_TRUE(informers.WaitForSync(seconds(10)));
  auto names = [](const NodeSnapshot& s) {
    std::vector<std::string> out;
    for (const auto& n : s.nodes) out.push_back(n->name());
    return out;
  };

  NodeSnapshot snap;
  cache.UpdateSnapshot(&snap);
  ASSERT_EQ(names(snap), (std::vector<std::string>{"a", "b", "c"}));
  const NodeSnapshot before = snap;
  cache.UpdateSnapshot(&snap);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(snap.nodes[i], before.nodes[i]) << "nothing changed";

  cache.Assume(PodInfo::From(pods->Get("default/p")), "b");
  cache.UpdateSnapshot(&snap);
  EXPECT_EQ(snap.nodes[0], before.nodes[0]);
  EXPECT_NE(snap.nodes[1], before.nodes[1]);
  EXPECT_EQ(snap.nodes[2], before.nodes[2]);
  EXPECT_EQ(snap.nodes[1]->requested().milli_cpu, 200);
  EXPECT_EQ(before.nodes[1]->requested().milli_cpu, 0) << "what was handed out never changes";

  // Two changes between updates of one snapshot while another snapshot is updated in
  // between: each gets every change since its own last update.
  NodeSnapshot other = before;
  cache.Assume(PodInfo::From(pods->Get("default/q")), "c");
  NodeSnapshot third;
  cache.UpdateSnapshot(&third);
  cache.Forget("default/p");
  cache.UpdateSnapshot(&snap);
  cache.UpdateSnapshot(&other);
  for (const NodeSnapshot* s : {&snap, &other}) {
    EXPECT_EQ(s->nodes[1]->requested().milli_cpu, 0);
    EXPECT_EQ(s->nodes[2]->requested().milli_cpu, 300);
    EXPECT_EQ(s->nodes[0], before.nodes[0]);
  }
  EXPECT_EQ(third.nodes[1]->requested().milli_cpu, 200) << "not updated since";

  // A node that comes or goes rebuilds the whole list.
  Create(NodeJson("aa"));
  ASSERT_TRUE(Eventually([&] {
    cache.UpdateSnapshot(&snap);
    return snap.nodes.size() == 4;
  }));
  EXPECT_EQ(names(snap), (std::vector<std::string>{"a", "aa", "b", "c"}));
  EXPECT_EQ(snap.nodes[3]->requested().milli_cpu, 300);
  ASSERT_TRUE(client()->Delete(Kind("nodes"), "", "b").ok());
  ASSERT_TRUE(Eventually([&] {
    cache.UpdateSnapshot(&other);
    return other.nodes.size() == 3;
  }));
  EXPECT_EQ(names(other), (std::vector<std::string>{"a", "aa", "c"}));
}

}  // namespace
}  // namespace cattle::scheduler
