// Cache: builds the snapshot each scheduling cycle works on — every node with the pods
// bound to it (from the shared informers, found through an index on spec.nodeName) — and
// keeps Kubernetes' "assumed" pods: a pod the scheduler has just bound counts on its node
// at once, before the informer shows the binding, so a burst of pods does not overcommit
// a node. An assumption is forgotten when the informer shows the pod bound (it is then
// counted from the informer), deleted or replaced (another uid), or `assumed_ttl` after
// it was made.
//
// Pods in phase Succeeded or Failed hold no resources and are left out, as the scheduler's
// informer in Kubernetes filters them.
//
// Thread-safety: every method may be called from any thread (one mutex); in the scheduler
// only the scheduling thread writes.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cattle/informer.h"
#include "scheduler/types.h"

namespace cattle::scheduler {

// The name of the pod informer's index on spec.nodeName (unassigned pods are not filed).
inline constexpr char kPodNodeNameIndex[] = "spec.nodeName";
// The IndexFunc to register under kPodNodeNameIndex.
std::vector<std::string> PodNodeNameIndex(const Object& pod);

class Cache {
 public:
  // The informers must carry kPodNodeNameIndex (pods) and outlive the cache.
  Cache(Informer* pods, Informer* nodes, Clock* clock, Duration assumed_ttl);

  // The current nodes, each with its bound and assumed pods, ordered by node name.
  std::vector<NodeInfoPtr> Snapshot();

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
  // Drops assumptions the informer has made unnecessary or that expired.  REQUIRES(mu_)
  void ExpireLocked();
  // A PodInfo for this object, reused while its resourceVersion is unchanged.  REQUIRES(mu_)
  PodInfoPtr InfoLocked(const ObjectPtr& pod);

  Informer* const pods_;
  Informer* const nodes_;
  Clock* const clock_;
  const Duration assumed_ttl_;

  std::mutex mu_;
  std::map<std::string, Assumed> assumed_;  // GUARDED_BY(mu_), by pod key
  // Parsed pods by uid, with the resourceVersion they were parsed at.
  std::unordered_map<std::string, std::pair<int64_t, PodInfoPtr>> infos_;  // GUARDED_BY(mu_)
};

}  // namespace cattle::scheduler
