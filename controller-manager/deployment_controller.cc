#include "controller-manager/deployment_controller.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <map>

#include "cattle/log.h"

namespace cattle::controllers {
namespace {

// Condition types and reasons (deploymentutil).
constexpr char kAvailable[] = "Available";
constexpr char kProgressing[] = "Progressing";
constexpr char kReplicaFailure[] = "ReplicaFailure";
constexpr char kMinimumReplicasAvailable[] = "MinimumReplicasAvailable";
constexpr char kMinimumReplicasUnavailable[] = "MinimumReplicasUnavailable";
constexpr char kNewReplicaSetReason[] = "NewReplicaSetCreated";
constexpr char kFoundNewRSReason[] = "FoundNewReplicaSet";
constexpr char kReplicaSetUpdatedReason[] = "ReplicaSetUpdated";
constexpr char kNewRSAvailableReason[] = "NewReplicaSetAvailable";
constexpr char kTimedOutReason[] = "ProgressDeadlineExceeded";
constexpr char kFailedRSCreateReason[] = "ReplicaSetCreateError";
constexpr char kPausedDeployReason[] = "DeploymentPaused";
constexpr char kResumedDeployReason[] = "DeploymentResumed";

// Deployment annotations never copied onto its ReplicaSets.
bool SkipCopyAnnotation(const std::string& key) {
  return key == "kubectl.kubernetes.io/last-applied-configuration" || key == kRevisionAnnotation ||
         key == kRevisionHistoryAnnotation || key == kDesiredReplicasAnnotation ||
         key == kMaxReplicasAnnotation || key == "deprecated.deployment.rollback.to";
}

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::optional<int64_t> ParseInt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return std::nullopt;
  return v;
}

// --- ReplicaSet fields ---------------------------------------------------------------

int32_t SpecReplicas(const Object& rs) {
  auto spec = rs.get<api::ReplicaSet>().getSpec();
  return spec.hasReplicas() ? spec.getReplicas().getValue() : 1;
}
int32_t StatusReplicas(const Object& rs) {
  return rs.get<api::ReplicaSet>().getStatus().getReplicas();
}
int32_t ReadyReplicas(const Object& rs) {
  return rs.get<api::ReplicaSet>().getStatus().getReadyReplicas();
}
int32_t AvailableReplicas(const Object& rs) {
  return rs.get<api::ReplicaSet>().getStatus().getAvailableReplicas();
}
// Available pods an old ReplicaSet will still have once it reaches its spec: a status
// written before a scale-down may count pods that are being deleted.
int32_t AvailableWithinSpec(const Object& rs) {
  return std::min(AvailableReplicas(rs), SpecReplicas(rs));
}
int64_t Revision(const Object& rs) {
  return ParseInt(AnnotationOf(rs, kRevisionAnnotation)).value_or(0);
}

std::map<std::string, std::string> Annotations(const Object& obj) {
  return ToStdMap(obj.meta().getAnnotations());
}
void SetAnnotations(Object* obj, const std::map<std::string, std::string>& a) {
  auto m = obj->meta();
  if (a.empty()) {
    if (m.hasAnnotations()) m.disownAnnotations();
    return;
  }
  SetStringMap(m.initAnnotations(), a);
}

bool ByCreation(const ObjectPtr& a, const ObjectPtr& b) {
  int64_t ta = CreationNanos(*a), tb = CreationNanos(*b);
  if (ta != tb) return ta < tb;
  return a->name() < b->name();
}

std::vector<ObjectPtr> FilterActive(const std::vector<ObjectPtr>& rss) {
  std::vector<ObjectPtr> out;
  for (const auto& rs : rss)
    if (rs && SpecReplicas(*rs) > 0) out.push_back(rs);
  return out;
}

int32_t SumSpec(const std::vector<ObjectPtr>& rss) {
  int32_t n = 0;
  for (const auto& rs : rss)
    if (rs) n += SpecReplicas(*rs);
  return n;
}

// --- Deployment status -----------------------------------------------------------------

struct StatusValue {
  int64_t observed_generation = 0;
  int32_t replicas = 0;
  int32_t updated = 0;
  int32_t ready = 0;
  int32_t available = 0;
  int32_t unavailable = 0;
  std::optional<int32_t> collision_count;
  std::vector<Condition> conditions;
  friend bool operator==(const StatusValue&, const StatusValue&) = default;
};

StatusValue ReadStatus(const Object& d) {
  auto s = d.get<api::Deployment>().getStatus();
  StatusValue out;
  out.observed_generation = s.getObservedGeneration();
  out.replicas = s.getReplicas();
  out.updated = s.getUpdatedReplicas();
  out.ready = s.getReadyReplicas();
  out.available = s.getAvailableReplicas();
  out.unavailable = s.getUnavailableReplicas();
  if (s.hasCollisionCount()) out.collision_count = s.getCollisionCount().getValue();
  out.conditions = ReadConditions(s.getConditions());
  return out;
}

void WriteStatusTo(Object* d, const StatusValue& in) {
  auto s = d->as<api::Deployment>().getStatus();
  s.setObservedGeneration(in.observed_generation);
  s.setReplicas(in.replicas);
  s.setUpdatedReplicas(in.updated);
  s.setReadyReplicas(in.ready);
  s.setAvailableReplicas(in.available);
  s.setUnavailableReplicas(in.unavailable);
  if (in.collision_count) {
    s.initCollisionCount().setValue(*in.collision_count);
  } else if (s.hasCollisionCount()) {
    s.disownCollisionCount();
  }
  WriteConditions(
      in.conditions, [&](unsigned n) { return s.initConditions(n); },
      [&] {
        if (s.hasConditions()) s.disownConditions();
      });
}

// deploymentutil.SetDeploymentCondition: no change for the same status and reason; the
// transition time kept while the status stays.
void SetCondition(std::vector<Condition>* conds, Condition c) {
  const Condition* cur = FindCondition(*conds, c.type);
  if (cur && cur->status == c.status && cur->reason == c.reason) return;
  if (cur && cur->status == c.status) c.last_transition_time = cur->last_transition_time;
  RemoveCondition(conds, c.type);
  conds->push_back(std::move(c));
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Fenceposts

IntOrString IntOrStringFromApi(api::IntOrString::Reader v) {
  if (v.isInt()) return IntOrString::Int(v.getInt());
  return IntOrString::Str(S(v.getStr()));
}

Result<int32_t> ScaledValueFromIntOrPercent(const IntOrString& v, int32_t total, bool round_up) {
  if (v.int_value) return *v.int_value;
  if (v.str.empty() || v.str.back() != '%')
    return Status::BadRequest(
        "invalid value for IntOrString: invalid type: string is not a percentage");
  auto pct = ParseInt(v.str.substr(0, v.str.size() - 1));
  if (!pct)
    return Status::BadRequest("invalid value for IntOrString: invalid value \"" + v.str + "\"");
  double scaled = static_cast<double>(*pct) * static_cast<double>(total) / 100.0;
  return static_cast<int32_t>(round_up ? std::ceil(scaled) : std::floor(scaled));
}

Result<Fenceposts> ResolveFenceposts(const std::optional<IntOrString>& max_surge,
                                     const std::optional<IntOrString>& max_unavailable,
                                     int32_t desired) {
  auto surge = ScaledValueFromIntOrPercent(max_surge.value_or(IntOrString::Int(0)), desired, true);
  if (!surge.ok()) return surge.status();
  auto unavailable =
      ScaledValueFromIntOrPercent(max_unavailable.value_or(IntOrString::Int(0)), desired, false);
  if (!unavailable.ok()) return unavailable.status();
  Fenceposts f{*surge, *unavailable};
  // Validation forbids 0/0, but rounding down may produce it: then allow one unavailable
  // pod rather than rely on surge (which quota may forbid).
  if (f.max_surge == 0 && f.max_unavailable == 0) f.max_unavailable = 1;
  return f;
}

// ---------------------------------------------------------------------------------------
// One sync of one Deployment: Kubernetes' syncDeployment and the functions it calls, on a
// working copy of the Deployment.

class DeploymentSync {
 public:
  DeploymentSync(DeploymentController* c, const Object& d, std::string key)
      : c_(c),
        d_(d.Clone()),
        status_(ReadStatus(d)),
        key_(std::move(key)),
        now_(c->clock_->WallNanos()) {}

  Status Run();

 private:
  // --- spec of the working copy
  api::DeploymentSpec::Reader Spec() const { return d_.get<api::Deployment>().getSpec(); }
  int32_t Replicas() const { return Spec().hasReplicas() ? Spec().getReplicas().getValue() : 1; }
  bool IsRolling() const { return Spec().getStrategy().getType() == "RollingUpdate"; }
  Result<Fenceposts> Resolve() const {
    auto ru = Spec().getStrategy().getRollingUpdate();
    std::optional<IntOrString> surge, unavailable;
    if (Spec().getStrategy().hasRollingUpdate()) {
      if (ru.hasMaxSurge()) surge = IntOrStringFromApi(ru.getMaxSurge());
      if (ru.hasMaxUnavailable()) unavailable = IntOrStringFromApi(ru.getMaxUnavailable());
    }
    return ResolveFenceposts(surge, unavailable, Replicas());
  }
  // deploymentutil.MaxSurge / MaxUnavailable (errors were caught by validation: 0).
  int32_t MaxSurge() const {
    if (!IsRolling()) return 0;
    auto f = Resolve();
    return f.ok() ? f->max_surge : 0;
  }
  int32_t MaxUnavailable() const {
    if (!IsRolling() || Replicas() == 0) return 0;
    auto f = Resolve();
    int32_t u = f.ok() ? f->max_unavailable : 0;
    return std::min(u, Replicas());
  }
  bool HasProgressDeadline() const {
    return Spec().hasProgressDeadlineSeconds() &&
           Spec().getProgressDeadlineSeconds().getValue() != INT32_MAX;
  }
  Duration ProgressDeadline() const {
    return c_->scale_.Seconds(Spec().getProgressDeadlineSeconds().getValue());
  }
  std::string Now() const { return FormatRfc3339(now_); }
  Condition NewCondition(std::string type, std::string status, std::string reason,
                         std::string message) const {
    return Condition{
        std::move(type), std::move(status), std::move(reason), std::move(message), Now(), Now()};
  }

  // --- ReplicaSets
  Status ClaimReplicaSets(const LabelSelector& selector);
  void BuildPodMap(const LabelSelector& selector);
  // The freshest copy this sync has of `rs` (after its own writes).
  ObjectPtr Fresh(const ObjectPtr& rs) const;
  void Remember(ObjectPtr rs);
  std::vector<ObjectPtr> FreshAll(const std::vector<ObjectPtr>& rss) const;
  ObjectPtr FindNewReplicaSet() const;
  Status GetAllReplicaSetsAndSyncRevision(bool create, ObjectPtr* new_rs,
                                          std::vector<ObjectPtr>* old_rss);
  Status GetNewReplicaSet(bool create, const std::vector<ObjectPtr>& old_rss, ObjectPtr* out);
  bool SetNewReplicaSetAnnotations(Object* rs, const std::string& new_revision, bool exists) const;
  Result<int32_t> NewRSNewReplicas(const std::vector<ObjectPtr>& old_rss,
                                   const ObjectPtr& new_rs) const;
  Status ScaleAndRecord(const ObjectPtr& rs, int32_t new_scale, bool* scaled, ObjectPtr* updated);
  Status ScaleReplicaSet(const ObjectPtr& rs, int32_t new_scale, const std::string& op,
                         bool* scaled, ObjectPtr* updated);

  // --- the deployment object
  Status WriteStatus();
  Status WriteRevision(const std::string& revision);

  // --- strategies and status
  Status CheckPausedConditions();
  Status IsScalingEvent(bool* scaling);
  Status SyncScale();
  Status Scale(const ObjectPtr& new_rs, std::vector<ObjectPtr> old_rss);
  Status SyncStatusOnly();
  Status RolloutRolling();
  Status ReconcileNewReplicaSet(const std::vector<ObjectPtr>& old_rss, const ObjectPtr& new_rs,
                                bool* scaled);
  Status ReconcileOldReplicaSets(std::vector<ObjectPtr> all_rss, std::vector<ObjectPtr> old_rss,
                                 const ObjectPtr& new_rs, bool* scaled);
  Status CleanupUnhealthyReplicas(std::vector<ObjectPtr>* old_rss, int32_t max_cleanup,
                                  int32_t* cleaned);
  Status ScaleDownOldForRollingUpdate(const std::vector<ObjectPtr>& all_rss,
                                      std::vector<ObjectPtr> old_rss, int32_t cap, int32_t* total);
  Status RolloutRecreate();
  bool OldPodsRunning(const ObjectPtr& new_rs, const std::vector<ObjectPtr>& old_rss) const;
  Status CleanupDeployment(const std::vector<ObjectPtr>& old_rss);
  StatusValue CalculateStatus(const std::vector<ObjectPtr>& all_rss, const ObjectPtr& new_rs) const;
  Status SyncDeploymentStatus(const std::vector<ObjectPtr>& all_rss, const ObjectPtr& new_rs);
  Status SyncRolloutStatus(const std::vector<ObjectPtr>& all_rss, const ObjectPtr& new_rs);
  bool DeploymentComplete(const StatusValue& s) const {
    return s.updated == Replicas() && s.replicas == Replicas() && s.available == Replicas() &&
           s.observed_generation >= d_.meta().getGeneration();
  }
  bool DeploymentProgressing(const StatusValue& s) const {
    int32_t old_old = status_.replicas - status_.updated;
    int32_t new_old = s.replicas - s.updated;
    return s.updated > status_.updated || new_old < old_old || s.ready > status_.ready ||
           s.available > status_.available;
  }
  bool DeploymentTimedOut(const StatusValue& s) const;
  void RequeueStuckDeployment(const StatusValue& s);
  std::vector<ObjectPtr> All(const std::vector<ObjectPtr>& old_rss, const ObjectPtr& new_rs) const {
    std::vector<ObjectPtr> all = old_rss;
    if (new_rs) all.push_back(new_rs);
    return all;
  }
  void Event(const std::string& type, const std::string& reason, const std::string& message) {
    if (c_->recorder_) c_->recorder_->Event(d_, type, reason, message);
  }

  DeploymentController* c_;
  Object d_;            // the Deployment as last read or written
  StatusValue status_;  // its status as this sync has it (Kubernetes' d.Status)
  std::string key_;
  int64_t now_;
  std::vector<ObjectPtr> rs_list_;                         // claimed, freshest copies
  std::map<std::string, std::vector<ObjectPtr>> pod_map_;  // ReplicaSet UID -> its pods
};

Status DeploymentSync::Run() {
  auto spec = Spec();
  auto selector = SelectorFromApi(spec.hasSelector(), spec.getSelector());
  if (!selector.ok()) {
    CATTLE_LOG(WARN) << "invalid selector; not syncing" << kv("deployment", key_)
                     << kv("error", selector.status().ToString());
    return Status::Ok();
  }
  if (selector->Empty()) {
    Event("Warning", "SelectingAll",
          "This deployment is selecting all pods. A non-empty selector is required.");
    if (status_.observed_generation < d_.meta().getGeneration()) {
      status_.observed_generation = d_.meta().getGeneration();
      return WriteStatus();
    }
    return Status::Ok();
  }
  CATTLE_RETURN_IF_ERROR(ClaimReplicaSets(*selector));
  BuildPodMap(*selector);
  if (BeingDeleted(d_)) return SyncStatusOnly();
  CATTLE_RETURN_IF_ERROR(CheckPausedConditions());
  if (Spec().getPaused()) return SyncScale();
  bool scaling = false;
  CATTLE_RETURN_IF_ERROR(IsScalingEvent(&scaling));
  if (scaling) return SyncScale();
  std::string type = S(Spec().getStrategy().getType());
  if (type == "Recreate") return RolloutRecreate();
  if (type == "RollingUpdate") return RolloutRolling();
  return Status::Invalid("deployment type \"" + type + "\" isn't supported");
}

// --- ReplicaSets -------------------------------------------------------------------------

Status DeploymentSync::ClaimReplicaSets(const LabelSelector& selector) {
  std::string ns = d_.namespace_(), name = d_.name(), uid = d_.uid();
  auto candidates = ListNamespace(c_->replicasets_, ns);
  auto claim = ClaimObjects(c_->client_, d_, selector, candidates, [&]() -> Status {
    auto fresh = c_->client_->Get(c_->deploy_kind_, ns, name);
    if (!fresh.ok()) return fresh.status();
    if (fresh->uid() != uid)
      return Status::Conflict("original Deployment " + ns + "/" + name + " is gone: got uid " +
                              fresh->uid() + ", wanted " + uid);
    if (BeingDeleted(*fresh))
      return Status::Conflict(ns + "/" + name + " has just been deleted at " +
                              fresh->meta().getDeletionTimestamp().cStr());
    return Status::Ok();
  });
  if (!claim.error.ok()) return claim.error;
  rs_list_ = std::move(claim.claimed);
  return Status::Ok();
}

void DeploymentSync::BuildPodMap(const LabelSelector& selector) {
  for (const auto& rs : rs_list_) pod_map_[rs->uid()];
  // Inactive pods count too: Recreate waits until old pods are really gone.
  for (const auto& pod : ListNamespace(c_->pods_, d_.namespace_())) {
    if (!selector.Matches(LabelsOf(*pod))) continue;
    auto ref = GetControllerOf(*pod);
    if (!ref) continue;
    auto it = pod_map_.find(ref->uid);
    if (it != pod_map_.end()) it->second.push_back(pod);
  }
}

ObjectPtr DeploymentSync::Fresh(const ObjectPtr& rs) const {
  if (!rs) return rs;
  for (const auto& r : rs_list_)
    if (r->uid() == rs->uid()) return r;
  return rs;
}

void DeploymentSync::Remember(ObjectPtr rs) {
  for (auto& r : rs_list_) {
    if (r->uid() == rs->uid()) {
      r = std::move(rs);
      return;
    }
  }
  rs_list_.push_back(std::move(rs));
}

std::vector<ObjectPtr> DeploymentSync::FreshAll(const std::vector<ObjectPtr>& rss) const {
  std::vector<ObjectPtr> out;
  for (const auto& rs : rss) out.push_back(Fresh(rs));
  return out;
}

ObjectPtr DeploymentSync::FindNewReplicaSet() const {
  std::vector<ObjectPtr> sorted = rs_list_;
  std::sort(sorted.begin(), sorted.end(), ByCreation);
  auto tmpl = Spec().getTemplate();
  // Should several match (Kubernetes issue 40415), the oldest one is the new one.
  for (const auto& rs : sorted)
    if (EqualIgnoreHash(rs->get<api::ReplicaSet>().getSpec().getTemplate(), tmpl)) return rs;
  return nullptr;
}

Status DeploymentSync::GetAllReplicaSetsAndSyncRevision(bool create, ObjectPtr* new_rs,
                                                        std::vector<ObjectPtr>* old_rss) {
  ObjectPtr current_new = FindNewReplicaSet();
  old_rss->clear();
  for (const auto& rs : rs_list_)
    if (!current_new || rs->uid() != current_new->uid()) old_rss->push_back(rs);
  return GetNewReplicaSet(create, *old_rss, new_rs);
}

bool DeploymentSync::SetNewReplicaSetAnnotations(Object* rs, const std::string& new_revision,
                                                 bool exists) const {
  auto ann = Annotations(*rs);
  bool changed = false;
  for (const auto& [k, v] : Annotations(d_)) {
    if (SkipCopyAnnotation(k)) continue;
    auto it = ann.find(k);
    if (it != ann.end() && it->second == v) continue;
    ann[k] = v;
    changed = true;
  }
  auto old_it = ann.find(kRevisionAnnotation);
  bool had_revision = old_it != ann.end();
  std::string old_revision = had_revision ? old_it->second : "";
  int64_t old_rev = 0;
  if (!old_revision.empty()) {
    auto parsed = ParseInt(old_revision);
    if (!parsed) {
      CATTLE_LOG(WARN) << "unparsable revision annotation" << kv("replicaset", rs->name())
                       << kv("revision", old_revision);
      return false;
    }
    old_rev = *parsed;
  }
  int64_t new_rev = ParseInt(new_revision).value_or(0);
  if (old_rev < new_rev) {
    ann[kRevisionAnnotation] = new_revision;
    changed = true;
    // An existing revision moved up: a rollback to this ReplicaSet. Keep the old numbers.
    if (had_revision) {
      std::string history = ann[kRevisionHistoryAnnotation];
      if (history.empty()) {
        ann[kRevisionHistoryAnnotation] = old_revision;
      } else {
        std::vector<std::string> parts;
        size_t start = 0;
        while (true) {
          size_t comma = history.find(',', start);
          parts.push_back(history.substr(start, comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
        size_t total = history.size() + old_revision.size() + 1;
        size_t first = 0;
        const size_t limit = c_->options_.max_revision_history_chars;
        while (total > limit && first < parts.size()) total -= parts[first++].size() + 1;
        if (total <= limit) {
          std::string joined;
          for (size_t i = first; i < parts.size(); ++i) joined += parts[i] + ",";
          ann[kRevisionHistoryAnnotation] = joined + old_revision;
        }
      }
    }
  }
  if (!exists) {
    std::string desired = std::to_string(Replicas());
    std::string max = std::to_string(Replicas() + MaxSurge());
    if (ann[kDesiredReplicasAnnotation] != desired || ann[kMaxReplicasAnnotation] != max) {
      ann[kDesiredReplicasAnnotation] = desired;
      ann[kMaxReplicasAnnotation] = max;
      changed = true;
    }
  }
  SetAnnotations(rs, ann);
  return changed;
}

Result<int32_t> DeploymentSync::NewRSNewReplicas(const std::vector<ObjectPtr>& old_rss,
                                                 const ObjectPtr& new_rs) const {
  int32_t new_replicas = new_rs ? SpecReplicas(*new_rs) : 0;
  std::string type = S(Spec().getStrategy().getType());
  if (type == "Recreate") return Replicas();
  if (type != "RollingUpdate")
    return Status::Invalid("deployment type \"" + type + "\" isn't supported");
  IntOrString surge_value = IntOrString::Int(0);
  if (Spec().getStrategy().hasRollingUpdate() &&
      Spec().getStrategy().getRollingUpdate().hasMaxSurge())
    surge_value = IntOrStringFromApi(Spec().getStrategy().getRollingUpdate().getMaxSurge());
  auto surge = ScaledValueFromIntOrPercent(surge_value, Replicas(), true);
  if (!surge.ok()) return surge.status();
  // Pods a ReplicaSet still has beyond its spec (not yet deleted) count against the surge.
  int32_t current = 0;
  for (const auto& rs : FreshAll(All(old_rss, new_rs)))
    current += std::max(SpecReplicas(*rs), StatusReplicas(*rs));
  int32_t max_total = Replicas() + *surge;
  if (current >= max_total) return new_replicas;
  int32_t up = std::min(max_total - current, Replicas() - new_replicas);
  return new_replicas + std::max(up, 0);
}

Status DeploymentSync::GetNewReplicaSet(bool create, const std::vector<ObjectPtr>& old_rss,
                                        ObjectPtr* out) {
  *out = nullptr;
  ObjectPtr existing = FindNewReplicaSet();
  int64_t max_old = 0;
  for (const auto& rs : old_rss) max_old = std::max(max_old, Revision(*rs));
  std::string new_revision = std::to_string(max_old + 1);

  if (existing) {
    Object copy = existing->Clone();
    bool annotations_updated = SetNewReplicaSetAnnotations(&copy, new_revision, true);
    auto rs_spec = copy.as<api::ReplicaSet>().getSpec();
    bool min_ready_changed = rs_spec.getMinReadySeconds() != Spec().getMinReadySeconds();
    if (annotations_updated || min_ready_changed) {
      rs_spec.setMinReadySeconds(Spec().getMinReadySeconds());
      auto r = c_->client_->Update(copy);
      if (!r.ok()) return r.status();
      auto updated = std::make_shared<const Object>(std::move(*r));
      Remember(updated);
      *out = updated;
      return Status::Ok();  // the Deployment's revision follows on the next sync
    }
    std::string revision = AnnotationOf(*existing, kRevisionAnnotation);
    if (AnnotationOf(d_, kRevisionAnnotation) != revision)
      CATTLE_RETURN_IF_ERROR(WriteRevision(revision));
    if (HasProgressDeadline() && FindCondition(status_.conditions, kProgressing) == nullptr) {
      SetCondition(&status_.conditions,
                   NewCondition(kProgressing, "True", kFoundNewRSReason,
                                "Found new replica set \"" + existing->name() + "\""));
      CATTLE_RETURN_IF_ERROR(WriteStatus());
    }
    *out = existing;
    return Status::Ok();
  }
  if (!create) return Status::Ok();

  // A new ReplicaSet for the current template.
  auto tmpl = Spec().getTemplate();
  std::string hash = ComputeTemplateHash(tmpl, status_.collision_count);
  Object rs(c_->rs_kind_);
  auto r = rs.as<api::ReplicaSet>();
  auto meta = rs.meta();
  meta.setName(d_.name() + "-" + hash);  // deterministic, so a retried create is idempotent
  meta.setNamespace(d_.namespace_());
  SetOwnerRefs(meta, {NewControllerRef(d_)});
  Labels labels = ToStdMap(tmpl.getMetadata().getLabels());
  labels[kPodTemplateHashLabel] = hash;
  SetStringMap(meta.initLabels(), labels);
  auto spec = r.getSpec();
  spec.initReplicas().setValue(0);
  spec.setMinReadySeconds(Spec().getMinReadySeconds());
  spec.setSelector(Spec().getSelector());
  auto match = ToStdMap(Spec().getSelector().getMatchLabels());
  match[kPodTemplateHashLabel] = hash;
  SetStringMap(spec.getSelector().initMatchLabels(), match);
  spec.setTemplate(tmpl);
  SetStringMap(spec.getTemplate().getMetadata().initLabels(), labels);

  auto replicas = NewRSNewReplicas(old_rss, nullptr);
  if (!replicas.ok()) return replicas.status();
  spec.getReplicas().setValue(*replicas);
  SetNewReplicaSetAnnotations(&rs, new_revision, false);

  bool already_exists = false;
  ObjectPtr created;
  auto result = c_->client_->Create(rs);
  if (result.ok()) {
    created = std::make_shared<const Object>(std::move(*result));
  } else if (result.status().Is(Reason::kAlreadyExists)) {
    already_exists = true;
    ObjectPtr found = c_->replicasets_->Get(d_.namespace_() + "/" + d_.name() + "-" + hash);
    if (!found) return result.status();  // the cache is behind: retry once it has it
    auto ref = GetControllerOf(*found);
    if (ref && ref->uid == d_.uid() &&
        EqualIgnoreHash(found->get<api::ReplicaSet>().getSpec().getTemplate(), tmpl)) {
      created = found;
    } else {
      // A hash collision: another template's ReplicaSet has the name. Bump collisionCount
      // so the next sync computes another hash.
      int32_t before = status_.collision_count.value_or(0);
      status_.collision_count = before + 1;
      if (WriteStatus().ok()) {
        CATTLE_LOG(INFO) << "hash collision; bumping collisionCount" << kv("deployment", key_)
                         << kv("collisionCount", before + 1);
      }
      return result.status();
    }
  } else {
    std::string msg =
        "Failed to create new replica set \"" + rs.name() + "\": " + result.status().message();
    if (HasProgressDeadline()) {
      SetCondition(&status_.conditions,
                   NewCondition(kProgressing, "False", kFailedRSCreateReason, msg));
      (void)WriteStatus();  // the failure below is what matters
    }
    Event("Warning", kFailedRSCreateReason, msg);
    return result.status();
  }
  Remember(created);
  if (!already_exists && *replicas > 0)
    Event("Normal", "ScalingReplicaSet",
          "Scaled up replica set " + created->name() + " from 0 to " + std::to_string(*replicas));
  if (AnnotationOf(d_, kRevisionAnnotation) != new_revision)
    CATTLE_RETURN_IF_ERROR(WriteRevision(new_revision));
  if (!already_exists && HasProgressDeadline()) {
    SetCondition(&status_.conditions,
                 NewCondition(kProgressing, "True", kNewReplicaSetReason,
                              "Created new replica set \"" + created->name() + "\""));
    CATTLE_RETURN_IF_ERROR(WriteStatus());
  }
  *out = created;
  return Status::Ok();
}

Status DeploymentSync::ScaleAndRecord(const ObjectPtr& rs, int32_t new_scale, bool* scaled,
                                      ObjectPtr* updated) {
  *scaled = false;
  *updated = rs;
  if (SpecReplicas(*rs) == new_scale) return Status::Ok();
  return ScaleReplicaSet(rs, new_scale, SpecReplicas(*rs) < new_scale ? "up" : "down", scaled,
                         updated);
}

Status DeploymentSync::ScaleReplicaSet(const ObjectPtr& rs_in, int32_t new_scale,
                                       const std::string& op, bool* scaled, ObjectPtr* updated) {
  ObjectPtr rs = Fresh(rs_in);
  *scaled = false;
  *updated = rs;
  std::string desired = std::to_string(Replicas());
  std::string max = std::to_string(Replicas() + MaxSurge());
  int32_t old_scale = SpecReplicas(*rs);
  bool size_changes = old_scale != new_scale;
  bool annotations_change = AnnotationOf(*rs, kDesiredReplicasAnnotation) != desired ||
                            AnnotationOf(*rs, kMaxReplicasAnnotation) != max;
  if (!size_changes && !annotations_change) return Status::Ok();
  Object copy = rs->Clone();
  copy.as<api::ReplicaSet>().getSpec().initReplicas().setValue(new_scale);
  auto ann = Annotations(copy);
  ann[kDesiredReplicasAnnotation] = desired;
  ann[kMaxReplicasAnnotation] = max;
  SetAnnotations(&copy, ann);
  auto r = c_->client_->Update(copy);  // carries the cached resourceVersion
  if (!r.ok()) return r.status();
  *updated = std::make_shared<const Object>(std::move(*r));
  Remember(*updated);
  if (size_changes) {
    *scaled = true;
    Event("Normal", "ScalingReplicaSet",
          "Scaled " + op + " replica set " + rs->name() + " from " + std::to_string(old_scale) +
              " to " + std::to_string(new_scale));
  }
  return Status::Ok();
}

// --- The Deployment object ----------------------------------------------------------------

Status DeploymentSync::WriteStatus() {
  Object copy = d_.Clone();
  WriteStatusTo(&copy, status_);
  auto r = c_->client_->UpdateStatus(copy);
  if (!r.ok()) return r.status();
  d_ = std::move(*r);
  status_ = ReadStatus(d_);
  return Status::Ok();
}

Status DeploymentSync::WriteRevision(const std::string& revision) {
  Object copy = d_.Clone();
  auto ann = Annotations(copy);
  ann[kRevisionAnnotation] = revision;
  SetAnnotations(&copy, ann);
  auto r = c_->client_->Update(copy);  // metadata only: spec and status are untouched
  if (!r.ok()) return r.status();
  d_ = std::move(*r);  // status_ keeps this sync's pending changes
  return Status::Ok();
}

// --- Paused, scaling, status only ------------------------------------------------------

Status DeploymentSync::CheckPausedConditions() {
  if (!HasProgressDeadline()) return Status::Ok();
  const Condition* cond = FindCondition(status_.conditions, kProgressing);
  if (cond && cond->reason == kTimedOutReason) return Status::Ok();  // a timeout stays
  bool paused_cond = cond && cond->reason == kPausedDeployReason;
  bool paused = Spec().getPaused();
  if (paused && !paused_cond) {
    SetCondition(&status_.conditions, NewCondition(kProgressing, "Unknown", kPausedDeployReason,
                                                   "Deployment is paused"));
  } else if (!paused && paused_cond) {
    SetCondition(&status_.conditions, NewCondition(kProgressing, "Unknown", kResumedDeployReason,
                                                   "Deployment is resumed"));
  } else {
    return Status::Ok();
  }
  return WriteStatus();
}

Status DeploymentSync::IsScalingEvent(bool* scaling) {
  *scaling = false;
  ObjectPtr new_rs;
  std::vector<ObjectPtr> old_rss;
  CATTLE_RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(false, &new_rs, &old_rss));
  for (const auto& rs : FilterActive(FreshAll(All(old_rss, new_rs)))) {
    auto desired = ParseInt(AnnotationOf(*rs, kDesiredReplicasAnnotation));
    if (!desired) continue;
    if (*desired != Replicas()) {
      *scaling = true;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status DeploymentSync::SyncScale() {
  ObjectPtr new_rs;
  std::vector<ObjectPtr> old_rss;
  CATTLE_RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(false, &new_rs, &old_rss));
  CATTLE_RETURN_IF_ERROR(Scale(new_rs, old_rss));
  if (Spec().getPaused()) CATTLE_RETURN_IF_ERROR(CleanupDeployment(FreshAll(old_rss)));
  return SyncDeploymentStatus(All(old_rss, new_rs), new_rs);
}

Status DeploymentSync::Scale(const ObjectPtr& new_rs_in, std::vector<ObjectPtr> old_rss) {
  ObjectPtr new_rs = Fresh(new_rs_in);
  old_rss = FreshAll(old_rss);
  // Only one active ReplicaSet (or none: the newest) gets every replica
  // (deploymentutil.FindActiveOrLatest).
  if (new_rs || !old_rss.empty()) {
    std::vector<ObjectPtr> newest_first = old_rss;
    std::sort(newest_first.begin(), newest_first.end(),
              [](const ObjectPtr& a, const ObjectPtr& b) { return ByCreation(b, a); });
    auto active = FilterActive(All(newest_first, new_rs));
    ObjectPtr target;
    if (active.empty()) {
      target = new_rs ? new_rs : newest_first[0];
    } else if (active.size() == 1) {
      target = active[0];
    }
    if (target) {
      if (SpecReplicas(*target) == Replicas()) return Status::Ok();
      bool scaled;
      ObjectPtr updated;
      return ScaleAndRecord(target, Replicas(), &scaled, &updated);
    }
  }
  // A saturated new ReplicaSet: old ones go to zero (adoption during a finished rollout).
  if (new_rs) {
    auto desired = ParseInt(AnnotationOf(*new_rs, kDesiredReplicasAnnotation));
    if (desired && SpecReplicas(*new_rs) == Replicas() && *desired == Replicas() &&
        AvailableReplicas(*new_rs) == Replicas()) {
      for (const auto& old : FilterActive(old_rss)) {
        bool scaled;
        ObjectPtr updated;
        CATTLE_RETURN_IF_ERROR(ScaleAndRecord(old, 0, &scaled, &updated));
      }
      return Status::Ok();
    }
  }
  if (!IsRolling()) return Status::Ok();
  // Proportional scaling: spread the change over the active ReplicaSets by their size.
  auto all = FilterActive(All(old_rss, new_rs));
  int32_t all_replicas = SumSpec(all);
  int32_t allowed = Replicas() > 0 ? Replicas() + MaxSurge() : 0;
  int32_t to_add = allowed - all_replicas;
  std::string op;
  if (to_add > 0) {
    // Larger first; among equals the newer first.
    std::sort(all.begin(), all.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
      if (SpecReplicas(*a) == SpecReplicas(*b)) return ByCreation(b, a);
      return SpecReplicas(*a) > SpecReplicas(*b);
    });
    op = "up";
  } else if (to_add < 0) {
    // Larger first; among equals the older first.
    std::sort(all.begin(), all.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
      if (SpecReplicas(*a) == SpecReplicas(*b)) return ByCreation(a, b);
      return SpecReplicas(*a) > SpecReplicas(*b);
    });
    op = "down";
  }
  int32_t added = 0;
  std::vector<int32_t> sizes;
  for (const auto& rs : all) {
    int32_t spec = SpecReplicas(*rs);
    if (to_add == 0) {
      sizes.push_back(spec);
      continue;
    }
    // deploymentutil.GetReplicaSetProportion.
    int32_t proportion = 0;
    if (spec != 0 && to_add != added) {
      int32_t fraction;
      if (Replicas() == 0) {
        fraction = -spec;
      } else {
        int32_t max_now = Replicas() + MaxSurge();
        auto before = ParseInt(AnnotationOf(*rs, kMaxReplicasAnnotation));
        int64_t max_before = before ? *before : 0;
        if (max_before == 0) max_before = status_.replicas;  // scaled by hand: current size
        if (max_before == 0) {
          fraction = spec;
        } else {
          double size = static_cast<double>(spec) * max_now / static_cast<double>(max_before);
          fraction = static_cast<int32_t>(std::round(size)) - spec;
        }
      }
      int32_t allowed_change = to_add - added;
      proportion =
          to_add > 0 ? std::min(fraction, allowed_change) : std::max(fraction, allowed_change);
    }
    sizes.push_back(spec + proportion);
    added += proportion;
  }
  for (size_t i = 0; i < all.size(); ++i) {
    if (i == 0 && to_add != 0) sizes[0] = std::max(0, sizes[0] + (to_add - added));  // leftovers
    bool scaled;
    ObjectPtr updated;
    CATTLE_RETURN_IF_ERROR(ScaleReplicaSet(all[i], sizes[i], op, &scaled, &updated));
  }
  return Status::Ok();
}

Status DeploymentSync::SyncStatusOnly() {
  ObjectPtr new_rs;
  std::vector<ObjectPtr> old_rss;
  CATTLE_RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(false, &new_rs, &old_rss));
  return SyncDeploymentStatus(All(old_rss, new_rs), new_rs);
}

// --- RollingUpdate -------------------------------------------------------------------------

Status DeploymentSync::RolloutRolling() {
  ObjectPtr new_rs;
  std::vector<ObjectPtr> old_rss;
  CATTLE_RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(true, &new_rs, &old_rss));
  auto all = All(old_rss, new_rs);
  bool scaled_up = false;
  CATTLE_RETURN_IF_ERROR(ReconcileNewReplicaSet(old_rss, new_rs, &scaled_up));
  if (scaled_up) return SyncRolloutStatus(all, new_rs);
  bool scaled_down = false;
  CATTLE_RETURN_IF_ERROR(ReconcileOldReplicaSets(FreshAll(all), FilterActive(FreshAll(old_rss)),
                                                 Fresh(new_rs), &scaled_down));
  if (scaled_down) return SyncRolloutStatus(all, new_rs);
  if (DeploymentComplete(status_)) CATTLE_RETURN_IF_ERROR(CleanupDeployment(FreshAll(old_rss)));
  return SyncRolloutStatus(all, new_rs);
}

Status DeploymentSync::ReconcileNewReplicaSet(const std::vector<ObjectPtr>& old_rss,
                                              const ObjectPtr& new_rs_in, bool* scaled) {
  *scaled = false;
  ObjectPtr new_rs = Fresh(new_rs_in);
  if (!new_rs) return Status::Ok();
  ObjectPtr updated;
  if (SpecReplicas(*new_rs) == Replicas()) return Status::Ok();
  if (SpecReplicas(*new_rs) > Replicas())
    return ScaleAndRecord(new_rs, Replicas(), scaled, &updated);
  auto count = NewRSNewReplicas(old_rss, new_rs);
  if (!count.ok()) return count.status();
  return ScaleAndRecord(new_rs, *count, scaled, &updated);
}

Status DeploymentSync::ReconcileOldReplicaSets(std::vector<ObjectPtr> all_rss,
                                               std::vector<ObjectPtr> old_rss,
                                               const ObjectPtr& new_rs, bool* scaled) {
  *scaled = false;
  if (SumSpec(old_rss) == 0) return Status::Ok();
  if (!new_rs) return Status::Ok();
  int32_t all_pods = SumSpec(all_rss);
  int32_t min_available = Replicas() - MaxUnavailable();
  int32_t new_unavailable = SpecReplicas(*new_rs) - AvailableReplicas(*new_rs);
  // What may go without dropping below min_available, counting new pods not yet
  // available as unavailable.
  int32_t max_scaled_down = all_pods - min_available - new_unavailable;
  if (max_scaled_down <= 0) return Status::Ok();
  // Unhealthy old pods first: removing them costs no availability and unblocks rollouts
  // (Kubernetes issue 16737).
  int32_t cleaned = 0;
  CATTLE_RETURN_IF_ERROR(CleanupUnhealthyReplicas(&old_rss, max_scaled_down, &cleaned));
  int32_t scaled_down = 0;
  CATTLE_RETURN_IF_ERROR(ScaleDownOldForRollingUpdate(All(old_rss, new_rs), old_rss,
                                                      max_scaled_down - cleaned, &scaled_down));
  *scaled = cleaned + scaled_down > 0;
  return Status::Ok();
}

Status DeploymentSync::CleanupUnhealthyReplicas(std::vector<ObjectPtr>* old_rss,
                                                int32_t max_cleanup, int32_t* cleaned) {
  std::sort(old_rss->begin(), old_rss->end(), ByCreation);
  *cleaned = 0;
  for (auto& rs : *old_rss) {
    if (*cleaned >= max_cleanup) break;
    int32_t spec = SpecReplicas(*rs);
    int32_t available = AvailableWithinSpec(*rs);
    if (spec == 0 || spec == available) continue;
    int32_t count = std::min(max_cleanup - *cleaned, spec - available);
    bool scaled;
    ObjectPtr updated;
    CATTLE_RETURN_IF_ERROR(ScaleAndRecord(rs, spec - count, &scaled, &updated));
    rs = updated;
    *cleaned += count;
  }
  return Status::Ok();
}

Status DeploymentSync::ScaleDownOldForRollingUpdate(const std::vector<ObjectPtr>& all_rss,
                                                    std::vector<ObjectPtr> old_rss, int32_t cap,
                                                    int32_t* total) {
  *total = 0;
  int32_t min_available = Replicas() - MaxUnavailable();
  int32_t available = 0;
  for (const auto& rs : all_rss)
    if (rs) available += AvailableWithinSpec(*rs);
  if (available <= min_available) return Status::Ok();
  std::sort(old_rss.begin(), old_rss.end(), ByCreation);
  int32_t want = std::min(available - min_available, cap);
  for (const auto& rs : old_rss) {
    if (*total >= want) break;
    int32_t spec = SpecReplicas(*rs);
    if (spec == 0) continue;
    int32_t count = std::min(spec, want - *total);
    bool scaled;
    ObjectPtr updated;
    CATTLE_RETURN_IF_ERROR(ScaleAndRecord(rs, spec - count, &scaled, &updated));
    *total += count;
  }
  return Status::Ok();
}

// --- Recreate -------------------------------------------------------------------------------

Status DeploymentSync::RolloutRecreate() {
  // No new ReplicaSet yet: it must not scale up before the old pods are gone.
  ObjectPtr new_rs;
  std::vector<ObjectPtr> old_rss;
  CATTLE_RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(false, &new_rs, &old_rss));
  auto all = All(old_rss, new_rs);
  bool scaled_down = false;
  for (const auto& rs : FilterActive(old_rss)) {
    bool scaled;
    ObjectPtr updated;
    CATTLE_RETURN_IF_ERROR(ScaleAndRecord(rs, 0, &scaled, &updated));
    scaled_down |= scaled;
  }
  if (scaled_down) return SyncRolloutStatus(all, new_rs);
  if (OldPodsRunning(new_rs, old_rss)) return SyncRolloutStatus(all, new_rs);
  if (!new_rs) {
    CATTLE_RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(true, &new_rs, &old_rss));
    all = All(old_rss, new_rs);
  }
  if (new_rs) {
    bool scaled;
    ObjectPtr updated;
    CATTLE_RETURN_IF_ERROR(ScaleAndRecord(Fresh(new_rs), Replicas(), &scaled, &updated));
  }
  if (DeploymentComplete(status_)) CATTLE_RETURN_IF_ERROR(CleanupDeployment(FreshAll(old_rss)));
  return SyncRolloutStatus(all, new_rs);
}

