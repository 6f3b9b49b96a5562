#include "controller-manager/node_lifecycle_controller.h"

#include <capnp/any.h>

#include <algorithm>

#include "cattle/log.h"
#include "coordination.capnp.h"
#include "core.capnp.h"

namespace cattle::controllers {
namespace {

constexpr const char* kNodeNameIndex = "spec.nodeName";
constexpr int kNodeStatusUpdateRetry = 5;  // Kubernetes' nodeStatusUpdateRetry

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// A status condition as plain values (node and pod conditions share api::Condition).
struct Cond {
  std::string type, status, reason, message;
  std::string last_heartbeat, last_transition, last_probe, last_update;
  int64_t observed_generation = 0;
};

std::vector<Cond> ReadConditions(capnp::List<api::Condition>::Reader list) {
  std::vector<Cond> out;
  for (auto c : list) {
    out.push_back({S(c.getType()), S(c.getStatus()), S(c.getReason()), S(c.getMessage()),
                   S(c.getLastHeartbeatTime()), S(c.getLastTransitionTime()),
                   S(c.getLastProbeTime()), S(c.getLastUpdateTime()), c.getObservedGeneration()});
  }
  return out;
}

void WriteCondition(api::Condition::Builder b, const Cond& c) {
  b.setType(c.type);
  b.setStatus(c.status);
  if (!c.reason.empty()) b.setReason(c.reason);
  if (!c.message.empty()) b.setMessage(c.message);
  if (!c.last_heartbeat.empty()) b.setLastHeartbeatTime(c.last_heartbeat);
  if (!c.last_transition.empty()) b.setLastTransitionTime(c.last_transition);
  if (!c.last_probe.empty()) b.setLastProbeTime(c.last_probe);
  if (!c.last_update.empty()) b.setLastUpdateTime(c.last_update);
  if (c.observed_generation != 0) b.setObservedGeneration(c.observed_generation);
}

const Cond* FindCond(const std::vector<Cond>& conds, const std::string& type) {
  for (const auto& c : conds)
    if (c.type == type) return &c;
  return nullptr;
}

struct TaintV {
  std::string key, value, effect, time_added;
};

std::vector<TaintV> ReadTaints(const Object& node) {
  std::vector<TaintV> out;
  for (auto t : node.get<api::Node>().getSpec().getTaints())
    out.push_back({S(t.getKey()), S(t.getValue()), S(t.getEffect()), S(t.getTimeAdded())});
  return out;
}

void WriteTaints(Object& node, const std::vector<TaintV>& taints) {
  auto spec = node.as<api::Node>().getSpec();
  if (taints.empty()) {
    spec.disownTaints();
    return;
  }
  auto list = spec.initTaints(taints.size());
  for (size_t i = 0; i < taints.size(); ++i) {
    list[i].setKey(taints[i].key);
    if (!taints[i].value.empty()) list[i].setValue(taints[i].value);
    list[i].setEffect(taints[i].effect);
    if (!taints[i].time_added.empty()) list[i].setTimeAdded(taints[i].time_added);
  }
}

bool HasTaint(const std::vector<TaintV>& taints, const std::string& key, const std::string& effect) {
  for (const auto& t : taints)
    if (t.key == key && t.effect == effect) return true;
  return false;
}

std::vector<std::string> NodeNameIndex(const Object& pod) {
  std::string node = S(pod.get<api::Pod>().getSpec().getNodeName());
  if (node.empty()) return {};
  return {node};
}

// Kubernetes' zone key: region and zone labels (current, then beta names).
std::string ZoneOf(const Object& node) {
  auto labels = ToStdMap(node.meta().getLabels());
  auto get = [&](const char* a, const char* b) {
    auto it = labels.find(a);
    if (it != labels.end()) return it->second;
    it = labels.find(b);
    return it != labels.end() ? it->second : std::string();
  };
  std::string region = get("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region");
  std::string zone = get("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone");
  if (region.empty() && zone.empty()) return "";
  return region + ":\x01:" + zone;
}

int64_t ParseTime(const std::string& text) {
  int64_t n = 0;
  if (text.empty() || !ParseRfc3339(text, &n)) return 0;
  return n;
}

// A minimal reference object for events about a node that is gone.
Object NodeRef(const KindInfo* kind, const std::string& name, const std::string& uid) {
  Object o(kind);
  o.meta().setName(name);
  if (!uid.empty()) o.meta().setUid(uid);
  return o;
}

}  // namespace

// --- NodeLifecycleController ---------------------------------------------------------------

NodeLifecycleController::NodeLifecycleController(InformerFactory* informers, ApiClient* client,
                                                 EventRecorder* recorder, Clock* clock,
                                                 TimeScale scale, NodeLifecycleOptions options)
    : informers_(informers),
      client_(client),
      recorder_(recorder),
      clock_(clock),
      scale_(scale),
      options_(options),
      nodes_kind_(client->Kind("nodes")),
      pods_kind_(client->Kind("pods")),
      nodes_(informers->For(nodes_kind_)),
      pods_(informers->For(pods_kind_)),
      leases_(informers->For(client->kinds().ByGroupResource("coordination.k8s.io", "leases"),
                             kNodeLeaseNamespace)),
      queue_(clock) {
  pods_->AddIndex(kNodeNameIndex, NodeNameIndex);
  nodes_->AddHandlers({[this](const ObjectPtr& n) { queue_.Add("node:" + n->name()); },
                       [this](const ObjectPtr&, const ObjectPtr& n) { queue_.Add("node:" + n->name()); },
                       nullptr});
  // As Kubernetes' podUpdated: a pod matters here when it lands on a node (added bound, or
  // bound since); a node's other pods are handled when the node's health changes.
  auto on_pod = [this](const ObjectPtr& old_pod, const ObjectPtr& p) {
    auto node = p->get<api::Pod>().getSpec().getNodeName();
    if (node.size() == 0) return;
    if (old_pod && old_pod->get<api::Pod>().getSpec().getNodeName() == node) return;
    queue_.Add("pod:" + p->Key());
  };
  pods_->AddHandlers({[on_pod](const ObjectPtr& p) { on_pod(nullptr, p); }, on_pod, nullptr});
}

NodeLifecycleController::~NodeLifecycleController() { Stop(); }

void NodeLifecycleController::Run(int workers) {
  monitor_ = std::thread([this] { MonitorLoop(); });
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void NodeLifecycleController::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  queue_.ShutDown();
  if (monitor_.joinable()) monitor_.join();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void NodeLifecycleController::MonitorLoop() {
  // Decisions need complete caches: a node missing its lease in the cache would look dead.
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (nodes_->WaitForSync(std::chrono::milliseconds(100)) &&
        pods_->WaitForSync(std::chrono::milliseconds(100)) &&
        leases_->WaitForSync(std::chrono::milliseconds(100)))
      break;
  }
  while (true) {
    // The next pass is one period after this one started, read before the pass is counted:
    // a clock moved on by someone who saw the count must not push the next pass a period later.
    TimePoint next = clock_->Now() + scale_(options_.node_monitor_period);
    MonitorNodeHealth();
    passes_.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && clock_->Now() < next) clock_->WaitUntil(cv_, lock, next);
    if (stopping_) return;
  }
}

