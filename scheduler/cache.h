// Cache: what each scheduling cycle works on — every node with the pods bound to it — kept
// up to date incrementally from the shared informers' events (Kubernetes' scheduler cache),
// plus Kubernetes' "assumed" pods: a pod the scheduler has just bound counts on its node at
// once, before the informer shows the binding, so a burst of pods does not overcommit a
// node. An assumption is forgotten when the informer shows the pod bound (it is then
// counted from the informer), deleted or replaced (another uid), or `assumed_ttl` after it
// was made.
//
// A node's NodeInfo is rebuilt only when the node, one of its pods or an assumption on it
// changed; a snapshot costs one pointer per node otherwise. With thousands of nodes and
// pods, that keeps a cycle's cost independent of the number of bound pods.
//
// Pods in phase Succeeded or Failed hold no resources and are left out, as the scheduler's
// informer in Kubernetes filters them.
//
// Thread-safety: every method may be called from any thread (one mutex); the informers'
// handlers update it on their threads.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cattle/informer.h"
#include "scheduler/types.h"

namespace cattle::scheduler {

// The name of the pod informer's index on spec.nodeName (unassigned pods are not filed).
inline constexpr char kPodNodeNameIndex[] = "spec.nodeName";
// The IndexFunc to register under kPodNodeNameIndex.
std::vector<std::string> PodNodeNameIndex(const Object& pod);

// A scheduling cycle's view of the nodes, owned by one caller and brought up to date by
// Cache::UpdateSnapshot, which replaces only the nodes that changed since its last call
// (Kubernetes' Snapshot and UpdateSnapshot): a cycle costs no copy of the node list.
struct NodeSnapshot {
  std::vector<NodeInfoPtr> nodes;  // ordered by node name
  uint64_t generation = 0;         // the cache's generation it reflects
};

class Cache {
 public:
  // Registers handlers on both informers (which may already be running: their current
  // objects are then replayed). The informers must outlive the cache, and the cache must
  // not be destroyed while they run (their handlers point at it).
  Cache(Informer* pods, Informer* nodes, Clock* clock, Duration assumed_ttl);

  // The current nodes, each with its bound and assumed pods, ordered by node name. The
  // NodeInfos are shared with the cache and later snapshots and never change once handed
  // out: callers must not modify them (copy one to change it).
  std::vector<NodeInfoPtr> Snapshot();
  // Brings `snapshot` (an empty one, or one this cache updated before) up to date: the
  // same nodes as Snapshot(), replacing only what changed since its generation.
  void UpdateSnapshot(NodeSnapshot* snapshot);

  // Counts `pod` on `node` until the informer catches up (see above).
  void Assume(PodInfoPtr pod, const std::string& node);
  // Drops the assumption for `key` (e.g. the binding failed).
  void Forget(const std::string& key);
  bool IsAssumed(const std::string& key);
  size_t assumed_count();

 private:
  struct Assumed {
    PodInfoPtr pod;  // node_name is the assumed node
    TimePoint deadline;
  };
  struct NodeEntry {
    ObjectPtr node;                           // null while only pods name this node
    std::map<std::string, PodInfoPtr> pods;   // bound (informer), not terminal, by key
    std::set<std::string> assumed;            // keys in assumed_ on this node
    NodeInfoPtr info;                         // built on demand; null when stale
  };
  struct Filed {
    std::string node, uid;
  };

  void OnPod(const ObjectPtr& pod);         // added or updated
  void OnPodDeleted(const ObjectPtr& pod);
  void OnNode(const ObjectPtr& node);       // added or updated
  void OnNodeDeleted(const ObjectPtr& node);
  // Removes `key` from the pods of the node it was filed under.  REQUIRES(mu_)
  void UnfileLocked(const std::string& key);
  // Drops the assumption for `key`, logging `why` when set.  REQUIRES(mu_)
  void DropAssumedLocked(const std::string& key, const char* why);
  // Drops assumptions whose TTL passed.  REQUIRES(mu_)
  void ExpireLocked();
  // Marks a node's NodeInfo stale; drops the entry once nothing refers to it.  REQUIRES(mu_)
  void TouchLocked(const std::string& node);
  // The entry's NodeInfo, built if stale.  REQUIRES(mu_)
  NodeInfoPtr BuildLocked(NodeEntry& entry);
  // Brings snapshot_ up to date, advancing generation_ if anything changed.  REQUIRES(mu_)
  void RefreshLocked();

  Informer* const pods_;
  Informer* const nodes_;
  Clock* const clock_;
  const Duration assumed_ttl_;

  std::mutex mu_;
  std::map<std::string, NodeEntry> nodes_by_name_;     // GUARDED_BY(mu_)
  std::unordered_map<std::string, Filed> filed_;       // GUARDED_BY(mu_): pod key -> where filed
  std::map<std::string, Assumed> assumed_;             // GUARDED_BY(mu_), by pod key
  std::set<std::pair<TimePoint, std::string>> expiry_; // GUARDED_BY(mu_): assumed_ by deadline
  // The last snapshot; its slots (by node name) are replaced as nodes change, and it is
  // rebuilt when nodes come or go.
  std::vector<NodeInfoPtr> snapshot_;                  // GUARDED_BY(mu_)
  std::unordered_map<std::string, size_t> slot_;       // GUARDED_BY(mu_)
  // Advanced by every refresh that changed snapshot_; a slot's entry says when it last
  // changed, and layout_generation_ when snapshot_ was last rebuilt whole.
  uint64_t generation_ = 0;                            // GUARDED_BY(mu_)
  uint64_t layout_generation_ = 0;                     // GUARDED_BY(mu_)
  std::vector<uint64_t> slot_generation_;              // GUARDED_BY(mu_)
  std::unordered_set<std::string> changed_;            // GUARDED_BY(mu_): nodes to rebuild
  bool nodes_changed_ = true;                          // GUARDED_BY(mu_): a node came or went
};

}  // namespace cattle::scheduler
