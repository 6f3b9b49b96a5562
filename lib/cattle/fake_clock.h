// FakeClock: a Clock whose time moves only when a test says so, so that back-offs, resyncs
// and timeouts are tested deterministically and without real sleeps.
//
// Every thread blocked in FakeClock::WaitUntil is tracked, which gives tests a sync point:
// after Advance(), AwaitWaiters(n) returns once n threads are blocked again, i.e. once each
// woken thread has looked at the new time and gone back to sleep. Then the effects of the
// Advance (a timer fired, a retry queued) are visible and nothing more will happen until
// the next Advance or notify.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "cattle/clock.h"

namespace cattle {

class FakeClock final : public Clock {
 public:
  // 2024-01-01T00:00:00Z.
  static constexpr int64_t kDefaultWallNanos = 1'704'067'200LL * 1'000'000'000LL;
  // The monotonic time a new FakeClock reads (not zero, so that TimePoint{} can mean unset).
  static constexpr TimePoint kStart = TimePoint(std::chrono::hours(1000));

  explicit FakeClock(int64_t wall_nanos = kDefaultWallNanos);
  // No thread may be blocked in WaitUntil when the clock is destroyed.
  ~FakeClock() override = default;
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  // Thread-safe; never blocks on other threads' work.
  TimePoint Now() const override;
  int64_t WallNanos() const override;

  // As Clock::WaitUntil: returns false at once if Now() >= `deadline`; otherwise blocks on
  // `cv` until a notify or until an Advance() wakes it, and then returns Now() < deadline.
  // An Advance that does not reach `deadline` thus reads as a spurious wakeup (true).
  // Thread-safe; `lock` must hold the mutex that notifiers of `cv` hold while changing the
  // state the caller waits for (the usual condition-variable rule).
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override;

  // Moves Now() and WallNanos() forward by `d` (negative `d` is treated as zero) and wakes
  // every thread blocked in WaitUntil, whatever its deadline. Returns once each of them has
  // been notified (not once they have run: use AwaitWaiters for that).
  // Thread-safe. Blocks briefly on each waiter's mutex, so the caller must not hold any mutex
  // a waiter waits with (tests call it from the test thread, holding nothing).
  void Advance(Duration d);

  // Sets WallNanos() only; Now() and the waiters are unaffected (wall time is never a
  // deadline). Thread-safe.
  void SetWall(int64_t wall_nanos);

  // The number of threads blocked in WaitUntil that no Advance has woken since they began
  // to wait. (A thread woken by a plain notify counts until it leaves WaitUntil: the clock
  // cannot see notifies.) Thread-safe.
  int Waiters() const;
  bool HasWaiters() const { return Waiters() > 0; }

  // Blocks, in real time, until Waiters() >= n or `timeout` passes. Returns whether n was
  // reached. The timeout is a safety net against hangs, never a means of timing.
  // Thread-safe.
  bool AwaitWaiters(int n,
                    std::chrono::nanoseconds timeout = std::chrono::seconds(30)) const;

 private:
  // One thread inside WaitUntil. Lives on that thread's stack.
  struct Waiter {
    std::condition_variable* cv;
    std::mutex* mu;
    bool woken = false;  // an Advance has notified it
    int pins = 0;        // Advances that still have to notify `cv` under `mu`
  };

  // Lock order: a waiter's own mutex, then mu_. Advance never holds mu_ while taking a
  // waiter's mutex.
  mutable std::mutex mu_;
  // Notified whenever waiters_, active_ or a pin count changes.
  mutable std::condition_variable changed_;
  TimePoint now_;                  // GUARDED_BY(mu_)
  int64_t wall_;                   // GUARDED_BY(mu_)
  std::vector<Waiter*> waiters_;   // GUARDED_BY(mu_): every thread inside WaitUntil
  int active_ = 0;                 // GUARDED_BY(mu_): those in waiters_ with !woken
};

}  // namespace cattle