void NodeLifecycleController::MonitorNodeHealth() {
  std::vector<ObjectPtr> nodes = nodes_->List();
  std::sort(nodes.begin(), nodes.end(),
            [](const ObjectPtr& a, const ObjectPtr& b) { return a->name() < b->name(); });

  // Nodes added and removed since the last pass.
  std::set<std::string> seen;
  for (const auto& n : nodes) {
    seen.insert(n->name());
    if (known_nodes_.insert(n->name()).second) {
      CATTLE_LOG(INFO) << "controller observed a new node" << kv("node", n->name());
      if (recorder_)
        recorder_->Event(*n, "Normal", "RegisteredNode", "Registered Node " + n->name() + " in Controller");
    }
    node_zone_[n->name()] = ZoneOf(*n);
  }
  for (auto it = known_nodes_.begin(); it != known_nodes_.end();) {
    if (seen.count(*it)) {
      ++it;
      continue;
    }
    CATTLE_LOG(INFO) << "controller observed a node deletion" << kv("node", *it);
    if (recorder_)
      recorder_->Event(NodeRef(nodes_kind_, *it, ""), "Normal", "RemovingNode",
                       "Removing Node " + *it + " from Controller");
    {
      std::lock_guard<std::mutex> lock(mu_);
      health_.erase(*it);
    }
    nodes_to_retry_.erase(*it);
    std::string zone = node_zone_[*it];
    auto& pending = zones_[zone].pending;
    pending.erase(std::remove(pending.begin(), pending.end(), *it), pending.end());
    node_zone_.erase(*it);
    it = known_nodes_.erase(it);
  }

  std::map<std::string, std::pair<int, int>> zone_counts;  // zone -> (ready, not ready)
  std::vector<std::pair<ObjectPtr, std::string>> current;   // node, Ready status now
  pass_nodes_.clear();
  for (const auto& n : nodes) {
    HealthResult r = TryUpdateNodeHealth(n);
    if (!r.node) continue;  // deleted meanwhile
    std::string zone = ZoneOf(*r.node);
    auto& counts = zone_counts[zone];
    if (r.current == "True") counts.first++; else counts.second++;
    if (!r.has_ready) continue;
    current.emplace_back(r.node, r.current);
    pass_nodes_[r.node->name()] = {r.node, r.current};

    std::string name = r.node->name();
    bool retry = nodes_to_retry_.count(name) > 0;
    if (r.current != "True" && r.observed == "True") {
      CATTLE_LOG(INFO) << "node is not ready" << kv("node", name) << kv("status", r.current);
      if (recorder_)
        recorder_->Event(*r.node, "Normal", "NodeNotReady", "Node " + name + " status is now: NodeNotReady");
      retry = true;
    }
    if (retry && r.current != "True") {
      Status s = MarkPodsNotReady(name, pods_->ByIndex(kNodeNameIndex, name));
      if (s.ok()) nodes_to_retry_.erase(name); else nodes_to_retry_.insert(name);
    } else {
      nodes_to_retry_.erase(name);
    }
  }

  HandleDisruption(zone_counts, nodes);
  for (const auto& [node, status] : current) ProcessTaintBaseEviction(node, status);
  DoNoExecuteTaintingPass();
}

