#include "cattle/workqueue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cattle/fake_clock.h"

namespace cattle {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// The queue's timer thread is always a FakeClock waiter; workers blocked in Get add one each.
constexpr int kTimerThread = 1;

// Waits until `n` threads are blocked on `clock` having seen its current time: after an
// Advance, the timer thread has then moved every due key into the queue.
::testing::AssertionResult Settle(const FakeClock& clock, int n = kTimerThread) {
  if (clock.AwaitWaiters(n, seconds(20))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "only " << clock.Waiters() << " of " << n
                                       << " threads went idle";
}

// Polls `done` in real time. The deadline is only a safety net so that a broken queue fails
// the test instead of hanging it; no assertion depends on real timing.
bool EventuallyTrue(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Advances `clock` by `d` and waits until the queue's timer thread has acted on it.
::testing::AssertionResult AdvanceAndSettle(FakeClock& clock, Duration d) {
  clock.Advance(d);
  return Settle(clock);
}

TEST(WorkQueueTest, RepeatedAddsQueueAKeyOnce) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.Add("a");
  q.Add("b");
  q.Add("a");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2);
  std::string key;
  ASSERT_TRUE(q.Get(&key));
  EXPECT_EQ(key, "a");  // FIFO by first add
  ASSERT_TRUE(q.Get(&key));
  EXPECT_EQ(key, "b");
  EXPECT_EQ(q.Len(), 0);
  q.Done("a");
  q.Done("b");
  EXPECT_EQ(q.Len(), 0);  // nothing was added meanwhile: nothing comes back
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsRequeuedOnlyAfterDone) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.Add("a");
  std::string key;
  ASSERT_TRUE(q.Get(&key));
  ASSERT_EQ(key, "a");

  q.Add("a");
  q.Add("a");
  EXPECT_EQ(q.Len(), 0);  // not handed out while processing

  // A second worker blocks instead of getting "a".
  std::atomic<bool> got{false};
  std::string second;
  std::thread worker([&] {
    if (q.Get(&second)) got = true;
  });
  EXPECT_TRUE(Settle(clock, kTimerThread + 1));
  EXPECT_FALSE(got);

  q.Done("a");
  EXPECT_TRUE(EventuallyTrue([&] { return got.load(); })) << "Done did not requeue";
  if (!got) q.ShutDown();  // unblock the worker
  worker.join();
  EXPECT_EQ(second, "a");
  EXPECT_EQ(q.Len(), 0);  // the two adds were one
  q.Done("a");
  EXPECT_EQ(q.Len(), 0);
}

// Workers race on a few hot keys while the test thread keeps adding them. A key must never
// be processed by two workers at once, and every add must be followed by a processing that
// began after it (an add during processing is not lost).
TEST(WorkQueueTest, KeyIsNeverProcessedConcurrentlyAndNoAddIsLost) {
  FakeClock clock;
  WorkQueue q(&clock);
  constexpr int kWorkers = 6;
  constexpr int kKeys = 4;
  constexpr int kRounds = 3000;
  std::array<std::atomic<int>, kKeys> in_flight{};
  std::array<std::atomic<int>, kKeys> added{};  // generation: bumped before each Add
  std::atomic<int> overlaps{0};
  std::atomic<int> processed{0};
  std::atomic<int> exited{0};

  std::mutex mu;
  std::condition_variable cv;
  std::array<int, kKeys> seen{};  // GUARDED_BY(mu): newest generation a processing began at

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      std::string key;
      while (q.Get(&key)) {
        const int k = key[1] - '0';
        const int generation = added[k].load();
        if (in_flight[k].fetch_add(1) != 0) overlaps++;
        for (int spin = 0; spin < 50; ++spin) std::this_thread::yield();
        in_flight[k].fetch_sub(1);
        processed++;
        {
          std::lock_guard<std::mutex> g(mu);
          seen[k] = std::max(seen[k], generation);
        }
        cv.notify_all();
        q.Done(key);
      }
      exited++;
    });
  }
  for (int round = 0; round < kRounds; ++round) {
    const int k = round % kKeys;
    added[k].fetch_add(1);
    q.Add("k" + std::to_string(k));
    if (round % 64 == 0) std::this_thread::yield();
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    const bool all_seen = cv.wait_for(lock, seconds(20), [&] {
      for (int k = 0; k < kKeys; ++k) {
        if (seen[k] != added[k].load()) return false;
      }
      return true;
    });
    EXPECT_TRUE(all_seen) << "an add during processing was lost";
  }
  q.ShutDown();
  EXPECT_TRUE(EventuallyTrue([&] { return exited.load() == kWorkers; }))
      << "ShutDown did not unblock Get";
  clock.Advance(Duration::zero());  // on failure, wakes the workers so they can be joined
  for (auto& t : workers) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(processed.load(), kKeys);
  EXPECT_LE(processed.load(), kRounds);  // dedupe: never more processings than adds
}

