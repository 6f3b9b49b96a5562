// Clock: time is injected so that controllers, queues and the store's compaction run on a
// fake clock in tests. RealClock is steady for durations and system for wall time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace cattle {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// A WaitUntil deadline that never passes.
inline constexpr TimePoint kNoDeadline = TimePoint::max();

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines and back-offs.
  virtual TimePoint Now() const = 0;
  // Wall-clock time as Unix nanoseconds, for timestamps in objects.
  virtual int64_t WallNanos() const = 0;
  // Blocks on `cv` (with `lock` held, as std::condition_variable::wait_until) until
  // `deadline` on this clock or a notify. Returns false when the deadline has passed, true
  // otherwise (a notify or a spurious wakeup: callers loop on their predicate).
  // `deadline == kNoDeadline` waits for a notify only. A fake clock wakes its waiters when
  // advanced, so callers need no registration.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
  // Unneeded (FakeClock tracks its waiters inside WaitUntil); no-ops kept so that existing
  // callers compile. Do not add new calls.
  virtual void Register(std::condition_variable* cv) { (void)cv; }
  virtual void Unregister(std::condition_variable* cv) { (void)cv; }
};

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  int64_t WallNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    if (deadline == kNoDeadline) {
      cv.wait(lock);
      return true;
    }
    return cv.wait_until(lock, deadline) == std::cv_status::no_timeout;
  }
  static RealClock* Get() {
    static RealClock c;  // stateless; safe to share
    return &c;
  }
};

// RFC 3339 UTC with second precision, as Kubernetes writes metav1.Time: 2024-01-02T03:04:05Z.
std::string FormatRfc3339(int64_t wall_nanos);
// RFC 3339 with microseconds (metav1.MicroTime): 2024-01-02T03:04:05.123456Z.
std::string FormatRfc3339Micro(int64_t wall_nanos);
// Parses RFC 3339 (with optional fraction and offset). Returns false on malformed text.
bool ParseRfc3339(const std::string& text, int64_t* wall_nanos);

}  // namespace cattle
