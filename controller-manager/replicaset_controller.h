// ReplicaSetController: keeps spec.replicas active pods for every ReplicaSet
// (Kubernetes' pkg/controller/replicaset).
//
// Informer handlers only map pods and ReplicaSets to ReplicaSet keys ("ns/name") and lower
// the expectations the informer confirms; workers run Sync(key), which is level-triggered
// and idempotent: it reads the caches, claims pods (adopts matching orphans, releases owned
// pods that stopped matching), creates or deletes pods to close the gap — only when the
// expectations of earlier creates/deletes have been observed, so a slow watch never causes
// a double create or delete — and writes status. It never "heals" a pod: it only counts.
//
// Pods are created from spec.template with generateName "<rs>-" and a controller
// ownerReference, in slow-start batches (1, 2, 4, ...); surplus pods are deleted in
// Kubernetes' order (unassigned, pending, not ready, doubled-up on a node, recently ready,
// restarted more, newest first). Events: SuccessfulCreate, FailedCreate, SuccessfulDelete,
// FailedDelete.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/informer_factory.h"
#include "cattle/timescale.h"
#include "cattle/workqueue.h"
#include "controller-manager/controller_util.h"

namespace cattle::controllers {

struct ReplicaSetControllerOptions {
  // Most pods created or deleted in one sync. Default: 500 (Kubernetes' BurstReplicas).
  int burst_replicas = 500;
  // Expectations older than this are ignored. Default: 5 minutes (before the time scale).
  Duration expectations_timeout = std::chrono::minutes(5);
};

class ReplicaSetController {
 public:
  // Registers handlers (and a namespace index) on the pods and replicasets informers of
  // `informers`, so it must be constructed before InformerFactory::Start(). Every pointer
  // must outlive the controller. `scale` shrinks the expectations timeout and
  // minReadySeconds.
  ReplicaSetController(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                       Clock* clock, TimeScale scale, ReplicaSetControllerOptions options = {});
  ~ReplicaSetController();
  ReplicaSetController(const ReplicaSetController&) = delete;
  ReplicaSetController& operator=(const ReplicaSetController&) = delete;

  // Starts `workers` worker threads and returns. Workers wait until both informers have
  // listed once before they sync anything.
  void Run(int workers);
  // Stops the workers (joins them). Idempotent; the controller cannot be restarted.
  void Stop();

  // One reconciliation of the ReplicaSet "ns/name", exactly as a worker runs it. An error
  // means "retry later" (workers requeue the key with rate limiting). For tests.
  Status Sync(const std::string& key);

  const ControllerExpectations& expectations() const { return expectations_; }
  WorkQueue& queue() { return queue_; }

 private:
  void OnPodAdd(const ObjectPtr& pod);
  void OnPodUpdate(const ObjectPtr& old_pod, const ObjectPtr& cur_pod);
  void OnPodDelete(const ObjectPtr& pod);
  void OnReplicaSetUpdate(const ObjectPtr& old_rs, const ObjectPtr& cur_rs);
  void OnReplicaSetDelete(const ObjectPtr& rs);
  // The ReplicaSet `ref` names, if it exists in the cache with that UID.
  ObjectPtr ResolveControllerRef(const std::string& ns, const OwnerRef& ref) const;
  // Every ReplicaSet whose selector matches the (orphan) pod's labels.
  std::vector<ObjectPtr> ReplicaSetsForPod(const Object& pod) const;
  void EnqueueMatching(const Object& pod);

  Status ManageReplicas(const std::vector<ObjectPtr>& pods, const Object& rs,
                        const std::string& key);
  Status CreatePod(const Object& rs);
  Status DeletePod(const Object& rs, const Object& pod);
  // Pods controlled by ReplicaSets that share this ReplicaSet's controller (for ranking).
  std::vector<ObjectPtr> IndirectlyRelatedPods(const Object& rs) const;
  // Writes status (if it changed) as of wall time `now`, retrying once on a conflict.
  Status UpdateStatus(const Object& rs, const std::vector<ObjectPtr>& pods,
                      const Status& manage_error, int64_t now, ObjectPtr* updated);

  // Lets handlers outlive the controller: they run under `mu` and do nothing once `self`
  // is cleared by the destructor.
  struct HandlerGuard {
    std::shared_mutex mu;
    ReplicaSetController* self = nullptr;
  };

  InformerFactory* informers_;
  ApiClient* client_;
  EventRecorder* recorder_;
  Clock* clock_;
  TimeScale scale_;
  ReplicaSetControllerOptions options_;
  const KindInfo* pod_kind_;
  const KindInfo* rs_kind_;
  Informer* pods_;
  Informer* replicasets_;
  ControllerExpectations expectations_;
  WorkQueue queue_;
  QueueWorkers workers_;
  std::shared_ptr<HandlerGuard> guard_;
};

// Kubernetes' getPodsToDelete: the `n` pods of `pods` to delete first — unassigned before
// assigned, Pending before Unknown before Running, not ready before ready, lower
// controller.kubernetes.io/pod-deletion-cost first, more pods of `related` on the same
// node first, ready for less time first, more container restarts first, newer first.
// `pods` and `related` are active pods.
std::vector<ObjectPtr> PodsToDelete(const std::vector<ObjectPtr>& pods,
                                    const std::vector<ObjectPtr>& related, int n);

}  // namespace cattle::controllers
