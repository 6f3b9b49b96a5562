// NodeResourcesFit filter: the pod's requests (resource.PodRequests: containers summed,
// init containers as a maximum, pod overhead added) must fit into the node's allocatable
// minus the requests of the pods already on it, and the node must have room for one more
// pod (allocatable "pods"). Every shortfall is a reason of its own, in Kubernetes' order
// and words: "Too many pods", "Insufficient cpu", "Insufficient memory",
// "Insufficient ephemeral-storage", "Insufficient <extended resource>". The code is
// Unschedulable (preemption might make room). A resource the pod does not request is
// never insufficient.
#pragma once

#include <string>
#include <vector>

#include "scheduler/plugin.h"

namespace cattle::scheduler {

// The reasons `pod` does not fit `node`, empty when it fits.
std::vector<std::string> InsufficientResources(const PodInfo& pod, const NodeInfo& node);

class NodeResourcesFit : public FilterPlugin {
 public:
  std::string Name() const override { return "NodeResourcesFit"; }
  FilterResult Filter(const PodInfo& pod, const NodeInfo& node) const override;
};

}  // namespace cattle::scheduler
