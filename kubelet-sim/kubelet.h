// Kubelet: one simulated node. It registers its Node, renews its Lease and posts node status
// (a heartbeat thread), watches the pods bound to it (an informer with the field selector
// spec.nodeName=<node>) and runs one PodWorker per pod UID through a work queue, so a pod
// is never handled by two threads at once and never runs twice.
//
//   informer ──handlers (map to UID, enqueue)──▶ WorkQueue ──workers──▶ PodWorker::Sync
//                                                  ▲  AddAfter(wake_at): timers, back-offs
//
// Start() returns at once; registration is retried in the background until it succeeds,
// then the pod machinery starts (after the pod informer has listed once and every IP the
// API shows is reserved, so a restarted kubelet never hands out an IP twice).
//
// Many Kubelets may share one process (hollow mode), one ApiClient and one clock; each
// needs its own ContainerRuntime (a node's containers and images).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/workqueue.h"
#include "kubelet-sim/container_runtime.h"
#include "kubelet-sim/ip_allocator.h"
#include "kubelet-sim/node_lease.h"
#include "kubelet-sim/node_status.h"
#include "kubelet-sim/options.h"
#include "kubelet-sim/pod_worker.h"

namespace cattle::kubelet {

class Kubelet {
 public:
  // `recorder` may be null (no events). Every pointer must outlive the Kubelet.
  // `shared_pods`: hollow mode's one informer of the pods bound to any node (field selector
  // spec.nodeName!=) for every Kubelet of the process — one watch instead of one per node.
  // The Kubelet reads it but registers no handlers on it: the caller hands the events of
  // this node's pods to PodHandlers() (main() routes them by spec.nodeName), and stops it
  // before the Kubelet is destroyed. Null: the Kubelet watches its own node's pods.
  Kubelet(ApiClient* client, Clock* clock, ContainerRuntime* runtime, EventRecorder* recorder,
          KubeletOptions options, Informer* shared_pods = nullptr);
  // Stop()s. Simulated containers end with the process; the API keeps the pods' status,
  // from which a new Kubelet for the same node adopts them.
  ~Kubelet();
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  // Starts the heartbeat thread (registration, then Lease and node status) which then starts
  // the pod informer and workers. Call once.
  void Start();
  // Stops every thread; idempotent. Containers are not stopped (see the destructor).
  void Stop();

  // What the pod informer's events for this node's pods do (see the constructor). May be
  // called before Start().
  EventHandlers PodHandlers();

  const KubeletOptions& options() const { return options_; }
  // Whether the Node is registered and the pod workers run (for tests and health).
  bool running() const { return pods_started_.load(); }
  // The node's pod CIDR, once registered.
  std::string pod_cidr() const;
  // The number of pods with a worker (for tests).
  size_t pod_worker_count() const;
  // The number of pod syncs so far (for tests).
  int64_t pod_syncs() const { return pod_syncs_.load(); }
  // The output of a container of a pod on this node, for `kubectl logs` (see
  // PodWorker::Log for which instance and the errors). NotFound `pods "p" not found` when
  // no pod of that name (and, when `pod_uid` is not empty, that UID) runs here.
  // Thread-safe.
  Result<std::shared_ptr<ContainerLog>> OpenContainerLog(const std::string& ns, const std::string& pod,
                                                         const std::string& pod_uid, const std::string& container,
                                                         bool previous) const;
  // The same output as lines of text.
  Result<std::vector<std::string>> ContainerLogs(const std::string& ns, const std::string& pod,
                                                 const std::string& container, bool previous) const;

 private:
  void HeartbeatLoop();
  // Waits on the clock until `deadline` or Stop(); false once stopping.
  bool SleepUntil(TimePoint deadline);
  void StartPods();
  void WorkerLoop();
  void SyncPod(const std::string& uid);
  void Track(const ObjectPtr& pod);
  void Untrack(const ObjectPtr& pod);
  // Whether the pod is bound to this node.
  bool Mine(const ObjectPtr& pod) const;
  // Whether the update before → pod is only the watch event of our own status write.
  bool IsEchoOfOwnStatus(const Object& before, const Object& pod);

  std::atomic<int64_t> pod_syncs_{0};
  ApiClient* client_;
  Clock* clock_;
  ContainerRuntime* runtime_;
  EventRecorder* recorder_;
  KubeletOptions options_;
  PodIpAllocator ips_;
  NodeStatusManager node_status_;  // heartbeat thread only
  NodeLeaseController lease_;      // heartbeat thread only
  PodWorkerEnv env_;
  WorkQueue queue_;

  mutable std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool stopping_ = false;          // GUARDED_BY(hb_mu_)
  std::atomic<bool> pods_started_{false};
  std::string pod_cidr_;           // GUARDED_BY(hb_mu_)

  mutable std::mutex workers_mu_;
  std::map<std::string, std::unique_ptr<PodWorker>> workers_;  // GUARDED_BY(workers_mu_): by UID
  // UIDs whose worker finished (the pod was deleted by us) but whose DELETED event has not
  // arrived yet: later updates of them must not start a new worker.
  std::unordered_set<std::string> finished_;                   // GUARDED_BY(workers_mu_)

  std::unique_ptr<Informer> informer_;  // own: created by the heartbeat thread before workers start
  Informer* pods_;                      // informer_ or the shared one; set before workers start
  std::vector<std::thread> worker_threads_;
  std::thread heartbeat_thread_;
};

// Hollow mode's router: the events of one informer of every bound pod (spec.nodeName!=),
// handed to the PodHandlers() of the Kubelet of each pod's node, found by spec.nodeName
// (set once: a pod never moves). Add every Kubelet before the informer starts; the router
// and the Kubelets must outlive the informer's run.
class PodRouter {
 public:
  void Add(Kubelet* kubelet) { routes_[kubelet->options().node_name] = kubelet->PodHandlers(); }
  // The handlers to register on the shared informer.
  EventHandlers Handlers();

 private:
  EventHandlers* Route(const ObjectPtr& pod);
  std::unordered_map<std::string, EventHandlers> routes_;  // by node; not changed once started
};

}  // namespace cattle::kubelet
