// Backoff: Kubernetes' flowcontrol.Backoff as the kubelet uses it for CrashLoopBackOff and
// image pulls — per key, `initial` doubling to `max`, forgotten once the key has been quiet
// for twice `max` (for CrashLoopBackOff: a container that ran 10 minutes starts over at 10 s).
//
// Durations are nominal (Kubernetes' values, shown in messages as "back-off 20s"); the
// time scale applies only when converting to clock time (Scaled*). Not thread-safe: each
// pod worker owns its own.
#pragma once

#include <map>
#include <string>

#include "cattle/clock.h"
#include "cattle/timescale.h"

namespace cattle::kubelet {

class Backoff {
 public:
  Backoff(Duration initial, Duration max, TimeScale scale)
      : initial_(initial), max_(max), scale_(scale) {}

  // Whether `key` must still wait at `now` after an event (a container's exit) at
  // `event_time`: Kubernetes' IsInBackOffSince.
  bool InBackOffSince(const std::string& key, TimePoint event_time, TimePoint now) const;
  // Whether `key` must still wait at `now` since its last Next: IsInBackOffSinceUpdate.
  bool InBackOffSinceUpdate(const std::string& key, TimePoint now) const;
  // Records one more failure at `now` for an event at `event_time`: the back-off starts at
  // `initial`, or doubles (capped at `max`) unless the previous one has expired.
  void Next(const std::string& key, TimePoint event_time, TimePoint now);
  // The current nominal back-off of `key` (0 when none).
  Duration Get(const std::string& key) const;
  // When the back-off of `key` counted from `since` ends, on the clock.
  TimePoint EndsAt(const std::string& key, TimePoint since) const { return since + scale_(Get(key)); }
  // The time of the last Next of `key`.
  TimePoint LastUpdate(const std::string& key) const;
  void Forget(const std::string& key) { entries_.erase(key); }

 private:
  struct Entry {
    Duration backoff;
    TimePoint last_update;
  };
  bool Expired(TimePoint event_time, TimePoint last_update) const {
    return event_time - last_update > scale_(2 * max_);
  }
  Duration initial_, max_;
  TimeScale scale_;
  std::map<std::string, Entry> entries_;
};

}  // namespace cattle::kubelet
