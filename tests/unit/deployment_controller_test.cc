// DeploymentController with the ReplicaSetController against the in-process apiserver on a
// fake clock; a fake kubelet (a polling thread) binds pods and reports them Ready. Covers
// the ReplicaSet per template (hash, revision), rolling-update arithmetic and invariants
// watched on every pod event, rollback, history cleanup, Recreate ordering, pause,
// proportional scaling and the progress deadline.
#include "controller-manager/deployment_controller.h"

#include <gtest/gtest.h>

#include <climits>
#include <functional>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/codec.h"
#include "cattle/events.h"
#include "cattle/fake_clock.h"
#include "cattle/informer_factory.h"
#include "controller-manager/replicaset_controller.h"

namespace cattle::controllers {
namespace {

using namespace std::chrono_literals;

const KindRegistry& Kinds() { return KindRegistry::Default(); }
const KindInfo* PodKind() { return Kinds().ByGroupResource("", "pods"); }
const KindInfo* RsKind() { return Kinds().ByGroupResource("apps", "replicasets"); }
const KindInfo* DeployKind() { return Kinds().ByGroupResource("apps", "deployments"); }
const KindInfo* EventKind() { return Kinds().ByGroupResource("", "events"); }

Object FromJson(const Json& j) {
  auto o = Object::FromJson(Kinds(), j);
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return std::move(*o);
}

// Polls `cond` (real time) until it holds: a safety net against hangs, never a timer.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return cond();
}

Json DeploymentJson(const std::string& name, int replicas, const std::string& image) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec", {{"containers", Json::array({{{"name", "web"}, {"image", image}}})}}}}}}}};
}

std::string ImageOf(const Object& rs) {
  return rs.get<api::ReplicaSet>()
      .getSpec()
      .getTemplate()
      .getSpec()
      .getContainers()[0]
      .getImage()
      .cStr();
}
int32_t SpecReplicasOf(const Object& rs) {
  return rs.get<api::ReplicaSet>().getSpec().getReplicas().getValue();
}

