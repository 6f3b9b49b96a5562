#include "scheduler/preemption.h"

namespace cattle::scheduler {

std::string PreemptionMessage(const Framework& framework, const PodInfo& pod,
                              const std::vector<NodeInfoPtr>& nodes, const NodeToStatus& statuses) {
  if (pod.preemption_policy == "Never")
    return "preemption: not eligible due to preemptionPolicy=Never.";
  NodeToStatus verdicts;
  for (const auto& node : nodes) {
    auto it = statuses.find(node->name());
    if (it == statuses.end() || it->second.code() != Code::kUnschedulable) continue;
    // SelectVictimsOnNode's first step: remove every pod of lower priority and try again.
    NodeInfo without(*node);
    bool any_victim = false;
    for (const auto& p : node->pods()) {
      if (p->priority < pod.priority) {
        without.RemovePod(p->uid);
        any_victim = true;
      }
    }
    if (!any_victim) {
      verdicts.emplace(node->name(),
                       FilterResult::Unresolvable("No preemption victims found for incoming pod"));
      continue;
    }
    FilterResult r = framework.RunFilters(pod, without);
    if (r.ok()) return "";  // a candidate: Kubernetes would preempt here
    verdicts.emplace(node->name(), std::move(r));
  }
  return "preemption: " + FitErrorMessage(static_cast<int>(nodes.size()), verdicts,
                                          "Preemption is not helpful for scheduling", "");
}

}  // namespace cattle::scheduler
