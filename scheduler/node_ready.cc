#include "scheduler/node_ready.h"

namespace cattle::scheduler {

FilterResult NodeReady::Filter(const PodInfo& pod, const NodeInfo& node) const {
  for (auto c : node.node().getStatus().getConditions())
    if (c.getType() == "Ready") {
      if (c.getStatus() == "True") return FilterResult::Success();
      break;
    }
  return FilterResult::Unresolvable("node(s) were not ready");
}

}  // namespace cattle::scheduler
