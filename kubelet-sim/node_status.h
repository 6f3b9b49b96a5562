// NodeStatusManager: the kubelet's side of its Node object — registration and status.
//
// Register() creates the Node (labels, podCIDR, taints, capacity, addresses, nodeInfo,
// conditions; addresses and daemonEndpoints say where the apiserver reaches its log server)
// or, when it exists (a restarted kubelet), keeps its spec (cordon, taints,
// podCIDR) and refreshes labels and status. Update() recomputes the status and posts it
// through the status subresource when it changed (heartbeat times aside) or
// node_status_report_frequency has passed: conditions keep lastTransitionTime unless their
// status changes, and get lastHeartbeatTime = now on every post.
//
// Not thread-safe: the kubelet's heartbeat thread owns it.
#pragma once

#include <string>

#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/events.h"
#include "kubelet-sim/options.h"

namespace cattle::kubelet {

class NodeStatusManager {
 public:
  // `recorder` may be null (no events). Every pointer must outlive the manager.
  NodeStatusManager(ApiClient* client, Clock* clock, EventRecorder* recorder,
                    const KubeletOptions* options, std::string runtime_version);

  // Registers the node (see above). On success pod_cidr() and node_uid() are known.
  Status Register();
  // Posts the status if it is due (see above). NotFound when the Node was deleted: like
  // Kubernetes' kubelet, it is not registered again until the kubelet restarts.
  Status Update();

  bool registered() const { return registered_; }
  const std::string& node_uid() const { return node_uid_; }
  // The node's pod CIDR: its spec's when set there, else the derived one.
  const std::string& pod_cidr() const { return pod_cidr_; }
  const std::string& internal_ip() const { return internal_ip_; }
  // How many times the status was posted (for tests).
  int64_t posts() const { return posts_; }

 private:
  Object BuildNode() const;
  // Writes the computed status into `node`, keeping transition times from `old`.
  void FillStatus(Object& node, const Object* old, int64_t now_wall) const;
  void RecordConditionEvents(const Object* old, const Object& updated);

  ApiClient* client_;
  Clock* clock_;
  EventRecorder* recorder_;
  const KubeletOptions* options_;
  std::string runtime_version_;
  const KindInfo* nodes_;
  std::string boot_id_;
  std::string internal_ip_;
  std::string derived_cidr_;
  std::string pod_cidr_;
  std::string node_uid_;
  bool registered_ = false;
  TimePoint last_post_{};
  int64_t posts_ = 0;
};

}  // namespace cattle::kubelet
