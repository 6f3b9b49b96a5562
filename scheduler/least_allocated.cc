#include "scheduler/least_allocated.h"

namespace cattle::scheduler {
namespace {

int64_t LeastRequestedScore(int64_t requested, int64_t capacity) {
  if (capacity == 0 || requested > capacity) return 0;
  return (capacity - requested) * kMaxNodeScore / capacity;
}

}  // namespace

int64_t NodeResourcesLeastAllocated::Score(const PodInfo& pod, const NodeInfo& node) const {
  struct Dimension {
    int64_t allocatable, requested, weight;
  };
  const Dimension dims[] = {
      {node.allocatable().milli_cpu,
       node.non_zero_requested().milli_cpu + pod.non_zero_requests.milli_cpu, 1},
      {node.allocatable().memory, node.non_zero_requested().memory + pod.non_zero_requests.memory,
       1},
  };
  int64_t score = 0, weights = 0;
  for (const auto& d : dims) {
    if (d.allocatable == 0) continue;
    score += LeastRequestedScore(d.requested, d.allocatable) * d.weight;
    weights += d.weight;
  }
  return weights == 0 ? 0 : score / weights;
}

}  // namespace cattle::scheduler
