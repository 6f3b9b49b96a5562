// NodeLeaseController: the node's heartbeat, a coordination.k8s.io/v1 Lease named after the
// node in kube-node-lease (holderIdentity = node name, leaseDurationSeconds 40, renewTime
// in MicroTime, owned by the Node so that deleting the Node deletes it).
//
// Renew() creates the Lease if absent, else updates renewTime (from the last copy written,
// re-reading it on conflict). The caller renews every lease_renew_interval and, after a
// failure, retries after RetryDelay(): 200 ms doubling to 7 s (scaled), as Kubernetes'.
//
// Not thread-safe: the kubelet's heartbeat thread owns it.
#pragma once

#include <optional>
#include <string>

#include "cattle/client.h"
#include "cattle/clock.h"
#include "kubelet-sim/options.h"

namespace cattle::kubelet {

inline constexpr const char* kNodeLeaseNamespace = "kube-node-lease";

class NodeLeaseController {
 public:
  NodeLeaseController(ApiClient* client, Clock* clock, const KubeletOptions* options);

  // `node_uid` (may be empty) becomes the Lease's owner reference when it is created.
  Status Renew(const std::string& node_uid);
  // The delay before the next attempt after the last Renew: the renew interval after a
  // success; after failures 200 ms, 400 ms, ... capped at 7 s. All scaled.
  Duration NextDelay() const;
  int64_t renewals() const { return renewals_; }

 private:
  Object Build(const std::string& node_uid) const;

  ApiClient* client_;
  Clock* clock_;
  const KubeletOptions* options_;
  const KindInfo* leases_;
  std::optional<Object> last_;  // the Lease as last written or read
  int failures_ = 0;
  int64_t renewals_ = 0;
};

}  // namespace cattle::kubelet
