// NodeAffinity filter: the pod's spec.nodeSelector (every label must be on the node) and
// its required node affinity (spec.affinity.nodeAffinity.
// requiredDuringSchedulingIgnoredDuringExecution). Rejects with "node(s) didn't match
// Pod's node affinity/selector" (UnschedulableAndUnresolvable).
//
// Node selector terms are ORed; a term with neither matchExpressions nor matchFields is
// skipped (no terms left: nothing matches). Within a term everything is ANDed.
// matchExpressions use label-selector semantics: In, NotIn (also matches a missing label),
// Exists, DoesNotExist, Gt and Lt (the label must be an integer, compared with the single
// integer value). matchFields support metadata.name with In or NotIn and exactly one
// value. A malformed requirement (unknown operator, bad value count, invalid key or
// value) makes its term match nothing, as Kubernetes' lazy-error node selector does.
#pragma once

#include <map>
#include <string>

#include "scheduler/plugin.h"

namespace cattle::scheduler {

// Whether one NodeSelectorTerm matches a node with these labels and this name.
bool NodeSelectorTermMatches(api::NodeSelectorTerm::Reader term,
                             const std::map<std::string, std::string>& labels,
                             const std::string& node_name);

// The required part of NodeAffinity (selector and required affinity) for one pod/node.
bool PodMatchesNodeSelectorAndAffinity(api::Pod::Reader pod, api::Node::Reader node);

class NodeAffinity : public FilterPlugin {
 public:
  std::string Name() const override { return "NodeAffinity"; }
  FilterResult Filter(const PodInfo& pod, const NodeInfo& node) const override;
};

}  // namespace cattle::scheduler