// A stand-in for kubelets: binds pods (to `node`, if given) and reports every active pod
// Running and Ready, from a polling thread.
class FakeKubelet {
 public:
  FakeKubelet(ApiClient* client, FakeClock* clock, std::string node = "")
      : client_(client), clock_(clock), node_(std::move(node)), thread_([this] { Loop(); }) {}
  ~FakeKubelet() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Loop() {
    while (!stop_) {
      auto list = client_->List(PodKind(), "default");
      if (list.ok()) {
        for (auto& pod : list->items) {
          if (!IsPodActive(pod) || IsPodReady(pod)) continue;
          if (!node_.empty() && pod.get<api::Pod>().getSpec().getNodeName().size() == 0)
            (void)client_->Bind("default", pod.name(), node_);
          auto fresh = client_->Get(PodKind(), "default", pod.name());
          if (!fresh.ok() || !IsPodActive(*fresh)) continue;
          Json j = fresh->ToJson();
          std::string now = FormatRfc3339(clock_->WallNanos());
          j["status"]["phase"] = "Running";
          j["status"]["conditions"] = Json::array(
              {{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", now}},
               {{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", now}}});
          auto obj = Object::FromJson(Kinds(), j);
          if (obj.ok()) (void)client_->UpdateStatus(*obj);  // a conflict is retried next round
        }
      }
      std::this_thread::sleep_for(2ms);
    }
  }

  ApiClient* client_;
  FakeClock* clock_;
  std::string node_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Watches every pod event and checks, after each, the rolling-update bounds: at most
// `max_pods` pods exist and at least `min_ready` are Ready (and not terminating).
class PodInvariants {
 public:
  PodInvariants(ApiClient* client, int max_pods, int min_ready)
      : max_pods_(max_pods), min_ready_(min_ready) {
    auto list = client->List(PodKind(), "default");
    EXPECT_TRUE(list.ok());
    for (auto& p : list->items) ready_[p.name()] = IsPodReady(p) && !BeingDeleted(p);
    WatchOptions o;
    o.resource_version = list->resource_version;
    auto w = client->Watch(
        PodKind(), "default", o, [this](ClientWatchEvent& ev) { Apply(ev.type, ev.object); },
        [](const Status&) {});
    EXPECT_TRUE(w.ok());
    watch_ = std::move(*w);
  }

  std::vector<std::string> violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }
  int most_pods() {
    std::lock_guard<std::mutex> lock(mu_);
    return most_pods_;
  }
  int fewest_ready() {
    std::lock_guard<std::mutex> lock(mu_);
    return fewest_ready_;
  }

 private:
  void Apply(const std::string& type, const Object& pod) {
    std::lock_guard<std::mutex> lock(mu_);
    if (type == "DELETED") {
      ready_.erase(pod.name());
    } else {
      ready_[pod.name()] = IsPodReady(pod) && !BeingDeleted(pod);
    }
    int total = static_cast<int>(ready_.size());
    int ready = 0;
    for (auto& [name, r] : ready_) ready += r;
    most_pods_ = std::max(most_pods_, total);
    fewest_ready_ = std::min(fewest_ready_, ready);
    if (total > max_pods_)
      violations_.push_back(std::to_string(total) + " pods after " + type + " " + pod.name());
    if (ready < min_ready_)
      violations_.push_back(std::to_string(ready) + " ready after " + type + " " + pod.name());
  }

  const int max_pods_;
  const int min_ready_;
  std::mutex mu_;
  std::map<std::string, bool> ready_;
  int most_pods_ = 0;
  int fewest_ready_ = INT_MAX;
  std::vector<std::string> violations_;
  std::unique_ptr<WatchStream> watch_;  // last: stopped first
};

class DeploymentControllerTest : public ::testing::Test {
 protected:
  DeploymentControllerTest() {
    rsc = std::make_unique<ReplicaSetController>(&informers, client, &rs_recorder, &clock,
                                                 TimeScale(1));
    dc = std::make_unique<DeploymentController>(&informers, client, &d_recorder, &clock,
                                                TimeScale(1));
  }
  ~DeploymentControllerTest() override {
    kubelet.reset();
    dc.reset();
    rsc.reset();
    informers.Stop();
  }

  void Start() {
    rsc->Run(2);
    dc->Run(2);
    informers.Start();
    ASSERT_TRUE(informers.WaitForSync(10s));
  }

  void CreateDeployment(const Json& j) {
    auto r = client->Create(FromJson(j));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  void Patch(const std::string& name, const Json& patch) {
    auto r = client->Patch(DeployKind(), "default", name, "merge", patch.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void SetImage(const std::string& name, const std::string& image) {
    Patch(name,
          {{"spec",
            {{"template",
              {{"spec", {{"containers", Json::array({{{"name", "web"}, {"image", image}}})}}}}}}}});
  }

  Object GetDeployment(const std::string& name) {
    auto r = client->Get(DeployKind(), "default", name);
    EXPECT_TRUE(r.ok());
    return std::move(*r);
  }

  std::vector<Object> ReplicaSets() {
    auto list = client->List(RsKind(), "default");
    EXPECT_TRUE(list.ok());
    return std::move(list->items);
  }
  std::optional<Object> ReplicaSetWithImage(const std::string& image) {
    for (auto& rs : ReplicaSets())
      if (ImageOf(rs) == image) return std::move(rs);
    return std::nullopt;
  }

  std::vector<Object> Pods() {
    auto list = client->List(PodKind(), "default");
    EXPECT_TRUE(list.ok());
    return std::move(list->items);
  }

  std::optional<Condition> DeploymentCondition(const std::string& name, const std::string& type) {
    Object dep = GetDeployment(name);
    auto conds = ReadConditions(dep.get<api::Deployment>().getStatus().getConditions());
    const Condition* c = FindCondition(conds, type);
    if (!c) return std::nullopt;
    return *c;
  }

  // The rollout of the current template finished: every replica updated and available,
  // and no old ReplicaSet has pods left.
  bool Complete(const std::string& name, const std::string& image) {
    Object d = GetDeployment(name);
    auto spec = d.get<api::Deployment>().getSpec();
    auto s = d.get<api::Deployment>().getStatus();
    int32_t want = spec.getReplicas().getValue();
    if (s.getObservedGeneration() < d.meta().getGeneration() || s.getUpdatedReplicas() != want ||
        s.getReplicas() != want || s.getAvailableReplicas() != want)
      return false;
    for (auto& rs : ReplicaSets()) {
      auto st = rs.get<api::ReplicaSet>().getStatus();
      if (ImageOf(rs) == image ? st.getAvailableReplicas() != want : st.getReplicas() != 0)
        return false;
    }
    return true;
  }

  std::vector<std::string> EventMessages(const std::string& reason) {
    d_recorder.Flush();
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
  EventRecorder rs_recorder{client, &clock, "replicaset-controller"};
  EventRecorder d_recorder{client, &clock, "deployment-controller"};
  std::unique_ptr<ReplicaSetController> rsc;
  std::unique_ptr<DeploymentController> dc;
  std::unique_ptr<FakeKubelet> kubelet;
};

TEST(FencepostsTest, ResolvesPercentagesWithKubernetesRounding) {
  auto f = ResolveFenceposts(IntOrString::Str("25%"), IntOrString::Str("25%"), 10);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->max_surge, 3) << "surge rounds up";
  EXPECT_EQ(f->max_unavailable, 2) << "unavailable rounds down";

  f = ResolveFenceposts(IntOrString::Str("0%"), IntOrString::Str("0%"), 10);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->max_surge, 0);
  EXPECT_EQ(f->max_unavailable, 1) << "both zero: one may be unavailable";

  f = ResolveFenceposts(IntOrString::Int(0), IntOrString::Str("25%"), 3);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->max_surge, 0);
  EXPECT_EQ(f->max_unavailable, 1) << "25% of 3 rounds down to 0";

  f = ResolveFenceposts(IntOrString::Str("30%"), IntOrString::Int(4), 5);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->max_surge, 2);
  EXPECT_EQ(f->max_unavailable, 4);

  f = ResolveFenceposts(std::nullopt, std::nullopt, 5);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->max_unavailable, 1);

  EXPECT_FALSE(ResolveFenceposts(IntOrString::Str("abc"), IntOrString::Int(1), 5).ok());
  EXPECT_FALSE(ResolveFenceposts(IntOrString::Str("x%"), IntOrString::Int(1), 5).ok());
}

TEST(TemplateHashTest, DependsOnTemplateAndCollisionCountButNotOnTheHashLabel) {
  Object d = FromJson(DeploymentJson("web", 1, "nginx:1"));
  auto tmpl = d.get<api::Deployment>().getSpec().getTemplate();
  std::string h = ComputeTemplateHash(tmpl, std::nullopt);
  EXPECT_FALSE(h.empty());
  EXPECT_EQ(h.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos);
  EXPECT_EQ(h, ComputeTemplateHash(tmpl, std::nullopt)) << "stable";
  EXPECT_NE(h, ComputeTemplateHash(tmpl, 1)) << "collisionCount changes the hash";
  Object other = FromJson(DeploymentJson("web", 1, "nginx:2"));
  EXPECT_NE(
      h, ComputeTemplateHash(other.get<api::Deployment>().getSpec().getTemplate(), std::nullopt));

  Json labelled = DeploymentJson("web", 1, "nginx:1");
  labelled["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = h;
  Object l = FromJson(labelled);
  EXPECT_TRUE(EqualIgnoreHash(tmpl, l.get<api::Deployment>().getSpec().getTemplate()));
  EXPECT_FALSE(EqualIgnoreHash(tmpl, other.get<api::Deployment>().getSpec().getTemplate()));
}

TEST_F(DeploymentControllerTest, CreatesAReplicaSetNamedByTemplateHashWithRevisionOne) {
  kubelet = std::make_unique<FakeKubelet>(client, &clock);
  Start();
  CreateDeployment(DeploymentJson("web", 3, "nginx:1"));
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));

  Object d = GetDeployment("web");
  std::string hash =
      ComputeTemplateHash(d.get<api::Deployment>().getSpec().getTemplate(), std::nullopt);
  auto rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 1u);
  Object& rs = rss[0];
  EXPECT_EQ(rs.name(), "web-" + hash);
  EXPECT_EQ(LabelsOf(rs), (Labels{{"app", "web"}, {"pod-template-hash", hash}}));
  auto spec = rs.get<api::ReplicaSet>().getSpec();
  EXPECT_EQ(ToStdMap(spec.getSelector().getMatchLabels()),
            (Labels{{"app", "web"}, {"pod-template-hash", hash}}));
  EXPECT_EQ(ToStdMap(spec.getTemplate().getMetadata().getLabels()),
            (Labels{{"app", "web"}, {"pod-template-hash", hash}}));
  EXPECT_EQ(AnnotationOf(rs, kRevisionAnnotation), "1");
  EXPECT_EQ(AnnotationOf(rs, kDesiredReplicasAnnotation), "3");
  EXPECT_EQ(AnnotationOf(rs, kMaxReplicasAnnotation), "4");
  auto ref = GetControllerOf(rs);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->kind, "Deployment");
  EXPECT_EQ(ref->uid, d.uid());
  EXPECT_EQ(AnnotationOf(d, kRevisionAnnotation), "1");
  for (auto& p : Pods()) EXPECT_EQ(LabelsOf(p).at("pod-template-hash"), hash);

  auto s = d.get<api::Deployment>().getStatus();
  EXPECT_EQ(s.getReplicas(), 3);
  EXPECT_EQ(s.getUpdatedReplicas(), 3);
  EXPECT_EQ(s.getReadyReplicas(), 3);
  EXPECT_EQ(s.getAvailableReplicas(), 3);
  EXPECT_EQ(s.getUnavailableReplicas(), 0);
  ASSERT_TRUE(WaitFor([&] {
    auto p = DeploymentCondition("web", "Progressing");
    return p && p->reason == "NewReplicaSetAvailable";
  }));
  auto available = DeploymentCondition("web", "Available");
  ASSERT_TRUE(available.has_value());
  EXPECT_EQ(available->status, "True");
  EXPECT_EQ(available->reason, "MinimumReplicasAvailable");
  auto progressing = DeploymentCondition("web", "Progressing");
  EXPECT_EQ(progressing->status, "True");
  EXPECT_EQ(progressing->message, "ReplicaSet \"web-" + hash + "\" has successfully progressed.");
  EXPECT_TRUE(HasEvent("ScalingReplicaSet", "Scaled up replica set web-" + hash + " from 0 to 3"));
}

TEST_F(DeploymentControllerTest, RollingUpdateStaysWithinMaxSurgeAndMaxUnavailable) {
  kubelet = std::make_unique<FakeKubelet>(client, &clock);
  Start();
  CreateDeployment(DeploymentJson("web", 10, "nginx:1"));  // 25%/25%: surge 3, unavailable 2
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));

  PodInvariants invariants(client, /*max_pods=*/13, /*min_ready=*/8);
  SetImage("web", "nginx:2");
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:2"); }, 60s));
  EXPECT_TRUE(invariants.violations().empty()) << invariants.violations()[0];
  EXPECT_EQ(invariants.most_pods(), 13) << "the surge is used";
  EXPECT_GE(invariants.fewest_ready(), 8);
  auto old_rs = ReplicaSetWithImage("nginx:1");
  auto new_rs = ReplicaSetWithImage("nginx:2");
  ASSERT_TRUE(old_rs && new_rs);
  EXPECT_EQ(SpecReplicasOf(*old_rs), 0) << "kept for rollback, scaled to 0";
  EXPECT_EQ(SpecReplicasOf(*new_rs), 10);
  EXPECT_EQ(AnnotationOf(*new_rs, kRevisionAnnotation), "2");
  int updated = 0;
  for (auto& p : Pods())
    if (LabelsOf(p).at("pod-template-hash") == LabelsOf(*new_rs).at("pod-template-hash")) updated++;
  EXPECT_EQ(updated, 10);
  EXPECT_EQ(Pods().size(), 10u);
}