bool DeploymentSync::OldPodsRunning(const ObjectPtr& new_rs,
                                    const std::vector<ObjectPtr>& old_rss) const {
  int32_t old_pods = 0;
  for (const auto& rs : FreshAll(old_rss)) old_pods += StatusReplicas(*rs);
  if (old_pods > 0) return true;
  for (const auto& [uid, pods] : pod_map_) {
    if (new_rs && new_rs->uid() == uid) continue;
    for (const auto& pod : pods) {
      auto phase = pod->get<api::Pod>().getStatus().getPhase();
      if (phase == "Failed" || phase == "Succeeded") continue;
      return true;  // Pending, Running, Unknown, or terminating but not yet gone
    }
  }
  return false;
}

// --- History ------------------------------------------------------------------------------

Status DeploymentSync::CleanupDeployment(const std::vector<ObjectPtr>& old_rss) {
  if (!Spec().hasRevisionHistoryLimit() || Spec().getRevisionHistoryLimit().getValue() == INT32_MAX)
    return Status::Ok();
  std::vector<ObjectPtr> cleanable;
  for (const auto& rs : old_rss)
    if (rs && !BeingDeleted(*rs)) cleanable.push_back(rs);
  int32_t diff =
      static_cast<int32_t>(cleanable.size()) - Spec().getRevisionHistoryLimit().getValue();
  if (diff <= 0) return Status::Ok();
  std::sort(cleanable.begin(), cleanable.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    int64_t ra = Revision(*a), rb = Revision(*b);
    if (ra != rb) return ra < rb;
    return ByCreation(a, b);
  });
  for (int32_t i = 0; i < diff; ++i) {
    const auto& rs = cleanable[i];
    // Never a ReplicaSet that still has (or may still get) pods.
    if (StatusReplicas(*rs) != 0 || SpecReplicas(*rs) != 0 ||
        rs->meta().getGeneration() > rs->get<api::ReplicaSet>().getStatus().getObservedGeneration())
      continue;
    DeleteOptions opts;
    opts.precondition_uid = rs->uid();
    auto r = c_->client_->Delete(c_->rs_kind_, rs->namespace_(), rs->name(), opts);
    if (!r.ok() && !r.status().Is(Reason::kNotFound)) return r.status();
  }
  return Status::Ok();
}

