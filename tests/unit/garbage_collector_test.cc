// GarbageCollector (ownerReferences cascade: background, foreground, orphan) and
// PodGCController against a real registry (LocalApiServer) on a FakeClock.
//
// "Not yet" checks use a probe: the collector runs one attemptToDelete worker, whose queue
// is FIFO, so once a pod whose owner never existed (queued after the work in question) is
// gone, the collector has processed what came before it.
#include "controller-manager/garbage_collector.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/fake_clock.h"
#include "cattle/informer_factory.h"
#include "controller-manager/namespace_controller.h"
#include "controller-manager/pod_gc_controller.h"
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

Object FromJson(const std::string& json) {
  auto o = Object::FromJson(KindRegistry::Default(), Json::parse(json));
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return std::move(o).value();
}

std::string OwnerRefJson(const Object& owner, bool block) {
  return R"({"apiVersion":")" + owner.kind()->ApiVersion() + R"(","kind":")" + owner.kind()->kind +
         R"(","name":")" + owner.name() + R"(","uid":")" + owner.uid() + R"(","controller":true,"blockOwnerDeletion":)" +
         (block ? "true" : "false") + "}";
}

class GarbageCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pods = client->Kind("pods");
    replicasets = client->kinds().ByGroupResource("apps", "replicasets");
    deployments = client->kinds().ByGroupResource("apps", "deployments");
  }
  void TearDown() override {
    if (gc) gc->Stop();
    informers.Stop();
  }
  void StartGc() {
    gc = std::make_unique<GarbageCollector>(&informers, client, nullptr, &clock, TimeScale(1));
    gc->Run(1);
    informers.Start();
    ASSERT_TRUE(Eventually([&] { return gc->Synced(); }));
  }

  Object CreateDeployment(const std::string& name) {
    auto d = client->Create(FromJson(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
                                     R"(","namespace":"default"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":")" +
                                     name + R"("}},"template":{"metadata":{"labels":{"app":")" + name +
                                     R"("}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})"));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return std::move(d).value();
  }
  // A ReplicaSet, optionally owned.
  Object CreateReplicaSet(const std::string& name, const std::string& owner_refs = "") {
    auto rs = client->Create(FromJson(
        R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":")" + name + R"(","namespace":"default")" +
        (owner_refs.empty() ? "" : ",\"ownerReferences\":" + owner_refs) +
        R"(},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},)"
        R"("spec":{"containers":[{"name":"c","image":"nginx"}]}}}})"));
    EXPECT_TRUE(rs.ok()) << rs.status().ToString();
    return std::move(rs).value();
  }
  // A pod with these ownerReferences (JSON list); bound to `node` if given (then its
  // deletion is graceful and it stays Terminating, as without a kubelet).
  Object CreatePod(const std::string& name, const std::string& owner_refs, const std::string& node = "") {
    auto p = client->Create(FromJson(
        R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"(","namespace":"default","labels":{"app":"web"})" +
        (owner_refs.empty() ? "" : ",\"ownerReferences\":" + owner_refs) + R"(},"spec":{)" +
        (node.empty() ? "" : "\"nodeName\":\"" + node + "\",") + R"("containers":[{"name":"c","image":"nginx"}]}})"));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return std::move(p).value();
  }
  bool Gone(const KindInfo* kind, const std::string& name) {
    return client->Get(kind, "default", name).status().Is(Reason::kNotFound);
  }
  // Waits until the collector has processed everything queued so far (see the file comment).
  void Settle() {
    static int n = 0;
    std::string name = "probe-" + std::to_string(++n);
    CreatePod(name, R"([{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"never","uid":"no-such-uid"}])");
    ASSERT_TRUE(Eventually([&] { return Gone(pods, name); })) << "the collector never processed the probe";
  }
  size_t OwnerRefCount(const std::string& pod) {
    auto p = client->Get(pods, "default", pod);
    EXPECT_TRUE(p.ok());
    return p.ok() ? p->meta().getOwnerReferences().size() : 0;
  }

  FakeClock clock;
  apiserver::LocalApiServer server{&clock};
  ApiClient* client = server.client.get();
  InformerFactory informers{client, &clock};
  std::unique_ptr<GarbageCollector> gc;
  const KindInfo* pods = nullptr;
  const KindInfo* replicasets = nullptr;
  const KindInfo* deployments = nullptr;
};