NodeLifecycleController::HealthResult NodeLifecycleController::TryUpdateNodeHealth(const ObjectPtr& cached) {
  HealthResult result;
  ObjectPtr node = cached;
  const std::string name = cached->name();
  for (int attempt = 0; attempt < kNodeStatusUpdateRetry; ++attempt) {
    if (attempt > 0) {
      auto live = client_->Get(nodes_kind_, "", name);
      if (!live.ok()) {
        if (live.status().Is(Reason::kNotFound)) return HealthResult{};
        CATTLE_LOG(WARN) << "reading node failed" << kv("node", name) << kv("error", live.status().ToString());
        break;
      }
      node = std::make_shared<const Object>(std::move(*live));
    }
    const TimePoint now = clock_->Now();
    const int64_t wall_now = clock_->WallNanos();
    auto conds = ReadConditions(node->get<api::Node>().getStatus().getConditions());
    const Cond* ready = FindCond(conds, "Ready");
    Duration grace = ready ? scale_(options_.node_monitor_grace_period)
                           : scale_(options_.node_startup_grace_period);
    result.has_ready = ready != nullptr;
    result.observed = ready ? ready->status : "Unknown";
    result.current = ready ? ready->status : "";
    result.node = node;

    TimePoint probe;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto [it, inserted] = health_.try_emplace(name);
      NodeHealth& h = it->second;
      if (inserted) {
        h.probe = now;
        h.ready_transition = now;
        if (!ready) {
          // Never reported: measured from the node's creation, as Kubernetes does.
          int64_t created = ParseTime(S(node->meta().getCreationTimestamp()));
          if (created > 0 && created <= wall_now) h.probe = now - Duration(wall_now - created);
        }
      } else if (h.had_ready != (ready != nullptr)) {
        h.probe = now;
        h.ready_transition = now;
      } else if (ready && h.heartbeat != ready->last_heartbeat) {
        h.probe = now;
        if (h.ready_status != ready->status) h.ready_transition = now;
      }
      h.had_ready = ready != nullptr;
      if (ready) {
        h.heartbeat = ready->last_heartbeat;
        h.ready_status = ready->status;
      }
      ObjectPtr lease = leases_->Get(std::string(kNodeLeaseNamespace) + "/" + name);
      if (lease) {
        int64_t renew = ParseTime(S(lease->get<api::Lease>().getSpec().getRenewTime()));
        if (!h.has_lease || h.lease_renew < renew) {
          h.has_lease = true;
          h.lease_renew = renew;
          h.probe = now;
        }
      }
      probe = h.probe;
    }
    if (now <= probe + grace) return result;

    // The kubelet stopped reporting: Ready and the pressure conditions become Unknown.
    std::string ts = FormatRfc3339(wall_now);
    std::string created = S(node->meta().getCreationTimestamp());
    bool changed = false;
    for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
      auto it = std::find_if(conds.begin(), conds.end(), [&](const Cond& c) { return c.type == type; });
      if (it == conds.end()) {
        Cond c;
        c.type = type;
        c.status = "Unknown";
        c.reason = "NodeStatusNeverUpdated";
        c.message = "Kubelet never posted node status.";
        c.last_heartbeat = created;
        c.last_transition = ts;
        conds.push_back(c);
        changed = true;
      } else if (it->status != "Unknown") {
        it->status = "Unknown";
        it->reason = "NodeStatusUnknown";
        it->message = "Kubelet stopped posting node status.";
        it->last_transition = ts;
        changed = true;
      }
    }
    result.has_ready = true;
    result.current = "Unknown";
    if (!changed) return result;
    Object updated = node->Clone();
    auto list = updated.as<api::Node>().getStatus().initConditions(conds.size());
    for (size_t i = 0; i < conds.size(); ++i) WriteCondition(list[i], conds[i]);
    auto written = client_->UpdateStatus(updated);
    if (written.ok()) {
      CATTLE_LOG(INFO) << "node stopped posting status" << kv("node", name)
                       << kv("grace", std::chrono::duration<double>(grace).count());
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = health_.find(name);
        if (it != health_.end()) {
          it->second.ready_transition = now;
          it->second.ready_status = "Unknown";
        }
      }
      result.node = std::make_shared<const Object>(std::move(*written));
      return result;
    }
    if (written.status().Is(Reason::kNotFound)) return HealthResult{};
    if (!written.status().Is(Reason::kConflict)) {
      CATTLE_LOG(WARN) << "updating node status failed" << kv("node", name)
                       << kv("error", written.status().ToString());
      break;
    }
  }
  // Could not write: act on what the node says (the next pass tries again).
  if (result.node) {
    auto conds = ReadConditions(result.node->get<api::Node>().getStatus().getConditions());
    const Cond* ready = FindCond(conds, "Ready");
    result.has_ready = ready != nullptr;
    result.current = ready ? ready->status : "";
  }
  return result;
}

