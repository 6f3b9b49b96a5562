#include "scheduler/cache.h"

#include <algorithm>
#include <unordered_set>

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
    : pods_(pods), nodes_(nodes), clock_(clock), assumed_ttl_(assumed_ttl) {}

PodInfoPtr Cache::InfoLocked(const ObjectPtr& pod) {
  std::string uid = pod->uid();
  int64_t rv = pod->resource_version();
  auto it = infos_.find(uid);
  if (it != infos_.end() && it->second.first == rv && it->second.second->pod == pod)
    return it->second.second;
  PodInfoPtr info = PodInfo::From(pod);
  infos_[uid] = {rv, info};
  return info;
}

void Cache::ExpireLocked() {
  TimePoint now = clock_->Now();
  for (auto it = assumed_.begin(); it != assumed_.end();) {
    ObjectPtr current = pods_->Get(it->first);
    const char* why = nullptr;  // logged when set
    bool drop = true;
    if (!current || current->uid() != it->second.pod->uid) {
      why = "pod gone";
    } else if (current->get<api::Pod>().getSpec().getNodeName().size() > 0) {
      // The informer shows the binding: the pod is counted from it now.
    } else if (now >= it->second.deadline) {
      why = "expired";
    } else {
      drop = false;
    }
    if (why) {
      CATTLE_LOG(INFO) << "forgetting assumed pod" << kv("pod", it->first)
                       << kv("node", it->second.pod->node_name) << kv("reason", why);
    }
    it = drop ? assumed_.erase(it) : std::next(it);
  }
}

std::vector<NodeInfoPtr> Cache::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  ExpireLocked();
  std::vector<NodeInfoPtr> nodes;
  std::map<std::string, NodeInfo*> by_name;
  for (const auto& n : nodes_->List()) nodes.push_back(std::make_shared<NodeInfo>(n));
  std::sort(nodes.begin(), nodes.end(),
            [](const NodeInfoPtr& a, const NodeInfoPtr& b) { return a->name() < b->name(); });
  std::unordered_set<std::string> seen;
  for (auto& node : nodes) {
    by_name[node->name()] = node.get();
    for (const auto& pod : pods_->ByIndex(kPodNodeNameIndex, node->name())) {
      if (Terminal(*pod)) continue;
      auto info = InfoLocked(pod);
      seen.insert(info->uid);
      node->AddPod(std::move(info));
    }
  }
  for (const auto& [key, a] : assumed_) {
    auto it = by_name.find(a.pod->node_name);
    if (it != by_name.end()) it->second->AddPod(a.pod);
  }
  // Keep parsed pods only while they are bound somewhere.
  for (auto it = infos_.begin(); it != infos_.end();)
    it = seen.count(it->first) ? std::next(it) : infos_.erase(it);
  return nodes;
}

void Cache::Assume(PodInfoPtr pod, const std::string& node) {
  auto info = std::make_shared<PodInfo>(*pod);
  info->node_name = node;
  std::string key = info->key;
  std::lock_guard<std::mutex> lock(mu_);
  assumed_[key] = Assumed{std::move(info), clock_->Now() + assumed_ttl_};
}

void Cache::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  assumed_.erase(key);
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