TEST_F(DeploymentControllerTest, RollbackReusesTheOldReplicaSetAndBumpsItsRevision) {
  kubelet = std::make_unique<FakeKubelet>(client, &clock);
  Start();
  CreateDeployment(DeploymentJson("web", 2, "nginx:1"));
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));
  std::string first = ReplicaSetWithImage("nginx:1")->name();
  SetImage("web", "nginx:2");
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:2"); }));
  EXPECT_EQ(AnnotationOf(GetDeployment("web"), kRevisionAnnotation), "2");

  SetImage("web", "nginx:1");  // what `kubectl rollout undo` does
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));
  ASSERT_TRUE(
      WaitFor([&] { return AnnotationOf(GetDeployment("web"), kRevisionAnnotation) == "3"; }));
  EXPECT_EQ(ReplicaSets().size(), 2u) << "no new ReplicaSet for a template seen before";
  auto back = ReplicaSetWithImage("nginx:1");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name(), first);
  EXPECT_EQ(AnnotationOf(*back, kRevisionAnnotation), "3");
  EXPECT_EQ(AnnotationOf(*back, kRevisionHistoryAnnotation), "1");
  EXPECT_EQ(SpecReplicasOf(*back), 2);
  EXPECT_EQ(SpecReplicasOf(*ReplicaSetWithImage("nginx:2")), 0);
  EXPECT_EQ(AnnotationOf(*ReplicaSetWithImage("nginx:2"), kRevisionAnnotation), "2");
}

