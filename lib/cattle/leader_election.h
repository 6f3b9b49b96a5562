// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, as client-go does it,
// so two replicas of the scheduler or controller-manager may run and only one acts.
//
// A candidate takes the lease when it is absent or when its holder has not renewed it for
// lease_duration (measured on the candidate's own clock from when it last saw the lease
// change, so clock skew between processes does not matter). The leader renews every
// retry_period; if it cannot renew within renew_deadline it stops leading.
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
  ~LeaderElector();

  // Starts campaigning on a background thread. `on_started_leading` runs (on that thread)
  // once the lease is acquired; `on_stopped_leading` runs if leadership is lost afterwards
  // (components exit then, as Kubernetes' do, so they restart with a clean state).
  void Start(std::function<void()> on_started_leading, std::function<void()> on_stopped_leading);
  // Stops campaigning; a leader releases the lease (holder cleared) so a standby takes over
  // at once. Idempotent.
  void Stop();
  bool IsLeader() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle
