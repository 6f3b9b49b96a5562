// PodWorker: everything the kubelet does for one pod (Kubernetes' pod worker + SyncPod +
// status manager for that pod). Sync() is level-triggered and idempotent: it compares the
// pod's spec with what runs in the ContainerRuntime, takes the next steps of each
// container's state machine, writes the pod's status when it changed, and says when it
// wants to run again.
//
// A container's state machine:
//
//   Waiting ──pull──▶ Pulling ──create+start──▶ Running ──exit──▶ restart? ─yes─▶ Waiting
//     │ ErrImagePull / ImagePullBackOff                              │ no            (back-off:
//     └── (image back-off 10 s ×2 ≤ 300 s)                           ▼                CrashLoopBackOff
//                                                                  Exited             10 s ×2 ≤ 300 s)
//
// restartPolicy (Always / OnFailure / Never) decides "restart?"; a restarted container keeps
// the pod, its UID and IP, gets restartCount+1 and lastState.terminated. Readiness is
// decided per Running container (scripted now; probes later plug in at the same place).
// A pod with a deletionTimestamp gets its containers stopped within the grace period, its
// final status written, and is then deleted with grace 0 and a UID precondition.
//
// On its first Sync a worker adopts what the pod's status says (a restarted kubelet):
// running containers keep their ids, start times and restart counts; the IP is kept.
//
// Thread-safety: Sync() must not run concurrently for one worker (the kubelet's work queue
// guarantees it); Log() may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "kubelet-sim/annotations.h"
#include "kubelet-sim/backoff.h"
#include "kubelet-sim/container_runtime.h"
#include "kubelet-sim/ip_allocator.h"
#include "kubelet-sim/options.h"

namespace cattle::kubelet {

// What every pod worker of one kubelet shares. Pointers outlive the workers.
struct PodWorkerEnv {
  ApiClient* client = nullptr;
  Clock* clock = nullptr;
  ContainerRuntime* runtime = nullptr;
  EventRecorder* recorder = nullptr;  // may be null: no events
  PodIpAllocator* ips = nullptr;
  const KubeletOptions* options = nullptr;
  std::string host_ip;                // the node's InternalIP
};

struct PodSyncResult {
  Status status;                      // not ok: retry with rate limiting
  TimePoint wake_at = kNoDeadline;    // sync again at this time (a timer, a back-off)
  bool finished = false;              // the pod is gone: the worker may be dropped
};

class PodWorker {
 public:
  PodWorker(std::string uid, std::string key, const PodWorkerEnv* env);
  PodWorker(const PodWorker&) = delete;
  PodWorker& operator=(const PodWorker&) = delete;

  const std::string& uid() const { return uid_; }
  const std::string& key() const { return key_; }

  // `pod`: the newest copy of the pod known to the kubelet; nullptr when it no longer exists
  // (deleted, or force-deleted while the kubelet was away): its containers are stopped at
  // once, its IP freed, and the result is finished.
  PodSyncResult Sync(const ObjectPtr& pod);

  // The output `kubectl logs` shows for `container`, chosen as Kubernetes' kubelet does:
  // with `previous` the last terminated instance; else the running one, else the last one
  // that ran (so a container in CrashLoopBackOff shows its last run). BadRequest with
  // Kubernetes' messages otherwise: `container "web" in pod "p" is not available`,
  // `previous terminated container "web" in pod "p" not found`, `... is waiting to start:
  // ContainerCreating`.
  Result<std::shared_ptr<ContainerLog>> Log(const std::string& container, bool previous) const;

  // Whether `pod` carries nothing this worker does not know: its status is the one the
  // worker last sent (set before the write, so the write's watch event may come first)
  // and, next to `before`, nothing else the sync reads changed. Any thread.
  bool IsEchoOfOwnStatus(const Object& before, const Object& pod) const;

