// Clock: time is injected so that controllers, queues and the store's compaction run on a
// fake clock in tests. RealClock is steady for durations and system for wall time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace cattle {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for deadlines and back-offs.
  virtual TimePoint Now() const = 0;
  // Wall-clock time as Unix nanoseconds, for timestamps in objects.
  virtual int64_t WallNanos() const = 0;
  // Blocks on `cv` (with `lock` held) until `deadline` on this clock or a notify.
  // Returns false when the deadline passed. A fake clock wakes waiters when advanced.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
  // Wakes every WaitUntil (FakeClock uses it on Advance; RealClock's waits time out alone).
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
