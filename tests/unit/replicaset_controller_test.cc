// ReplicaSetController against the in-process apiserver (real registry, defaulting and
// validation) on a fake clock: exact pod counts and owner references, expectations under a
// slow watch, the deletion ranking, adoption and release, status counts, and the shared
// helpers of controller_util (expectations, hash, slow start).
#include "controller-manager/replicaset_controller.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/codec.h"
#include "cattle/events.h"
#include "cattle/fake_clock.h"
#include "cattle/informer_factory.h"

namespace cattle::controllers {
namespace {

using namespace std::chrono_literals;

const KindRegistry& Kinds() { return KindRegistry::Default(); }
const KindInfo* PodKind() { return Kinds().ByGroupResource("", "pods"); }
const KindInfo* RsKind() { return Kinds().ByGroupResource("apps", "replicasets"); }
const KindInfo* EventKind() { return Kinds().ByGroupResource("", "events"); }

Object FromJson(const Json& j) {
  auto o = Object::FromJson(Kinds(), j);
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return std::move(*o);
}

// Polls `cond` (real time) until it holds: a safety net against hangs, never a timer.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

Json ReplicaSetJson(const std::string& name, int replicas, Json selector_labels,
                    Json template_labels, int min_ready = 0) {
  Json rs = {
      {"apiVersion", "apps/v1"},
      {"kind", "ReplicaSet"},
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec",
       {{"replicas", replicas},
        {"selector", {{"matchLabels", selector_labels}}},
        {"template",
         {{"metadata", {{"labels", template_labels}}},
          {"spec", {{"containers", Json::array({{{"name", "web"}, {"image", "nginx"}}})}}}}}}}};
  if (min_ready > 0) rs["spec"]["minReadySeconds"] = min_ready;
  return rs;
}

class ReplicaSetControllerTest : public ::testing::Test {
 protected:
  ReplicaSetControllerTest() { controller = MakeController(TimeScale(1)); }

  std::unique_ptr<ReplicaSetController> MakeController(TimeScale scale) {
    return std::make_unique<ReplicaSetController>(&informers, client, &recorder, &clock, scale);
  }

  ~ReplicaSetControllerTest() override {
    controller.reset();
    informers.Stop();
  }

  void Start() {
    controller->Run(2);
    informers.Start();
    ASSERT_TRUE(informers.WaitForSync(10s));
  }

  Object Create(const Json& j) {
    auto r = client->Create(FromJson(j));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : FromJson(j);
  }

