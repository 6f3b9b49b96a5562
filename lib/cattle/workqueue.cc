#include "cattle/workqueue.h"

#include <algorithm>
#include <limits>

namespace cattle {

Duration ItemExponentialBackoff::When(const std::string& key) {
  int& failures = failures_[key];
  const int exp = failures;
  if (failures < std::numeric_limits<int>::max()) ++failures;
  // base * 2^exp, saturating instead of overflowing.
  const int64_t base = base_delay_.count();
  if (base <= 0) return Duration::zero();
  if (exp >= 63 || base > (std::numeric_limits<int64_t>::max() >> exp)) return max_delay_;
  return std::min(Duration(base << exp), max_delay_);
}

int ItemExponentialBackoff::NumRequeues(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueue::WorkQueue(Clock* clock, WorkQueueOptions options)
    : clock_(clock),
      backoff_(options.base_delay, options.max_delay),
      timer_thread_([this] { TimerLoop(); }) {}

WorkQueue::~WorkQueue() {
  ShutDown();
  timer_thread_.join();
}

// Invariants: every key in queue_ is in dirty_ and not in processing_; queue_ has no
// duplicates; a key in dirty_ but not in queue_ is in processing_ (re-queued by Done).
void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // queued already, or waiting for Done
  if (processing_.count(key) > 0) return;  // Done will queue it
  queue_.push_back(key);
  get_cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

bool WorkQueue::Get(std::string* key) {
  std::unique_lock<std::mutex> lock(mu_);
  while (queue_.empty() && !shutting_down_) {
    clock_->WaitUntil(get_cv_, lock, kNoDeadline);
  }
  if (shutting_down_) return false;
  *key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(*key);
  dirty_.erase(*key);
  return true;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (!shutting_down_ && dirty_.count(key) > 0) {
    queue_.push_back(key);
    get_cv_.notify_one();
  }
}

void WorkQueue::AddAfterLocked(const std::string& key, Duration delay) {
  if (shutting_down_) return;
  if (delay <= Duration::zero()) {
    AddLocked(key);
    return;
  }
  const TimePoint now = clock_->Now();
  AddAtLocked(key, delay >= kNoDeadline - now ? kNoDeadline : now + delay);  // saturate
}

void WorkQueue::AddAtLocked(const std::string& key, TimePoint ready) {
  if (shutting_down_) return;
  if (ready <= clock_->Now()) {
    AddLocked(key);
    return;
  }
  auto known = waiting_index_.find(key);
  if (known != waiting_index_.end()) {
    if (known->second->first.first <= ready) return;  // the earlier time wins
    waiting_.erase(known->second);
    waiting_index_.erase(known);
  }
  auto it = waiting_.emplace(std::make_pair(ready, next_seq_++), key).first;
  waiting_index_.emplace(key, it);
  if (it == waiting_.begin()) timer_cv_.notify_all();  // the timer must wake earlier
}

void WorkQueue::AddAfter(const std::string& key, Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  AddAfterLocked(key, delay);
}

void WorkQueue::AddAt(const std::string& key, TimePoint when) {
  std::lock_guard<std::mutex> lock(mu_);
  AddAtLocked(key, when);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  AddAfterLocked(key, backoff_.When(key));
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  backoff_.Forget(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return backoff_.NumRequeues(key);
}

int WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  queue_.clear();
  dirty_.clear();
  waiting_.clear();
  waiting_index_.clear();
  get_cv_.notify_all();
  timer_cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

void WorkQueue::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    const TimePoint now = clock_->Now();
    while (!waiting_.empty() && waiting_.begin()->first.first <= now) {
      auto first = waiting_.begin();
      waiting_index_.erase(first->second);
      AddLocked(first->second);
      waiting_.erase(first);
    }
    const TimePoint next = waiting_.empty() ? kNoDeadline : waiting_.begin()->first.first;
    clock_->WaitUntil(timer_cv_, lock, next);
  }
}

}  // namespace cattle
