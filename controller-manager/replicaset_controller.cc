#include "controller-manager/replicaset_controller.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>

#include "cattle/log.h"

namespace cattle::controllers {
namespace {

constexpr char kDeletionCostAnnotation[] = "controller.kubernetes.io/pod-deletion-cost";
constexpr int kDeleteParallelism = 16;

int32_t SpecReplicas(const Object& rs) {
  auto spec = rs.get<api::ReplicaSet>().getSpec();
  return spec.hasReplicas() ? spec.getReplicas().getValue() : 1;
}

int PhaseOrdinal(capnp::Text::Reader phase) {
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 0;  // Pending, and anything else (as a missing key of Go's map)
}

int32_t DeletionCost(const Object& pod) {
  std::string v = AnnotationOf(pod, kDeletionCostAnnotation);
  if (v.empty()) return 0;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (*end != '\0' || n < INT32_MIN || n > INT32_MAX) return 0;
  return static_cast<int32_t>(n);
}

// Go's afterOrZero: the zero time sorts first, then later before earlier.
bool AfterOrZero(int64_t t1, int64_t t2) {
  if (t1 == 0 || t2 == 0) return t1 == 0;
  return t1 > t2;
}

struct ReplicaSetStatus {
  int32_t replicas = 0;
  int32_t fully_labeled = 0;
  int32_t ready = 0;
  int32_t available = 0;
  std::vector<Condition> conditions;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Deletion ranking (controller.ActivePodsWithRanks)

std::vector<ObjectPtr> PodsToDelete(const std::vector<ObjectPtr>& pods,
                                    const std::vector<ObjectPtr>& related, int n) {
  n = std::max(0, std::min<int>(n, pods.size()));
  if (n == static_cast<int>(pods.size())) return pods;  // all of them: no need to rank
  std::map<std::string, int> active_on_node;
  for (const auto& p : related)
    if (IsPodActive(*p)) active_on_node[p->get<api::Pod>().getSpec().getNodeName().cStr()]++;

  struct Ranked {
    ObjectPtr pod;
    std::string node;
    int phase;
    bool ready;
    int32_t cost;
    int rank;
    int64_t ready_since;
    int32_t restarts;
    int64_t created;
  };
  std::vector<Ranked> r;
  for (const auto& p : pods) {
    auto pod = p->get<api::Pod>();
    std::string node = pod.getSpec().getNodeName().cStr();
    r.push_back({p, node, PhaseOrdinal(pod.getStatus().getPhase()), IsPodReady(*p),
                 DeletionCost(*p), active_on_node[node], PodReadySinceNanos(*p),
                 MaxContainerRestarts(*p), CreationNanos(*p)});
  }
  auto less = [](const Ranked& a, const Ranked& b) {
    // 1. Unassigned < assigned.
    if (a.node != b.node && (a.node.empty() || b.node.empty())) return a.node.empty();
    // 2. Pending < Unknown < Running.
    if (a.phase != b.phase) return a.phase < b.phase;
    // 3. Not ready < ready.
    if (a.ready != b.ready) return !a.ready;
    // 4. Lower pod-deletion-cost < higher.
    if (a.cost != b.cost) return a.cost < b.cost;
    // 5. Doubled up (more related pods on the same node) < not.
    if (a.rank != b.rank) return a.rank > b.rank;
    // 6. Ready for a shorter time < longer.
    if (a.ready && b.ready && a.ready_since != b.ready_since)
      return AfterOrZero(a.ready_since, b.ready_since);
    // 7. More restarts < fewer.
    if (a.restarts != b.restarts) return a.restarts > b.restarts;
    // 8. Newer < older.
    if (a.created != b.created) return AfterOrZero(a.created, b.created);
    return a.pod->name() < b.pod->name();  // deterministic among equals
  };
  std::stable_sort(r.begin(), r.end(), less);
  std::vector<ObjectPtr> out;
  for (int i = 0; i < n; ++i) out.push_back(r[i].pod);
  return out;
}

// ---------------------------------------------------------------------------------------

ReplicaSetController::ReplicaSetController(InformerFactory* informers, ApiClient* client,
                                           EventRecorder* recorder, Clock* clock, TimeScale scale,
                                           ReplicaSetControllerOptions options)
    : informers_(informers),
      client_(client),
      recorder_(recorder),
      clock_(clock),
      scale_(scale),
      options_(options),
      pod_kind_(client->kinds().ByGroupResource("", "pods")),
      rs_kind_(client->kinds().ByGroupResource("apps", "replicasets")),
      pods_(informers->For(pod_kind_)),
      replicasets_(informers->For(rs_kind_)),
      expectations_(clock, scale(options.expectations_timeout)),
      queue_(clock),
      workers_("replicaset", &queue_, {pods_, replicasets_},
               [this](const std::string& key) { return Sync(key); }) {
  pods_->AddIndex(kNamespaceIndex, NamespaceIndexFunc());
  replicasets_->AddIndex(kNamespaceIndex, NamespaceIndexFunc());
  guard_ = std::make_shared<HandlerGuard>();
  guard_->self = this;
  auto g = guard_;
  // Informers may outlive the controller: each handler runs under the guard.
  auto guarded = [g](auto fn) {
    return [g, fn](auto&&... args) {
      std::shared_lock<std::shared_mutex> lock(g->mu);
      if (g->self != nullptr) fn(g->self, args...);
    };
  };
  pods_->AddHandlers(EventHandlers{
      guarded([](ReplicaSetController* c, const ObjectPtr& p) { c->OnPodAdd(p); }),
      guarded([](ReplicaSetController* c, const ObjectPtr& o, const ObjectPtr& n) {
        c->OnPodUpdate(o, n);
      }),
      guarded([](ReplicaSetController* c, const ObjectPtr& p) { c->OnPodDelete(p); })});
  replicasets_->AddHandlers(EventHandlers{
      guarded([](ReplicaSetController* c, const ObjectPtr& rs) { c->queue_.Add(rs->Key()); }),
      guarded([](ReplicaSetController* c, const ObjectPtr& o, const ObjectPtr& n) {
        c->OnReplicaSetUpdate(o, n);
      }),
      guarded([](ReplicaSetController* c, const ObjectPtr& rs) { c->OnReplicaSetDelete(rs); })});
}

ReplicaSetController::~ReplicaSetController() {
  {
    std::unique_lock<std::shared_mutex> lock(guard_->mu);
    guard_->self = nullptr;
  }
  Stop();
}

void ReplicaSetController::Run(int workers) { workers_.Start(workers); }

void ReplicaSetController::Stop() { workers_.Stop(); }

// ---------------------------------------------------------------------------------------
// Handlers: map to keys, lower expectations, enqueue.

ObjectPtr ReplicaSetController::ResolveControllerRef(const std::string& ns,
                                                     const OwnerRef& ref) const {
  if (ref.kind != rs_kind_->kind) return nullptr;
  ObjectPtr rs = replicasets_->Get(ns + "/" + ref.name);
  if (!rs || rs->uid() != ref.uid) return nullptr;
  return rs;
}

std::vector<ObjectPtr> ReplicaSetController::ReplicaSetsForPod(const Object& pod) const {
  std::vector<ObjectPtr> out;
  Labels labels = LabelsOf(pod);
  for (const auto& rs : ListNamespace(replicasets_, pod.namespace_())) {
    auto spec = rs->get<api::ReplicaSet>().getSpec();
    auto sel = SelectorFromApi(spec.hasSelector(), spec.getSelector());
    // A nil or empty selector matches nothing here, never everything.
    if (!sel.ok() || sel->Empty() || sel->IsNothing() || !sel->Matches(labels)) continue;
    out.push_back(rs);
  }
  return out;
}

void ReplicaSetController::EnqueueMatching(const Object& pod) {
  for (const auto& rs : ReplicaSetsForPod(pod)) queue_.Add(rs->Key());
}

void ReplicaSetController::OnPodAdd(const ObjectPtr& pod) {
  if (BeingDeleted(*pod)) {
    // Seen for the first time already terminating (e.g. after a restart): not a creation.
    OnPodDelete(pod);
    return;
  }
  if (auto ref = GetControllerOf(*pod)) {
    ObjectPtr rs = ResolveControllerRef(pod->namespace_(), *ref);
    if (!rs) return;
    expectations_.CreationObserved(rs->Key());
    queue_.Add(rs->Key());
    return;
  }
  EnqueueMatching(*pod);  // an orphan: whoever matches may adopt it
}

void ReplicaSetController::OnPodUpdate(const ObjectPtr& old_pod, const ObjectPtr& cur_pod) {
  if (old_pod->resource_version() == cur_pod->resource_version()) return;
  bool labels_changed = LabelsOf(*old_pod) != LabelsOf(*cur_pod);
  if (BeingDeleted(*cur_pod)) {
    // A graceful deletion starts: count it now rather than when the kubelet finishes.
    OnPodDelete(cur_pod);
    if (labels_changed) OnPodDelete(old_pod);
    return;
  }
  auto cur_ref = GetControllerOf(*cur_pod);
  auto old_ref = GetControllerOf(*old_pod);
  bool ref_changed = cur_ref != old_ref;
  if (ref_changed && old_ref) {
    if (ObjectPtr rs = ResolveControllerRef(old_pod->namespace_(), *old_ref)) queue_.Add(rs->Key());
  }
  if (cur_ref) {
    if (ObjectPtr rs = ResolveControllerRef(cur_pod->namespace_(), *cur_ref)) queue_.Add(rs->Key());
    return;
  }
  if (labels_changed || ref_changed) EnqueueMatching(*cur_pod);
}

void ReplicaSetController::OnPodDelete(const ObjectPtr& pod) {
  auto ref = GetControllerOf(*pod);
  if (!ref) return;  // nobody waits for orphans
  ObjectPtr rs = ResolveControllerRef(pod->namespace_(), *ref);
  if (!rs) return;
  expectations_.DeletionObserved(rs->Key(), pod->Key());
  queue_.Add(rs->Key());
}

void ReplicaSetController::OnReplicaSetUpdate(const ObjectPtr& old_rs, const ObjectPtr& cur_rs) {
  if (old_rs->uid() != cur_rs->uid()) OnReplicaSetDelete(old_rs);  // deleted and re-created
  queue_.Add(cur_rs->Key());
}

void ReplicaSetController::OnReplicaSetDelete(const ObjectPtr& rs) {
  expectations_.Delete(rs->Key());
  queue_.Add(rs->Key());
}

// ---------------------------------------------------------------------------------------
// Sync

Status ReplicaSetController::Sync(const std::string& key) {
  ObjectPtr rs = replicasets_->Get(key);
  if (!rs) {
    expectations_.Delete(key);
    return Status::Ok();
  }
  // Read before listing pods: an observation that arrives after the list is then seen
  // by the next sync, never lost.
  const bool needs_sync = expectations_.Satisfied(key);
  auto spec = rs->get<api::ReplicaSet>().getSpec();
  auto selector = SelectorFromApi(spec.hasSelector(), spec.getSelector());
  if (!selector.ok()) {
    CATTLE_LOG(WARN) << "invalid selector; not syncing" << kv("replicaset", key)
                     << kv("error", selector.status().ToString());
    return Status::Ok();  // retrying cannot help; an update of the object will
  }
  std::vector<ObjectPtr> active;
  for (const auto& p : ListNamespace(pods_, rs->namespace_()))
    if (IsPodActive(*p)) active.push_back(p);

  const std::string uid = rs->uid();
  const std::string ns = rs->namespace_();
  const std::string name = rs->name();
  auto claim = ClaimObjects(client_, *rs, *selector, active, [&]() -> Status {
    auto fresh = client_->Get(rs_kind_, ns, name);
    if (!fresh.ok()) return fresh.status();
    if (fresh->uid() != uid)
      return Status::Conflict("original ReplicaSet " + ns + "/" + name + " is gone: got uid " +
                              fresh->uid() + ", wanted " + uid);
    if (BeingDeleted(*fresh))
      return Status::Conflict(ns + "/" + name + " has just been deleted at " +
                              fresh->meta().getDeletionTimestamp().cStr());
    return Status::Ok();
  });
  if (!claim.error.ok()) return claim.error;

  Status manage;
  if (needs_sync && !BeingDeleted(*rs)) manage = ManageReplicas(claim.claimed, *rs, key);

  const int64_t status_time = clock_->WallNanos();
  ObjectPtr updated;
  Status st = UpdateStatus(*rs, claim.claimed, manage, status_time, &updated);
  if (!st.ok()) return st;

  // Pods that are ready but were not yet available when the status was computed become
  // available without any event: look again when the first of them does (counted from
  // the clock's current reading, which may have moved on meanwhile).
  Duration min_ready = scale_.Seconds(spec.getMinReadySeconds());
  if (manage.ok() && min_ready.count() > 0) {
    int64_t earliest = INT64_MAX;
    for (const auto& p : claim.claimed) {
      int64_t since = PodReadySinceNanos(*p);
      if (IsPodReady(*p) && since != 0 && !IsPodAvailable(*p, min_ready, status_time))
        earliest = std::min(earliest, since + min_ready.count());
    }
    if (earliest != INT64_MAX) {
      Duration wait(std::max<int64_t>(0, earliest - clock_->WallNanos()));
      queue_.AddAfter(key, wait + std::chrono::milliseconds(10));
    }
  }
  return manage;
}

Status ReplicaSetController::ManageReplicas(const std::vector<ObjectPtr>& pods, const Object& rs,
                                            const std::string& key) {
  int diff = static_cast<int>(pods.size()) - SpecReplicas(rs);
  if (diff < 0) {
    int n = std::min(-diff, options_.burst_replicas);
    // Expect first: the informer may see a pod before Create returns.
    expectations_.ExpectCreations(key, n);
    auto [created, error] = SlowStartBatch(n, 1, [&] { return CreatePod(rs); });
    // Pods never created will never be observed.
    for (int i = created; i < n; ++i) expectations_.CreationObserved(key);
    return error;
  }
  if (diff > 0) {
    int n = std::min(diff, options_.burst_replicas);
    auto victims = PodsToDelete(pods, IndirectlyRelatedPods(rs), n);
    std::vector<std::string> keys;
    for (const auto& p : victims) keys.push_back(p->Key());
    expectations_.ExpectDeletions(key, keys);
    auto results = RunParallel(static_cast<int>(victims.size()), kDeleteParallelism, [&](int i) {
      Status s = DeletePod(rs, *victims[i]);
      if (!s.ok()) {
        expectations_.DeletionObserved(key, victims[i]->Key());  // will never be observed
        if (s.Is(Reason::kNotFound)) return Status::Ok();
      }
      return s;
    });
    for (auto& r : results)
      if (!r.ok()) return r;
  }
  return Status::Ok();
}

Status ReplicaSetController::CreatePod(const Object& rs) {
  auto tmpl = rs.get<api::ReplicaSet>().getSpec().getTemplate();
  auto tmeta = tmpl.getMetadata();
  if (tmeta.getLabels().getEntries().size() == 0) {
    Status s = Status::Invalid("unable to create pods, no labels");
    if (recorder_)
      recorder_->Event(rs, "Warning", "FailedCreate", "Error creating: " + s.message());
    return s;
  }
  Object pod(pod_kind_);
  auto m = pod.meta();
  m.setNamespace(rs.namespace_());
  m.setGenerateName(rs.name() + "-");
  m.setLabels(tmeta.getLabels());
  if (tmeta.hasAnnotations()) m.setAnnotations(tmeta.getAnnotations());
  if (tmeta.hasFinalizers()) m.setFinalizers(tmeta.getFinalizers());
  SetOwnerRefs(m, {NewControllerRef(rs)});
  pod.as<api::Pod>().setSpec(tmpl.getSpec());
  auto created = client_->Create(pod);
  if (!created.ok()) {
    if (recorder_)
      recorder_->Event(rs, "Warning", "FailedCreate",
                       "Error creating: " + created.status().message());
    return created.status();
  }
  if (recorder_)
    recorder_->Event(rs, "Normal", "SuccessfulCreate", "Created pod: " + created->name());
  return Status::Ok();
}

Status ReplicaSetController::DeletePod(const Object& rs, const Object& pod) {
  auto r = client_->Delete(pod_kind_, pod.namespace_(), pod.name());
  if (!r.ok()) {
    if (!r.status().Is(Reason::kNotFound) && recorder_)
      recorder_->Event(rs, "Warning", "FailedDelete", "Error deleting: " + r.status().message());
    return r.status();
  }
  if (recorder_) recorder_->Event(rs, "Normal", "SuccessfulDelete", "Deleted pod: " + pod.name());
  return Status::Ok();
}

std::vector<ObjectPtr> ReplicaSetController::IndirectlyRelatedPods(const Object& rs) const {
  std::vector<ObjectPtr> sets;
  auto owner = GetControllerOf(rs);
  if (!owner) {
    sets.push_back(std::make_shared<const Object>(rs.Clone()));
  } else {
    for (const auto& other : ListNamespace(replicasets_, rs.namespace_())) {
      auto ref = GetControllerOf(*other);
      if (ref && ref->uid == owner->uid) sets.push_back(other);
    }
  }
  std::vector<ObjectPtr> out;
  std::set<std::string> seen;
  auto pods = ListNamespace(pods_, rs.namespace_());
  for (const auto& set : sets) {
    auto spec = set->get<api::ReplicaSet>().getSpec();
    auto sel = SelectorFromApi(spec.hasSelector(), spec.getSelector());
    if (!sel.ok()) continue;
    for (const auto& p : pods)
      if (sel->Matches(LabelsOf(*p)) && seen.insert(p->uid()).second) out.push_back(p);
  }
  return out;
}

Status ReplicaSetController::UpdateStatus(const Object& rs, const std::vector<ObjectPtr>& pods,
                                          const Status& manage_error, int64_t now,
                                          ObjectPtr* updated) {
  auto reader = rs.get<api::ReplicaSet>();
  auto spec = reader.getSpec();
  auto old = reader.getStatus();

  ReplicaSetStatus s;
  s.conditions = ReadConditions(old.getConditions());
  LabelSelector template_labels =
      LabelSelectorFromSet(ToStdMap(spec.getTemplate().getMetadata().getLabels()));
  Duration min_ready = scale_.Seconds(spec.getMinReadySeconds());
  for (const auto& p : pods) {
    if (template_labels.Matches(LabelsOf(*p))) s.fully_labeled++;
    if (IsPodReady(*p)) {
      s.ready++;
      if (IsPodAvailable(*p, min_ready, now)) s.available++;
    }
  }
  s.replicas = static_cast<int32_t>(pods.size());
  const Condition* failure = FindCondition(s.conditions, "ReplicaFailure");
  if (!manage_error.ok() && failure == nullptr) {
    int diff = static_cast<int>(pods.size()) - SpecReplicas(rs);
    Condition c;
    c.type = "ReplicaFailure";
    c.status = "True";
    c.reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
    c.message = manage_error.message();
    c.last_transition_time = FormatRfc3339(now);
    s.conditions.push_back(std::move(c));
  } else if (manage_error.ok() && failure != nullptr) {
    RemoveCondition(&s.conditions, "ReplicaFailure");
  }

  int64_t generation = rs.meta().getGeneration();
  if (old.getReplicas() == s.replicas && old.getFullyLabeledReplicas() == s.fully_labeled &&
      old.getReadyReplicas() == s.ready && old.getAvailableReplicas() == s.available &&
      old.getObservedGeneration() == generation &&
      ReadConditions(old.getConditions()) == s.conditions) {
    *updated = std::make_shared<const Object>(rs.Clone());
    return Status::Ok();
  }

  Object target = rs.Clone();
  for (int attempt = 0;; ++attempt) {
    auto st = target.as<api::ReplicaSet>().getStatus();
    st.setReplicas(s.replicas);
    st.setFullyLabeledReplicas(s.fully_labeled);
    st.setReadyReplicas(s.ready);
    st.setAvailableReplicas(s.available);
    // The generation acted on, not the fresh object's (that may be newer than our view).
    st.setObservedGeneration(generation);
    WriteConditions(
        s.conditions, [&](unsigned n) { return st.initConditions(n); },
        [&] {
          if (st.hasConditions()) st.disownConditions();
        });
    auto r = client_->UpdateStatus(target);
    if (r.ok()) {
      *updated = std::make_shared<const Object>(std::move(*r));
      return Status::Ok();
    }
    if (attempt >= 1) return r.status();
    auto fresh = client_->Get(rs_kind_, rs.namespace_(), rs.name());
    if (!fresh.ok()) return fresh.status();
    if (fresh->uid() != rs.uid()) return Status::Ok();  // re-created: its own sync follows
    target = std::move(*fresh);
  }
}

}  // namespace cattle::controllers
