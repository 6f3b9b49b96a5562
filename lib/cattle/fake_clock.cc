#include "cattle/fake_clock.h"

#include <algorithm>

namespace cattle {

FakeClock::FakeClock(int64_t wall_nanos) : now_(kStart), wall_(wall_nanos) {}

TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> g(mu_);
  return now_;
}

int64_t FakeClock::WallNanos() const {
  std::lock_guard<std::mutex> g(mu_);
  return wall_;
}

bool FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint deadline) {
  Waiter self{&cv, lock.mutex()};
  {
    std::lock_guard<std::mutex> g(mu_);
    if (now_ >= deadline) return false;
    waiters_.push_back(&self);
    ++active_;
    changed_.notify_all();
  }
  // From the check above until cv.wait releases `lock`, the caller's mutex is held, and an
  // Advance notifies under that mutex: its wakeup cannot slip in between and be lost.
  cv.wait(lock);

  std::unique_lock<std::mutex> g(mu_);
  waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
  if (!self.woken) --active_;
  changed_.notify_all();
  if (self.pins > 0) {
    // An Advance has yet to notify `cv` under the caller's mutex. Let it (releasing the
    // mutex is allowed: a wait releases it anyway), and keep `cv` and the mutex alive until
    // it has, since the caller may destroy them as soon as we return.
    lock.unlock();
    changed_.wait(g, [&self] { return self.pins == 0; });
    const bool before_deadline = now_ < deadline;
    g.unlock();
    lock.lock();
    return before_deadline;
  }
  return now_ < deadline;
}

void FakeClock::Advance(Duration d) {
  d = std::max(d, Duration::zero());
  std::vector<Waiter*> to_wake;
  {
    std::lock_guard<std::mutex> g(mu_);
    now_ += d;
    wall_ += d.count();
    for (Waiter* w : waiters_) {
      if (!w->woken) {
        w->woken = true;
        --active_;
      }
      ++w->pins;
      to_wake.push_back(w);
    }
    changed_.notify_all();
  }
  for (Waiter* w : to_wake) {
    std::lock_guard<std::mutex> ul(*w->mu);
    w->cv->notify_all();
  }
  std::lock_guard<std::mutex> g(mu_);
  for (Waiter* w : to_wake) --w->pins;
  changed_.notify_all();
}

void FakeClock::SetWall(int64_t wall_nanos) {
  std::lock_guard<std::mutex> g(mu_);
  wall_ = wall_nanos;
}

int FakeClock::Waiters() const {
  std::lock_guard<std::mutex> g(mu_);
  return active_;
}

bool FakeClock::AwaitWaiters(int n, std::chrono::nanoseconds timeout) const {
  std::unique_lock<std::mutex> g(mu_);
  return changed_.wait_for(g, timeout, [&] { return active_ >= n; });
}

}  // namespace cattle