Status NodeLifecycleController::MarkPodsNotReady(const std::string& node_name,
                                                 const std::vector<ObjectPtr>& pods) {
  Status first_error;
  std::string ts = FormatRfc3339(clock_->WallNanos());
  for (const auto& pod : pods) {
    if (S(pod->get<api::Pod>().getSpec().getNodeName()) != node_name) continue;
    auto conds = ReadConditions(pod->get<api::Pod>().getStatus().getConditions());
    auto it = std::find_if(conds.begin(), conds.end(), [](const Cond& c) { return c.type == "Ready"; });
    if (it == conds.end() || it->status == "False") continue;
    it->status = "False";
    it->last_transition = ts;
    Object updated = pod->Clone();
    auto list = updated.as<api::Pod>().getStatus().initConditions(conds.size());
    for (size_t i = 0; i < conds.size(); ++i) WriteCondition(list[i], conds[i]);
    auto r = client_->UpdateStatus(updated);
    if (!r.ok()) {
      if (r.status().Is(Reason::kNotFound)) continue;
      CATTLE_LOG(WARN) << "marking pod not ready failed" << kv("pod", pod->Key())
                       << kv("error", r.status().ToString());
      if (first_error.ok()) first_error = r.status();
      continue;
    }
    CATTLE_LOG(INFO) << "marked pod not ready" << kv("pod", pod->Key()) << kv("node", node_name);
    if (recorder_) recorder_->Event(*r, "Warning", "NodeNotReady", "Node is not ready");
  }
  return first_error;
}

double NodeLifecycleController::ZoneQps(const std::string& state, int zone_size) const {
  if (state == "PartialDisruption")
    return zone_size > options_.large_cluster_size_threshold ? options_.secondary_eviction_limiter_qps : 0;
  return options_.eviction_limiter_qps;
}

void NodeLifecycleController::HandleDisruption(
    const std::map<std::string, std::pair<int, int>>& zone_counts, const std::vector<ObjectPtr>& nodes) {
  for (auto it = zones_.begin(); it != zones_.end();) {
    if (!zone_counts.count(it->first) && it->second.pending.empty()) it = zones_.erase(it); else ++it;
  }
  // Kubernetes' ComputeZoneState.
  std::map<std::string, std::string> new_states;
  bool all_are_fully_disrupted = !zone_counts.empty();
  for (const auto& [zone, counts] : zone_counts) {
    auto [ready, not_ready] = counts;
    std::string state = "Normal";
    if (ready == 0 && not_ready > 0) {
      state = "FullDisruption";
    } else if (not_ready > 2 &&
               static_cast<double>(not_ready) / (ready + not_ready) >= options_.unhealthy_zone_threshold) {
      state = "PartialDisruption";
    }
    new_states[zone] = state;
    if (state != "FullDisruption") all_are_fully_disrupted = false;
  }
  bool all_were_fully_disrupted = !zones_.empty();
  for (auto& [zone, z] : zones_)
    if (z.state != "FullDisruption") all_were_fully_disrupted = false;
  for (const auto& [zone, state] : new_states) {
    if (!zones_.count(zone)) {
      zones_[zone].qps = options_.eviction_limiter_qps;  // a new zone starts in state Initial
      all_were_fully_disrupted = false;
    }
  }
  auto zone_size = [&](const std::string& zone) {
    auto it = zone_counts.find(zone);
    return it == zone_counts.end() ? 0 : it->second.first + it->second.second;
  };
  auto set_limiter = [&](Zone& z, double qps) {
    if (z.qps != qps) z.next_allowed = TimePoint{};  // a fresh limiter, as SwapLimiter
    z.qps = qps;
  };

  if (all_are_fully_disrupted && !all_were_fully_disrupted) {
    // Every zone lost every node: assume the control plane is cut off, stop all evictions.
    CATTLE_LOG(WARN) << "controller detected that all nodes are not ready; stopping evictions";
    for (const auto& n : nodes) (void)SwapNoExecuteTaint(n->name(), nullptr, "", {kTaintNodeNotReady, kTaintNodeUnreachable});
    for (auto& [zone, z] : zones_) {
      set_limiter(z, 0);
      z.pending.clear();
    }
  } else if (!all_are_fully_disrupted && all_were_fully_disrupted) {
    CATTLE_LOG(INFO) << "controller detected that some nodes are ready again; resuming evictions";
    for (auto& [zone, z] : zones_) {
      auto it = new_states.find(zone);
      set_limiter(z, ZoneQps(it == new_states.end() ? "Normal" : it->second, zone_size(zone)));
    }
  } else if (!all_are_fully_disrupted) {
    for (const auto& [zone, state] : new_states) {
      Zone& z = zones_[zone];
      if (z.state != state) {
        CATTLE_LOG(INFO) << "zone state changed" << kv("zone", zone) << kv("from", z.state) << kv("to", state);
        set_limiter(z, ZoneQps(state, zone_size(zone)));
      }
    }
  }
  for (const auto& [zone, state] : new_states) zones_[zone].state = state;
  all_were_fully_disrupted_ = all_are_fully_disrupted;
}