// --- Status -------------------------------------------------------------------------------

StatusValue DeploymentSync::CalculateStatus(const std::vector<ObjectPtr>& all_in,
                                            const ObjectPtr& new_in) const {
  auto all = FreshAll(all_in);
  ObjectPtr new_rs = Fresh(new_in);
  StatusValue s;
  int32_t total = 0;
  for (const auto& rs : all) {
    s.available += AvailableReplicas(*rs);
    s.ready += ReadyReplicas(*rs);
    s.replicas += StatusReplicas(*rs);
    total += SpecReplicas(*rs);
  }
  s.unavailable = std::max(0, total - s.available);
  s.updated = new_rs ? StatusReplicas(*new_rs) : 0;
  s.observed_generation = d_.meta().getGeneration();
  s.collision_count = status_.collision_count;
  s.conditions = status_.conditions;
  if (s.available >= Replicas() - MaxUnavailable()) {
    SetCondition(&s.conditions, NewCondition(kAvailable, "True", kMinimumReplicasAvailable,
                                             "Deployment has minimum availability."));
  } else {
    SetCondition(&s.conditions, NewCondition(kAvailable, "False", kMinimumReplicasUnavailable,
                                             "Deployment does not have minimum availability."));
  }
  return s;
}

Status DeploymentSync::SyncDeploymentStatus(const std::vector<ObjectPtr>& all_rss,
                                            const ObjectPtr& new_rs) {
  StatusValue s = CalculateStatus(all_rss, new_rs);
  if (s == status_) return Status::Ok();
  status_ = std::move(s);
  return WriteStatus();
}