TEST_F(GarbageCollectorTest, BackgroundDeletionOfOwnerDeletesDependents) {
  StartGc();
  Object rs = CreateReplicaSet("web");
  Object other = CreateReplicaSet("other");
  CreatePod("web-1", "[" + OwnerRefJson(rs, true) + "]");
  CreatePod("web-2", "[" + OwnerRefJson(rs, true) + "]");
  // Two owners, one of which stays: the pod stays, without the reference to the gone one.
  CreatePod("shared", "[" + OwnerRefJson(rs, false) + "," + OwnerRefJson(other, false) + "]");
  CreatePod("unowned", "");
  Settle();
  EXPECT_FALSE(Gone(pods, "web-1"));  // a live owner keeps its dependents

  ASSERT_TRUE(client->Delete(replicasets, "default", "web").ok());
  EXPECT_TRUE(Gone(replicasets, "web"));  // background: the owner goes at once
  EXPECT_TRUE(Eventually([&] { return Gone(pods, "web-1") && Gone(pods, "web-2"); }));
  EXPECT_TRUE(Eventually([&] { return OwnerRefCount("shared") == 1; }));
  EXPECT_FALSE(Gone(pods, "shared"));
  EXPECT_FALSE(Gone(pods, "unowned"));
}

TEST_F(GarbageCollectorTest, DependentsOfOwnersDeletedWhileTheCollectorWasDownAreCollected) {
  Object rs = CreateReplicaSet("web");
  CreatePod("web-1", "[" + OwnerRefJson(rs, true) + "]");
  ASSERT_TRUE(client->Delete(replicasets, "default", "web").ok());
  // A pod naming an owner by a uid the live object does not have (a recreated name).
  Object rs2 = CreateReplicaSet("again");
  std::string stale = OwnerRefJson(rs2, true);
  stale.replace(stale.find(rs2.uid()), rs2.uid().size(), "old-uid");
  CreatePod("again-1", "[" + stale + "]");
  CreatePod("again-2", "[" + OwnerRefJson(rs2, true) + "]");
  StartGc();
  EXPECT_TRUE(Eventually([&] { return Gone(pods, "web-1") && Gone(pods, "again-1"); }));
  Settle();
  EXPECT_FALSE(Gone(pods, "again-2"));
}

TEST_F(GarbageCollectorTest, ForegroundDeletionWaitsForBlockingDependents) {
  StartGc();
  Object rs = CreateReplicaSet("web");
  CreatePod("web-1", "[" + OwnerRefJson(rs, true) + "]");
  // Bound: deleting it leaves it Terminating (no kubelet here), which holds the owner.
  CreatePod("web-2", "[" + OwnerRefJson(rs, true) + "]", "node-1");
  Settle();

  DeleteOptions opts;
  opts.propagation_policy = "Foreground";
  auto deleted = client->Delete(replicasets, "default", "web", opts);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(deleted->meta().hasDeletionTimestamp());

  EXPECT_TRUE(Eventually([&] { return Gone(pods, "web-1"); }));
  EXPECT_TRUE(Eventually([&] {
    auto p = client->Get(pods, "default", "web-2");
    return p.ok() && p->meta().hasDeletionTimestamp();
  }));
  Settle();
  auto owner = client->Get(replicasets, "default", "web");
  ASSERT_TRUE(owner.ok()) << "the owner went before its blocking dependent";
  EXPECT_TRUE(owner->meta().hasDeletionTimestamp());
  ASSERT_EQ(owner->meta().getFinalizers().size(), 1u);
  EXPECT_EQ(std::string(owner->meta().getFinalizers()[0].cStr()), "foregroundDeletion");

  // The kubelet confirms: the pod is removed, and then the owner.
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(client->Delete(pods, "default", "web-2", now).ok());
  EXPECT_TRUE(Eventually([&] { return Gone(replicasets, "web"); }));
}

