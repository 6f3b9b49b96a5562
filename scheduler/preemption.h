// The verdict of Kubernetes' DefaultPreemption PostFilter for a pod that fits no node, as
// it appears after the filter reasons in FailedScheduling messages. cattle evaluates
// preemption (which nodes could make room by evicting lower-priority pods) but does not
// carry it out: no pod is evicted and no node is nominated.
#pragma once

#include <string>
#include <vector>

#include "scheduler/framework.h"

namespace cattle::scheduler {

// Given the filter results of every node (`statuses`; all of `nodes` failed):
// - "preemption: not eligible due to preemptionPolicy=Never." for such pods;
// - otherwise, for each node that failed with kUnschedulable (nodes that failed as
//   unresolvable get "Preemption is not helpful for scheduling"): with no pod of lower
//   priority on it, "No preemption victims found for incoming pod"; else the filters are
//   run again without those pods, and if the pod still does not fit, their reasons;
// - these are reported as "preemption: " + FitErrorMessage(...);
// - "" when some node would fit after evicting lower-priority pods (Kubernetes would then
//   preempt and report no PostFilter message).
std::string PreemptionMessage(const Framework& framework, const PodInfo& pod,
                              const std::vector<NodeInfoPtr>& nodes, const NodeToStatus& statuses);

}  // namespace cattle::scheduler
