// NodeLifecycleController and TaintEvictionController: what Kubernetes does when a kubelet
// stops reporting (pkg/controller/nodelifecycle and pkg/controller/tainteviction).
//
// NodeLifecycleController, every node-monitor-period:
// - A node is healthy while its kubelet reports: the controller notes, on its own clock, when
//   it last saw the node's Lease (kube-node-lease/NODE) renewTime or the Ready condition's
//   lastHeartbeatTime change. A restarted controller therefore gives every node a fresh grace
//   period, and clock skew between processes does not matter. A node that never posted a
//   Ready condition is measured from its creationTimestamp with node-startup-grace-period.
// - Past node-monitor-grace-period, Ready, MemoryPressure, DiskPressure and PIDPressure become
//   Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node status."; or
//   NodeStatusNeverUpdated) through the status subresource, the event NodeNotReady is
//   recorded on the node and the Ready condition of its pods is set to False.
// - A node whose Ready is Unknown gets node.kubernetes.io/unreachable:NoExecute, one whose
//   kubelet reports Ready=False gets node.kubernetes.io/not-ready:NoExecute (timeAdded set);
//   swapping one for the other is immediate, adding one goes through a per-zone rate limiter
//   (0.1 nodes/s; 0.01 or stopped when more than 55 % of a zone's nodes — at least 3 — are
//   not ready; none at all and existing ones removed when every zone is fully disrupted, as
//   Kubernetes assumes the control plane's network is at fault then). Ready=True removes
//   both taints.
// - On every node event (a queue, as Kubernetes' doNoScheduleTaintingPass): the NoSchedule
//   taints that mirror conditions (not-ready, unreachable, memory-pressure, disk-pressure,
//   pid-pressure, network-unavailable) and spec.unschedulable (unschedulable) are reconciled.
// - On pod events: a pod bound to a node that is not Ready gets Ready=False.
// - Events: RegisteredNode, RemovingNode, NodeNotReady (node), NodeNotReady (pods).
//
// TaintEvictionController: a pod on a node with NoExecute taints is deleted at once when it
// does not tolerate one of them; when it tolerates all of them, at the earliest
// timeAdded + tolerationSeconds over the taints (scaled; a toleration without
// tolerationSeconds tolerates forever). Before deleting it adds the pod condition
// DisruptionTarget (reason DeletionByTaintManager) and records TaintManagerEviction
// "Marking for deletion Pod NS/NAME"; a scheduled deletion that the taint's removal cancels
// records "Cancelling deletion of Pod NS/NAME". The pod is deleted gracefully: it stays
// Terminating until its kubelet confirms (or the pod GC removes it when the node is gone).
//
// Both: construct (registers informer handlers, so before InformerFactory::Start), Run
// (non-blocking; work begins once the informers have synced), Stop (joins every thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/informer_factory.h"
#include "cattle/timescale.h"
#include "cattle/workqueue.h"

namespace cattle::controllers {

// Kubernetes' taint keys set by the node lifecycle controller.
inline constexpr const char* kTaintNodeNotReady = "node.kubernetes.io/not-ready";
inline constexpr const char* kTaintNodeUnreachable = "node.kubernetes.io/unreachable";
inline constexpr const char* kTaintNodeUnschedulable = "node.kubernetes.io/unschedulable";
// The namespace of kubelets' node leases.
inline constexpr const char* kNodeLeaseNamespace = "kube-node-lease";

// Durations are Kubernetes' (time scale 1); the controller divides them by its TimeScale.
struct NodeLifecycleOptions {
  Duration node_monitor_period = std::chrono::seconds(5);         // Default: 5 s
  Duration node_monitor_grace_period = std::chrono::seconds(50);  // Default: 50 s (1.32+)
  Duration node_startup_grace_period = std::chrono::seconds(60);  // Default: 60 s
  // NoExecute taints added per second in a healthy zone. Default: 0.1 (Kubernetes').
  double eviction_limiter_qps = 0.1;
  // ... in a partially disrupted zone larger than large_cluster_size_threshold. Default: 0.01.
  double secondary_eviction_limiter_qps = 0.01;
  int large_cluster_size_threshold = 50;  // Default: 50
  double unhealthy_zone_threshold = 0.55;  // Default: 0.55
};

class NodeLifecycleController {
 public:
  // `recorder` (component "node-controller") may be null. Every pointer must outlive the
  // controller.
  NodeLifecycleController(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                          Clock* clock, TimeScale scale, NodeLifecycleOptions options = {});
  ~NodeLifecycleController();
  NodeLifecycleController(const NodeLifecycleController&) = delete;
  NodeLifecycleController& operator=(const NodeLifecycleController&) = delete;

  // Starts the monitor thread and `workers` workers for node and pod events. Non-blocking.
  void Run(int workers);
  // Stops and joins every thread. Idempotent.
  void Stop();