bool DeploymentSync::DeploymentTimedOut(const StatusValue& s) const {
  if (!HasProgressDeadline()) return false;
  const Condition* cond = FindCondition(s.conditions, kProgressing);
  if (!cond) return false;
  if (cond->reason == kNewRSAvailableReason) return false;  // a finished rollout
  if (cond->reason == kTimedOutReason) return true;
  int64_t from = ParseTime(cond->last_update_time);
  return from + ProgressDeadline().count() < now_;
}

Status DeploymentSync::SyncRolloutStatus(const std::vector<ObjectPtr>& all_rss,
                                         const ObjectPtr& new_in) {
  ObjectPtr new_rs = Fresh(new_in);
  StatusValue s = CalculateStatus(all_rss, new_rs);
  if (!HasProgressDeadline()) RemoveCondition(&s.conditions, kProgressing);
  const Condition* current = FindCondition(status_.conditions, kProgressing);
  bool complete_before =
      s.replicas == s.updated && current && current->reason == kNewRSAvailableReason;
  if (HasProgressDeadline() && !complete_before) {
    std::string subject =
        new_rs ? "ReplicaSet \"" + new_rs->name() + "\"" : "Deployment \"" + d_.name() + "\"";
    if (DeploymentComplete(s)) {
      SetCondition(&s.conditions, NewCondition(kProgressing, "True", kNewRSAvailableReason,
                                               subject + " has successfully progressed."));
    } else if (DeploymentProgressing(s)) {
      // Progress: refresh lastUpdateTime (the deadline counts from it), same reason or not.
      Condition c = NewCondition(kProgressing, "True", kReplicaSetUpdatedReason,
                                 subject + " is progressing.");
      if (current) {
        if (current->status == "True") c.last_transition_time = current->last_transition_time;
        RemoveCondition(&s.conditions, kProgressing);
      }
      SetCondition(&s.conditions, std::move(c));
    } else if (DeploymentTimedOut(s)) {
      SetCondition(&s.conditions, NewCondition(kProgressing, "False", kTimedOutReason,
                                               subject + " has timed out progressing."));
    }
  }
  // ReplicaFailure of the new ReplicaSet, else of any, becomes the Deployment's.
  std::optional<Condition> failure;
  auto failure_of = [&](const ObjectPtr& rs) {
    for (const auto& c : ReadConditions(rs->get<api::ReplicaSet>().getStatus().getConditions())) {
      if (c.type != kReplicaFailure) continue;
      Condition d = c;
      d.last_update_time = c.last_transition_time;
      failure = d;
      return;
    }
  };
  if (new_rs) failure_of(new_rs);
  for (const auto& rs : FreshAll(all_rss))
    if (!failure && rs) failure_of(rs);
  if (failure) {
    SetCondition(&s.conditions, *failure);
  } else {
    RemoveCondition(&s.conditions, kReplicaFailure);
  }

  if (s == status_) {
    RequeueStuckDeployment(s);
    return Status::Ok();
  }
  status_ = std::move(s);
  return WriteStatus();
}