void NodeLifecycleController::ProcessTaintBaseEviction(const ObjectPtr& node, const std::string& ready) {
  auto taints = ReadTaints(*node);
  const std::string name = node->name();
  Zone& zone = zones_[ZoneOf(*node)];
  auto pending = std::find(zone.pending.begin(), zone.pending.end(), name);
  if (ready == "True") {
    if (pending != zone.pending.end()) zone.pending.erase(pending);
    if (HasTaint(taints, kTaintNodeNotReady, "NoExecute") || HasTaint(taints, kTaintNodeUnreachable, "NoExecute")) {
      Status s = SwapNoExecuteTaint(name, node, "", {kTaintNodeNotReady, kTaintNodeUnreachable});
      if (s.ok()) {
        CATTLE_LOG(INFO) << "node is ready again; NoExecute taints removed" << kv("node", name);
      }
    }
    return;
  }
  std::string want = ready == "False" ? kTaintNodeNotReady : kTaintNodeUnreachable;
  std::string other = ready == "False" ? kTaintNodeUnreachable : kTaintNodeNotReady;
  if (HasTaint(taints, want, "NoExecute") && !HasTaint(taints, other, "NoExecute")) {
    if (pending != zone.pending.end()) zone.pending.erase(pending);
    return;
  }
  if (HasTaint(taints, other, "NoExecute")) {
    // Already evicting: switching the reason is not rate-limited.
    if (pending != zone.pending.end()) zone.pending.erase(pending);
    (void)SwapNoExecuteTaint(name, node, want, {other});
    return;
  }
  if (pending == zone.pending.end()) zone.pending.push_back(name);
}

void NodeLifecycleController::DoNoExecuteTaintingPass() {
  for (auto& [zone_name, zone] : zones_) {
    while (!zone.pending.empty()) {
      const std::string name = zone.pending.front();
      // This pass's view (the cache may not show our status write yet).
      auto seen = pass_nodes_.find(name);
      if (seen == pass_nodes_.end() || seen->second.second == "True") {
        zone.pending.erase(zone.pending.begin());
        continue;
      }
      const ObjectPtr& node = seen->second.first;
      const std::string& ready = seen->second.second;
      std::string want = ready == "False" ? kTaintNodeNotReady : kTaintNodeUnreachable;
      std::string other = ready == "False" ? kTaintNodeUnreachable : kTaintNodeNotReady;
      if (HasTaint(ReadTaints(*node), want, "NoExecute")) {
        zone.pending.erase(zone.pending.begin());
        continue;
      }
      TimePoint now = clock_->Now();
      if (zone.qps <= 0 || now < zone.next_allowed) break;  // rate-limited: a later pass
      zone.next_allowed = now + scale_.Seconds(1.0 / zone.qps);
      Status s = SwapNoExecuteTaint(name, node, want, {other});
      if (!s.ok()) break;  // retried next pass
      CATTLE_LOG(INFO) << "node tainted for eviction" << kv("node", name) << kv("taint", want + ":NoExecute");
      zone.pending.erase(zone.pending.begin());
    }
  }
}

