// LeaderElector: client-go's leaderelection over a coordination.k8s.io/v1 Lease, on an
// injected clock. One background thread per elector: it campaigns (an attempt every
// retry_period) until it holds the lease, then renews every retry_period until it cannot
// for renew_deadline, or another holder shows up (then it campaigns again, once the
// component has stopped its work), or Stop() is called (which releases).
#include "cattle/leader_election.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "cattle/log.h"
#include "coordination.capnp.h"

namespace cattle {
namespace {

// The lease record as client-go's LeaderElectionRecord.
struct Record {
  std::string holder;
  int32_t lease_duration_seconds = 0;  // 0: absent
  std::string acquire_time;
  std::string renew_time;
  int32_t transitions = 0;

  bool operator==(const Record&) const = default;
};

Record ReadRecord(const Object& lease) {
  auto spec = lease.get<api::Lease>().getSpec();
  Record r;
  r.holder = spec.getHolderIdentity().cStr();
  if (spec.hasLeaseDurationSeconds()) r.lease_duration_seconds = spec.getLeaseDurationSeconds().getValue();
  r.acquire_time = spec.getAcquireTime().cStr();
  r.renew_time = spec.getRenewTime().cStr();
  if (spec.hasLeaseTransitions()) r.transitions = spec.getLeaseTransitions().getValue();
  return r;
}

void WriteRecord(const Record& r, Object* lease) {
  auto spec = lease->as<api::Lease>().getSpec();
  if (r.holder.empty()) {
    if (spec.hasHolderIdentity()) spec.disownHolderIdentity();
  } else {
    spec.setHolderIdentity(r.holder);
  }
  spec.initLeaseDurationSeconds().setValue(r.lease_duration_seconds);
  spec.setAcquireTime(r.acquire_time);
  spec.setRenewTime(r.renew_time);
  spec.initLeaseTransitions().setValue(r.transitions);
}

int32_t Seconds(Duration d) {
  return static_cast<int32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

// Conflicts (someone wrote the lease between our read and our write) are re-read and
// retried at once, this many times per attempt.
constexpr int kConflictRetries = 3;

}  // namespace

class LeaderElector::Impl {
 public:
  Impl(ApiClient* client, Clock* clock, LeaderElectionOptions options)
      : client_(client),
        clock_(clock),
        opts_(std::move(options)),
        leases_(client->kinds().ByGroupResource("coordination.k8s.io", "leases")) {}

  ~Impl() { Stop(); }

  void Start(std::function<void()> on_started, std::function<void()> on_stopped) {
    std::lock_guard<std::mutex> life(life_mu_);
    std::lock_guard<std::mutex> g(mu_);
    if (started_ || stopping_) {
      CATTLE_LOG(WARN) << "leader elector already started or stopped; Start ignored"
                       << kv("lease", LeaseKey()) << kv("identity", opts_.identity);
      return;
    }
    if (opts_.lease_name.empty() || opts_.identity.empty() || leases_ == nullptr) {
      CATTLE_LOG(ERROR) << "leader election needs a lease name and an identity; not campaigning";
      return;
    }
    started_ = true;
    on_started_ = std::move(on_started);
    on_stopped_ = std::move(on_stopped);
    thread_ = std::thread([this] {
      thread_id_ = std::this_thread::get_id();  // before any callback can call Stop()
      Run();
    });
  }

