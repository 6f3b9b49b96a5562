#include "scheduler/node_affinity.h"

#include "cattle/selector.h"

namespace cattle::scheduler {
namespace {

bool ExpressionMatches(api::NodeSelectorRequirement::Reader r,
                       const std::map<std::string, std::string>& labels) {
  std::string op = r.getOperator().cStr();
  SelectorOp sop;
  if (op == "In") {
    sop = SelectorOp::kIn;
  } else if (op == "NotIn") {
    sop = SelectorOp::kNotIn;
  } else if (op == "Exists") {
    sop = SelectorOp::kExists;
  } else if (op == "DoesNotExist") {
    sop = SelectorOp::kDoesNotExist;
  } else if (op == "Gt") {
    sop = SelectorOp::kGreaterThan;
  } else if (op == "Lt") {
    sop = SelectorOp::kLessThan;
  } else {
    return false;
  }
  std::vector<std::string> values;
  for (auto v : r.getValues()) values.emplace_back(v.cStr());
  auto req = MakeRequirement(r.getKey().cStr(), sop, std::move(values));
  return req.ok() && req->Matches(labels);
}

bool FieldMatches(api::NodeSelectorRequirement::Reader r, const std::string& node_name) {
  std::string op = r.getOperator().cStr();
  if ((op != "In" && op != "NotIn") || r.getValues().size() != 1) return false;
  // The only field a node offers is metadata.name; any other reads as "".
  std::string field = r.getKey() == "metadata.name" ? node_name : "";
  bool equal = field == r.getValues()[0].cStr();
  return op == "In" ? equal : !equal;
}

}  // namespace

bool NodeSelectorTermMatches(api::NodeSelectorTerm::Reader term,
                             const std::map<std::string, std::string>& labels,
                             const std::string& node_name) {
  if (term.getMatchExpressions().size() == 0 && term.getMatchFields().size() == 0) return false;
  for (auto r : term.getMatchExpressions())
    if (!ExpressionMatches(r, labels)) return false;
  for (auto r : term.getMatchFields())
    if (!FieldMatches(r, node_name)) return false;
  return true;
}

bool PodMatchesNodeSelectorAndAffinity(api::Pod::Reader pod, api::Node::Reader node) {
  auto spec = pod.getSpec();
  bool required_affinity = spec.hasAffinity() && spec.getAffinity().hasNodeAffinity() &&
                           spec.getAffinity().getNodeAffinity().hasRequiredDuringSchedulingIgnoredDuringExecution();
  if (spec.getNodeSelector().getEntries().size() == 0 && !required_affinity) return true;
  auto labels = ToStdMap(node.getMetadata().getLabels());
  for (auto e : spec.getNodeSelector().getEntries()) {
    auto it = labels.find(e.getKey().cStr());
    if (it == labels.end() || it->second != e.getValue().cStr()) return false;
  }
  if (!spec.hasAffinity() || !spec.getAffinity().hasNodeAffinity()) return true;
  auto na = spec.getAffinity().getNodeAffinity();
  if (!na.hasRequiredDuringSchedulingIgnoredDuringExecution()) return true;
  std::string name = node.getMetadata().getName().cStr();
  for (auto term : na.getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms())
    if (NodeSelectorTermMatches(term, labels, name)) return true;
  return false;
}

FilterResult NodeAffinity::Filter(const PodInfo& pod, const NodeInfo& node) const {
  if (!pod.constrains_nodes || PodMatchesNodeSelectorAndAffinity(pod.get(), node.node()))
    return FilterResult::Success();
  return FilterResult::Unresolvable("node(s) didn't match Pod's node affinity/selector");
}

}  // namespace cattle::scheduler
