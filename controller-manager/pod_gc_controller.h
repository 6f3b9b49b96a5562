// PodGCController: Kubernetes' pod garbage collector (pkg/controller/podgc). Every
// gc-check-period (20 s, scaled) it force-deletes (grace 0):
// - terminated pods (phase Succeeded or Failed) beyond terminated-pod-gc-threshold, oldest
//   (creationTimestamp) first; a threshold <= 0 disables this;
// - orphaned pods: bound to a node that does not exist. A node missing from the cache is
//   quarantined for 40 s (scaled) and then confirmed missing with a live Get, so a node
//   still being registered is not mistaken for a deleted one. Before deletion a
//   non-terminal pod gets phase Failed and condition DisruptionTarget (reason
//   DeletionByPodGC, "PodGC: node no longer exists");
// - unscheduled terminating pods (deletionTimestamp, no node): nothing else would delete them.
// Deletions carry a uid precondition.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/informer_factory.h"
#include "cattle/timescale.h"

namespace cattle::controllers {

// Durations are Kubernetes' (time scale 1); the controller divides them by its TimeScale.
struct PodGCOptions {
  Duration gc_check_period = std::chrono::seconds(20);   // Default: 20 s
  Duration quarantine_time = std::chrono::seconds(40);   // Default: 40 s
  int terminated_pod_gc_threshold = 12500;               // Default: 12500
};

class PodGCController {
 public:
  // `recorder` may be null (the pod GC records no events, as Kubernetes').
  PodGCController(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                  Clock* clock, TimeScale scale, PodGCOptions options = {});
  ~PodGCController();
  PodGCController(const PodGCController&) = delete;
  PodGCController& operator=(const PodGCController&) = delete;

  // Starts the periodic thread (`workers` is unused: one pass at a time). Non-blocking.
  void Run(int workers);
  void Stop();

  // Completed passes (for tests: a pass's deletions are done when it counts).
  int64_t passes() const { return passes_.load(); }

 private:
  void Loop();
  void Gc();
  void GcTerminated();
  void GcOrphaned();
  void GcUnscheduledTerminating();
  // Force-deletes `pod`; a non-empty `fail_message` marks a non-terminal pod Failed first.
  void ForceDelete(const Object& pod, const std::string& fail_message);

  ApiClient* client_;
  Clock* clock_;
  TimeScale scale_;
  PodGCOptions options_;
  const KindInfo* pods_kind_;
  const KindInfo* nodes_kind_;
  Informer* pods_;
  Informer* nodes_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                           // GUARDED_BY(mu_)
  std::map<std::string, TimePoint> missing_nodes_;  // loop thread only: node -> first missed
  std::atomic<int64_t> passes_{0};
  std::thread thread_;
};

}  // namespace cattle::controllers
