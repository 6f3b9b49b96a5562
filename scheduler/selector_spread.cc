#include "scheduler/selector_spread.h"

#include <algorithm>
#include <map>

namespace cattle::scheduler {
namespace {

constexpr double kZoneWeighting = 2.0 / 3.0;

bool Skip(const PodInfo& pod) {
  return pod.controller_uid.empty() ||
         pod.get().getSpec().getTopologySpreadConstraints().size() > 0;
}

// utilnode.GetZoneKey: region and zone, "" when the node has neither.
std::string ZoneKey(const NodeInfo& node) {
  std::string region, zone;
  for (auto e : node.node().getMetadata().getLabels().getEntries()) {
    if (e.getKey() == "topology.kubernetes.io/region") region = e.getValue().cStr();
    if (e.getKey() == "topology.kubernetes.io/zone") zone = e.getValue().cStr();
  }
  if (region.empty() && zone.empty()) return "";
  return region + std::string(":\0:", 3) + zone;
}

}  // namespace

int64_t SelectorSpread::Score(const PodInfo& pod, const NodeInfo& node) const {
  if (Skip(pod)) return 0;
  int64_t count = 0;
  for (const auto& p : node.pods())
    if (!p->terminating && p->uid != pod.uid && p->namespace_ == pod.namespace_ &&
        p->controller_uid == pod.controller_uid)
      ++count;
  return count;
}

void SelectorSpread::NormalizeScores(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                                     std::vector<int64_t>* scores) const {
  if (Skip(pod)) return;
  std::map<std::string, int64_t> by_zone;
  std::vector<std::string> zones(nodes.size());
  int64_t max_node = 0, max_zone = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    max_node = std::max(max_node, (*scores)[i]);
    zones[i] = ZoneKey(*nodes[i]);
    if (!zones[i].empty()) by_zone[zones[i]] += (*scores)[i];
  }
  for (const auto& [zone, count] : by_zone) max_zone = std::max(max_zone, count);
  for (size_t i = 0; i < nodes.size(); ++i) {
    double score = kMaxNodeScore;
    if (max_node > 0) score = kMaxNodeScore * (double(max_node - (*scores)[i]) / double(max_node));
    if (!by_zone.empty() && !zones[i].empty()) {
      double zone_score = kMaxNodeScore;
      if (max_zone > 0)
        zone_score = kMaxNodeScore * (double(max_zone - by_zone[zones[i]]) / double(max_zone));
      score = score * (1.0 - kZoneWeighting) + kZoneWeighting * zone_score;
    }
    (*scores)[i] = static_cast<int64_t>(score);
  }
}

}  // namespace cattle::scheduler