  // Completed node-health passes (for tests: a pass's writes are done when it counts).
  int64_t monitor_passes() const { return passes_.load(); }

 private:
  struct NodeHealth {
    TimePoint probe;             // when the kubelet was last seen reporting (our clock)
    TimePoint ready_transition;  // when the Ready status last changed (our clock)
    bool had_ready = false;
    std::string ready_status;
    std::string heartbeat;       // Ready.lastHeartbeatTime as last seen
    bool has_lease = false;
    int64_t lease_renew = 0;     // lease renewTime as last seen (wall nanos)
  };
  // The outcome of TryUpdateNodeHealth.
  struct HealthResult {
    bool has_ready = false;        // the node (now) has a Ready condition
    std::string observed;          // Ready status as the kubelet left it ("Unknown" if none)
    std::string current;           // Ready status after this pass ("" if none)
    ObjectPtr node;                // the node as now stored (after our status write)
  };
  struct Zone {
    std::string state = "Initial";  // Initial, Normal, PartialDisruption, FullDisruption
    double qps = 0;
    TimePoint next_allowed{};       // rate limiter: the next NoExecute taint may go then
    std::vector<std::string> pending;  // nodes waiting for a NoExecute taint, FIFO
  };

  void MonitorLoop();
  void MonitorNodeHealth();
  HealthResult TryUpdateNodeHealth(const ObjectPtr& node);
  Status MarkPodsNotReady(const std::string& node_name, const std::vector<ObjectPtr>& pods);
  void HandleDisruption(const std::map<std::string, std::pair<int, int>>& zone_counts,
                        const std::vector<ObjectPtr>& nodes);
  void ProcessTaintBaseEviction(const ObjectPtr& node, const std::string& ready_status);
  void DoNoExecuteTaintingPass();
  // Adds `add` (key/effect NoExecute, timeAdded now) and removes `remove` on node `name`,
  // starting from `hint` (else the cache) and retrying on conflict with a fresh read. `add`
  // may be empty.
  Status SwapNoExecuteTaint(const std::string& name, ObjectPtr hint, const std::string& add,
                            const std::vector<std::string>& remove);
  void WorkerLoop();
  Status SyncNoScheduleTaints(const std::string& name);
  Status ProcessPod(const std::string& key);
  double ZoneQps(const std::string& state, int zone_size) const;

  InformerFactory* informers_;
  ApiClient* client_;
  EventRecorder* recorder_;
  Clock* clock_;
  TimeScale scale_;
  NodeLifecycleOptions options_;
  const KindInfo* nodes_kind_;
  const KindInfo* pods_kind_;
  Informer* nodes_;
  Informer* pods_;
  Informer* leases_;
  WorkQueue queue_;  // "node:NAME" (NoSchedule taints) and "pod:NS/NAME" (mark not ready)

  std::mutex mu_;
  std::condition_variable cv_;  // the monitor thread's wait (stop or next period)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
  std::map<std::string, NodeHealth> health_;    // GUARDED_BY(mu_)
  // Monitor thread only:
  std::set<std::string> known_nodes_;
  std::set<std::string> nodes_to_retry_;
  std::map<std::string, Zone> zones_;
  std::map<std::string, std::string> node_zone_;
  // This pass's nodes (as written) and Ready statuses.
  std::map<std::string, std::pair<ObjectPtr, std::string>> pass_nodes_;
  bool all_were_fully_disrupted_ = true;

  std::atomic<int64_t> passes_{0};
  std::thread monitor_;
  std::vector<std::thread> workers_;
};

class TaintEvictionController {
 public:
  // `recorder` (component "taint-eviction-controller") may be null.
  TaintEvictionController(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                          Clock* clock, TimeScale scale);
  ~TaintEvictionController();
  TaintEvictionController(const TaintEvictionController&) = delete;
  TaintEvictionController& operator=(const TaintEvictionController&) = delete;

  void Run(int workers);
  void Stop();

 private:
  void WorkerLoop();
  Status Sync(const std::string& pod_key);
  void EnqueuePodsOnNode(const std::string& node);
  void Cancel(const std::string& pod_key, const ObjectPtr& pod);
  Status Evict(const Object& pod);

  InformerFactory* informers_;
  ApiClient* client_;
  EventRecorder* recorder_;
  Clock* clock_;
  TimeScale scale_;
  const KindInfo* pods_kind_;
  Informer* nodes_;
  Informer* pods_;
  WorkQueue queue_;

  std::mutex mu_;
  bool stopping_ = false;
  std::map<std::string, int64_t> scheduled_;  // GUARDED_BY(mu_): pod key -> deadline (wall)
  // GUARDED_BY(mu_): "node|key|effect" -> when first seen, for taints without timeAdded.
  std::map<std::string, int64_t> taint_seen_;
  std::vector<std::thread> workers_;
};

}  // namespace cattle::controllers