TEST(WorkQueueTest, AddAfterFiresOnlyOnceTheDelayHasPassed) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.AddAfter("a", milliseconds(10));
  ASSERT_TRUE(Settle(clock));
  EXPECT_EQ(q.Len(), 0);
  ASSERT_TRUE(AdvanceAndSettle(clock, milliseconds(9)));
  EXPECT_EQ(q.Len(), 0);
  ASSERT_TRUE(AdvanceAndSettle(clock, milliseconds(1) - nanoseconds(1)));
  EXPECT_EQ(q.Len(), 0);
  ASSERT_TRUE(AdvanceAndSettle(clock, nanoseconds(1)));
  ASSERT_EQ(q.Len(), 1);
  std::string key;
  ASSERT_TRUE(q.Get(&key));
  EXPECT_EQ(key, "a");
  q.Done("a");
  ASSERT_TRUE(AdvanceAndSettle(clock, seconds(10)));
  EXPECT_EQ(q.Len(), 0);  // fired once

  q.AddAfter("never", Duration::max());  // saturates instead of overflowing
  ASSERT_TRUE(AdvanceAndSettle(clock, std::chrono::hours(1'000'000)));
  EXPECT_EQ(q.Len(), 0);
}

// AddAt takes a time on the clock: however far the clock moved since that time was
// computed, the key is ready exactly then (AddAfter(when - Now()) would shift it by the move).
TEST(WorkQueueTest, AddAtFiresAtTheGivenTimeEvenIfTheClockMovedSinceItWasComputed) {
  FakeClock clock;
  WorkQueue q(&clock);
  const TimePoint due = clock.Now() + seconds(5);
  ASSERT_TRUE(AdvanceAndSettle(clock, seconds(4)));  // the clock moves on before the add
  q.AddAt("a", due);
  ASSERT_TRUE(Settle(clock));
  EXPECT_EQ(q.Len(), 0);
  ASSERT_TRUE(AdvanceAndSettle(clock, seconds(1) - nanoseconds(1)));
  EXPECT_EQ(q.Len(), 0);
  ASSERT_TRUE(AdvanceAndSettle(clock, nanoseconds(1)));
  EXPECT_EQ(q.Len(), 1);
  q.AddAt("past", clock.Now() - seconds(1));  // already due: at once
  EXPECT_EQ(q.Len(), 2);
}

TEST(WorkQueueTest, AddAfterKeepsTheEarlierTimeAndOrdersByReadiness) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.AddAfter("late", milliseconds(30));
  q.AddAfter("a", milliseconds(20));
  q.AddAfter("a", milliseconds(10));  // earlier: replaces
  q.AddAfter("a", milliseconds(25));  // later: ignored
  q.AddAfter("now", Duration::zero());
  ASSERT_EQ(q.Len(), 1);  // a zero delay adds at once
  std::string key;
  ASSERT_TRUE(q.Get(&key));
  EXPECT_EQ(key, "now");
  q.Done(key);

  ASSERT_TRUE(Settle(clock));
  ASSERT_TRUE(AdvanceAndSettle(clock, milliseconds(10)));
  ASSERT_EQ(q.Len(), 1);
  ASSERT_TRUE(q.Get(&key));
  EXPECT_EQ(key, "a");
  q.Done(key);
  ASSERT_TRUE(AdvanceAndSettle(clock, milliseconds(15)));  // t=25: "a" must not come again
  EXPECT_EQ(q.Len(), 0);
  ASSERT_TRUE(AdvanceAndSettle(clock, milliseconds(5)));   // t=30
  ASSERT_EQ(q.Len(), 1);
  ASSERT_TRUE(q.Get(&key));
  EXPECT_EQ(key, "late");
  q.Done(key);
}

TEST(WorkQueueTest, DelayedAddOfAKeyBeingProcessedWaitsForDone) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.Add("a");
  std::string key;
  ASSERT_TRUE(q.Get(&key));
  q.AddAfter("a", milliseconds(1));
  ASSERT_TRUE(Settle(clock));
  ASSERT_TRUE(AdvanceAndSettle(clock, milliseconds(1)));
  EXPECT_EQ(q.Len(), 0);  // due, but "a" is still processing
  q.Done("a");
  ASSERT_EQ(q.Len(), 1);
}