  void Stop() {
    if (thread_id_.load() == std::this_thread::get_id()) {
      // From a callback, on the elector's own thread: the loop ends, releasing the lease if
      // held, once the callback returns. (It cannot join itself.)
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
      return;
    }
    std::lock_guard<std::mutex> life(life_mu_);
    {
      std::lock_guard<std::mutex> g(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  bool IsLeader() const { return leader_.load(); }

 private:
  enum class Attempt { kOk, kHeldByOther, kError };

  // Waits until `d` has passed on the clock or Stop(). Returns false when stopping.
  bool Sleep(Duration d) {
    std::unique_lock<std::mutex> lk(mu_);
    const TimePoint deadline = clock_->Now() + d;
    while (!stopping_ && clock_->WaitUntil(cv_, lk, deadline)) {
    }
    return !stopping_;
  }

  bool Stopping() {
    std::lock_guard<std::mutex> g(mu_);
    return stopping_;
  }

  void Run() {
    while (true) {
      CATTLE_LOG(INFO) << "attempting to acquire leader lease" << kv("lease", LeaseKey())
                       << kv("identity", opts_.identity);
      // Campaign.
      while (true) {
        if (Stopping()) return;
        if (TryAcquireOrRenew() == Attempt::kOk) break;
        if (!Sleep(opts_.retry_period)) return;
      }
      if (Stopping()) {  // acquired just as Stop() was called: hand it back at once
        Release();
        return;
      }
      leader_ = true;
      CATTLE_LOG(INFO) << "successfully acquired lease" << kv("lease", LeaseKey())
                       << kv("identity", opts_.identity);
      if (on_started_) on_started_();

      if (!Lead()) {  // Stop() was called: hand the lease back
        Release();
        leader_ = false;
        return;
      }
      leader_ = false;
      CATTLE_LOG(INFO) << "leader election lost" << kv("lease", LeaseKey())
                       << kv("identity", opts_.identity);
      // The component stops its work here; only then do we campaign again.
      if (on_stopped_) on_stopped_();
    }
  }

  // Renews every retry_period while leading. Returns true when leadership was lost (renewals
  // failed for renew_deadline, or another holder shows), false when Stop() was called.
  bool Lead() {
    TimePoint last_renew = clock_->Now();
    while (Sleep(opts_.retry_period)) {
      const Attempt a = TryAcquireOrRenew();
      if (a == Attempt::kOk) {
        last_renew = clock_->Now();
        continue;
      }
      if (a == Attempt::kHeldByOther) {
        CATTLE_LOG(WARN) << "lease taken by another holder" << kv("lease", LeaseKey())
                         << kv("holder", observed_.holder);
        return true;
      }
      if (clock_->Now() - last_renew >= opts_.renew_deadline) {
        CATTLE_LOG(WARN) << "failed to renew lease within the renew deadline"
                         << kv("lease", LeaseKey()) << kv("identity", opts_.identity);
        return true;
      }
    }
    return false;
  }

  std::string LeaseKey() const { return opts_.lease_namespace + "/" + opts_.lease_name; }

  // client-go's tryAcquireOrRenew: one attempt to create, take over or renew the lease.
  Attempt TryAcquireOrRenew() {
    for (int i = 0; i <= kConflictRetries; ++i) {
      auto got = client_->Get(leases_, opts_.lease_namespace, opts_.lease_name);
      const TimePoint now = clock_->Now();
      const std::string now_micro = FormatRfc3339Micro(clock_->WallNanos());
      if (!got.ok()) {
        if (!got.status().Is(Reason::kNotFound)) {
          CATTLE_LOG(WARN) << "error retrieving lease" << kv("lease", LeaseKey())
                           << kv("error", got.status().ToString());
          return Attempt::kError;
        }
        Record rec{opts_.identity, Seconds(opts_.lease_duration), now_micro, now_micro, 0};
        Object lease(leases_);
        lease.meta().setName(opts_.lease_name);
        lease.meta().setNamespace(opts_.lease_namespace);
        WriteRecord(rec, &lease);
        auto created = client_->Create(lease);
        if (created.ok()) {
          Observe(rec, now);
          return Attempt::kOk;
        }
        if (created.status().Is(Reason::kAlreadyExists)) continue;  // lost the race: re-read
        CATTLE_LOG(WARN) << "error creating lease" << kv("lease", LeaseKey())
                         << kv("error", created.status().ToString());
        return Attempt::kError;
      }

      Object lease = std::move(*got);
      const Record old = ReadRecord(lease);
      if (!observed_valid_ || !(old == observed_)) Observe(old, now);
      // Valid for the holder's lease duration from when *we* last saw the record change.
      const Duration duration = old.lease_duration_seconds > 0
                                    ? Duration(std::chrono::seconds(old.lease_duration_seconds))
                                    : opts_.lease_duration;
      const bool ours = old.holder == opts_.identity;
      if (!old.holder.empty() && !ours && observed_time_ + duration > now)
        return Attempt::kHeldByOther;

      Record rec{opts_.identity, Seconds(opts_.lease_duration), now_micro, now_micro,
                 old.transitions};
      if (ours) {
        rec.acquire_time = old.acquire_time;
      } else {
        rec.transitions = old.transitions + 1;
      }
      WriteRecord(rec, &lease);  // keeps metadata.resourceVersion: a compare-and-swap
      auto updated = client_->Update(lease);
      if (updated.ok()) {
        if (!ours) {
          CATTLE_LOG(INFO) << "took over lease" << kv("lease", LeaseKey())
                           << kv("previous_holder", old.holder) << kv("transitions", rec.transitions);
        }
        Observe(rec, now);
        return Attempt::kOk;
      }
      if (updated.status().Is(Reason::kConflict) || updated.status().Is(Reason::kNotFound))
        continue;  // written or deleted meanwhile: re-read
      CATTLE_LOG(WARN) << "error updating lease" << kv("lease", LeaseKey())
                       << kv("error", updated.status().ToString());
      return Attempt::kError;
    }
    CATTLE_LOG(WARN) << "lease kept changing under us" << kv("lease", LeaseKey());
    return Attempt::kError;
  }

  void Observe(const Record& r, TimePoint now) {
    observed_ = r;
    observed_time_ = now;
    observed_valid_ = true;
  }

  // client-go's release: holder cleared, duration 1 s, transitions kept.
  void Release() {
    for (int i = 0; i <= kConflictRetries; ++i) {
      auto got = client_->Get(leases_, opts_.lease_namespace, opts_.lease_name);
      if (!got.ok()) {
        CATTLE_LOG(WARN) << "could not release lease" << kv("lease", LeaseKey())
                         << kv("error", got.status().ToString());
        return;
      }
      Object lease = std::move(*got);
      const Record old = ReadRecord(lease);
      if (old.holder != opts_.identity) return;  // not ours any more: nothing to release
      const std::string now_micro = FormatRfc3339Micro(clock_->WallNanos());
      WriteRecord(Record{"", 1, now_micro, now_micro, old.transitions}, &lease);
      auto updated = client_->Update(lease);
      if (updated.ok()) {
        CATTLE_LOG(INFO) << "released lease" << kv("lease", LeaseKey())
                         << kv("identity", opts_.identity);
        return;
      }
      if (!updated.status().Is(Reason::kConflict)) {
        CATTLE_LOG(WARN) << "could not release lease" << kv("lease", LeaseKey())
                         << kv("error", updated.status().ToString());
        return;
      }
    }
  }

  ApiClient* const client_;
  Clock* const clock_;
  const LeaderElectionOptions opts_;
  const KindInfo* const leases_;

  std::mutex life_mu_;  // serialises Start() and Stop() (thread_)
  std::mutex mu_;
  std::condition_variable cv_;  // Stop() -> the elector thread (waited on clock_)
  bool started_ = false;        // GUARDED_BY(mu_)
  bool stopping_ = false;       // GUARDED_BY(mu_)
  std::atomic<bool> leader_{false};
  std::function<void()> on_started_, on_stopped_;

  // The elector thread only.
  Record observed_;
  TimePoint observed_time_{};
  bool observed_valid_ = false;

  std::thread thread_;                        // GUARDED_BY(life_mu_)
  std::atomic<std::thread::id> thread_id_{};  // of thread_, for Stop() from a callback
};

LeaderElector::LeaderElector(ApiClient* client, Clock* clock, LeaderElectionOptions options)
    : impl_(std::make_unique<Impl>(client, clock, std::move(options))) {}

LeaderElector::~LeaderElector() = default;

void LeaderElector::Start(std::function<void()> on_started_leading,
                          std::function<void()> on_stopped_leading) {
  impl_->Start(std::move(on_started_leading), std::move(on_stopped_leading));
}

void LeaderElector::Stop() { impl_->Stop(); }

bool LeaderElector::IsLeader() const { return impl_->IsLeader(); }

}  // namespace cattle
