#include "scheduler/taint_toleration.h"

namespace cattle::scheduler {

bool ToleratesTaint(api::Toleration::Reader t, const std::string& key, const std::string& value,
                    const std::string& effect) {
  if (t.getEffect().size() > 0 && t.getEffect() != effect.c_str()) return false;
  if (t.getKey().size() > 0 && t.getKey() != key.c_str()) return false;
  std::string op = t.getOperator().cStr();
  if (op.empty() || op == "Equal") return t.getValue() == value.c_str();
  return op == "Exists";
}

bool TolerationsTolerateTaint(capnp::List<api::Toleration>::Reader tolerations,
                              const std::string& key, const std::string& value,
                              const std::string& effect) {
  for (auto t : tolerations)
    if (ToleratesTaint(t, key, value, effect)) return true;
  return false;
}

FilterResult TaintToleration::Filter(const PodInfo& pod, const NodeInfo& node) const {
  if (node.taints().empty()) return FilterResult::Success();
  auto tolerations = pod.get().getSpec().getTolerations();
  for (const auto& taint : node.taints()) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (!TolerationsTolerateTaint(tolerations, taint.key, taint.value, taint.effect))
      return FilterResult::Unresolvable("node(s) had untolerated taint {" + taint.key + ": " +
                                        taint.value + "}");
  }
  return FilterResult::Success();
}

}  // namespace cattle::scheduler