TEST(ItemExponentialBackoffTest, DoublesFromBaseCapsAndForgets) {
  const WorkQueueOptions defaults;
  EXPECT_EQ(defaults.base_delay, milliseconds(5));
  EXPECT_EQ(defaults.max_delay, seconds(1000));

  ItemExponentialBackoff b(defaults.base_delay, defaults.max_delay);
  Duration expected = milliseconds(5);
  for (int i = 0; i < 18; ++i) {  // 5ms * 2^17 = 655.36s, still under the cap
    EXPECT_EQ(b.When("a"), expected) << "failure " << i + 1;
    expected *= 2;
  }
  EXPECT_EQ(b.When("a"), seconds(1000));  // 1310.72s capped
  for (int i = 0; i < 200; ++i) EXPECT_EQ(b.When("a"), seconds(1000));  // no overflow
  EXPECT_EQ(b.NumRequeues("a"), 219);
  EXPECT_EQ(b.When("b"), milliseconds(5));  // keys are independent
  b.Forget("a");
  EXPECT_EQ(b.NumRequeues("a"), 0);
  EXPECT_EQ(b.When("a"), milliseconds(5));
  EXPECT_EQ(b.NumRequeues("b"), 1);
}

// Drives the back-off through the queue: each retry must appear exactly when its delay
// has passed on the fake clock, not a nanosecond earlier.
TEST(WorkQueueTest, AddRateLimitedBacksOffExponentiallyAndForgetResets) {
  FakeClock clock;
  WorkQueueOptions options;
  options.base_delay = milliseconds(5);
  options.max_delay = milliseconds(40);
  WorkQueue q(&clock, options);
  ASSERT_TRUE(Settle(clock));

  auto expect_retry_after = [&](Duration delay) {
    q.AddRateLimited("a");
    ASSERT_TRUE(AdvanceAndSettle(clock, delay - nanoseconds(1)));
    EXPECT_EQ(q.Len(), 0) << "retried before " << delay.count() << "ns";
    ASSERT_TRUE(AdvanceAndSettle(clock, nanoseconds(1)));
    ASSERT_EQ(q.Len(), 1) << "not retried after " << delay.count() << "ns";
    std::string key;
    ASSERT_TRUE(q.Get(&key));
    EXPECT_EQ(key, "a");
    q.Done(key);
  };
  const Duration delays[] = {milliseconds(5), milliseconds(10), milliseconds(20),
                             milliseconds(40), milliseconds(40), milliseconds(40)};
  for (Duration d : delays) {
    expect_retry_after(d);
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(q.NumRequeues("a"), 6);
  EXPECT_EQ(q.NumRequeues("b"), 0);

  q.Forget("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
  expect_retry_after(milliseconds(5));
  if (HasFatalFailure()) return;
  expect_retry_after(milliseconds(10));
  EXPECT_EQ(q.NumRequeues("a"), 2);
}

TEST(WorkQueueTest, ShutDownUnblocksEveryGet) {
  FakeClock clock;
  WorkQueue q(&clock);
  constexpr int kWorkers = 3;
  std::atomic<int> returned_false{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.emplace_back([&] {
      std::string key;
      if (!q.Get(&key)) returned_false++;
    });
  }
  EXPECT_TRUE(Settle(clock, kTimerThread + kWorkers));
  EXPECT_EQ(returned_false.load(), 0);
  EXPECT_FALSE(q.ShuttingDown());
  q.ShutDown();
  EXPECT_TRUE(EventuallyTrue([&] { return returned_false.load() == kWorkers; }));
  clock.Advance(Duration::zero());  // on failure, wakes the workers so they can be joined
  for (auto& t : workers) t.join();
  EXPECT_EQ(returned_false.load(), kWorkers);
  EXPECT_TRUE(q.ShuttingDown());
}

TEST(WorkQueueTest, ShutDownDropsQueuedAndDelayedKeysAndIgnoresLaterAdds) {
  FakeClock clock;
  WorkQueue q(&clock);
  q.Add("queued");
  q.AddAfter("delayed", seconds(1));
  q.AddRateLimited("limited");
  q.ShutDown();
  q.ShutDown();  // idempotent
  q.Add("late");
  q.AddAfter("late", Duration::zero());
  q.AddRateLimited("late");
  EXPECT_EQ(q.NumRequeues("late"), 0);
  clock.Advance(seconds(2000));
  EXPECT_EQ(q.Len(), 0);
  std::string key;
  EXPECT_FALSE(q.Get(&key));
  EXPECT_EQ(q.Len(), 0);
}

TEST(WorkQueueTest, WorksOnTheRealClock) {
  WorkQueue q(RealClock::Get());
  std::atomic<bool> got{false};
  std::string key;
  std::thread worker([&] {
    if (q.Get(&key)) got = true;  // blocks until the timer thread queues "a"
  });
  q.AddAfter("a", milliseconds(1));
  EXPECT_TRUE(EventuallyTrue([&] { return got.load(); }));
  q.ShutDown();  // on failure, unblocks the worker
  worker.join();
  EXPECT_EQ(key, "a");
}

}  // namespace
}  // namespace cattle
