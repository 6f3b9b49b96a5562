// NodeResourcesLeastAllocated score (NodeResourcesFit's LeastAllocated strategy): prefers
// the node with the most free CPU and memory after placing the pod. Per resource,
//   (allocatable - requested) * 100 / allocatable   (0 when requested > allocatable)
// where requested is the node's pods plus this pod, each container counted with its
// request or, when it has none, 100m CPU / 200Mi memory. The score is the weighted mean
// over the resources the node has (CPU and memory, weight 1 each), in 0..100.
#pragma once

#include "scheduler/plugin.h"

namespace cattle::scheduler {

class NodeResourcesLeastAllocated : public ScorePlugin {
 public:
  std::string Name() const override { return "NodeResourcesLeastAllocated"; }
  int64_t Score(const PodInfo& pod, const NodeInfo& node) const override;
};

}  // namespace cattle::scheduler
