#include "controller-manager/pod_gc_controller.h"

#include <algorithm>
#include <set>
#include <vector>

#include "cattle/log.h"
#include "core.capnp.h"

namespace cattle::controllers {
namespace {

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

bool IsTerminated(const Object& pod) {
  std::string phase = S(pod.get<api::Pod>().getStatus().getPhase());
  return phase == "Succeeded" || phase == "Failed";
}

}  // namespace

PodGCController::PodGCController(InformerFactory* informers, ApiClient* client,
                                 EventRecorder* recorder, Clock* clock, TimeScale scale,
                                 PodGCOptions options)
    : client_(client),
      clock_(clock),
      scale_(scale),
      options_(options),
      pods_kind_(client->Kind("pods")),
      nodes_kind_(client->Kind("nodes")),
      pods_(informers->For(pods_kind_)),
      nodes_(informers->For(nodes_kind_)) {
  (void)recorder;
}

PodGCController::~PodGCController() { Stop(); }

void PodGCController::Run(int workers) {
  (void)workers;
  thread_ = std::thread([this] { Loop(); });
}

void PodGCController::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PodGCController::Loop() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (pods_->WaitForSync(std::chrono::milliseconds(100)) && nodes_->WaitForSync(std::chrono::milliseconds(100)))
      break;
  }
  // As Kubernetes' wait.Until: a pass, then gc-check-period.
  while (true) {
    // Read before the pass is counted (see NodeLifecycleController::MonitorLoop).
    TimePoint next = clock_->Now() + scale_(options_.gc_check_period);
    Gc();
    passes_.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && clock_->Now() < next) clock_->WaitUntil(cv_, lock, next);
    if (stopping_) return;
  }
}

void PodGCController::Gc() {
  if (options_.terminated_pod_gc_threshold > 0) GcTerminated();
  GcOrphaned();
  GcUnscheduledTerminating();
}

void PodGCController::GcTerminated() {
  std::vector<ObjectPtr> terminated;
  for (const auto& p : pods_->List())
    if (IsTerminated(*p)) terminated.push_back(p);
  int excess = static_cast<int>(terminated.size()) - options_.terminated_pod_gc_threshold;
  if (excess <= 0) return;
  std::sort(terminated.begin(), terminated.end(), [](const ObjectPtr& a, const ObjectPtr& b) {
    std::string ta = S(a->meta().getCreationTimestamp()), tb = S(b->meta().getCreationTimestamp());
    if (ta != tb) return ta < tb;  // RFC 3339 UTC with second precision sorts as text
    return a->Key() < b->Key();
  });
  CATTLE_LOG(INFO) << "garbage collecting terminated pods" << kv("count", excess)
                   << kv("threshold", options_.terminated_pod_gc_threshold);
  for (int i = 0; i < excess; ++i) ForceDelete(*terminated[i], "");
}

void PodGCController::GcOrphaned() {
  std::vector<ObjectPtr> pods = pods_->List();
  std::set<std::string> existing;
  for (const auto& n : nodes_->List()) existing.insert(n->name());
  const TimePoint now = clock_->Now();
  std::set<std::string> referenced;
  for (const auto& p : pods) {
    std::string node = S(p->get<api::Pod>().getSpec().getNodeName());
    if (node.empty() || existing.count(node)) continue;
    referenced.insert(node);
    missing_nodes_.try_emplace(node, now);  // quarantine starts
  }
  std::set<std::string> deleted;
  for (auto it = missing_nodes_.begin(); it != missing_nodes_.end();) {
    if (existing.count(it->first) || !referenced.count(it->first)) {
      it = missing_nodes_.erase(it);  // the node appeared, or no pod names it any more
      continue;
    }
    if (now < it->second + scale_(options_.quarantine_time)) {
      ++it;
      continue;
    }
    // Confirm with the apiserver: the cache may lag behind a new node.
    auto live = client_->Get(nodes_kind_, "", it->first);
    if (live.ok()) {
      it = missing_nodes_.erase(it);
      continue;
    }
    if (live.status().Is(Reason::kNotFound)) deleted.insert(it->first);
    ++it;
  }
  if (deleted.empty()) return;
  for (const auto& p : pods) {
    std::string node = S(p->get<api::Pod>().getSpec().getNodeName());
    if (!deleted.count(node)) continue;
    CATTLE_LOG(INFO) << "found orphaned pod assigned to a deleted node" << kv("pod", p->Key()) << kv("node", node);
    ForceDelete(*p, "PodGC: node no longer exists");
  }
}

void PodGCController::GcUnscheduledTerminating() {
  for (const auto& p : pods_->List()) {
    if (!p->meta().hasDeletionTimestamp() || p->get<api::Pod>().getSpec().getNodeName().size() > 0) continue;
    CATTLE_LOG(INFO) << "found unscheduled terminating pod" << kv("pod", p->Key());
    ForceDelete(*p, "");
  }
}

void PodGCController::ForceDelete(const Object& cached, const std::string& fail_message) {
  if (!fail_message.empty() && !IsTerminated(cached)) {
    // markFailedAndDeletePodWithCondition: phase Failed and why, then delete.
    Object pod = cached.Clone();
    auto status = pod.as<api::Pod>().getStatus();
    status.setPhase("Failed");
    bool found = false;
    std::string ts = FormatRfc3339(clock_->WallNanos());
    capnp::MallocMessageBuilder scratch;
    auto old = scratch.getOrphanage().newOrphanCopy(status.asReader().getConditions());
    auto old_list = old.getReader();
    for (auto c : old_list) found |= c.getType() == "DisruptionTarget";
    auto list = status.initConditions(old_list.size() + (found ? 0 : 1));
    for (size_t i = 0; i < old_list.size(); ++i) list.setWithCaveats(i, old_list[i]);
    auto set = [&](api::Condition::Builder c) {
      c.setType("DisruptionTarget");
      c.setStatus("True");
      c.setReason("DeletionByPodGC");
      c.setMessage(fail_message);
      c.setLastTransitionTime(ts);
    };
    if (found) {
      for (auto c : list)
        if (c.getType() == "DisruptionTarget") set(c);
    } else {
      set(list[old_list.size()]);
    }
    auto r = client_->UpdateStatus(pod);
    if (!r.ok()) {
      if (r.status().Is(Reason::kNotFound)) return;
      CATTLE_LOG(WARN) << "marking pod failed" << kv("pod", cached.Key()) << kv("error", r.status().ToString());
    }
  }
  DeleteOptions opts;
  opts.grace_period_seconds = 0;
  opts.precondition_uid = cached.uid();
  auto r = client_->Delete(pods_kind_, cached.namespace_(), cached.name(), opts);
  if (!r.ok() && !r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict)) {
    CATTLE_LOG(WARN) << "force-deleting pod failed" << kv("pod", cached.Key()) << kv("error", r.status().ToString());
    return;
  }
  CATTLE_LOG(INFO) << "force-deleted pod" << kv("pod", cached.Key());
}

}  // namespace cattle::controllers