TEST_F(DeploymentControllerTest, RevisionHistoryLimitDeletesTheOldestEmptyReplicaSets) {
  kubelet = std::make_unique<FakeKubelet>(client, &clock);
  Start();
  Json d = DeploymentJson("web", 1, "nginx:1");
  d["spec"]["revisionHistoryLimit"] = 1;
  CreateDeployment(d);
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));
  SetImage("web", "nginx:2");
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:2"); }));
  EXPECT_EQ(ReplicaSets().size(), 2u) << "one old ReplicaSet is within the limit";
  SetImage("web", "nginx:3");
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:3"); }));
  ASSERT_TRUE(WaitFor([&] { return ReplicaSets().size() == 2; })) << "the oldest goes";
  EXPECT_FALSE(ReplicaSetWithImage("nginx:1").has_value());
  EXPECT_TRUE(ReplicaSetWithImage("nginx:2").has_value());
  EXPECT_TRUE(ReplicaSetWithImage("nginx:3").has_value());
}

TEST_F(DeploymentControllerTest, RecreateWaitsForOldPodsToBeGoneBeforeCreatingNewOnes) {
  // Bound pods are deleted gracefully: they stay (terminating) until their kubelet confirms.
  kubelet = std::make_unique<FakeKubelet>(client, &clock, "node-1");
  Start();
  Json d = DeploymentJson("web", 2, "nginx:1");
  d["spec"]["strategy"] = {{"type", "Recreate"}};
  CreateDeployment(d);
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));

  SetImage("web", "nginx:2");
  ASSERT_TRUE(WaitFor([&] {
    Object dep = GetDeployment("web");
    auto s = dep.get<api::Deployment>().getStatus();
    return s.getObservedGeneration() == dep.meta().getGeneration() && s.getReplicas() == 0;
  })) << "old ReplicaSet scaled to 0 and its pods terminating";
  auto pods = Pods();
  ASSERT_EQ(pods.size(), 2u);
  for (auto& p : pods) EXPECT_TRUE(BeingDeleted(p)) << p.name();
  EXPECT_EQ(ReplicaSets().size(), 1u) << "no new ReplicaSet while old pods exist";

  // The kubelet confirms the old containers stopped.
  for (auto& p : pods) {
    DeleteOptions o;
    o.grace_period_seconds = 0;
    ASSERT_TRUE(client->Delete(PodKind(), "default", p.name(), o).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:2"); }));
  auto new_rs = ReplicaSetWithImage("nginx:2");
  ASSERT_TRUE(new_rs.has_value());
  EXPECT_EQ(SpecReplicasOf(*new_rs), 2);
  EXPECT_TRUE(HasEvent(
      "ScalingReplicaSet",
      "Scaled down replica set " + ReplicaSetWithImage("nginx:1")->name() + " from 2 to 0"));
  EXPECT_TRUE(
      HasEvent("ScalingReplicaSet", "Scaled up replica set " + new_rs->name() + " from 0 to 2"));
}

TEST_F(DeploymentControllerTest, PausedDeploymentScalesButDoesNotRollOut) {
  kubelet = std::make_unique<FakeKubelet>(client, &clock);
  Start();
  CreateDeployment(DeploymentJson("web", 2, "nginx:1"));
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));
  Patch("web", {{"spec", {{"paused", true}}}});
  ASSERT_TRUE(WaitFor([&] {
    auto c = DeploymentCondition("web", "Progressing");
    return c && c->reason == "DeploymentPaused" && c->status == "Unknown";
  }));
  SetImage("web", "nginx:2");
  Patch("web", {{"spec", {{"replicas", 4}}}});
  ASSERT_TRUE(WaitFor([&] {
    Object dep = GetDeployment("web");
    auto s = dep.get<api::Deployment>().getStatus();
    return s.getObservedGeneration() == dep.meta().getGeneration() && s.getAvailableReplicas() == 4;
  }));
  EXPECT_EQ(ReplicaSets().size(), 1u) << "no rollout while paused";
  EXPECT_EQ(SpecReplicasOf(*ReplicaSetWithImage("nginx:1")), 4) << "scaling still applies";

  Patch("web", {{"spec", {{"paused", false}}}});
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:2"); }));
  EXPECT_EQ(ReplicaSets().size(), 2u);
  ASSERT_TRUE(WaitFor([&] {
    auto c = DeploymentCondition("web", "Progressing");
    return c && c->reason == "NewReplicaSetAvailable";
  }));
}