  Object GetRs(const std::string& name) {
    auto r = client->Get(RsKind(), "default", name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(*r);
  }
  int32_t StatusReplicas(const std::string& name) {
    Object rs = GetRs(name);
    return rs.get<api::ReplicaSet>().getStatus().getReplicas();
  }
  int32_t StatusReadyReplicas(const std::string& name) {
    Object rs = GetRs(name);
    return rs.get<api::ReplicaSet>().getStatus().getReadyReplicas();
  }

  // Every pod of the namespace (optionally only active ones: not terminating, not finished).
  std::vector<Object> Pods(bool active_only = true) {
    auto list = client->List(PodKind(), "default");
    EXPECT_TRUE(list.ok());
    std::vector<Object> out;
    for (auto& p : list->items)
      if (!active_only || IsPodActive(p)) out.push_back(std::move(p));
    return out;
  }

  std::optional<Object> Pod(const std::string& name) {
    auto r = client->Get(PodKind(), "default", name);
    if (!r.ok()) return std::nullopt;
    return std::move(*r);
  }

  // What a kubelet reports: optionally bound to `node`, Running, Ready since now.
  void MarkReady(const std::string& name, const std::string& node = "") {
    if (!node.empty()) {
      ASSERT_TRUE(client->Bind("default", name, node).ok());
    }
    for (int attempt = 0; attempt < 10; ++attempt) {
      auto pod = client->Get(PodKind(), "default", name);
      ASSERT_TRUE(pod.ok());
      Json j = pod->ToJson();
      std::string now = FormatRfc3339(clock.WallNanos());
      j["status"]["phase"] = "Running";
      j["status"]["conditions"] =
          Json::array({{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", now}},
                       {{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", now}}});
      auto r = client->UpdateStatus(FromJson(j));
      if (r.ok()) return;
      ASSERT_TRUE(r.status().Is(Reason::kConflict)) << r.status().ToString();
    }
    FAIL() << "could not mark " << name << " ready";
  }

  void SetPhase(const std::string& name, const std::string& phase) {
    auto pod = client->Get(PodKind(), "default", name);
    ASSERT_TRUE(pod.ok());
    Json j = pod->ToJson();
    j["status"]["phase"] = phase;
    ASSERT_TRUE(client->UpdateStatus(FromJson(j)).ok());
  }

  void Scale(const std::string& rs, int replicas) {
    auto r = client->Patch(RsKind(), "default", rs, "merge",
                           Json{{"spec", {{"replicas", replicas}}}}.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::vector<std::string> EventMessages(const std::string& reason) {
    recorder.Flush();
    std::vector<std::string> out;
    auto list = client->List(EventKind(), "default");
    EXPECT_TRUE(list.ok());
    for (auto& e : list->items) {
      Json j = e.ToJson();
      if (j.value("reason", "") == reason) out.push_back(j.value("message", ""));
    }
    return out;
  }

  // Events are recorded after the write they report, so poll for them.
  bool HasEvent(const std::string& reason, const std::string& message) {
    return WaitFor(
        [&] {
          auto all = EventMessages(reason);
          return std::find(all.begin(), all.end(), message) != all.end();
        },
        5s);
  }

  FakeClock clock;
  apiserver::LocalApiServer server{&clock};
  ApiClient* client = server.client.get();
  InformerFactory informers{client, &clock};
  EventRecorder recorder{client, &clock, "replicaset-controller"};
  std::unique_ptr<ReplicaSetController> controller;
};

TEST_F(ReplicaSetControllerTest, CreatesExactlyReplicasPodsOwnedByTheReplicaSet) {
  Start();
  Object rs = Create(ReplicaSetJson("web", 3, {{"app", "web"}}, {{"app", "web"}}));
  ASSERT_TRUE(WaitFor([&] {
    Object fresh = GetRs("web");
    auto s = fresh.get<api::ReplicaSet>().getStatus();
    return s.getReplicas() == 3 && s.getObservedGeneration() == 1;
  }));
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 3u);
  for (const auto& p : pods) {
    EXPECT_EQ(p.name().rfind("web-", 0), 0u) << p.name();
    EXPECT_EQ(std::string(p.meta().getGenerateName().cStr()), "web-");
    EXPECT_EQ(LabelsOf(p), (Labels{{"app", "web"}}));
    auto refs = GetOwnerRefs(p);
    ASSERT_EQ(refs.size(), 1u);
    EXPECT_EQ(refs[0].api_version, "apps/v1");
    EXPECT_EQ(refs[0].kind, "ReplicaSet");
    EXPECT_EQ(refs[0].name, "web");
    EXPECT_EQ(refs[0].uid, rs.uid());
    EXPECT_EQ(refs[0].controller, std::optional<bool>(true));
    EXPECT_EQ(refs[0].block_owner_deletion, std::optional<bool>(true));
    EXPECT_TRUE(HasEvent("SuccessfulCreate", "Created pod: " + p.name()));
  }
  // Scaling up adds exactly the difference.
  Scale("web", 5);
  ASSERT_TRUE(
      WaitFor([&] { return StatusReplicas("web") == 5; }));
  EXPECT_EQ(Pods().size(), 5u);
}

TEST_F(ReplicaSetControllerTest, ExpectationsPreventADoubleCreateWhenTheWatchIsSlow) {
  Create(ReplicaSetJson("web", 3, {{"app", "web"}}, {{"app", "web"}}));
  // Only the ReplicaSet informer runs: the pod watch is "slow" (not delivering at all).
  Informer* rs_informer = informers.For(RsKind());
  Informer* pod_informer = informers.For(PodKind());
  rs_informer->Start();
  ASSERT_TRUE(rs_informer->WaitForSync(10s));

  ASSERT_TRUE(controller->Sync("default/web").ok());
  EXPECT_EQ(Pods().size(), 3u);
  EXPECT_EQ(controller->expectations().Get("default/web").adds, 3);
  // The cache still shows no pods; without expectations this would create 3 more.
  ASSERT_TRUE(controller->Sync("default/web").ok());
  ASSERT_TRUE(controller->Sync("default/web").ok());
  EXPECT_EQ(Pods().size(), 3u);

  // The watch catches up: every creation is observed and the next sync changes nothing.
  pod_informer->Start();
  ASSERT_TRUE(pod_informer->WaitForSync(10s));
  ASSERT_TRUE(WaitFor([&] { return controller->expectations().Get("default/web").adds == 0; }));
  ASSERT_TRUE(controller->Sync("default/web").ok());
  EXPECT_EQ(Pods().size(), 3u);
  EXPECT_EQ(StatusReplicas("web"), 3);
}

TEST_F(ReplicaSetControllerTest, ExpectationsExpireAfterTheScaledTimeout) {
  // At time scale 60 the 5-minute timeout is 5 s.
  controller = MakeController(TimeScale(60));
  Create(ReplicaSetJson("web", 2, {{"app", "web"}}, {{"app", "web"}}));
  Informer* rs_informer = informers.For(RsKind());
  rs_informer->Start();
  ASSERT_TRUE(rs_informer->WaitForSync(10s));
  ASSERT_TRUE(controller->Sync("default/web").ok());
  EXPECT_EQ(Pods().size(), 2u);
  clock.Advance(4s);
  ASSERT_TRUE(controller->Sync("default/web").ok());
  EXPECT_EQ(Pods().size(), 2u) << "expectations must hold until the timeout";
  clock.Advance(2s);
  ASSERT_TRUE(controller->Sync("default/web").ok());
  EXPECT_EQ(Pods().size(), 4u) << "expired expectations let the controller act again";
}

TEST_F(ReplicaSetControllerTest, DeletesUnassignedThenNotReadyThenMostRecentlyReady) {
  Start();
  Create(ReplicaSetJson("web", 4, {{"app", "web"}}, {{"app", "web"}}));
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 4; }));
  auto pods = Pods();
  std::vector<std::string> names;
  for (auto& p : pods) names.push_back(p.name());
  std::sort(names.begin(), names.end());
  const std::string unassigned = names[0], not_ready = names[1], old_ready = names[2],
                    new_ready = names[3];
  ASSERT_TRUE(client->Bind("default", not_ready, "node-1").ok());
  MarkReady(old_ready, "node-2");
  clock.Advance(10s);
  MarkReady(new_ready, "node-3");
  ASSERT_TRUE(WaitFor(
      [&] { return StatusReadyReplicas("web") == 2; }));

  auto gone = [&](const std::string& name) {
    auto p = Pod(name);
    return !p || BeingDeleted(*p);
  };
  Scale("web", 3);
  ASSERT_TRUE(WaitFor([&] { return gone(unassigned); })) << "the unassigned pod goes first";
  EXPECT_FALSE(gone(not_ready));
  EXPECT_FALSE(gone(old_ready));
  EXPECT_FALSE(gone(new_ready));

  Scale("web", 2);
  ASSERT_TRUE(WaitFor([&] { return gone(not_ready); })) << "then the one not ready";
  EXPECT_FALSE(gone(old_ready));
  EXPECT_FALSE(gone(new_ready));

  Scale("web", 1);
  ASSERT_TRUE(WaitFor([&] { return gone(new_ready); })) << "then the one ready for less time";
  EXPECT_FALSE(gone(old_ready));
  ASSERT_TRUE(
      WaitFor([&] { return StatusReplicas("web") == 1; }));
  EXPECT_EQ(Pods().size(), 1u);
  EXPECT_TRUE(HasEvent("SuccessfulDelete", "Deleted pod: " + unassigned));
}

TEST_F(ReplicaSetControllerTest, AdoptsAMatchingOrphanAndReleasesARelabelledPod) {
  Json orphan = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "orphan"}, {"namespace", "default"}, {"labels", {{"app", "web"}}}}},
      {"spec", {{"containers", Json::array({{{"name", "web"}, {"image", "nginx"}}})}}}};
  Create(orphan);
  Object rs = Create(ReplicaSetJson("web", 2, {{"app", "web"}}, {{"app", "web"}}));
  Start();
  auto owner_uid = [&](const std::string& name) -> std::string {
    auto p = Pod(name);
    if (!p) return "<gone>";
    auto ref = GetControllerOf(*p);
    return ref ? ref->uid : "";
  };
  ASSERT_TRUE(WaitFor([&] { return owner_uid("orphan") == rs.uid(); }));
  ASSERT_TRUE(
      WaitFor([&] { return StatusReplicas("web") == 2; }));
  EXPECT_EQ(Pods().size(), 2u) << "the adopted orphan counts: only one pod created";

