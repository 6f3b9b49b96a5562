// NodeReady filter: only nodes whose Ready condition is True take new pods. Rejects with
// "node(s) were not ready" (UnschedulableAndUnresolvable; the wording of Kubernetes' old
// CheckNodeCondition predicate).
//
// Kubernetes' scheduler relies on the node.kubernetes.io/not-ready and /unreachable
// taints instead, which TaintToleration checks; register this plugin after
// TaintToleration so that a tainted node is reported by its taint, as Kubernetes does, and
// this one only catches a node that is not Ready but not (yet) tainted.
#pragma once

#include "scheduler/plugin.h"

namespace cattle::scheduler {

class NodeReady : public FilterPlugin {
 public:
  std::string Name() const override { return "NodeReady"; }
  FilterResult Filter(const PodInfo& pod, const NodeInfo& node) const override;
};

}  // namespace cattle::scheduler