void DeploymentSync::RequeueStuckDeployment(const StatusValue& s) {
  const Condition* current = FindCondition(status_.conditions, kProgressing);
  if (!HasProgressDeadline() || !current) return;
  if (DeploymentComplete(s) || current->reason == kTimedOutReason) return;
  // No progress now: look again when the deadline passes.
  // Counted from the clock's current reading, not the sync's start: it may have moved on.
  int64_t deadline = ParseTime(current->last_update_time) + ProgressDeadline().count();
  Duration after(deadline - c_->clock_->WallNanos());
  Duration second = c_->scale_.Seconds(1);
  if (after < second) {
    c_->queue_.AddRateLimited(key_);
  } else {
    c_->queue_.AddAfter(key_, after + second);
  }
}

// ---------------------------------------------------------------------------------------
// The controller

DeploymentController::DeploymentController(InformerFactory* informers, ApiClient* client,
                                           EventRecorder* recorder, Clock* clock, TimeScale scale,
                                           DeploymentControllerOptions options)
    : client_(client),
      recorder_(recorder),
      clock_(clock),
      scale_(scale),
      options_(options),
      deploy_kind_(client->kinds().ByGroupResource("apps", "deployments")),
      rs_kind_(client->kinds().ByGroupResource("apps", "replicasets")),
      pod_kind_(client->kinds().ByGroupResource("", "pods")),
      deployments_(informers->For(deploy_kind_)),
      replicasets_(informers->For(rs_kind_)),
      pods_(informers->For(pod_kind_)),
      queue_(clock),
      workers_("deployment", &queue_, {deployments_, replicasets_, pods_},
               [this](const std::string& key) { return Sync(key); }) {
  replicasets_->AddIndex(kNamespaceIndex, NamespaceIndexFunc());
  pods_->AddIndex(kNamespaceIndex, NamespaceIndexFunc());
  deployments_->AddIndex(kNamespaceIndex, NamespaceIndexFunc());
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
  deployments_->AddHandlers(EventHandlers{
      guarded([](DeploymentController* c, const ObjectPtr& d) { c->queue_.Add(d->Key()); }),
      guarded([](DeploymentController* c, const ObjectPtr&, const ObjectPtr& d) {
        c->queue_.Add(d->Key());
      }),
      guarded([](DeploymentController* c, const ObjectPtr& d) { c->queue_.Add(d->Key()); })});
  replicasets_->AddHandlers(EventHandlers{
      guarded([](DeploymentController* c, const ObjectPtr& rs) { c->OnReplicaSetAdd(rs); }),
      guarded([](DeploymentController* c, const ObjectPtr& o, const ObjectPtr& n) {
        c->OnReplicaSetUpdate(o, n);
      }),
      guarded([](DeploymentController* c, const ObjectPtr& rs) { c->OnReplicaSetDelete(rs); })});
  pods_->AddHandlers(EventHandlers{
      nullptr, nullptr,
      guarded([](DeploymentController* c, const ObjectPtr& pod) { c->OnPodDelete(pod); })});
}