TEST_F(GarbageCollectorTest, ForegroundDeletionCascadesThroughADeployment) {
  StartGc();
  Object deploy = CreateDeployment("web");
  Object rs = CreateReplicaSet("web-abc", "[" + OwnerRefJson(deploy, true) + "]");
  CreatePod("web-abc-1", "[" + OwnerRefJson(rs, true) + "]");
  CreatePod("web-abc-2", "[" + OwnerRefJson(rs, true) + "]");
  Settle();
  DeleteOptions opts;
  opts.propagation_policy = "Foreground";
  ASSERT_TRUE(client->Delete(deployments, "default", "web", opts).ok());
  EXPECT_TRUE(Eventually([&] {
    return Gone(deployments, "web") && Gone(replicasets, "web-abc") && Gone(pods, "web-abc-1") &&
           Gone(pods, "web-abc-2");
  }));
}

TEST_F(GarbageCollectorTest, OrphanDeletionKeepsDependentsWithoutTheReference) {
  StartGc();
  Object rs = CreateReplicaSet("web");
  CreatePod("web-1", "[" + OwnerRefJson(rs, true) + "]");
  CreatePod("web-2", "[" + OwnerRefJson(rs, true) + "]");
  Settle();
  DeleteOptions opts;
  opts.propagation_policy = "Orphan";
  ASSERT_TRUE(client->Delete(replicasets, "default", "web", opts).ok());
  EXPECT_TRUE(Eventually([&] { return Gone(replicasets, "web"); }));
  Settle();
  EXPECT_FALSE(Gone(pods, "web-1"));
  EXPECT_FALSE(Gone(pods, "web-2"));
  EXPECT_EQ(OwnerRefCount("web-1"), 0u);
  EXPECT_EQ(OwnerRefCount("web-2"), 0u);
}

// --- NamespaceController ------------------------------------------------------------------

TEST_F(GarbageCollectorTest, DeletedNamespaceIsEmptiedThenFinalized) {
  const KindInfo* namespaces = client->Kind("namespaces");
  const KindInfo* configmaps = client->Kind("configmaps");
  // spec.finalizers ["kubernetes"] (added on create) keeps it Terminating when deleted.
  ASSERT_TRUE(client->Create(FromJson(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}})")).ok());
  ASSERT_TRUE(client->Create(FromJson(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"team"}})")).ok());
  ASSERT_TRUE(client->Create(FromJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"loose","namespace":"team"},)"
                                      R"("spec":{"containers":[{"name":"c","image":"nginx"}]}})")).ok());
  // Bound: its deletion waits for a kubelet, and so does the namespace.
  ASSERT_TRUE(client->Create(FromJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"bound","namespace":"team"},)"
                                      R"("spec":{"nodeName":"node-1","containers":[{"name":"c","image":"nginx"}]}})")).ok());
  NamespaceController nc(&informers, client, nullptr, &clock, TimeScale(1));
  nc.Run(1);
  informers.Start();
  auto spec_finalized = [&] {
    auto ns = client->Get(namespaces, "", "team");
    return !ns.ok() || ns->get<api::Namespace>().getSpec().getFinalizers().size() == 0;
  };
  ASSERT_TRUE(client->Delete(namespaces, "", "team").ok());

  EXPECT_TRUE(Eventually([&] {
    return client->Get(configmaps, "team", "cfg").status().Is(Reason::kNotFound) &&
           client->Get(pods, "team", "loose").status().Is(Reason::kNotFound);
  }));
  EXPECT_TRUE(Eventually([&] {
    auto p = client->Get(pods, "team", "bound");
    return p.ok() && p->meta().hasDeletionTimestamp();
  }));
  // The pass that found the Terminating pod says so in the namespace's conditions; the
  // namespace stays (its retry waits for the fake clock).
  auto condition = [&](const std::string& type) {
    auto ns = client->Get(namespaces, "", "team");
    if (!ns.ok()) return std::string();
    for (auto c : ns->get<api::Namespace>().getStatus().getConditions())
      if (c.getType() == type) return std::string(c.getStatus().cStr()) + " " + c.getMessage().cStr();
    return std::string();
  };
  EXPECT_TRUE(Eventually([&] {
    return condition("NamespaceContentRemaining") == "True Some resources are remaining: pods has 1 resource instances";
  })) << condition("NamespaceContentRemaining");
  auto ns = client->Get(namespaces, "", "team");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(std::string(ns->get<api::Namespace>().getStatus().getPhase().cStr()), "Terminating");
  EXPECT_FALSE(spec_finalized());
  EXPECT_EQ(condition("NamespaceDeletionContentFailure"),
            "False All content successfully deleted, may be waiting on finalization");

  // The kubelet confirms; a retry finalizes, and the namespace goes.
  DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(client->Delete(pods, "team", "bound", now).ok());
  EXPECT_TRUE(Eventually([&] {
    clock.Advance(std::chrono::seconds(1));
    return client->Get(namespaces, "", "team").status().Is(Reason::kNotFound);
  }));
  nc.Stop();
}

