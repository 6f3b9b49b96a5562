// DeploymentController: rolls a Deployment's pod template out through ReplicaSets
// (Kubernetes' pkg/controller/deployment).
//
// Every pod template gets its own ReplicaSet, "<deployment>-<pod-template-hash>", whose
// selector, labels and template carry the label pod-template-hash; its annotations carry
// deployment.kubernetes.io/revision (the highest revision plus one when it becomes the new
// ReplicaSet, so a rollback — the template set back to an older one — reuses the old
// ReplicaSet and moves its revision to the top), desired-replicas and max-replicas.
//
// Sync(key) is level-triggered and idempotent. In order: claim ReplicaSets (adopt/release,
// as the ReplicaSet controller does for pods); a deleted Deployment only gets its status;
// Progressing becomes Unknown/DeploymentPaused (or DeploymentResumed); a paused Deployment
// or a change of spec.replicas only scales (proportionally across the active ReplicaSets
// during a rollout); otherwise the strategy runs:
// - RollingUpdate: scale the new ReplicaSet up within replicas + maxSurge pods, then scale
//   old ones down while available pods stay >= replicas - maxUnavailable, unhealthy old
//   pods first;
// - Recreate: scale old ReplicaSets to 0, wait until their pods are gone, then create or
//   scale the new one to replicas.
// A complete rollout deletes the oldest ReplicaSets without pods beyond
// revisionHistoryLimit. Status: replicas, updated/ready/available/unavailableReplicas,
// conditions Available (MinimumReplicasAvailable/Unavailable) and Progressing
// (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
// ProgressDeadlineExceeded after progressDeadlineSeconds without progress, time-scaled).
// Events: ScalingReplicaSet ("Scaled up replica set web-5d8f9 from 0 to 3").
//
// Deliberate differences from Kubernetes, each to keep its documented guarantees under a
// stale cache: the surge check counts an old ReplicaSet's pods as the larger of spec and
// status.replicas (pods it has not yet deleted still count), and old ReplicaSets are scaled
// down by at most what the spec-based "maxScaledDown" allows, counting an old ReplicaSet's
// available pods as at most its spec.replicas.
#pragma once

#include <memory>
#include <optional>
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

inline constexpr char kRevisionAnnotation[] = "deployment.kubernetes.io/revision";
inline constexpr char kRevisionHistoryAnnotation[] = "deployment.kubernetes.io/revision-history";
inline constexpr char kDesiredReplicasAnnotation[] = "deployment.kubernetes.io/desired-replicas";
inline constexpr char kMaxReplicasAnnotation[] = "deployment.kubernetes.io/max-replicas";

// An intstr.IntOrString value: an integer, or a string such as "25%".
struct IntOrString {
  std::optional<int32_t> int_value;  // set: an integer
  std::string str;                   // otherwise: a string
  static IntOrString Int(int32_t v) { return IntOrString{v, ""}; }
  static IntOrString Str(std::string s) { return IntOrString{std::nullopt, std::move(s)}; }
};
IntOrString IntOrStringFromApi(api::IntOrString::Reader v);

// intstr.GetScaledValueFromIntOrPercent: an integer as is; "N%" of `total`, rounded up or
// down. BadRequest for a string that is not a percentage.
Result<int32_t> ScaledValueFromIntOrPercent(const IntOrString& v, int32_t total, bool round_up);

struct Fenceposts {
  int32_t max_surge = 0;
  int32_t max_unavailable = 0;
};
// deploymentutil.ResolveFenceposts: maxSurge rounded up and maxUnavailable rounded down
// against `desired` (absent values are 0); if both come to 0, maxUnavailable is 1.
Result<Fenceposts> ResolveFenceposts(const std::optional<IntOrString>& max_surge,
                                     const std::optional<IntOrString>& max_unavailable,
                                     int32_t desired);

struct DeploymentControllerOptions {
  // Longest revision-history annotation kept on a ReplicaSet. Default: 2000 characters.
  size_t max_revision_history_chars = 2000;
};

class DeploymentController {
 public:
  // Registers handlers (and a namespace index) on the deployments, replicasets and pods
  // informers of `informers`; construct it before InformerFactory::Start(). Every pointer
  // must outlive the controller. `scale` shrinks progressDeadlineSeconds.
  DeploymentController(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                       Clock* clock, TimeScale scale, DeploymentControllerOptions options = {});
  ~DeploymentController();
  DeploymentController(const DeploymentController&) = delete;
  DeploymentController& operator=(const DeploymentController&) = delete;

  // Starts `workers` worker threads and returns; they wait for the informers' first list.
  void Run(int workers);
  // Stops the workers (joins them). Idempotent; the controller cannot be restarted.
  void Stop();

  // One reconciliation of the Deployment "ns/name", exactly as a worker runs it. For tests.
  Status Sync(const std::string& key);

  WorkQueue& queue() { return queue_; }

 private:
  friend class DeploymentSync;
  struct HandlerGuard {
    std::shared_mutex mu;
    DeploymentController* self = nullptr;
  };

  void OnReplicaSetAdd(const ObjectPtr& rs);
  void OnReplicaSetUpdate(const ObjectPtr& old_rs, const ObjectPtr& cur_rs);
  void OnReplicaSetDelete(const ObjectPtr& rs);
  void OnPodDelete(const ObjectPtr& pod);
  ObjectPtr ResolveControllerRef(const std::string& ns, const OwnerRef& ref) const;
  void EnqueueMatching(const Object& rs);

  ApiClient* client_;
  EventRecorder* recorder_;
  Clock* clock_;
  TimeScale scale_;
  DeploymentControllerOptions options_;
  const KindInfo* deploy_kind_;
  const KindInfo* rs_kind_;
  const KindInfo* pod_kind_;
  Informer* deployments_;
  Informer* replicasets_;
  Informer* pods_;
  WorkQueue queue_;
  QueueWorkers workers_;
  std::shared_ptr<HandlerGuard> guard_;
};

}  // namespace cattle::controllers
