// EventRecorder: a bounded queue drained by one background thread that creates core/v1
// Events, or patches count and lastTimestamp of an Event it created earlier for the same
// (object, type, reason, message), as client-go's record package does.
#include "cattle/events.h"

#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <set>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "cattle/log.h"
#include "core.capnp.h"

namespace cattle {
namespace {

constexpr size_t kMaxQueued = 1000;  // per recorder sharing the queue
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
  std::string host;             // source.host / reportingInstance
  std::string event_namespace;  // where the Event lives
  std::string kind, api_version, obj_namespace, obj_name, uid, resource_version;
  std::string type, reason, message;
  int64_t wall_nanos = 0;
  TimePoint when;
  // Retry state of the write.
  int attempt = 1;            // this write's attempt number (transient errors)
  Duration backoff{};         // the wait before the next attempt
  TimePoint not_before{};     // no attempt before this (the back-off)
  int clash = 0;              // name clashes so far
  int64_t name_nanos = 0;     // the name's timestamp (0: not chosen yet)
};

// Creates in flight at once per recorder: enough to keep the round trips off the critical
// path of a busy component, few enough not to flood the apiserver.
constexpr int kMaxInFlight = 256;
// New Events queued together go in one createMany request of at most this many: under
// load the round trip per Event was a third of an Event's cost, across processes.
constexpr size_t kMaxPerRequest = 64;
// createMany requests in flight at once per recorder. While they are, new Events gather
// into the next batch (Nagle's rule): an idle recorder sends at once, a busy one sends
// fewer, fuller requests instead of one per Event.
constexpr int kMaxRequestsInFlight = 2;

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
  // A create's answer, handed from the client's thread to the worker.
  struct Answer {
    Pending p;
    std::string key;
    Status status;
  };
  // What a create's callback holds: the recorder while it lives (`impl`, under `mu`).
  struct SharedState {
    std::mutex mu;
    Impl* impl = nullptr;
  };

 public:
  Impl(ApiClient* client, Clock* clock, std::string component)
      : client_(client),
        clock_(clock),
        component_(std::move(component)),
        events_kind_(client->kinds().ByGroupResource("", "events")) {
    shared_ = std::make_shared<SharedState>();
    shared_->impl = this;
    worker_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    worker_.join();  // after every create in flight was answered
    std::lock_guard<std::mutex> g(shared_->mu);
    shared_->impl = nullptr;
  }

  void Share() { sharers_++; }
  void Unshare() { sharers_--; }

