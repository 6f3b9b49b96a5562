#include "scheduler/node_resources_fit.h"

namespace cattle::scheduler {

std::vector<std::string> InsufficientResources(const PodInfo& pod, const NodeInfo& node) {
  std::vector<std::string> out;
  if (static_cast<int64_t>(node.pods().size()) + 1 > node.allowed_pods())
    out.push_back("Too many pods");
  const Resources& want = pod.requests;
  if (want.IsZero()) return out;
  const Resources& alloc = node.allocatable();
  const Resources& used = node.requested();
  if (want.milli_cpu > 0 && want.milli_cpu > alloc.milli_cpu - used.milli_cpu)
    out.push_back("Insufficient cpu");
  if (want.memory > 0 && want.memory > alloc.memory - used.memory)
    out.push_back("Insufficient memory");
  if (want.ephemeral_storage > 0 &&
      want.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage)
    out.push_back("Insufficient ephemeral-storage");
  for (const auto& [name, quantity] : want.scalar) {
    if (quantity == 0) continue;
    auto a = alloc.scalar.find(name);
    auto u = used.scalar.find(name);
    int64_t free =
        (a == alloc.scalar.end() ? 0 : a->second) - (u == used.scalar.end() ? 0 : u->second);
    if (quantity > free) out.push_back("Insufficient " + name);
  }
  return out;
}

FilterResult NodeResourcesFit::Filter(const PodInfo& pod, const NodeInfo& node) const {
  auto reasons = InsufficientResources(pod, node);
  if (reasons.empty()) return FilterResult::Success();
  return FilterResult::Unschedulable(std::move(reasons));
}

}  // namespace cattle::scheduler