Status NodeLifecycleController::SwapNoExecuteTaint(const std::string& name, ObjectPtr hint,
                                                   const std::string& add,
                                                   const std::vector<std::string>& remove) {
  ObjectPtr cached = hint ? hint : nodes_->Get(name);
  Status last;
  for (int attempt = 0; attempt < kNodeStatusUpdateRetry; ++attempt) {
    Object node = cached && attempt == 0 ? cached->Clone() : Object(nodes_kind_);
    if (!cached || attempt > 0) {
      auto live = client_->Get(nodes_kind_, "", name);
      if (!live.ok()) return live.status().Is(Reason::kNotFound) ? Status::Ok() : live.status();
      node = std::move(*live);
    }
    auto taints = ReadTaints(node);
    std::vector<TaintV> out;
    bool changed = false;
    for (const auto& t : taints) {
      if (t.effect == "NoExecute" && std::find(remove.begin(), remove.end(), t.key) != remove.end()) {
        changed = true;
        continue;
      }
      out.push_back(t);
    }
    if (!add.empty() && !HasTaint(out, add, "NoExecute")) {
      out.push_back({add, "", "NoExecute", FormatRfc3339(clock_->WallNanos())});
      changed = true;
    }
    if (!changed) return Status::Ok();
    WriteTaints(node, out);
    auto r = client_->Update(node);
    if (r.ok()) return Status::Ok();
    if (r.status().Is(Reason::kNotFound)) return Status::Ok();
    last = r.status();
    if (!r.status().Is(Reason::kConflict)) break;
  }
  CATTLE_LOG(WARN) << "updating node taints failed" << kv("node", name) << kv("error", last.ToString());
  return last;
}

void NodeLifecycleController::WorkerLoop() {
  std::string key;
  while (queue_.Get(&key)) {
    Status s = key.rfind("node:", 0) == 0 ? SyncNoScheduleTaints(key.substr(5)) : ProcessPod(key.substr(4));
    if (s.ok()) {
      queue_.Forget(key);
    } else {
      CATTLE_LOG(WARN) << "sync failed; retrying" << kv("key", key) << kv("error", s.ToString());
      queue_.AddRateLimited(key);
    }
    queue_.Done(key);
  }
}

Status NodeLifecycleController::SyncNoScheduleTaints(const std::string& name) {
  ObjectPtr node = nodes_->Get(name);
  if (!node) return Status::Ok();
  // Kubernetes' nodeConditionToTaintKeyStatusMap, plus spec.unschedulable.
  static const std::map<std::pair<std::string, std::string>, std::string> kConditionTaints = {
      {{"Ready", "False"}, kTaintNodeNotReady},
      {{"Ready", "Unknown"}, kTaintNodeUnreachable},
      {{"MemoryPressure", "True"}, "node.kubernetes.io/memory-pressure"},
      {{"DiskPressure", "True"}, "node.kubernetes.io/disk-pressure"},
      {{"NetworkUnavailable", "True"}, "node.kubernetes.io/network-unavailable"},
      {{"PIDPressure", "True"}, "node.kubernetes.io/pid-pressure"},
  };
  std::set<std::string> managed = {kTaintNodeUnschedulable};
  for (const auto& [cond, key] : kConditionTaints) managed.insert(key);

  std::set<std::string> desired;
  for (const auto& c : ReadConditions(node->get<api::Node>().getStatus().getConditions())) {
    auto it = kConditionTaints.find({c.type, c.status});
    if (it != kConditionTaints.end()) desired.insert(it->second);
  }
  if (node->get<api::Node>().getSpec().getUnschedulable()) desired.insert(kTaintNodeUnschedulable);

  auto taints = ReadTaints(*node);
  std::set<std::string> have;
  for (const auto& t : taints)
    if (t.effect == "NoSchedule" && managed.count(t.key)) have.insert(t.key);
  if (have == desired) return Status::Ok();

  std::vector<TaintV> out;
  for (const auto& t : taints)
    if (!(t.effect == "NoSchedule" && managed.count(t.key) && !desired.count(t.key))) out.push_back(t);
  for (const auto& key : desired)
    if (!have.count(key)) out.push_back({key, "", "NoSchedule", ""});
  Object updated = node->Clone();
  WriteTaints(updated, out);
  auto r = client_->Update(updated);
  if (!r.ok() && !r.status().Is(Reason::kNotFound)) return r.status();  // a conflict: retried
  return Status::Ok();
}

Status NodeLifecycleController::ProcessPod(const std::string& key) {
  ObjectPtr pod = pods_->Get(key);
  if (!pod) return Status::Ok();
  std::string node_name = S(pod->get<api::Pod>().getSpec().getNodeName());
  if (node_name.empty()) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!health_.count(node_name)) return Status::Ok();  // not gathered yet, or gone
  }
  ObjectPtr node = nodes_->Get(node_name);
  if (!node) return Status::Ok();
  auto conds = ReadConditions(node->get<api::Node>().getStatus().getConditions());
  const Cond* ready = FindCond(conds, "Ready");
  if (!ready || ready->status == "True") return Status::Ok();
  return MarkPodsNotReady(node_name, {pod});
}

// --- TaintEvictionController ---------------------------------------------------------------

