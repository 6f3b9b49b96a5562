// WorkQueue: Kubernetes' rate-limited work queue (client-go's workqueue.RateLimitingInterface)
// of string keys, the loop every controller runs:
//
//   std::string key;
//   while (queue.Get(&key)) {
//     Status s = Reconcile(key);
//     if (s.ok()) queue.Forget(key); else queue.AddRateLimited(key);
//     queue.Done(key);
//   }
//
// Guarantees, as in client-go: a key is queued at most once however often it is added; a
// key is never handed to two workers at once (one added while being processed is handed out
// again after Done); keys come out in the order they were first queued.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "cattle/clock.h"

namespace cattle {

struct WorkQueueOptions {
  // Delay before the first rate-limited retry of a key; it doubles with each further
  // failure until Forget. Default: 5ms (client-go's DefaultControllerRateLimiter).
  Duration base_delay = std::chrono::milliseconds(5);
  // Cap on the per-key retry delay. Default: 1000s (client-go's DefaultControllerRateLimiter).
  Duration max_delay = std::chrono::seconds(1000);
};

// Per-key exponential back-off (client-go's ItemExponentialFailureRateLimiter): the n-th
// consecutive failure of a key waits base * 2^(n-1), at most max.
// Not thread-safe: the owner synchronizes (WorkQueue calls it under its mutex).
class ItemExponentialBackoff {
 public:
  ItemExponentialBackoff(Duration base_delay, Duration max_delay)
      : base_delay_(base_delay), max_delay_(max_delay) {}

  // Records one more failure of `key` and returns how long to wait before retrying it.
  Duration When(const std::string& key);
  // Clears the failures of `key`: its next When is base_delay again.
  void Forget(const std::string& key) { failures_.erase(key); }
  // The failures recorded for `key` since the last Forget.
  int NumRequeues(const std::string& key) const;

 private:
  const Duration base_delay_;
  const Duration max_delay_;
  std::unordered_map<std::string, int> failures_;
};

class WorkQueue {
 public:
  // `clock` times AddAfter and AddRateLimited and must outlive the queue. Starts one
  // background thread that moves delayed keys into the queue when they are due. Every
  // blocking wait (Get, that thread) goes through clock->WaitUntil, so on a FakeClock,
  // FakeClock::AwaitWaiters sees when workers and the timer thread are idle.
  explicit WorkQueue(Clock* clock, WorkQueueOptions options = {});
  // Shuts down and joins the timer thread. No thread may be inside a method any more.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is queued already. If it is being processed, it is queued when
  // Done(key) is called instead. Ignored after ShutDown. Thread-safe, non-blocking.
  void Add(const std::string& key);

  // Blocks until a key is queued or the queue shuts down. On a key, stores it in `*key`,
  // marks it processing and returns true; the caller must call Done(key) when finished.
  // Returns false once ShutDown has been called (keys still queued are dropped).
  // Thread-safe; any number of workers may call it concurrently.
  bool Get(std::string* key);

  // Ends the processing of `key` (returned by Get); queues it again if it was added
  // meanwhile (and the queue is not shut down). Thread-safe, non-blocking.
  void Done(const std::string& key);

  // Adds `key` once `delay` has passed on the clock (at once if delay <= 0). If `key` is
  // already waiting, only the earlier of the two times is kept. Ignored after ShutDown.
  // Thread-safe, non-blocking.
  void AddAfter(const std::string& key, Duration delay);
  // Adds `key` once the clock reaches `when` (at once if it has). Use it for a time already
  // computed on the clock: AddAfter(when - Now()) would shift it by any clock movement
  // between the two readings. Otherwise as AddAfter.
  void AddAt(const std::string& key, TimePoint when);

  // AddAfter(key, back-off): the back-off is options.base_delay for the first failure since
  // Forget(key), doubling with each further call, capped at options.max_delay.
  // Ignored (and not counted) after ShutDown. Thread-safe, non-blocking.
  void AddRateLimited(const std::string& key);

  // Resets the failure count of `key` (call it when processing succeeded). It does not
  // cancel a pending retry. Thread-safe, non-blocking.
  void Forget(const std::string& key);

  // How many AddRateLimited calls `key` has had since its last Forget. Thread-safe.
  int NumRequeues(const std::string& key) const;

  // The number of keys queued and ready for Get (neither processing nor waiting out a
  // delay). Thread-safe.
  int Len() const;

  // Makes every blocked and future Get return false, drops queued keys and discards pending
  // AddAfter/AddRateLimited timers; later adds are ignored. Idempotent. Thread-safe,
  // non-blocking (it does not wait for workers: join them before destroying the queue).
  void ShutDown();

  // Whether ShutDown has been called. Thread-safe.
  bool ShuttingDown() const;

 private:
  // Delayed keys ordered by (ready time, insertion number), FIFO among equal times.
  using WaitingMap = std::map<std::pair<TimePoint, uint64_t>, std::string>;

  void AddLocked(const std::string& key);                             // REQUIRES(mu_)
  void AddAfterLocked(const std::string& key, Duration delay);        // REQUIRES(mu_)
  void AddAtLocked(const std::string& key, TimePoint ready);           // REQUIRES(mu_)
  // Body of timer_thread_: moves due keys from waiting_ into the queue.
  void TimerLoop();

  Clock* const clock_;

  mutable std::mutex mu_;
  // Notified when a key is queued or on ShutDown; Get waits on it.
  std::condition_variable get_cv_;
  // Notified when waiting_ gains an earlier entry or on ShutDown; the timer thread waits on it.
  std::condition_variable timer_cv_;

  bool shutting_down_ = false;                      // GUARDED_BY(mu_)
  std::deque<std::string> queue_;                   // GUARDED_BY(mu_): ready, FIFO
  std::unordered_set<std::string> dirty_;           // GUARDED_BY(mu_): need processing
  std::unordered_set<std::string> processing_;      // GUARDED_BY(mu_): handed out by Get
  WaitingMap waiting_;                              // GUARDED_BY(mu_)
  std::unordered_map<std::string, WaitingMap::iterator> waiting_index_;  // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;                           // GUARDED_BY(mu_)
  ItemExponentialBackoff backoff_;                  // GUARDED_BY(mu_)

  // Last member: started once everything above is initialized.
  std::thread timer_thread_;
};

}  // namespace cattle