  // Relabelled out of the selector: released (reference removed) and replaced.
  ASSERT_TRUE(client
                  ->Patch(PodKind(), "default", "orphan", "merge",
                          R"({"metadata":{"labels":{"app":"other"}}})")
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return owner_uid("orphan").empty(); }));
  EXPECT_TRUE(GetOwnerRefs(*Pod("orphan")).empty());
  ASSERT_TRUE(WaitFor([&] {
    int owned = 0;
    for (auto& p : Pods()) {
      auto ref = GetControllerOf(p);
      if (ref && ref->uid == rs.uid() && LabelsOf(p).at("app") == "web") owned++;
    }
    return owned == 2;
  }));
  EXPECT_EQ(Pods().size(), 3u);
}

TEST_F(ReplicaSetControllerTest, StatusCountsReadyAvailableAndFullyLabeledPods) {
  // An orphan with only the selector's label: adopted, but not fully labeled.
  Json orphan = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "partial"}, {"namespace", "default"}, {"labels", {{"app", "web"}}}}},
      {"spec", {{"containers", Json::array({{{"name", "web"}, {"image", "nginx"}}})}}}};
  Create(orphan);
  Create(ReplicaSetJson("web", 3, {{"app", "web"}}, {{"app", "web"}, {"tier", "fe"}},
                        /*min_ready=*/10));
  Start();
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 3; }));
  std::vector<std::string> names;
  for (auto& p : Pods())
    if (p.name() != "partial") names.push_back(p.name());
  MarkReady("partial");
  MarkReady(names[0]);
  // The reader stays valid until the next call.
  std::optional<Object> current;
  auto status = [&] {
    current = GetRs("web");
    return current->get<api::ReplicaSet>().getStatus();
  };
  ASSERT_TRUE(WaitFor([&] { return status().getReadyReplicas() == 2; }));
  auto s = status();
  EXPECT_EQ(s.getReplicas(), 3);
  EXPECT_EQ(s.getFullyLabeledReplicas(), 2);
  EXPECT_EQ(s.getAvailableReplicas(), 0) << "ready for less than minReadySeconds";
  EXPECT_EQ(s.getObservedGeneration(), 1);

  // No event arrives when the pods become available: the controller must look again.
  clock.Advance(8s);
  int elapsed = 8;
  EXPECT_FALSE(WaitFor([&] { return status().getAvailableReplicas() != 0; }, 200ms));
  while (elapsed < 30 && status().getAvailableReplicas() != 2) {
    clock.Advance(1s);
    ++elapsed;
    WaitFor([&] { return status().getAvailableReplicas() == 2; }, 200ms);
  }
  EXPECT_EQ(status().getAvailableReplicas(), 2);
  EXPECT_GE(elapsed, 10) << "available only after minReadySeconds";
  EXPECT_LE(elapsed, 20);
}

