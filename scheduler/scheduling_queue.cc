#include "scheduler/scheduling_queue.h"

#include "cattle/log.h"

namespace cattle::scheduler {

SchedulingQueue::SchedulingQueue(Clock* clock, SchedulingQueueOptions options)
    : clock_(clock), options_(options) {}

Duration SchedulingQueue::BackoffDuration(int attempts) const {
  if (attempts <= 0) return Duration::zero();
  Duration d = options_.initial_backoff;
  for (int i = 1; i < attempts; ++i) {
    if (d > options_.max_backoff - d) return options_.max_backoff;
    d += d;
  }
  return std::min(d, options_.max_backoff);
}

void SchedulingQueue::PushActiveLocked(const std::string& key, Entry* e) {
  e->state = State::kActive;
  e->timestamp = clock_->Now();
  e->seq = next_seq_++;
  active_.emplace(-e->priority, e->timestamp, e->seq, key);
  cv_.notify_all();
}

void SchedulingQueue::UnlinkLocked(const std::string& key, const Entry& e) {
  if (e.state == State::kActive) active_.erase({-e.priority, e.timestamp, e.seq, key});
  if (e.state == State::kBackoff) backoff_.erase({e.backoff_expiry, e.seq, key});
}

void SchedulingQueue::FlushBackoffLocked() {
  TimePoint now = clock_->Now();
  while (!backoff_.empty() && std::get<0>(*backoff_.begin()) <= now) {
    std::string key = std::get<2>(*backoff_.begin());
    backoff_.erase(backoff_.begin());
    PushActiveLocked(key, &entries_[key]);
  }
}

void SchedulingQueue::Add(const std::string& key, int32_t priority) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    Entry& e = entries_[key];
    e.priority = priority;
    PushActiveLocked(key, &e);
    return;
  }
  Entry& e = it->second;
  if (e.priority == priority) return;
  if (e.state == State::kActive) {
    UnlinkLocked(key, e);
    e.priority = priority;
    e.seq = next_seq_++;
    active_.emplace(-e.priority, e.timestamp, e.seq, key);
  } else {
    e.priority = priority;
  }
}

void SchedulingQueue::Update(const std::string& key, int32_t priority) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    Entry& e = entries_[key];
    e.priority = priority;
    PushActiveLocked(key, &e);
    return;
  }
  Entry& e = it->second;
  switch (e.state) {
    case State::kInFlight:
      e.priority = priority;
      e.moved = true;
      break;
    case State::kBackoff:
      UnlinkLocked(key, e);
      e.priority = priority;
      PushActiveLocked(key, &e);
      break;
    case State::kActive:
      if (e.priority != priority) {
        UnlinkLocked(key, e);
        e.priority = priority;
        e.seq = next_seq_++;
        active_.emplace(-e.priority, e.timestamp, e.seq, key);
      }
      break;
  }
}

void SchedulingQueue::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.state == State::kInFlight) {
    it->second.deleted = true;
    return;
  }
  UnlinkLocked(key, it->second);
  entries_.erase(it);
}

void SchedulingQueue::MoveAllToActive(const std::string& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  int moved = 0;
  while (!backoff_.empty()) {
    std::string key = std::get<2>(*backoff_.begin());
    backoff_.erase(backoff_.begin());
    PushActiveLocked(key, &entries_[key]);
    ++moved;
  }
  for (auto& [key, e] : entries_)
    if (e.state == State::kInFlight) e.moved = true;
  if (moved > 0) {
    CATTLE_LOG(DEBUG) << "pods moved to the active queue" << kv("event", event)
                      << kv("pods", moved);
  }
}

bool SchedulingQueue::Pop(QueuedPod* out) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shut_down_) return false;
    FlushBackoffLocked();
    if (!active_.empty()) {
      std::string key = std::get<3>(*active_.begin());
      active_.erase(active_.begin());
      Entry& e = entries_[key];
      e.state = State::kInFlight;
      e.attempts++;
      e.moved = false;
      e.deleted = false;
      out->key = key;
      out->attempts = e.attempts;
      return true;
    }
    TimePoint deadline = backoff_.empty() ? kNoDeadline : std::get<0>(*backoff_.begin());
    ++idle_waits_;
    clock_->WaitUntil(cv_, lock, deadline);
  }
}

void SchedulingQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.state == State::kInFlight) entries_.erase(it);
}

void SchedulingQueue::AddUnschedulable(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.state != State::kInFlight) return;
  Entry& e = it->second;
  if (e.deleted || shut_down_) {
    entries_.erase(it);
    return;
  }
  if (e.moved) {
    e.moved = false;
    PushActiveLocked(key, &e);
    return;
  }
  e.state = State::kBackoff;
  e.backoff_expiry = clock_->Now() + BackoffDuration(e.attempts);
  e.seq = next_seq_++;
  backoff_.emplace(e.backoff_expiry, e.seq, key);
  cv_.notify_all();  // Pop's deadline may be earlier now
}

void SchedulingQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  active_.clear();
  backoff_.clear();
  entries_.clear();
  cv_.notify_all();
}

int SchedulingQueue::Attempts(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? -1 : it->second.attempts;
}

std::optional<TimePoint> SchedulingQueue::BackoffExpiry(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.state != State::kBackoff) return std::nullopt;
  return it->second.backoff_expiry;
}

bool SchedulingQueue::Contains(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.count(key) > 0;
}

int SchedulingQueue::ActiveLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(active_.size());
}

int SchedulingQueue::BackoffLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(backoff_.size());
}

int64_t SchedulingQueue::idle_waits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_waits_;
}

}  // namespace cattle::scheduler
