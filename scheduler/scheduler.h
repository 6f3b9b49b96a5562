// Scheduler: assigns pending pods to nodes, one scheduling cycle at a time, as
// kube-scheduler does.
//
// Pods to schedule: spec.nodeName empty, spec.schedulerName "default-scheduler" (or the
// configured name, or empty), not being deleted, no scheduling gates. The informers'
// handlers only feed the SchedulingQueue (see scheduling_queue.h for back-off and
// requeueing on cluster events). Each cycle pops one pod, re-reads it from the informer
// cache, takes a snapshot of the nodes and the pods on them (Cache), runs the Framework's
// filters and scores and assumes the pod on the chosen node. Binding it through the
// pods/binding subresource is the binding cycle, which runs on a pool of binder threads
// (Kubernetes binds in a goroutine per pod): the next pod is scheduled meanwhile, counting
// the assumed one, so the apiserver's round trip does not limit the scheduling rate.
//
// On success: Event Normal "Scheduled" "Successfully assigned <ns>/<name> to <node>" (the
// binding itself sets condition PodScheduled=True).
// On failure: Event Warning "FailedScheduling" with Kubernetes' message (e.g. "0/3 nodes
// are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption
// victims found for incoming pod."), condition PodScheduled=False with reason
// Unschedulable (or SchedulerError when the attempt itself failed, e.g. the binding) and
// the same message, written as a strategic merge patch of the status subresource (only
// when it changes), and the pod goes back to the queue with back-off.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer_factory.h"
#include "cattle/timescale.h"
#include "scheduler/cache.h"
#include "scheduler/framework.h"
#include "scheduler/scheduling_queue.h"

namespace cattle::scheduler {

struct SchedulerOptions {
  // spec.schedulerName this scheduler serves (pods with an empty one too).
  // Default: "default-scheduler".
  std::string scheduler_name = "default-scheduler";
  // Back-off of a pod that failed to schedule, doubling per attempt.
  // Default: 1 s to 10 s (Kubernetes' podInitialBackoff / podMaxBackoff).
  Duration pod_initial_backoff = std::chrono::seconds(1);
  Duration pod_max_backoff = std::chrono::seconds(10);
  // How long a bound pod is counted on its node while the informer has not shown the
  // binding. Default: 30 s.
  Duration assumed_pod_ttl = std::chrono::seconds(30);
  // Seed of the tie-breaking among equally scored nodes; 0: a random seed. Default: 0.
  uint64_t seed = 0;
  // Threads running binding cycles, i.e. bindings in flight at once. Kubernetes runs each
  // binding cycle in its own goroutine, unbounded. Bindings per second are at most this
  // many over a binding's round trip, which is tens of milliseconds when the apiserver is
  // busy: 32 capped a 1000-node cluster near 1000 pods/s with CPU to spare. Default: 128.
  int bind_workers = 128;

  // These options with every duration divided by the time scale.
  SchedulerOptions Scaled(const TimeScale& scale) const;
};

class Scheduler {
 public:
  // Registers the pod and node informers (with the spec.nodeName index and the handlers)
  // on `informers`: construct the Scheduler before informers->Start(). Every pointer must
  // outlive the Scheduler; `framework` must not change any more.
  Scheduler(ApiClient* client, InformerFactory* informers, EventRecorder* recorder,
            const Framework* framework, Clock* clock, SchedulerOptions options = {});
  // Stop()s.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the scheduling thread, which waits until the informers have synced and then
  // schedules until Stop(). Returns at once (safe from a leader-election callback).
  // Later calls do nothing.
  void Run();
  // Stops scheduling and joins the threads (the attempt and the bindings in progress
  // finish; bindings not started yet are dropped with their assumptions). Idempotent.
  // Informer handlers may still run afterwards; they only touch the (still valid) queue
  // and cache.
  void Stop();

  // For tests.
  SchedulingQueue& queue() { return *queue_; }
  Cache& cache() { return cache_; }
  int64_t scheduled() const { return scheduled_.load(); }
  int64_t failed_attempts() const { return failed_.load(); }

 private:
  void Loop();
  void ScheduleOne(const QueuedPod& queued);
  // The binding cycle of an assumed pod (on a binder thread).
  void Bind(const ObjectPtr& obj, const PodInfoPtr& pod, const std::string& node, const QueuedPod& queued,
            int feasible_nodes, size_t nodes);
  void BinderLoop();
  void HandleFailure(const ObjectPtr& pod, Code code, const std::string& message);
  void SetUnschedulableCondition(const Object& pod, const std::string& reason,
                                 const std::string& message);

  ApiClient* const client_;
  EventRecorder* const recorder_;
  const Framework* const framework_;
  Clock* const clock_;
  const SchedulerOptions options_;
  Informer* pods_;
  Informer* nodes_;
  // Shared with the informer handlers, which may outlive the Scheduler.
  std::shared_ptr<SchedulingQueue> queue_;
  Cache cache_;
  std::mt19937_64 rng_;  // scheduling thread only
  size_t next_start_node_index_ = 0;  // scheduling thread only
  NodeSnapshot snapshot_;             // scheduling thread only

  std::mutex bind_mu_;
  std::condition_variable bind_cv_;
  std::deque<std::function<void()>> binds_;  // GUARDED_BY(bind_mu_): binding cycles to run
  bool binders_stopping_ = false;            // GUARDED_BY(bind_mu_)
  std::vector<std::thread> binders_;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> scheduled_{0};
  std::atomic<int64_t> failed_{0};
  std::thread thread_;
};

}  // namespace cattle::scheduler
