#include "scheduler/cache.h"

#include "cattle/log.h"

namespace cattle::scheduler {
namespace {

bool Terminal(const Object& pod) {
  auto phase = pod.get<api::Pod>().getStatus().getPhase();
  return phase == "Succeeded" || phase == "Failed";
}

}  // namespace

std::vector<std::string> PodNodeNameIndex(const Object& pod) {
  std::string node = pod.get<api::Pod>().getSpec().getNodeName().cStr();
  if (node.empty()) return {};
  return {node};
}

Cache::Cache(Informer* pods, Informer* nodes, Clock* clock, Duration assumed_ttl)
    : pods_(pods), nodes_(nodes), clock_(clock), assumed_ttl_(assumed_ttl) {
  nodes_->AddHandlers(EventHandlers{
      [this](const ObjectPtr& n) { OnNode(n); },
      [this](const ObjectPtr&, const ObjectPtr& n) { OnNode(n); },
      [this](const ObjectPtr& n) { OnNodeDeleted(n); },
  });
  pods_->AddHandlers(EventHandlers{
      [this](const ObjectPtr& p) { OnPod(p); },
      [this](const ObjectPtr& old_pod, const ObjectPtr& p) {
        if (old_pod->uid() != p->uid()) {
          OnPodDeleted(old_pod);
        } else if (PodInfo::Same(*old_pod, *p)) {
          return;  // a status write: nothing the cache counts changed
        }
        OnPod(p);
      },
      [this](const ObjectPtr& p) { OnPodDeleted(p); },
  });
}

void Cache::TouchLocked(const std::string& node) {
  auto it = nodes_by_name_.find(node);
  if (it == nodes_by_name_.end()) return;
  it->second.info = nullptr;
  if (it->second.node) changed_.insert(node);
  if (!it->second.node && it->second.pods.empty() && it->second.assumed.empty()) nodes_by_name_.erase(it);
}

NodeInfoPtr Cache::BuildLocked(NodeEntry& entry) {
  if (!entry.info) {
    auto info = std::make_shared<NodeInfo>(entry.node);
    for (const auto& [key, pod] : entry.pods) info->AddPod(pod);
    for (const auto& key : entry.assumed) info->AddPod(assumed_.at(key).pod);
    entry.info = std::move(info);
  }
  return entry.info;
}

void Cache::UnfileLocked(const std::string& key) {
  auto f = filed_.find(key);
  if (f == filed_.end()) return;
  std::string node = f->second.node;
  filed_.erase(f);
  auto it = nodes_by_name_.find(node);
  if (it != nodes_by_name_.end()) it->second.pods.erase(key);
  TouchLocked(node);
}

void Cache::DropAssumedLocked(const std::string& key, const char* why) {
  auto it = assumed_.find(key);
  if (it == assumed_.end()) return;
  std::string node = it->second.pod->node_name;
  if (why) {
    CATTLE_LOG(INFO) << "forgetting assumed pod" << kv("pod", key) << kv("node", node) << kv("reason", why);
  }
  expiry_.erase({it->second.deadline, key});
  assumed_.erase(it);
  auto n = nodes_by_name_.find(node);
  if (n != nodes_by_name_.end()) n->second.assumed.erase(key);
  TouchLocked(node);
}

void Cache::OnPod(const ObjectPtr& pod) {
  std::string key = pod->Key();
  std::string uid = pod->uid();
  std::string node = pod->get<api::Pod>().getSpec().getNodeName().cStr();
  bool counted = !node.empty() && !Terminal(*pod);
  // Parsed outside the lock: the scheduling thread may be taking a snapshot.
  PodInfoPtr info = counted ? PodInfo::From(pod) : nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto a = assumed_.find(key);
  if (a != assumed_.end()) {
    if (a->second.pod->uid != uid) {
      DropAssumedLocked(key, "pod gone");
    } else if (!node.empty()) {
      DropAssumedLocked(key, nullptr);  // the informer shows the binding: counted from it now
    }
  }
  auto f = filed_.find(key);
  if (f != filed_.end() && (!counted || f->second.node != node)) UnfileLocked(key);
  if (!counted) return;
  filed_[key] = Filed{node, uid};
  nodes_by_name_[node].pods[key] = std::move(info);
  TouchLocked(node);
}

void Cache::OnPodDeleted(const ObjectPtr& pod) {
  std::string key = pod->Key();
  std::lock_guard<std::mutex> lock(mu_);
  auto f = filed_.find(key);
  if (f != filed_.end() && f->second.uid == pod->uid()) UnfileLocked(key);
  auto a = assumed_.find(key);
  if (a != assumed_.end() && a->second.pod->uid == pod->uid()) DropAssumedLocked(key, "pod gone");
}

void Cache::OnNode(const ObjectPtr& node) {
  std::string name = node->name();
  std::lock_guard<std::mutex> lock(mu_);
  NodeEntry& entry = nodes_by_name_[name];
  if (!entry.node) nodes_changed_ = true;
  entry.node = node;
  TouchLocked(name);
}

void Cache::OnNodeDeleted(const ObjectPtr& node) {
  std::string name = node->name();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_by_name_.find(name);
  if (it == nodes_by_name_.end() || !it->second.node) return;
  it->second.node = nullptr;
  nodes_changed_ = true;
  TouchLocked(name);
}

void Cache::ExpireLocked() {
  TimePoint now = clock_->Now();
  while (!expiry_.empty() && now >= expiry_.begin()->first) {
    std::string key = expiry_.begin()->second;
    DropAssumedLocked(key, "expired");
  }
}

void Cache::RefreshLocked() {
  ExpireLocked();
  if (nodes_changed_) {
    ++generation_;
    snapshot_.clear();
    slot_.clear();
    for (auto& [name, entry] : nodes_by_name_) {
      if (!entry.node) continue;  // pods bound to a node not (yet) seen are not placed
      slot_[name] = snapshot_.size();
      snapshot_.push_back(BuildLocked(entry));
    }
    slot_generation_.assign(snapshot_.size(), generation_);
    layout_generation_ = generation_;
    nodes_changed_ = false;
  } else if (!changed_.empty()) {
    ++generation_;
    for (const auto& name : changed_) {
      auto it = nodes_by_name_.find(name);
      auto slot = slot_.find(name);
      if (it != nodes_by_name_.end() && it->second.node && slot != slot_.end()) {
        snapshot_[slot->second] = BuildLocked(it->second);
        slot_generation_[slot->second] = generation_;
      }
    }
  }
  changed_.clear();
}

std::vector<NodeInfoPtr> Cache::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  return snapshot_;
}

