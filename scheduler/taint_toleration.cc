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
  auto tolerations = pod.get().getSpec().getTolerations();
  for (auto taint : node.node().getSpec().getTaints()) {
    std::string effect = taint.getEffect().cStr();
    if (effect != "NoSchedule" && effect != "NoExecute") continue;
    std::string key = taint.getKey().cStr(), value = taint.getValue().cStr();
    if (!TolerationsTolerateTaint(tolerations, key, value, effect))
      return FilterResult::Unresolvable("node(s) had untolerated taint {" + key + ": " + value +
                                        "}");
  }
  return FilterResult::Success();
}

}  // namespace cattle::scheduler