  void Enqueue(const std::string& host, const Object& regarding, const std::string& type,
               const std::string& reason, const std::string& message) {
    Pending p;
    p.host = host;
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
    if (queue_.size() >= kMaxQueued * static_cast<size_t>(sharers_.load())) {
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
    idle_cv_.wait(lk, [this] { return Idle(); });
  }

 private:
  bool Idle() const { return queue_.empty() && !busy_ && in_flight_ == 0 && answers_.empty(); }

  // The worker: takes queued events one at a time. A repeat is a (synchronous, rare)
  // patch; a new Event joins the batch that is sent (one createMany request) once the queue
  // is drained or the batch full and fewer than kMaxRequestsInFlight requests are out, up
  // to kMaxInFlight Events at once; the answers come back through answers_, so the worker
  // never waits for a round trip. A repeat of a key whose create is still in flight waits
  // for it (held_), so it becomes a patch of that Event rather than a second Event.
  void Run() {
    std::unique_lock<std::mutex> lk(mu_);
    while (true) {
      while (!answers_.empty()) {
        Answer a = std::move(answers_.front());
        answers_.pop_front();
        busy_ = true;
        lk.unlock();
        OnAnswer(std::move(a));
        lk.lock();
        busy_ = false;
      }
      if (stopping_ && unreachable_ && !queue_.empty()) {
        // Shutting down with the apiserver unreachable: do not hold the process's exit for
        // a timeout per queued event.
        CATTLE_LOG(WARN) << "dropping queued events at shutdown" << kv("count", queue_.size());
        queue_.clear();
      }
      const bool waiting = !queue_.empty() && !stopping_ && queue_.front().not_before > clock_->Now();
      const bool batch_done =
          !batch_.empty() &&
          (queue_.empty() || waiting || in_flight_ >= kMaxInFlight || batch_.size() >= kMaxPerRequest ||
           queue_.front().event_namespace != batch_.front().p.event_namespace);
      if (batch_done && requests_in_flight_ < kMaxRequestsInFlight) {
        ++requests_in_flight_;
        lk.unlock();
        SendBatch();
        lk.lock();
        continue;
      }
      if (Idle()) idle_cv_.notify_all();
      if (batch_done || queue_.empty() || in_flight_ >= kMaxInFlight) {
        if (stopping_ && queue_.empty() && in_flight_ == 0 && answers_.empty()) break;
        clock_->WaitUntil(cv_, lk, kNoDeadline);
        continue;
      }
      if (waiting) {  // a retry's back-off
        clock_->WaitUntil(cv_, lk, queue_.front().not_before);
        continue;
      }
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      std::string key = CacheKey(p);
      if (in_flight_keys_.count(key)) {
        held_[key].push_back(std::move(p));
        continue;
      }
      busy_ = true;
      lk.unlock();
      Start(std::move(p), std::move(key));
      lk.lock();
      busy_ = false;
    }
    busy_ = false;
    idle_cv_.notify_all();
  }

  // One write of `p`: a patch of the Event recorded earlier for the same key (within the
  // aggregation window), else a create, added to the batch that goes out next.
  void Start(Pending p, std::string key) {
    auto it = cache_index_.find(key);
    if (it != cache_index_.end()) {
      CacheEntry& e = *it->second;
      if (p.when - e.last_seen <= kAggregationWindow) {
        const int32_t count = e.count + 1;
        Json patch = {{"count", count}, {"lastTimestamp", FormatRfc3339(p.wall_nanos)}};
        auto r = client_->Patch(events_kind_, e.event_namespace, e.event_name, "merge", patch.dump());
        if (r.ok()) {
          e.count = count;
          e.last_seen = p.when;
          cache_.splice(cache_.begin(), cache_, it->second);
          Succeeded();
          return;
        }
        // The Event was deleted (or expired): record a fresh one, as client-go does.
        if (!r.status().Is(Reason::kNotFound)) return Failed(std::move(p), r.status());
      }
      cache_.erase(it->second);
      cache_index_.erase(it);
    }
    // Kubernetes names events "<object>.<hex unix nanos>". Two events of this recorder in
    // the same nanosecond (a fake clock that stands still) get consecutive numbers; a clash
    // with another recorder's event is retried with the next number.
    if (p.name_nanos == 0) p.name_nanos = std::max(p.wall_nanos, last_name_nanos_ + 1);
    last_name_nanos_ = std::max(last_name_nanos_, p.name_nanos);
    Object ev = NewEvent(p);
    {
      std::lock_guard<std::mutex> g(mu_);
      ++in_flight_;
      in_flight_keys_.insert(key);
    }
    batch_.push_back(Answer{std::move(p), std::move(key), Status::Ok()});
    batch_objects_.push_back(std::move(ev));
  }

  // Sends the gathered creates in one request, without waiting; their answers come back
  // through answers_.
  void SendBatch() {
    std::vector<Object> objects = std::move(batch_objects_);
    std::vector<Answer> sent = std::move(batch_);
    batch_objects_.clear();
    batch_.clear();
    auto shared = shared_;
    client_->CreateManyAsync(std::move(objects), [shared, sent = std::move(sent)](std::vector<Status> st) mutable {
      std::lock_guard<std::mutex> g(shared->mu);
      Impl* self = shared->impl;
      if (self == nullptr) return;  // the recorder is gone
      std::lock_guard<std::mutex> g2(self->mu_);
      --self->requests_in_flight_;
      for (size_t i = 0; i < sent.size(); ++i) {
        sent[i].status = i < st.size() ? std::move(st[i]) : Status::Internal("no answer for this event");
        self->answers_.push_back(std::move(sent[i]));
      }
      self->cv_.notify_all();
    });
  }

  // A create's answer, on the worker thread.
  void OnAnswer(Answer a) {
    {
      std::lock_guard<std::mutex> g(mu_);
      --in_flight_;
      in_flight_keys_.erase(a.key);
      auto h = held_.find(a.key);
      if (h != held_.end()) {  // repeats that waited for this create go first
        for (auto it = h->second.rbegin(); it != h->second.rend(); ++it) queue_.push_front(std::move(*it));
        held_.erase(h);
      }
    }
    if (a.status.ok()) {
      char suffix[32];
      std::snprintf(suffix, sizeof(suffix), ".%016" PRIx64, static_cast<uint64_t>(a.p.name_nanos));
      cache_.push_front(CacheEntry{a.key, a.p.event_namespace, a.p.obj_name + suffix, 1, a.p.when});
      cache_index_[a.key] = cache_.begin();
      while (cache_.size() > kMaxCacheEntries) {
        cache_index_.erase(cache_.back().key);
        cache_.pop_back();
      }
      Succeeded();
      return;
    }
    if (a.status.Is(Reason::kAlreadyExists) && a.p.clash < 3) {
      a.p.clash++;
      a.p.name_nanos = std::max(a.p.name_nanos + 1, last_name_nanos_ + 1);
      std::lock_guard<std::mutex> g(mu_);
      queue_.push_front(std::move(a.p));
      return;
    }
    Failed(std::move(a.p), a.status);
  }

  void Succeeded() {
    std::lock_guard<std::mutex> g(mu_);
    unreachable_ = false;
  }

  // A failed write: transient errors are tried again after a back-off on the clock (none
  // once the recorder is being destroyed), up to kMaxTries attempts in all.
  void Failed(Pending p, const Status& st) {
    std::lock_guard<std::mutex> g(mu_);
    if (!Transient(st) || p.attempt >= kMaxTries || stopping_) {
      CATTLE_LOG(WARN) << "could not record event" << kv("object", p.obj_name)
                       << kv("namespace", p.event_namespace) << kv("reason", p.reason)
                       << kv("attempts", p.attempt) << kv("error", st.ToString());
      if (Transient(st)) unreachable_ = true;
      return;
    }
    p.backoff = p.attempt == 1 ? kRetryBackoff : p.backoff * 2;
    p.not_before = clock_->Now() + p.backoff;
    p.attempt++;
    queue_.push_front(std::move(p));
  }

  static std::string CacheKey(const Pending& p) {
    std::string k;
    for (const std::string* s : {&p.host, &p.kind, &p.obj_namespace, &p.obj_name, &p.uid, &p.type,
                                 &p.reason, &p.message}) {
      k += *s;
      k += '\x1f';
    }
    return k;
  }

  // The Event for `p`, named after p.name_nanos.
  Object NewEvent(const Pending& p) const {
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), ".%016" PRIx64, static_cast<uint64_t>(p.name_nanos));
    Object ev(events_kind_);
    ev.meta().setName(p.obj_name + suffix);
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
    if (!p.host.empty()) source.setHost(p.host);
    const std::string ts = FormatRfc3339(p.wall_nanos);
    e.setFirstTimestamp(ts);
    e.setLastTimestamp(ts);
    e.setCount(1);
    e.setType(p.type);
    e.setReportingComponent(component_);
    e.setReportingInstance(p.host);
    return ev;
  }

  ApiClient* const client_;
  Clock* const clock_;
  const std::string component_;
  std::atomic<int> sharers_{1};  // recorders writing through this one (its queue grows with them)
  const KindInfo* const events_kind_;

  std::mutex mu_;
  std::condition_variable cv_;       // worker: new event or stopping (waited on clock_)
  std::condition_variable idle_cv_;  // Flush: queue drained (real time)
  std::deque<Pending> queue_;        // GUARDED_BY(mu_)
  bool busy_ = false;                // GUARDED_BY(mu_): the worker is writing one
  bool stopping_ = false;            // GUARDED_BY(mu_)
  bool unreachable_ = false;         // GUARDED_BY(mu_): the last write failed transiently
  int64_t dropped_ = 0;              // GUARDED_BY(mu_)
  int in_flight_ = 0;                // GUARDED_BY(mu_): creates sent, not answered
  int requests_in_flight_ = 0;       // GUARDED_BY(mu_): createMany requests not answered
  std::set<std::string> in_flight_keys_;                      // GUARDED_BY(mu_)
  std::map<std::string, std::deque<Pending>> held_;           // GUARDED_BY(mu_)
  std::deque<Answer> answers_;                                // GUARDED_BY(mu_)
  // What an answer needs to find: the recorder, while it lives. Answers arriving after
  // it is gone (the client timed them out later) are dropped.
  std::shared_ptr<SharedState> shared_;

  // Worker thread only.
  std::vector<Answer> batch_;          // creates gathered for the next request (status unset)
  std::vector<Object> batch_objects_;  // ... and their Events
  std::list<CacheEntry> cache_;  // most recently used first
  std::unordered_map<std::string, std::list<CacheEntry>::iterator> cache_index_;
  int64_t last_name_nanos_ = 0;

  std::thread worker_;  // last: started once everything above is initialised
};

EventRecorder::EventRecorder(ApiClient* client, Clock* clock, std::string component,
                             std::string host)
    : owned_(std::make_unique<Impl>(client, clock, std::move(component))), impl_(owned_.get()),
      host_(std::move(host)) {}

EventRecorder::EventRecorder(EventRecorder* shared, std::string host)
    : impl_(shared->impl_), host_(std::move(host)) {
  impl_->Share();
}

EventRecorder::~EventRecorder() {
  if (!owned_) impl_->Unshare();
}

void EventRecorder::Event(const Object& regarding, const std::string& type,
                          const std::string& reason, const std::string& message) {
  impl_->Enqueue(host_, regarding, type, reason, message);
}

void EventRecorder::Flush() { impl_->Flush(); }

}  // namespace cattle