TEST_F(DeploymentControllerTest, ScalingMidRolloutIsProportional) {
  kubelet = std::make_unique<FakeKubelet>(client, &clock);
  Start();
  CreateDeployment(DeploymentJson("web", 10, "nginx:1"));
  ASSERT_TRUE(WaitFor([&] { return Complete("web", "nginx:1"); }));
  kubelet.reset();  // new pods never become ready: the rollout stalls mid-way
  SetImage("web", "nginx:2");
  // 25%/25% of 10: the new ReplicaSet surges to 3, the old one drops to 8, then the new
  // one grows to 5 (13 pods); nothing more without ready new pods.
  ASSERT_TRUE(WaitFor([&] {
    auto o = ReplicaSetWithImage("nginx:1");
    auto n = ReplicaSetWithImage("nginx:2");
    Object dep = GetDeployment("web");
    return o && n && SpecReplicasOf(*o) == 8 && SpecReplicasOf(*n) == 5 &&
           o->get<api::ReplicaSet>().getStatus().getReplicas() == 8 &&
           n->get<api::ReplicaSet>().getStatus().getReplicas() == 5 &&
           dep.get<api::Deployment>().getStatus().getReplicas() == 13 &&
           dep.get<api::Deployment>().getStatus().getObservedGeneration() ==
               dep.meta().getGeneration();
  }));
  std::string old_name = ReplicaSetWithImage("nginx:1")->name();
  std::string new_name = ReplicaSetWithImage("nginx:2")->name();

  // 20 replicas allow 25 pods: the 12 more are shared 8:5 (Kubernetes' rounding).
  Patch("web", {{"spec", {{"replicas", 20}}}});
  ASSERT_TRUE(WaitFor([&] {
    return SpecReplicasOf(*ReplicaSetWithImage("nginx:1")) == 15 &&
           SpecReplicasOf(*ReplicaSetWithImage("nginx:2")) == 10;
  }));
  EXPECT_TRUE(HasEvent("ScalingReplicaSet", "Scaled up replica set " + old_name + " from 8 to 15"));
  EXPECT_TRUE(HasEvent("ScalingReplicaSet", "Scaled up replica set " + new_name + " from 5 to 10"));
  EXPECT_EQ(AnnotationOf(*ReplicaSetWithImage("nginx:2"), kDesiredReplicasAnnotation), "20");
  EXPECT_EQ(AnnotationOf(*ReplicaSetWithImage("nginx:1"), kMaxReplicasAnnotation), "25");
}

