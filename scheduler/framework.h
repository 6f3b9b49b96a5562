// Framework: the registered plugins and the scheduling algorithm over one snapshot
// (Kubernetes' frameworkImpl plus schedulePod): filter every node, explain a failure with
// Kubernetes' FitError text, otherwise score the feasible nodes and pick the best.
//
// Plugins are registered by main() (or a test) before the scheduler starts; afterwards
// the Framework is read-only and its const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "scheduler/plugin.h"

namespace cattle::scheduler {

// The failing filter result of each node that did not pass, by node name.
using NodeToStatus = std::map<std::string, FilterResult>;

// framework.FitError.Error():
//   "0/<all> nodes are available: <n1> <reason1>, <n2> <reason2>. <post_filter>"
// The histogram counts every reason of every node in `statuses`, plus `absent_reason`
// once for each of the `all_nodes` that has no entry (when it is not empty); its entries
// are sorted as strings. The histogram part is left out when empty, and post_filter
// (with its space) when empty.
std::string FitErrorMessage(int all_nodes, const NodeToStatus& statuses,
                            const std::string& absent_reason, const std::string& post_filter);

struct ScheduleResult {
  // Where the pod goes; empty when it does not fit (then code and message say why).
  std::string node;
  // kUnschedulable(AndUnresolvable): a rejection (condition reason Unschedulable);
  // kError: the attempt failed (reason SchedulerError).
  Code code = Code::kSuccess;
  std::string message;
  int feasible_nodes = 0;
};

class Framework {
 public:
  // Filters run in registration order; the first that rejects a node decides for it.
  void AddFilter(std::unique_ptr<FilterPlugin> plugin);
  // The node's total score is the sum of each plugin's normalised score times its weight.
  void AddScore(std::unique_ptr<ScorePlugin> plugin, int64_t weight);

  // Runs the filters on one node; the result names the plugin that rejected it.
  FilterResult RunFilters(const PodInfo& pod, const NodeInfo& node) const;
  // The total (weighted, normalised) score of each of `nodes`, in the same order.
  std::vector<int64_t> RunScores(const PodInfo& pod,
                                 const std::vector<const NodeInfo*>& nodes) const;

  // Kubernetes' percentageOfNodesToScore: once this share of the nodes (and at least 100)
  // passed the filters, the rest are not looked at. 0: adaptive, 50 % minus 1 % per 125
  // nodes, at least 5 % (Kubernetes' default); 100: every node. Default: 0.
  void set_percentage_of_nodes_to_score(int percent) { percentage_of_nodes_to_score_ = percent; }
  // How many feasible nodes an attempt over `all_nodes` nodes looks for.
  size_t NumFeasibleNodesToFind(size_t all_nodes) const;

  // One scheduling attempt of `pod` over `nodes`. With no node at all: "no nodes available
  // to schedule pods". Nodes are filtered in order, from `*next_start_index` (0 when null)
  // round the list, until NumFeasibleNodesToFind passed; `*next_start_index` then moves
  // past the nodes looked at, so consecutive attempts spread over the cluster (as
  // Kubernetes' nextStartNodeIndex). When no node passes the filters: FitErrorMessage of
  // the filter results, followed by the preemption verdict (see preemption.h). With one
  // feasible node it is chosen without scoring; otherwise the highest total score wins and
  // ties are broken uniformly at random with `rng`.
  ScheduleResult SchedulePod(const PodInfo& pod, const std::vector<NodeInfoPtr>& nodes,
                             std::mt19937_64* rng, size_t* next_start_index = nullptr) const;

  const std::vector<std::unique_ptr<FilterPlugin>>& filters() const { return filters_; }

 private:
  struct WeightedScore {
    std::unique_ptr<ScorePlugin> plugin;
    int64_t weight;
  };
  std::vector<std::unique_ptr<FilterPlugin>> filters_;
  std::vector<WeightedScore> scores_;
  int percentage_of_nodes_to_score_ = 0;
};

}  // namespace cattle::scheduler
