#include "scheduler/node_unschedulable.h"

#include "scheduler/taint_toleration.h"

namespace cattle::scheduler {

FilterResult NodeUnschedulable::Filter(const PodInfo& pod, const NodeInfo& node) const {
  if (!node.unschedulable()) return FilterResult::Success();
  if (TolerationsTolerateTaint(pod.get().getSpec().getTolerations(),
                               "node.kubernetes.io/unschedulable", "", "NoSchedule"))
    return FilterResult::Success();
  return FilterResult::Unresolvable("node(s) were unschedulable");
}

}  // namespace cattle::scheduler