TEST_F(DeploymentControllerTest, ProgressDeadlineExceededOnTheFakeClock) {
  Start();  // no kubelet: pods never become ready
  Json d = DeploymentJson("web", 2, "nginx:1");
  d["spec"]["progressDeadlineSeconds"] = 30;
  CreateDeployment(d);
  ASSERT_TRUE(WaitFor([&] {
    Object dep = GetDeployment("web");
    auto c = DeploymentCondition("web", "Progressing");
    return dep.get<api::Deployment>().getStatus().getUpdatedReplicas() == 2 && c &&
           c->status == "True";
  }));
  std::string rs_name = ReplicaSets()[0].name();
  auto timed_out = [&] {
    auto c = DeploymentCondition("web", "Progressing");
    return c && c->reason == "ProgressDeadlineExceeded";
  };
  // Well before the deadline nothing happens...
  clock.Advance(25s);
  int elapsed = 25;
  EXPECT_FALSE(WaitFor(timed_out, 200ms));
  // ...then step a second at a time until the controller's requeue fires.
  while (elapsed < 60 && !timed_out()) {
    clock.Advance(1s);
    ++elapsed;
    WaitFor(timed_out, 200ms);
  }
  ASSERT_TRUE(timed_out());
  EXPECT_GT(elapsed, 30) << "not before progressDeadlineSeconds";
  EXPECT_LE(elapsed, 40);
  auto c = DeploymentCondition("web", "Progressing");
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->message, "ReplicaSet \"" + rs_name + "\" has timed out progressing.");
  auto available = DeploymentCondition("web", "Available");
  ASSERT_TRUE(available.has_value());
  EXPECT_EQ(available->status, "False");
  EXPECT_EQ(available->reason, "MinimumReplicasUnavailable");
}

}  // namespace
}  // namespace cattle::controllers