DeploymentController::~DeploymentController() {
  {
    std::unique_lock<std::shared_mutex> lock(guard_->mu);
    guard_->self = nullptr;
  }
  Stop();
}

void DeploymentController::Run(int workers) { workers_.Start(workers); }

void DeploymentController::Stop() { workers_.Stop(); }

Status DeploymentController::Sync(const std::string& key) {
  ObjectPtr d = deployments_->Get(key);
  if (!d) return Status::Ok();  // deleted: the garbage collector removes its ReplicaSets
  DeploymentSync sync(this, *d, key);
  return sync.Run();
}

ObjectPtr DeploymentController::ResolveControllerRef(const std::string& ns,
                                                     const OwnerRef& ref) const {
  if (ref.kind != deploy_kind_->kind) return nullptr;
  ObjectPtr d = deployments_->Get(ns + "/" + ref.name);
  if (!d || d->uid() != ref.uid) return nullptr;
  return d;
}

void DeploymentController::EnqueueMatching(const Object& rs) {
  Labels labels = LabelsOf(rs);
  for (const auto& d : ListNamespace(deployments_, rs.namespace_())) {
    auto spec = d->get<api::Deployment>().getSpec();
    auto sel = SelectorFromApi(spec.hasSelector(), spec.getSelector());
    if (!sel.ok() || sel->Empty() || sel->IsNothing() || !sel->Matches(labels)) continue;
    queue_.Add(d->Key());
  }
}

