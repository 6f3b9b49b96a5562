// EventRecorder: a bounded queue drained by one background thread that creates core/v1
// Events, or patches count and lastTimestamp of an Event it created earlier for the same
// (object, type, reason, message), as client-go's record package does.
#include "cattle/events.h"

#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cattle/log.h"
#include "core.capnp.h"

namespace cattle {
namespace {

constexpr size_t kMaxQueued = 1000;
// Repeats within this window (since the last occurrence) update the existing Event.
constexpr Duration kAggregationWindow = std::chrono::minutes(10);
// The dedup cache remembers this many (object, type, reason, message) keys (LRU), as
// client-go's event logger cache (4096).
constexpr size_t kMaxCacheEntries = 4096;
// Attempts per event for transient errors (apiserver unreachable, timeouts, 5xx, 429).
constexpr int kMaxTries = 3;
constexpr Duration kRetryBackoff = std::chrono::seconds(1);  // doubled after each failure

// One recorded occurrence, copied out of the regarding object when Event() is called.
struct Pending {
  std::string event_namespace;  // where the Event lives
  std::string kind, api_version, obj_namespace, obj_name, uid, resource_version;
  std::string type, reason, message;
  int64_t wall_nanos = 0;
  TimePoint when;
};

struct CacheEntry {
  std::string key;
  std::string event_namespace;
  std::string event_name;
  int32_t count = 0;
  TimePoint last_seen;
};

// Errors worth another attempt: the request may not have reached the apiserver, or the
// apiserver could not serve it now. Anything else (Invalid, NotFound namespace, ...) would
// fail again.
bool Transient(const Status& s) {
  switch (s.reason()) {
    case Reason::kUnavailable:
    case Reason::kTimeout:
    case Reason::kServiceUnavailable:
    case Reason::kInternalError:
    case Reason::kTooManyRequests:
      return true;
    default:
      return false;
  }
}

}  // namespace

class EventRecorder::Impl {
 public:
  Impl(ApiClient* client, Clock* clock, std::string component, std::string host)
      : client_(client),
        clock_(clock),
        component_(std::move(component)),
        host_(std::move(host)),
        events_kind_(client->kinds().ByGroupResource("", "events")) {
    worker_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    worker_.join();
  }

  void Enqueue(const Object& regarding, const std::string& type, const std::string& reason,
               const std::string& message) {
    Pending p;
    const KindInfo* kind = regarding.kind();
    p.kind = kind->kind;
    p.api_version = kind->ApiVersion();
    p.obj_name = regarding.name();
    p.uid = regarding.uid();
    auto meta = regarding.meta();
    p.resource_version = meta.getResourceVersion().cStr();
    if (kind->namespaced) {
      p.obj_namespace = regarding.namespace_();
      p.event_namespace = p.obj_namespace.empty() ? "default" : p.obj_namespace;
    } else {
      p.event_namespace = "default";  // as Kubernetes: events on Nodes etc. live in default
    }
    p.type = type;
    p.reason = reason;
    p.message = message;
    p.wall_nanos = clock_->WallNanos();
    p.when = clock_->Now();
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) return;
    if (queue_.size() >= kMaxQueued) {
      ++dropped_;
      // Log the first drop of a burst and then every 100th, not every one.
      if (dropped_ % 100 == 1) {
        CATTLE_LOG(WARN) << "event queue full; dropping event" << kv("object", p.obj_name)
                         << kv("reason", p.reason) << kv("dropped", dropped_);
      }
      return;
    }
    queue_.push_back(std::move(p));
    cv_.notify_all();
  }

  void Flush() {
    std::unique_lock<std::mutex> lk(mu_);
    idle_cv_.wait(lk, [this] { return queue_.empty() && !busy_; });
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (true) {
      while (queue_.empty() && !stopping_) clock_->WaitUntil(cv_, lk, kNoDeadline);
      if (queue_.empty()) break;  // stopping and drained
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lk.unlock();
      const bool unreachable = !Record(p);
      lk.lock();
      busy_ = false;
      if (stopping_ && unreachable && !queue_.empty()) {
        // Shutting down with the apiserver unreachable: do not hold the process's exit for
        // a timeout per queued event.
        CATTLE_LOG(WARN) << "dropping queued events at shutdown" << kv("count", queue_.size());
        queue_.clear();
      }
      idle_cv_.notify_all();
    }
    busy_ = false;
    idle_cv_.notify_all();
  }

  static std::string CacheKey(const Pending& p) {
    std::string k;
    for (const std::string* s : {&p.kind, &p.obj_namespace, &p.obj_name, &p.uid, &p.type,
                                 &p.reason, &p.message}) {
      k += *s;
      k += '\x1f';
    }
    return k;
  }

