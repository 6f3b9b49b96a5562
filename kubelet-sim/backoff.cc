#include "kubelet-sim/backoff.h"

#include <algorithm>

namespace cattle::kubelet {

bool Backoff::InBackOffSince(const std::string& key, TimePoint event_time, TimePoint now) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  if (Expired(event_time, it->second.last_update)) return false;
  return now - event_time < scale_(it->second.backoff);
}

bool Backoff::InBackOffSinceUpdate(const std::string& key, TimePoint now) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  if (Expired(now, it->second.last_update)) return false;
  return now - it->second.last_update < scale_(it->second.backoff);
}

void Backoff::Next(const std::string& key, TimePoint event_time, TimePoint now) {
  auto it = entries_.find(key);
  if (it == entries_.end() || Expired(event_time, it->second.last_update)) {
    entries_[key] = Entry{initial_, now};
    return;
  }
  it->second.backoff = std::min(it->second.backoff * 2, max_);
  it->second.last_update = now;
}

Duration Backoff::Get(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? Duration::zero() : it->second.backoff;
}

TimePoint Backoff::LastUpdate(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? TimePoint{} : it->second.last_update;
}

}  // namespace cattle::kubelet