void DeploymentController::OnReplicaSetAdd(const ObjectPtr& rs) {
  if (BeingDeleted(*rs)) {
    OnReplicaSetDelete(rs);
    return;
  }
  if (auto ref = GetControllerOf(*rs)) {
    if (ObjectPtr d = ResolveControllerRef(rs->namespace_(), *ref)) queue_.Add(d->Key());
    return;
  }
  EnqueueMatching(*rs);  // an orphan: a matching Deployment may adopt it
}

void DeploymentController::OnReplicaSetUpdate(const ObjectPtr& old_rs, const ObjectPtr& cur_rs) {
  if (old_rs->resource_version() == cur_rs->resource_version()) return;
  auto cur_ref = GetControllerOf(*cur_rs);
  auto old_ref = GetControllerOf(*old_rs);
  bool ref_changed = cur_ref != old_ref;
  if (ref_changed && old_ref) {
    if (ObjectPtr d = ResolveControllerRef(old_rs->namespace_(), *old_ref)) queue_.Add(d->Key());
  }
  if (cur_ref) {
    if (ObjectPtr d = ResolveControllerRef(cur_rs->namespace_(), *cur_ref)) queue_.Add(d->Key());
    return;
  }
  if (LabelsOf(*old_rs) != LabelsOf(*cur_rs) || ref_changed) EnqueueMatching(*cur_rs);
}

void DeploymentController::OnReplicaSetDelete(const ObjectPtr& rs) {
  if (auto ref = GetControllerOf(*rs)) {
    if (ObjectPtr d = ResolveControllerRef(rs->namespace_(), *ref)) queue_.Add(d->Key());
  }
}

void DeploymentController::OnPodDelete(const ObjectPtr& pod) {
  // Only Recreate waits for pods to be gone; the sync checks whether they all are.
  auto pod_ref = GetControllerOf(*pod);
  if (!pod_ref || pod_ref->kind != rs_kind_->kind) return;
  ObjectPtr rs = replicasets_->Get(pod->namespace_() + "/" + pod_ref->name);
  if (!rs || rs->uid() != pod_ref->uid) return;
  auto rs_ref = GetControllerOf(*rs);
  if (!rs_ref) return;
  ObjectPtr d = ResolveControllerRef(rs->namespace_(), *rs_ref);
  if (d && d->get<api::Deployment>().getSpec().getStrategy().getType() == "Recreate")
    queue_.Add(d->Key());
}

}  // namespace cattle::controllers