TEST_F(ReplicaSetControllerTest, FinishedPodsDoNotCount) {
  Start();
  Create(ReplicaSetJson("web", 2, {{"app", "web"}}, {{"app", "web"}}));
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 2; }));
  SetPhase(Pods()[0].name(), "Failed");
  ASSERT_TRUE(WaitFor([&] { return Pods().size() == 2 && Pods(false).size() == 3; }))
      << "a failed pod is replaced";
  ASSERT_TRUE(
      WaitFor([&] { return StatusReplicas("web") == 2; }));
}

// --- Pure helpers -----------------------------------------------------------------------

Object RankPod(const std::string& name, const std::string& node, const std::string& phase,
               bool ready, int64_t ready_since_s, int restarts, int64_t created_s) {
  Json j = {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", name},
              {"namespace", "default"},
              {"creationTimestamp", FormatRfc3339(created_s * 1'000'000'000LL)}}},
            {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "i"}}})}}},
            {"status",
             {{"phase", phase},
              {"containerStatuses", Json::array({{{"name", "c"},
                                                  {"ready", ready},
                                                  {"restartCount", restarts},
                                                  {"image", "i"},
                                                  {"imageID", ""}}})}}}};
  if (!node.empty()) j["spec"]["nodeName"] = node;
  if (ready)
    j["status"]["conditions"] =
        Json::array({{{"type", "Ready"},
                      {"status", "True"},
                      {"lastTransitionTime", FormatRfc3339(ready_since_s * 1'000'000'000LL)}}});
  return FromJson(j);
}

TEST(PodsToDeleteTest, RanksLikeKubernetes) {
  const int64_t t = 1'700'000'000;
  std::vector<ObjectPtr> pods;
  auto add = [&](Object o) { pods.push_back(std::make_shared<const Object>(std::move(o))); };
  add(RankPod("running-ready-old", "n1", "Running", true, t, 0, t - 100));
  add(RankPod("unassigned", "", "Pending", false, 0, 0, t - 500));
  add(RankPod("running-ready-new", "n2", "Running", true, t + 50, 0, t - 90));
  add(RankPod("pending", "n3", "Pending", false, 0, 0, t - 400));
  add(RankPod("running-not-ready", "n4", "Running", false, 0, 0, t - 300));
  add(RankPod("running-ready-restarts", "n5", "Running", true, t, 3, t - 100));
  add(RankPod("unknown", "n6", "Unknown", false, 0, 0, t - 350));
  std::vector<std::string> order;
  for (const auto& p : PodsToDelete(pods, pods, 7)) order.push_back(p->name());
  EXPECT_EQ(order.size(), 7u);  // all of them: unsorted is fine
  order.clear();
  for (const auto& p : PodsToDelete(pods, pods, 6)) order.push_back(p->name());
  EXPECT_EQ(order,
            (std::vector<std::string>{"unassigned", "pending", "unknown", "running-not-ready",
                                      "running-ready-new", "running-ready-restarts"}));
}

TEST(PodsToDeleteTest, DoubledUpPodsGoFirst) {
  const int64_t t = 1'700'000'000;
  std::vector<ObjectPtr> pods;
  pods.push_back(std::make_shared<const Object>(RankPod("alone", "n1", "Running", true, t, 0, t)));
  pods.push_back(std::make_shared<const Object>(RankPod("shared", "n2", "Running", true, t, 0, t)));
  std::vector<ObjectPtr> related = pods;
  related.push_back(
      std::make_shared<const Object>(RankPod("sibling", "n2", "Running", true, t, 0, t)));
  auto victims = PodsToDelete(pods, related, 1);
  ASSERT_EQ(victims.size(), 1u);
  EXPECT_EQ(victims[0]->name(), "shared");
}

TEST(ControllerExpectationsTest, CountsObservationsOnceAndExpires) {
  FakeClock clock;
  ControllerExpectations e(&clock, 5min);
  EXPECT_TRUE(e.Satisfied("ns/rs")) << "no expectations: act";
  e.ExpectCreations("ns/rs", 2);
  EXPECT_FALSE(e.Satisfied("ns/rs"));
  e.CreationObserved("ns/rs");
  EXPECT_FALSE(e.Satisfied("ns/rs"));
  e.CreationObserved("ns/rs");
  EXPECT_TRUE(e.Satisfied("ns/rs"));

  e.ExpectDeletions("ns/rs", {"ns/a", "ns/b"});
  EXPECT_FALSE(e.Satisfied("ns/rs"));
  e.DeletionObserved("ns/rs", "ns/a");
  e.DeletionObserved("ns/rs", "ns/a");  // the update with deletionTimestamp, then the delete
  e.DeletionObserved("ns/rs", "ns/other");
  EXPECT_FALSE(e.Satisfied("ns/rs")) << "each expected key counts once";
  EXPECT_EQ(e.Get("ns/rs").deletes, 1);
  clock.Advance(5min + 1s);
  EXPECT_TRUE(e.Satisfied("ns/rs")) << "expired";
  e.Delete("ns/rs");
  EXPECT_FALSE(e.Get("ns/rs").exists);
}

TEST(SlowStartBatchTest, DoublesBatchesAndStopsAfterAFailedBatch) {
  std::atomic<int> calls{0};
  auto [ok, err] = SlowStartBatch(20, 1, [&] {
    int n = ++calls;
    return n == 5 ? Status::Invalid("quota exceeded") : Status::Ok();
  });
  // Batches of 1, 2, 4: the failure is in the third batch, so 7 calls, 6 successes.
  EXPECT_EQ(calls.load(), 7);
  EXPECT_EQ(ok, 6);
  EXPECT_TRUE(err.Is(Reason::kInvalid));
  auto [all, none] = SlowStartBatch(5, 1, [] { return Status::Ok(); });
  EXPECT_EQ(all, 5);
  EXPECT_TRUE(none.ok());
}

TEST(TemplateHashTest, FnvAndSafeEncodingMatchKubernetes) {
  EXPECT_EQ(Fnv32a(""), 2166136261u);
  EXPECT_EQ(Fnv32a("a"), 0xe40c292cu);
  EXPECT_EQ(SafeEncodeString("0123456789"), "456789bcdf");
}

}  // namespace
}  // namespace cattle::controllers