namespace {

struct TolerationV {
  std::string key, op, value, effect;
  bool has_seconds = false;
  int64_t seconds = 0;
};

std::vector<TolerationV> ReadTolerations(const Object& pod) {
  std::vector<TolerationV> out;
  for (auto t : pod.get<api::Pod>().getSpec().getTolerations()) {
    TolerationV v{S(t.getKey()), S(t.getOperator()), S(t.getValue()), S(t.getEffect())};
    if (t.hasTolerationSeconds()) {
      v.has_seconds = true;
      v.seconds = t.getTolerationSeconds().getValue();
    }
    out.push_back(v);
  }
  return out;
}

// v1.Toleration.ToleratesTaint.
bool Tolerates(const TolerationV& t, const TaintV& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (!t.key.empty() && t.key != taint.key) return false;
  if (t.op == "Exists") return true;
  if (t.op.empty() || t.op == "Equal") return t.value == taint.value;
  return false;
}

std::vector<TaintV> NoExecuteTaints(const Object& node) {
  std::vector<TaintV> out;
  for (auto& t : ReadTaints(node))
    if (t.effect == "NoExecute") out.push_back(t);
  return out;
}

bool SameNoExecuteTaints(const ObjectPtr& a, const ObjectPtr& b) {
  auto x = NoExecuteTaints(*a), y = NoExecuteTaints(*b);
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i].key != y[i].key || x[i].value != y[i].value || x[i].time_added != y[i].time_added) return false;
  return true;
}

}  // namespace

TaintEvictionController::TaintEvictionController(InformerFactory* informers, ApiClient* client,
                                                 EventRecorder* recorder, Clock* clock, TimeScale scale)
    : informers_(informers),
      client_(client),
      recorder_(recorder),
      clock_(clock),
      scale_(scale),
      pods_kind_(client->Kind("pods")),
      nodes_(informers->For(client->Kind("nodes"))),
      pods_(informers->For(pods_kind_)),
      queue_(clock) {
  pods_->AddIndex(kNodeNameIndex, NodeNameIndex);
  // As Kubernetes' PodUpdated: an update matters only when it moves the pod to another
  // node or changes its tolerations (status writes do neither).
  auto on_pod = [this](const ObjectPtr& p) {
    if (p->get<api::Pod>().getSpec().getNodeName().size() > 0) queue_.Add(p->Key());
  };
  pods_->AddHandlers({on_pod,
                      [on_pod](const ObjectPtr& old_pod, const ObjectPtr& p) {
                        auto was = old_pod->get<api::Pod>().getSpec(), is = p->get<api::Pod>().getSpec();
                        if (was.getNodeName() == is.getNodeName() &&
                            capnp::AnyList::Reader(was.getTolerations()) == capnp::AnyList::Reader(is.getTolerations()))
                          return;
                        on_pod(p);
                      },
                      [this](const ObjectPtr& p) { queue_.Add(p->Key()); }});
  nodes_->AddHandlers({[this](const ObjectPtr& n) {
                         if (!NoExecuteTaints(*n).empty()) EnqueuePodsOnNode(n->name());
                       },
                       [this](const ObjectPtr& old, const ObjectPtr& n) {
                         if (!SameNoExecuteTaints(old, n)) EnqueuePodsOnNode(n->name());
                       },
                       [this](const ObjectPtr& n) { EnqueuePodsOnNode(n->name()); }});
}

TaintEvictionController::~TaintEvictionController() { Stop(); }

void TaintEvictionController::Run(int workers) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void TaintEvictionController::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queue_.ShutDown();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void TaintEvictionController::EnqueuePodsOnNode(const std::string& node) {
  for (const auto& p : pods_->ByIndex(kNodeNameIndex, node)) queue_.Add(p->Key());
}

void TaintEvictionController::WorkerLoop() {
  // A pod must not be judged against a node cache that is still empty.
  while (!nodes_->WaitForSync(std::chrono::milliseconds(100)) ||
         !pods_->WaitForSync(std::chrono::milliseconds(100))) {
    if (queue_.ShuttingDown()) return;
  }
  std::string key;
  while (queue_.Get(&key)) {
    Status s = Sync(key);
    if (s.ok()) {
      queue_.Forget(key);
    } else {
      CATTLE_LOG(WARN) << "taint eviction failed; retrying" << kv("pod", key) << kv("error", s.ToString());
      queue_.AddRateLimited(key);
    }
    queue_.Done(key);
  }
}

void TaintEvictionController::Cancel(const std::string& pod_key, const ObjectPtr& pod) {
  bool was_scheduled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_scheduled = scheduled_.erase(pod_key) > 0;
  }
  if (was_scheduled && pod) {
    CATTLE_LOG(INFO) << "cancelling taint-based eviction" << kv("pod", pod_key);
    if (recorder_) recorder_->Event(*pod, "Normal", "TaintManagerEviction", "Cancelling deletion of Pod " + pod_key);
  }
}

