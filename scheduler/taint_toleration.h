// TaintToleration filter: a node's NoSchedule and NoExecute taints must each be tolerated
// by the pod (PreferNoSchedule is only a preference and is ignored here). Rejects with
// "node(s) had untolerated taint {key: value}" for the first untolerated taint, as
// UnschedulableAndUnresolvable.
//
// Also Kubernetes' toleration matching (v1.Toleration.ToleratesTaint), used by other
// plugins: the effects must be equal unless the toleration's is empty; the keys must be
// equal unless the toleration's is empty (only valid with Exists, which then tolerates
// everything); operator Exists matches any value, Equal (or empty) needs equal values.
#pragma once

#include <string>

#include "scheduler/plugin.h"

namespace cattle::scheduler {

bool ToleratesTaint(api::Toleration::Reader toleration, const std::string& key,
                    const std::string& value, const std::string& effect);
// Whether any of `tolerations` tolerates the taint.
bool TolerationsTolerateTaint(capnp::List<api::Toleration>::Reader tolerations,
                              const std::string& key, const std::string& value,
                              const std::string& effect);

class TaintToleration : public FilterPlugin {
 public:
  std::string Name() const override { return "TaintToleration"; }
  FilterResult Filter(const PodInfo& pod, const NodeInfo& node) const override;
};

}  // namespace cattle::scheduler