// --- PodGCController --------------------------------------------------------------------

class PodGCTest : public GarbageCollectorTest {
 protected:
  void TearDown() override {
    if (podgc) podgc->Stop();
    GarbageCollectorTest::TearDown();
  }
  void StartPodGc(PodGCOptions options = {}) {
    podgc = std::make_unique<PodGCController>(&informers, client, nullptr, &clock, TimeScale(1), options);
    podgc->Run(1);
    informers.Start();
    ASSERT_TRUE(Eventually([&] { return podgc->passes() >= 1; }));
    passes = 1;
  }
  // One gc-check-period later, the pass done.
  void Tick() {
    clock.Advance(seconds(20));
    passes++;
    ASSERT_TRUE(Eventually([&] { return podgc->passes() >= passes; }));
  }
  void SetPhase(const std::string& pod, const std::string& phase) {
    auto p = client->Get(pods, "default", pod);
    ASSERT_TRUE(p.ok());
    p->as<api::Pod>().getStatus().setPhase(phase);
    ASSERT_TRUE(client->UpdateStatus(*p).ok());
  }

  std::unique_ptr<PodGCController> podgc;
  int64_t passes = 0;
};

TEST_F(PodGCTest, PodsOnADeletedNodeAreForceDeletedAfterQuarantine) {
  ASSERT_TRUE(client->Create(FromJson(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}})")).ok());
  CreatePod("alive", "", "node-1");
  CreatePod("orphan", "", "node-gone");
  // Terminating on the gone node: only the pod GC can finish it.
  CreatePod("terminating", "", "node-gone");
  ASSERT_TRUE(client->Delete(pods, "default", "terminating").ok());
  StartPodGc();  // t0: node-gone is missing; quarantine begins
  Tick();        // t0+20
  EXPECT_FALSE(Gone(pods, "orphan"));
  EXPECT_FALSE(Gone(pods, "terminating"));
  Tick();        // t0+40: quarantine over, the apiserver confirms: force-deleted
  EXPECT_TRUE(Gone(pods, "orphan"));
  EXPECT_TRUE(Gone(pods, "terminating"));
  EXPECT_FALSE(Gone(pods, "alive"));
}

TEST_F(PodGCTest, TerminatedPodsBeyondTheThresholdAreDeletedOldestFirst) {
  for (int i = 1; i <= 4; ++i) {
    CreatePod("done-" + std::to_string(i), "");
    SetPhase("done-" + std::to_string(i), i % 2 ? "Succeeded" : "Failed");
    clock.SetWall(clock.WallNanos() + 1'000'000'000);  // distinct creationTimestamps
  }
  CreatePod("running", "");
  PodGCOptions o;
  o.terminated_pod_gc_threshold = 2;
  StartPodGc(o);
  EXPECT_TRUE(Gone(pods, "done-1"));
  EXPECT_TRUE(Gone(pods, "done-2"));
  EXPECT_FALSE(Gone(pods, "done-3"));
  EXPECT_FALSE(Gone(pods, "done-4"));
  EXPECT_FALSE(Gone(pods, "running"));
}

}  // namespace
}  // namespace cattle::controllers
