// SchedulingQueue: the pending pods, shaped like Kubernetes' PriorityQueue.
//
// - The active queue holds pods ready for an attempt, highest spec.priority first, then
//   in the order they (last) entered it.
// - A pod whose attempt failed waits out a back-off before it is retried on its own:
//   initial_backoff * 2^(attempts-1), capped at max_backoff (Kubernetes' 1 s → 10 s),
//   counted from the failure. Attempts count every Pop of the pod and are kept until it
//   leaves the queue (bound or deleted).
// - A cluster event that may make pods schedulable (a node added or changed, a bound pod
//   deleted) moves every waiting pod to the active queue at once (MoveAllToActive). One
//   that arrives while a pod is being scheduled makes that pod, if it fails, go straight
//   back to the active queue (the event could have changed the outcome); so does an
//   update of that pod.
// - A pod is in at most one place (active, back-off, or in flight between Pop and
//   Done/AddUnschedulable); Add of a pod already known does nothing.
//
// Thread-safety: every method may be called from any thread. Pop blocks through
// Clock::WaitUntil, so on a FakeClock back-offs expire when the test advances the clock.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

#include "cattle/clock.h"

namespace cattle::scheduler {

struct SchedulingQueueOptions {
  Duration initial_backoff = std::chrono::seconds(1);  // Default: 1 s (podInitialBackoffDuration)
  Duration max_backoff = std::chrono::seconds(10);     // Default: 10 s (podMaxBackoffDuration)
};

// A pod handed out by Pop.
struct QueuedPod {
  std::string key;
  int attempts = 0;  // including this one
};

class SchedulingQueue {
 public:
  // `clock` must outlive the queue.
  SchedulingQueue(Clock* clock, SchedulingQueueOptions options = {});
  SchedulingQueue(const SchedulingQueue&) = delete;
  SchedulingQueue& operator=(const SchedulingQueue&) = delete;

  // A pending pod: queued in the active queue unless the queue knows it already (then
  // only its priority is updated). Ignored after ShutDown.
  void Add(const std::string& key, int32_t priority);
  // A pending pod changed in a way that may make it schedulable: as Add, and a pod
  // waiting out its back-off moves to the active queue.
  void Update(const std::string& key, int32_t priority);
  // Forgets the pod (deleted, bound, or no longer ours), wherever it is. A pod in flight
  // is dropped when its attempt ends.
  void Delete(const std::string& key);
  // Moves every pod waiting out a back-off to the active queue; marks the pod in flight,
  // if any, to be retried at once should it fail. `event` is logged.
  void MoveAllToActive(const std::string& event);

  // Blocks until a pod is in the active queue (moving pods whose back-off expired there)
  // and hands it out (in flight), or returns false once ShutDown was called.
  bool Pop(QueuedPod* out);
  // Ends the attempt of a popped pod that needs no retry (bound, or gone): forgotten.
  void Done(const std::string& key);
  // Ends a failed attempt of a popped pod: it waits out its back-off, or goes back to the
  // active queue at once if it was moved or updated meanwhile; dropped if it was deleted.
  void AddUnschedulable(const std::string& key);

  // Wakes Pop with false; later calls are ignored. Idempotent.
  void ShutDown();

  // For tests and logs.
  int Attempts(const std::string& key) const;  // -1 when unknown
  // When the pod's back-off ends, if it is waiting one.
  std::optional<TimePoint> BackoffExpiry(const std::string& key) const;
  bool Contains(const std::string& key) const;
  int ActiveLen() const;
  int BackoffLen() const;
  // How many times Pop went to sleep: once it grows after a clock Advance, Pop has looked
  // at the new time and found nothing due.
  int64_t idle_waits() const;

 private:
  enum class State { kActive, kBackoff, kInFlight };
  struct Entry {
    State state = State::kActive;
    int32_t priority = 0;
    int attempts = 0;
    TimePoint timestamp;  // entered the active queue (order among equal priorities)
    TimePoint backoff_expiry;
    uint64_t seq = 0;      // tie-breaker, unique per queueing
    bool moved = false;    // in flight: a move request or an update arrived
    bool deleted = false;  // in flight: deleted meanwhile
  };
  using ActiveKey =
      std::tuple<int32_t, TimePoint, uint64_t, std::string>;  // (-priority, ts, seq, key)
  using BackoffKey = std::tuple<TimePoint, uint64_t, std::string>;

  void PushActiveLocked(const std::string& key, Entry* e);    // REQUIRES(mu_)
  void UnlinkLocked(const std::string& key, const Entry& e);  // REQUIRES(mu_)
  void FlushBackoffLocked();                                  // REQUIRES(mu_)
  Duration BackoffDuration(int attempts) const;

  Clock* const clock_;
  const SchedulingQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shut_down_ = false;                          // GUARDED_BY(mu_)
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  std::set<ActiveKey> active_;                      // GUARDED_BY(mu_)
  std::set<BackoffKey> backoff_;                    // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;                           // GUARDED_BY(mu_)
  int64_t idle_waits_ = 0;                          // GUARDED_BY(mu_)
};

}  // namespace cattle::scheduler
