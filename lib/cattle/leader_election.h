// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, as client-go does it,
// so two replicas of the scheduler or controller-manager may run and only one acts.
//
// A candidate takes the lease when it is absent or when its holder has not renewed it for
// lease_duration (measured on the candidate's own clock from when it last saw the lease
// change, so clock skew between processes does not matter). The leader renews every
// retry_period; if it cannot renew within renew_deadline it stops leading.
//
// Details (as client-go's leaderelection, except where noted):
// - A new lease is created with holderIdentity, leaseDurationSeconds, acquireTime and
//   renewTime (MicroTime, wall clock) and leaseTransitions 0. A takeover sets acquireTime
//   and leaseTransitions+1; a renewal changes renewTime only.
// - "Has not renewed" uses the lease's own leaseDurationSeconds (the holder's setting; ours
//   if absent), counted from when this candidate last saw the record change on its own
//   monotonic clock; renewTime in the lease is never compared with our clock.
// - Every write is a compare-and-swap on the resourceVersion read; a Conflict is re-read
//   and retried at once (a few times), else the attempt fails and is retried after
//   retry_period. No jitter (client-go jitters the campaign period by up to 1.2x).
// - The leader stops leading when renewals have failed for renew_deadline since the last
//   success, or at once when the lease shows another holder. Keep renew_deadline <
//   lease_duration so the old leader stops before a standby may take over.
// - After losing, the elector campaigns again once on_stopped_leading has returned, and
//   runs on_started_leading anew when it wins. (client-go's elector returns and Kubernetes'
//   components exit, relying on a restart; cattle has nothing to restart them, so a term of
//   leadership ends in-process instead.) Having lost only because the apiserver was away,
//   it usually finds its own name still on the lease (no other candidate took it over)
//   and so takes it back at the first attempt, keeping acquireTime and leaseTransitions.
// - Every wait is Clock::WaitUntil on the injected clock: deterministic under FakeClock
//   (one waiter per elector thread).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cattle/client.h"
#include "cattle/clock.h"

namespace cattle {

struct LeaderElectionOptions {
  std::string lease_namespace = "kube-system";  // Default: kube-system
  std::string lease_name;                        // e.g. "kube-scheduler". Required.
  std::string identity;                          // unique per process, e.g. host_pid. Required.
  Duration lease_duration = std::chrono::seconds(15);  // Default: 15 s (Kubernetes')
  Duration renew_deadline = std::chrono::seconds(10);  // Default: 10 s
  Duration retry_period = std::chrono::seconds(2);     // Default: 2 s
};

class LeaderElector {
 public:
  LeaderElector(ApiClient* client, Clock* clock, LeaderElectionOptions options);

  // Stops (and, if leading, releases) as Stop() does. Must not run on the elector's thread.
  ~LeaderElector();

  // Starts campaigning on a background thread. `on_started_leading` runs (on that thread)
  // each time the lease is acquired; `on_stopped_leading` each time leadership is lost
  // afterwards, after which the elector campaigns again: calls alternate, started first.
  // on_started_leading must return promptly (renewal waits for it): start the work on
  // other threads. on_stopped_leading must stop the leader's work before it returns, so
  // that nothing acts without the lease; the elector does not campaign until it has
  // returned (the lease is not renewed meanwhile: another candidate may take over). Stop()
  // never runs on_stopped_leading: its caller stops the work. Called once; later calls
  // are ignored.
  void Start(std::function<void()> on_started_leading, std::function<void()> on_stopped_leading);
  // Stops campaigning; a leader releases the lease (holder cleared, leaseDurationSeconds 1,
  // leaseTransitions kept) so a standby takes over at its next attempt. Returns once the
  // elector's thread has ended (from a callback: at once; the release follows the
  // callback). Idempotent.
  void Stop();
  bool IsLeader() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle
