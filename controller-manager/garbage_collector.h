// GarbageCollector: Kubernetes' ownerReferences cascade (pkg/controller/garbagecollector).
//
// Every monitored kind (all stored kinds but Events) is watched through the shared
// informers; a graph maps each owner uid to its dependents. Two queues, as in Kubernetes:
//
// attemptToDelete (an object uid): re-reads the object live; then
// - if it is deleting its dependents (deletionTimestamp and finalizer foregroundDeletion):
//   once no dependent with blockOwnerDeletion=true remains in the graph, the finalizer is
//   removed (so the registry deletes the object); until then its blocking dependents are
//   queued (all its dependents were queued when the deletion began);
// - otherwise each owner reference is classified: solid (the owner exists — known to the
//   graph, or a live Get by name returns the same uid), dangling (absent, or another uid),
//   or waiting (the owner exists and is deleting its dependents in the foreground).
//   Solid owners keep the object; dangling and waiting references are then removed from it.
//   Without solid owners it is deleted (uid precondition): in the foreground when an owner
//   waits and the object has dependents of its own, else with the propagation its own
//   finalizers ask for (orphan, foregroundDeletion, or background).
//
// attemptToOrphan (an owner uid with deletionTimestamp and finalizer orphan): removes the
// references to it from every dependent, then the finalizer.
//
// Objects are queued when they are added with owners, when their owner references change,
// when an owner disappears (its dependents), when an owner begins foreground deletion (it and
// its dependents), and when a dependent of an owner deleting in the foreground disappears
// (the owner). Workers begin once every monitored informer has synced.
// Events (component "garbage-collector-controller"): OwnerRefInvalidNamespace.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/informer_factory.h"
#include "cattle/timescale.h"
#include "cattle/workqueue.h"

namespace cattle::controllers {

struct GarbageCollectorOptions {
  // Resources not monitored ("plural" or "plural.group"). Default: events, as Kubernetes'
  // default ignored resources.
  std::vector<std::string> ignored_resources = {"events", "events.events.k8s.io"};
};

class GarbageCollector {
 public:
  // `recorder` may be null. Every pointer must outlive the collector.
  GarbageCollector(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                   Clock* clock, TimeScale scale, GarbageCollectorOptions options = {});
  ~GarbageCollector();
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

  // Starts `workers` attemptToDelete workers and `workers` attemptToOrphan workers (at
  // least one each); they wait for the informers to sync. Non-blocking.
  void Run(int workers);
  // Stops and joins every thread. Idempotent.
  void Stop();

  // True once every monitored informer has synced and the workers run (for tests).
  bool Synced() const;

 private:
  struct OwnerRef {
    std::string uid, api_version, kind, name;
    bool block = false;
  };
  // One object in the graph.
  struct Node {
    const KindInfo* kind = nullptr;
    std::string ns, name, uid;
    std::vector<OwnerRef> owners;
    bool being_deleted = false;
    bool deleting_dependents = false;  // deletionTimestamp + foregroundDeletion
    bool orphaning = false;            // deletionTimestamp + orphan
  };
  enum class OwnerState { kSolid, kDangling, kWaiting };

  void OnUpsert(const KindInfo* kind, const ObjectPtr& obj);
  void OnDelete(const ObjectPtr& obj);
  void RemoveNodeLocked(const std::string& uid);  // REQUIRES(mu_)
  void WorkerLoop(WorkQueue* queue, bool orphan);
  Status AttemptToDelete(const std::string& uid);
  Status ProcessDeletingDependents(const Node& node);
  Status AttemptToOrphan(const std::string& uid);
  Result<OwnerState> Classify(const Node& dependent, const OwnerRef& ref);
  // Removes `finalizer` from the object (live read, retried on conflict).
  Status RemoveFinalizer(const Node& node, const std::string& finalizer);
  // Removes the owner references with these uids from the object (live read, retried).
  Status RemoveOwnerRefs(const Node& node, const std::set<std::string>& owner_uids);
  Status UnblockOwnerRefs(const Node& node, const std::set<std::string>& owner_uids);
  Status DeleteObject(const Node& node, const std::string& propagation);
  bool WaitForSync();

  InformerFactory* informers_;
  ApiClient* client_;
  EventRecorder* recorder_;
  Clock* clock_;
  GarbageCollectorOptions options_;
  std::vector<Informer*> monitored_;
  WorkQueue attempt_to_delete_;
  WorkQueue attempt_to_orphan_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, Node> graph_;                             // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::set<std::string>> dependents_;       // GUARDED_BY(mu_)
  std::unordered_set<std::string> absent_owners_;                           // GUARDED_BY(mu_)
  bool synced_ = false;                                                     // GUARDED_BY(mu_)
  bool stopping_ = false;                                                   // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};

}  // namespace cattle::controllers
