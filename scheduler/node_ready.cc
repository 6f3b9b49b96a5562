#include "scheduler/node_ready.h"

namespace cattle::scheduler {

FilterResult NodeReady::Filter(const PodInfo& pod, const NodeInfo& node) const {
  if (node.ready()) return FilterResult::Success();
  return FilterResult::Unresolvable("node(s) were not ready");
}

}  // namespace cattle::scheduler
