#include "cattle/clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cattle/fake_clock.h"

namespace cattle {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kSec = 1'000'000'000;
// 2024-01-02T03:04:05Z.
constexpr int64_t kJan2 = 1'704'164'645LL * kSec;

// Polls `done` in real time. The deadline is only a safety net so that a broken clock fails
// the test instead of hanging it; no assertion depends on real timing.
bool EventuallyTrue(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// --- RFC 3339 ---------------------------------------------------------------------------

TEST(Rfc3339Test, FormatsSeconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kJan2), "2024-01-02T03:04:05Z");
  // Sub-second parts are truncated, as Go's time.Format does.
  EXPECT_EQ(FormatRfc3339(kJan2 + 999'999'999), "2024-01-02T03:04:05Z");
  EXPECT_EQ(FormatRfc3339(1'709'164'800LL * kSec), "2024-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(FormatRfc3339(951'782'400LL * kSec), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'735'689'599LL * kSec), "2024-12-31T23:59:59Z");
  // Before the epoch, the second containing the instant (floor, not truncation to zero).
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(-86'400 * kSec), "1969-12-31T00:00:00Z");
}

TEST(Rfc3339Test, FormatsMicroseconds) {
  EXPECT_EQ(FormatRfc3339Micro(kJan2 + 123'456'789), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(FormatRfc3339Micro(kJan2), "2024-01-02T03:04:05.000000Z");
  EXPECT_EQ(FormatRfc3339Micro(kJan2 + 1'000), "2024-01-02T03:04:05.000001Z");
  EXPECT_EQ(FormatRfc3339Micro(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Rfc3339Test, ParsesZuluAndFractions) {
  int64_t t = -1;
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05Z", &t));
  EXPECT_EQ(t, kJan2);
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05.5Z", &t));
  EXPECT_EQ(t, kJan2 + 500'000'000);
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05.123456Z", &t));
  EXPECT_EQ(t, kJan2 + 123'456'000);
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05.000000001Z", &t));
  EXPECT_EQ(t, kJan2 + 1);
  // Digits beyond nanoseconds are accepted and truncated.
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05.1234567899999Z", &t));
  EXPECT_EQ(t, kJan2 + 123'456'789);
  // RFC 3339 allows lowercase t and z.
  ASSERT_TRUE(ParseRfc3339("2024-01-02t03:04:05z", &t));
  EXPECT_EQ(t, kJan2);
  ASSERT_TRUE(ParseRfc3339("1970-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(ParseRfc3339("1969-12-31T23:59:59.75Z", &t));
  EXPECT_EQ(t, -250'000'000);
}

TEST(Rfc3339Test, ParsesOffsets) {
  int64_t t = -1;
  ASSERT_TRUE(ParseRfc3339("2024-01-02T05:04:05+02:00", &t));
  EXPECT_EQ(t, kJan2);
  ASSERT_TRUE(ParseRfc3339("2024-01-01T19:34:05.25-07:30", &t));
  EXPECT_EQ(t, kJan2 + 250'000'000);
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05+00:00", &t));
  EXPECT_EQ(t, kJan2);
  ASSERT_TRUE(ParseRfc3339("2024-01-02T03:04:05-00:00", &t));
  EXPECT_EQ(t, kJan2);
  // An offset can move the instant across a year boundary.
  ASSERT_TRUE(ParseRfc3339("2025-01-01T01:00:00+02:00", &t));
  EXPECT_EQ(FormatRfc3339(t), "2024-12-31T23:00:00Z");
}

TEST(Rfc3339Test, RejectsMalformedText) {
  const char* bad[] = {
      "",
      "garbage",
      "2024-01-02",
      "2024-01-02T03:04:05",          // no zone
      "2024-01-02 03:04:05Z",         // space instead of T
      "2024-01-02T03:04Z",            // no seconds
      "2024-1-02T03:04:05Z",          // one-digit month
      "24-01-02T03:04:05Z",           // two-digit year
      "+2024-01-02T03:04:05Z",
      " 2024-01-02T03:04:05Z",
      "2024-01-02T03:04:05Z ",
      "2024-01-02T03:04:05Zjunk",
      "2024-01-02T03:04:05.Z",        // empty fraction
      "2024-01-02T03:04:05,5Z",       // comma fraction
      "2024-01-02T03:04:05.5",        // fraction without zone
      "2024-01-02T03:04:05+0200",     // offset without colon
      "2024-01-02T03:04:05+02",
      "2024-01-02T03:04:05+24:00",
      "2024-01-02T03:04:05+02:60",
      "2024-00-02T03:04:05Z",
      "2024-13-02T03:04:05Z",
      "2024-01-00T03:04:05Z",
      "2024-01-32T03:04:05Z",
      "2023-02-29T03:04:05Z",         // not a leap year
      "1900-02-29T03:04:05Z",         // not a leap year either
      "2024-04-31T03:04:05Z",
      "2024-01-02T24:00:00Z",
      "2024-01-02T03:60:05Z",
      "2024-01-02T03:04:60Z",         // leap second, rejected like Go
      "2024-01-02T0a:04:05Z",
      "9999-12-31T23:59:59Z",         // outside int64 nanoseconds
      "1000-01-01T00:00:00Z",
  };
  for (const char* text : bad) {
    int64_t t = 42;
    EXPECT_FALSE(ParseRfc3339(text, &t)) << "accepted \"" << text << "\"";
    EXPECT_EQ(t, 42) << "output written for \"" << text << "\"";
  }
  int64_t t = 42;
  EXPECT_FALSE(ParseRfc3339(std::string("2024-01-02T03:04:05Z\0", 21), &t));  // embedded NUL
  EXPECT_TRUE(ParseRfc3339("2024-02-29T03:04:05Z", &t));  // the leap day is fine
  EXPECT_TRUE(ParseRfc3339("2000-02-29T03:04:05Z", &t));
}

TEST(Rfc3339Test, RoundTripsAndAgreesWithTimegm) {
  // A sweep over 1900..2200 with varied times of day; timegm (libc) is the oracle.
  int checked = 0;
  for (int64_t secs = -2'208'988'800LL; secs < 7'258'118'400LL; secs += 7'777'777) {
    const int64_t micros = ((secs % 1'000'000) + 1'000'000) % 1'000'000;  // in [0, 1e6)
    const int64_t nanos = secs * kSec + micros * 1'000 + 789;
    const std::string micro = FormatRfc3339Micro(nanos);
    int64_t parsed = 0;
    ASSERT_TRUE(ParseRfc3339(micro, &parsed)) << micro;
    EXPECT_EQ(parsed, nanos - 789) << micro;  // micro keeps microseconds only
    const std::string plain = FormatRfc3339(nanos);
    ASSERT_TRUE(ParseRfc3339(plain, &parsed)) << plain;
    EXPECT_EQ(parsed, secs * kSec) << plain;

    struct tm tm = {};
    const time_t tt = static_cast<time_t>(secs);
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char expected[64];
    strftime(expected, sizeof(expected), "%Y-%m-%dT%H:%M:%SZ", &tm);
    EXPECT_EQ(plain, expected);
    ++checked;
  }
  EXPECT_GT(checked, 1000);
}

// --- FakeClock --------------------------------------------------------------------------

TEST(FakeClockTest, TimeMovesOnlyWhenTold) {
  FakeClock clock(kJan2);
  const TimePoint t0 = clock.Now();
  EXPECT_EQ(clock.WallNanos(), kJan2);
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(milliseconds(1500));
  EXPECT_EQ(clock.Now() - t0, milliseconds(1500));
  EXPECT_EQ(clock.WallNanos(), kJan2 + 1'500'000'000);
  clock.SetWall(0);
  EXPECT_EQ(clock.WallNanos(), 0);
  EXPECT_EQ(clock.Now() - t0, milliseconds(1500));  // SetWall leaves monotonic time alone
  clock.Advance(-seconds(5));                        // never backwards
  EXPECT_EQ(clock.Now() - t0, milliseconds(1500));
}

TEST(FakeClockTest, WaitUntilPastDeadlineReturnsAtOnce) {
  FakeClock clock;
  std::atomic<bool> done{false};
  // On a thread, so that a WaitUntil that wrongly blocks fails the test instead of hanging it.
  std::thread waiter([&] {
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_FALSE(clock.WaitUntil(cv, lock, clock.Now()));
    EXPECT_FALSE(clock.WaitUntil(cv, lock, clock.Now() - seconds(1)));
    EXPECT_TRUE(lock.owns_lock());
    done = true;
  });
  EXPECT_TRUE(EventuallyTrue([&] { return done.load(); })) << "WaitUntil blocked";
  while (!done) clock.Advance(seconds(10));  // on failure, times the waits out
  waiter.join();
  EXPECT_FALSE(clock.HasWaiters());
}

// The waiting thread loops as a caller with a deadline would; it must not finish until the
// fake time reaches the deadline, and then must finish without any notify.
TEST(FakeClockTest, WaitUntilTimesOutExactlyAtTheDeadline) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> finished{false};
  std::atomic<int> early_returns{0};
  bool quit = false;  // GUARDED_BY(mu): only set to unblock the thread when the test fails
  const TimePoint deadline = clock.Now() + milliseconds(10);
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (clock.WaitUntil(cv, lock, deadline) && !quit) early_returns++;
    EXPECT_TRUE(lock.owns_lock());
    finished = true;
  });
  EXPECT_TRUE(clock.AwaitWaiters(1, seconds(20)));
  EXPECT_EQ(clock.Waiters(), 1);
  clock.Advance(milliseconds(9));
  EXPECT_TRUE(clock.AwaitWaiters(1, seconds(20)));  // woke, saw 9ms < 10ms, waits again
  EXPECT_FALSE(finished);
  EXPECT_GE(early_returns.load(), 1);  // Advance woke it (a spurious wakeup to the caller)
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(EventuallyTrue([&] { return finished.load(); })) << "deadline not honoured";
  {
    std::lock_guard<std::mutex> g(mu);
    quit = true;
  }
  cv.notify_all();
  waiter.join();
  EXPECT_FALSE(clock.HasWaiters());
}

TEST(FakeClockTest, NotifyBeforeDeadlineReturnsTrue) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;       // GUARDED_BY(mu)
  bool result = false;      // GUARDED_BY(mu)
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    bool r = true;
    while (!ready && r) r = clock.WaitUntil(cv, lock, clock.Now() + seconds(1));
    result = r;
  });
  EXPECT_TRUE(clock.AwaitWaiters(1, seconds(20)));
  {
    std::lock_guard<std::mutex> g(mu);
    ready = true;
  }
  cv.notify_all();
  if (!EventuallyTrue([&] { return clock.Waiters() == 0; })) {
    ADD_FAILURE() << "notify did not wake WaitUntil";
    clock.Advance(seconds(1));  // time the waiter out so that it can be joined
  }
  waiter.join();
  EXPECT_TRUE(result);
  EXPECT_EQ(clock.Waiters(), 0);
}

TEST(FakeClockTest, AdvanceWakesWaitersWithoutDeadline) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  constexpr int kThreads = 4;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      std::unique_lock<std::mutex> lock(mu);
      EXPECT_TRUE(clock.WaitUntil(cv, lock, kNoDeadline));
      woken++;
    });
  }
  EXPECT_TRUE(clock.AwaitWaiters(kThreads, seconds(20)));
  EXPECT_EQ(woken.load(), 0);
  clock.Advance(Duration::zero());
  EXPECT_EQ(clock.Waiters(), 0);  // marked woken synchronously by Advance
  EXPECT_TRUE(EventuallyTrue([&] { return woken.load() == kThreads; })) << "waiters stuck";
  cv.notify_all();  // on failure, unblocks them so that they can be joined
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken.load(), kThreads);
}