 private:
  struct Terminated {
    int exit_code = 0;
    std::string reason, message;
    int64_t started_at = 0, finished_at = 0;  // wall ns
    std::string container_id;
  };
  enum class Phase { kWaiting, kPulling, kRunning, kExited };
  struct Container {
    std::string name;
    Phase phase = Phase::kWaiting;
    std::string id;                  // the current instance in the runtime ("" when none)
    std::string previous_id;         // the instance before it (logs --previous)
    bool has_run = false;            // an instance existed before: the next one is a restart
    int restart_count = 0;
    std::string spec_image;          // the image the current/next instance runs
    std::string image_ref, image_id; // as resolved by the last pull
    int64_t image_size = 0;
    std::optional<Terminated> last_state;
    std::optional<Terminated> terminated;  // state.terminated while Exited
    std::string waiting_reason = "ContainerCreating";
    std::string waiting_message;
    bool needs_backoff_check = false;  // exited and must pass CrashLoopBackOff first
    bool backoff_event_sent = false;
    bool pull_backoff_event_sent = false;
    bool restart_now = false;        // definition changed: restart without back-off
    bool stop_sent = false;
    TimePoint finished_mono{};       // when the last instance exited, on the clock
    TimePoint pull_started{}, pull_ready_at{};
    Duration pull_took{};            // nominal, for the Pulled event
    bool announce_pulled = false;    // a real pull happened: say Pulled when it is done
    TimePoint error_shown_until{};   // ErrImagePull shows until then, then ImagePullBackOff
    bool ready = false;
    bool started = false;
    int64_t started_at = 0;          // wall ns of the current instance
    bool probes_logged = false;      // this instance's liveness/startup results are in its log
    int8_t readiness_logged = -1;    // the readiness result last written to its log (-1: none)
  };

  void Adopt(const Object& pod);
  // One container's steps (pod neither deleting nor terminal). Lowers *wake.
  void Step(Container& c, const Object& pod, int index, TimePoint now, TimePoint* wake);
  void StartInstance(Container& c, const Object& pod, int index, TimePoint now);
  void OnExited(Container& c, const ContainerInfo& info, const Object& pod, TimePoint now);
  // Stops every container within `grace`; true once all have exited. Lowers *wake.
  bool StopAll(const Object& pod, Duration grace, TimePoint now, TimePoint* wake);
  // The status for `pod` from the current state; writes it when it changed.
  Status WriteStatus(const ObjectPtr& pod);
  Object BuildStatus(const Object& pod) const;
  std::string ComputePhase(const Object& pod) const;
  void Teardown();
  // Writes the simulated probes' results into the running instance's log: liveness and
  // startup once per instance, readiness when it changes. Only for probes in the spec.
  void RecordProbes(Container& c, const Object& pod, int index, bool ready);
  void Event(const Object& pod, const std::string& type, const std::string& reason,
             const std::string& message);
  ContainerConfig ConfigFor(const Object& pod, int index) const;
  ScriptedBehaviour BehaviourFor(const Object& pod, const std::string& container) const;
  std::string PodDescription(const Object& pod) const;  // "web_default(uid)"

  const std::string uid_;
  const std::string key_;
  const PodWorkerEnv* env_;
  mutable std::mutex sent_mu_;
  ObjectPtr sent_;  // GUARDED_BY(sent_mu_): the pod with the status last sent
  mutable std::mutex mu_;  // guards everything below against Log()

  bool adopted_ = false;
  bool frozen_ = false;                     // adopted already Succeeded/Failed: status is final
  bool init_done_ = false;
  std::vector<Container> containers_;       // in spec order
  std::vector<Container> init_containers_;  // completed at once (see README)
  std::string pod_ip_;
  int64_t start_time_ = 0;                  // wall ns (status.startTime)
  std::string phase_ = "Pending";
  bool terminal_ = false;                   // Succeeded/Failed: never runs again
  std::string reason_, message_;            // status.reason/message (DeadlineExceeded)
  bool deadline_exceeded_ = false;
  Backoff crash_backoff_;
  Backoff pull_backoff_;
  ObjectPtr last_written_;                  // the pod as returned by our last status write
};

}  // namespace cattle::kubelet