  // Writes one occurrence, retrying transient errors a few times (backing off on the clock;
  // no back-off once the recorder is being destroyed: then the first failure drops it).
  // Returns false when the event was dropped after a transient error.
  bool Record(const Pending& p) {
    const std::string key = CacheKey(p);
    Duration backoff = kRetryBackoff;
    for (int attempt = 1;; ++attempt) {
      Status st = TryRecord(p, key);
      if (st.ok()) return true;
      bool stopping;
      {
        std::lock_guard<std::mutex> g(mu_);
        stopping = stopping_;
      }
      if (!Transient(st) || attempt >= kMaxTries || stopping) {
        CATTLE_LOG(WARN) << "could not record event" << kv("object", p.obj_name)
                         << kv("namespace", p.event_namespace) << kv("reason", p.reason)
                         << kv("attempts", attempt) << kv("error", st.ToString());
        return !Transient(st);
      }
      std::unique_lock<std::mutex> lk(mu_);
      const TimePoint deadline = clock_->Now() + backoff;
      while (!stopping_ && clock_->WaitUntil(cv_, lk, deadline)) {
      }
      backoff *= 2;
    }
  }

  Status TryRecord(const Pending& p, const std::string& key) {
    auto it = cache_index_.find(key);
    if (it != cache_index_.end()) {
      CacheEntry& e = *it->second;
      if (p.when - e.last_seen <= kAggregationWindow) {
        const int32_t count = e.count + 1;
        Json patch = {{"count", count}, {"lastTimestamp", FormatRfc3339(p.wall_nanos)}};
        auto r = client_->Patch(events_kind_, e.event_namespace, e.event_name, "merge",
                                patch.dump());
        if (r.ok()) {
          e.count = count;
          e.last_seen = p.when;
          cache_.splice(cache_.begin(), cache_, it->second);
          return Status::Ok();
        }
        // The Event was deleted (or expired): record a fresh one, as client-go does.
        if (!r.status().Is(Reason::kNotFound)) return r.status();
      }
      cache_.erase(it->second);
      cache_index_.erase(it);
    }
    auto created = Create(p);
    if (!created.ok()) return created.status();
    cache_.push_front(CacheEntry{key, p.event_namespace, std::move(*created), 1, p.when});
    cache_index_[key] = cache_.begin();
    while (cache_.size() > kMaxCacheEntries) {
      cache_index_.erase(cache_.back().key);
      cache_.pop_back();
    }
    return Status::Ok();
  }

  // Creates a new Event; returns its name.
  Result<std::string> Create(const Pending& p) {
    // Kubernetes names events "<object>.<hex unix nanos>". Two events of this recorder in
    // the same nanosecond (a fake clock that stands still) get consecutive numbers; a clash
    // with another recorder's event is retried with the next number.
    int64_t nanos = std::max(p.wall_nanos, last_name_nanos_ + 1);
    for (int clash = 0;; ++clash) {
      last_name_nanos_ = nanos;
      char suffix[32];
      std::snprintf(suffix, sizeof(suffix), ".%016" PRIx64, static_cast<uint64_t>(nanos));
      const std::string name = p.obj_name + suffix;

      Object ev(events_kind_);
      ev.meta().setName(name);
      ev.meta().setNamespace(p.event_namespace);
      auto e = ev.as<api::Event>();
      auto ref = e.initInvolvedObject();
      ref.setKind(p.kind);
      if (!p.obj_namespace.empty()) ref.setNamespace(p.obj_namespace);
      ref.setName(p.obj_name);
      if (!p.uid.empty()) ref.setUid(p.uid);
      ref.setApiVersion(p.api_version);
      if (!p.resource_version.empty()) ref.setResourceVersion(p.resource_version);
      e.setReason(p.reason);
      e.setMessage(p.message);
      auto source = e.initSource();
      source.setComponent(component_);
      if (!host_.empty()) source.setHost(host_);
      const std::string ts = FormatRfc3339(p.wall_nanos);
      e.setFirstTimestamp(ts);
      e.setLastTimestamp(ts);
      e.setCount(1);
      e.setType(p.type);
      e.setReportingComponent(component_);
      e.setReportingInstance(host_);

      auto r = client_->Create(ev);
      if (r.ok()) return name;
      if (r.status().Is(Reason::kAlreadyExists) && clash < 3) {
        ++nanos;
        continue;
      }
      return r.status();
    }
  }

  ApiClient* const client_;
  Clock* const clock_;
  const std::string component_;
  const std::string host_;
  const KindInfo* const events_kind_;

  std::mutex mu_;
  std::condition_variable cv_;       // worker: new event or stopping (waited on clock_)
  std::condition_variable idle_cv_;  // Flush: queue drained (real time)
  std::deque<Pending> queue_;        // GUARDED_BY(mu_)
  bool busy_ = false;                // GUARDED_BY(mu_): the worker is writing one
  bool stopping_ = false;            // GUARDED_BY(mu_)
  int64_t dropped_ = 0;              // GUARDED_BY(mu_)

  // Worker thread only.
  std::list<CacheEntry> cache_;  // most recently used first
  std::unordered_map<std::string, std::list<CacheEntry>::iterator> cache_index_;
  int64_t last_name_nanos_ = 0;

  std::thread worker_;  // last: started once everything above is initialised
};

EventRecorder::EventRecorder(ApiClient* client, Clock* clock, std::string component,
                             std::string host)
    : impl_(std::make_unique<Impl>(client, clock, std::move(component), std::move(host))) {}

EventRecorder::~EventRecorder() = default;

void EventRecorder::Event(const Object& regarding, const std::string& type,
                          const std::string& reason, const std::string& message) {
  impl_->Enqueue(regarding, type, reason, message);
}

void EventRecorder::Flush() { impl_->Flush(); }

}  // namespace cattle