// Waiters with stack-local condition variables come and go while another thread advances
// the clock: every waiter must reach its deadline, nothing may deadlock, and Advance must
// never touch a condition variable after its WaitUntil returned (ASan/TSan builds see it).
TEST(FakeClockTest, AdvanceRacesWithShortLivedWaiters) {
  constexpr int kThreads = 8;
  constexpr int kWaitsPerThread = 200;
  struct Shared {
    FakeClock clock;
    std::atomic<int> finished{0};
  };
  // Shared ownership: if a broken clock strands a thread, it is detached, not joined.
  auto shared = std::make_shared<Shared>();
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([shared] {
      for (int n = 0; n < kWaitsPerThread; ++n) {
        std::mutex mu;
        std::condition_variable cv;
        std::unique_lock<std::mutex> lock(mu);
        const TimePoint deadline = shared->clock.Now() + milliseconds(1);
        while (shared->clock.WaitUntil(cv, lock, deadline)) {
        }
      }
      shared->finished++;
    });
  }
  const auto safety = std::chrono::steady_clock::now() + seconds(20);
  while (shared->finished.load() < kThreads && std::chrono::steady_clock::now() < safety) {
    shared->clock.Advance(std::chrono::microseconds(500));
    std::this_thread::yield();
  }
  const bool all_finished = shared->finished.load() == kThreads;
  EXPECT_TRUE(all_finished) << "waiters stranded";
  for (auto& t : threads) {
    if (all_finished) {
      t.join();
    } else {
      t.detach();
    }
  }
}

TEST(RealClockTest, WaitUntilTimesOutAndWakes) {
  RealClock* clock = RealClock::Get();
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_FALSE(clock->WaitUntil(cv, lock, clock->Now() + milliseconds(1)));
  bool flag = false;  // GUARDED_BY(mu)
  std::thread notifier([&] {
    std::lock_guard<std::mutex> g(mu);
    flag = true;
    cv.notify_all();
  });
  while (!flag) EXPECT_TRUE(clock->WaitUntil(cv, lock, kNoDeadline));
  lock.unlock();
  notifier.join();
}

}  // namespace
}  // namespace cattle