void Cache::UpdateSnapshot(NodeSnapshot* snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
  if (snapshot->generation == generation_ && snapshot->nodes.size() == snapshot_.size()) return;
  if (snapshot->generation < layout_generation_ || snapshot->nodes.size() != snapshot_.size()) {
    snapshot->nodes = snapshot_;
  } else {
    for (size_t i = 0; i < snapshot_.size(); ++i)
      if (slot_generation_[i] > snapshot->generation) snapshot->nodes[i] = snapshot_[i];
  }
  snapshot->generation = generation_;
}

void Cache::Assume(PodInfoPtr pod, const std::string& node) {
  auto info = std::make_shared<PodInfo>(*pod);
  info->node_name = node;
  std::string key = info->key;
  std::lock_guard<std::mutex> lock(mu_);
  auto f = filed_.find(key);
  if (f != filed_.end() && f->second.uid == info->uid) return;  // already bound, and counted
  DropAssumedLocked(key, nullptr);
  TimePoint deadline = clock_->Now() + assumed_ttl_;
  assumed_[key] = Assumed{info, deadline};
  expiry_.emplace(deadline, key);
  nodes_by_name_[node].assumed.insert(key);
  TouchLocked(node);
}

void Cache::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  DropAssumedLocked(key, nullptr);
}

bool Cache::IsAssumed(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  return assumed_.count(key) > 0;
}

size_t Cache::assumed_count() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  return assumed_.size();
}

}  // namespace cattle::scheduler
