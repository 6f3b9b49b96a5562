// NodeUnschedulable filter: a cordoned node (spec.unschedulable) takes only pods that
// tolerate the taint node.kubernetes.io/unschedulable:NoSchedule. Rejects with
// "node(s) were unschedulable" (UnschedulableAndUnresolvable).
#pragma once

#include "scheduler/plugin.h"

namespace cattle::scheduler {

class NodeUnschedulable : public FilterPlugin {
 public:
  std::string Name() const override { return "NodeUnschedulable"; }
  FilterResult Filter(const PodInfo& pod, const NodeInfo& node) const override;
};

}  // namespace cattle::scheduler
