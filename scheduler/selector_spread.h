// SelectorSpread score: spreads the pods of one controller (the ownerReference marked
// controller: true, e.g. a ReplicaSet) across nodes and zones, as Kubernetes'
// SelectorSpread plugin did for the pods matched by a ReplicaSet's selector.
//
// Raw score: the number of pods on the node (not terminating, same namespace, other than
// this one) with the same controller uid. Normalised: 100 * (max - count) / max over the
// scored nodes (100 everywhere when max is 0). When nodes carry topology.kubernetes.io/
// zone (or region) labels, the zone's count blends in with weight 2/3 as in Kubernetes.
// Pods without a controller, or with topologySpreadConstraints of their own, score 0
// everywhere (no preference).
#pragma once

#include "scheduler/plugin.h"

namespace cattle::scheduler {

class SelectorSpread : public ScorePlugin {
 public:
  std::string Name() const override { return "SelectorSpread"; }
  int64_t Score(const PodInfo& pod, const NodeInfo& node) const override;
  void NormalizeScores(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                       std::vector<int64_t>* scores) const override;
};

}  // namespace cattle::scheduler