Status TaintEvictionController::Sync(const std::string& pod_key) {
  ObjectPtr pod = pods_->Get(pod_key);
  if (!pod || pod->meta().hasDeletionTimestamp()) {
    std::lock_guard<std::mutex> lock(mu_);
    scheduled_.erase(pod_key);
    return Status::Ok();
  }
  std::string node_name = S(pod->get<api::Pod>().getSpec().getNodeName());
  ObjectPtr node = node_name.empty() ? nullptr : nodes_->Get(node_name);
  if (!node) {
    Cancel(pod_key, pod);
    return Status::Ok();
  }
  auto taints = NoExecuteTaints(*node);
  if (taints.empty()) {
    Cancel(pod_key, pod);
    return Status::Ok();
  }
  auto tolerations = ReadTolerations(*pod);
  const int64_t now = clock_->WallNanos();
  // For every taint the first toleration that tolerates it (GetMatchingTolerations); the pod
  // goes at the earliest timeAdded + tolerationSeconds.
  bool finite = false;
  int64_t deadline = 0;
  for (const auto& taint : taints) {
    auto it = std::find_if(tolerations.begin(), tolerations.end(),
                           [&](const TolerationV& t) { return Tolerates(t, taint); });
    if (it == tolerations.end()) {
      CATTLE_LOG(INFO) << "pod does not tolerate a NoExecute taint" << kv("pod", pod_key)
                       << kv("taint", taint.key + ":" + taint.effect);
      return Evict(*pod);
    }
    if (!it->has_seconds) continue;  // tolerated forever
    int64_t added = ParseTime(taint.time_added);
    if (added == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      auto [seen, inserted] = taint_seen_.try_emplace(node_name + "|" + taint.key + "|" + taint.effect, now);
      added = seen->second;
    }
    int64_t d = added + (it->seconds <= 0 ? 0 : scale_.Seconds(static_cast<double>(it->seconds)).count());
    deadline = finite ? std::min(deadline, d) : d;
    finite = true;
  }
  if (!finite) {
    Cancel(pod_key, pod);
    return Status::Ok();
  }
  if (deadline <= now) return Evict(*pod);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = scheduled_.insert_or_assign(pod_key, deadline);
    if (inserted) {
      CATTLE_LOG(INFO) << "pod scheduled for taint-based eviction" << kv("pod", pod_key)
                       << kv("at", FormatRfc3339Micro(deadline));
    }
  }
  queue_.AddAfter(pod_key, Duration(deadline - now));
  return Status::Ok();
}

Status TaintEvictionController::Evict(const Object& cached) {
  const std::string key = cached.Key();
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduled_.erase(key);
  }
  if (recorder_) recorder_->Event(cached, "Normal", "TaintManagerEviction", "Marking for deletion Pod " + key);
  // The DisruptionTarget condition tells the pod's owner why it goes (best effort).
  Object pod = cached.Clone();
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto conds = ReadConditions(pod.get<api::Pod>().getStatus().getConditions());
    auto it = std::find_if(conds.begin(), conds.end(), [](const Cond& c) { return c.type == "DisruptionTarget"; });
    if (it != conds.end() && it->status == "True") break;
    Cond c;
    c.type = "DisruptionTarget";
    c.status = "True";
    c.reason = "DeletionByTaintManager";
    c.message = "Taint manager: deleting due to NoExecute taint";
    c.last_transition = FormatRfc3339(clock_->WallNanos());
    if (it != conds.end()) *it = c; else conds.push_back(c);
    Object updated = pod.Clone();
    auto list = updated.as<api::Pod>().getStatus().initConditions(conds.size());
    for (size_t i = 0; i < conds.size(); ++i) WriteCondition(list[i], conds[i]);
    auto r = client_->UpdateStatus(updated);
    if (r.ok()) break;
    if (r.status().Is(Reason::kNotFound)) return Status::Ok();
    if (!r.status().Is(Reason::kConflict)) {
      CATTLE_LOG(WARN) << "adding DisruptionTarget failed" << kv("pod", key) << kv("error", r.status().ToString());
      break;
    }
    auto live = client_->Get(pods_kind_, cached.namespace_(), cached.name());
    if (!live.ok()) return live.status().Is(Reason::kNotFound) ? Status::Ok() : live.status();
    if (live->uid() != cached.uid()) return Status::Ok();
    pod = std::move(*live);
  }
  DeleteOptions opts;
  opts.precondition_uid = cached.uid();
  auto r = client_->Delete(pods_kind_, cached.namespace_(), cached.name(), opts);
  if (!r.ok() && !r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict)) return r.status();
  CATTLE_LOG(INFO) << "evicted pod for a NoExecute taint" << kv("pod", key);
  return Status::Ok();
}

}  // namespace cattle::controllers
