#include "scheduler/framework.h"

#include <algorithm>

#include "scheduler/preemption.h"

namespace cattle::scheduler {

std::string FilterResult::Message() const {
  std::string out;
  for (const auto& r : reasons_) {
    if (!out.empty()) out += ", ";
    out += r;
  }
  return out;
}

std::string FitErrorMessage(int all_nodes, const NodeToStatus& statuses,
                            const std::string& absent_reason, const std::string& post_filter) {
  std::string msg = "0/" + std::to_string(all_nodes) + " nodes are available:";
  std::map<std::string, int> histogram;
  for (const auto& [node, status] : statuses)
    for (const auto& reason : status.reasons()) histogram[reason]++;
  int absent = all_nodes - static_cast<int>(statuses.size());
  if (absent > 0 && !absent_reason.empty()) histogram[absent_reason] += absent;
  std::vector<std::string> parts;
  for (const auto& [reason, count] : histogram)
    parts.push_back(std::to_string(count) + " " + reason);
  std::sort(parts.begin(), parts.end());
  if (!parts.empty()) {
    msg += " ";
    for (size_t i = 0; i < parts.size(); ++i) msg += (i ? ", " : "") + parts[i];
    msg += ".";
  }
  if (!post_filter.empty()) msg += " " + post_filter;
  return msg;
}

void Framework::AddFilter(std::unique_ptr<FilterPlugin> plugin) {
  filters_.push_back(std::move(plugin));
}

void Framework::AddScore(std::unique_ptr<ScorePlugin> plugin, int64_t weight) {
  scores_.push_back({std::move(plugin), weight});
}

FilterResult Framework::RunFilters(const PodInfo& pod, const NodeInfo& node) const {
  for (const auto& f : filters_) {
    FilterResult r = f->Filter(pod, node);
    if (!r.ok()) {
      r.set_plugin(f->Name());
      return r;
    }
  }
  return FilterResult::Success();
}

std::vector<int64_t> Framework::RunScores(const PodInfo& pod,
                                          const std::vector<const NodeInfo*>& nodes) const {
  std::vector<int64_t> total(nodes.size(), 0);
  for (const auto& s : scores_) {
    std::vector<int64_t> scores(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) scores[i] = s.plugin->Score(pod, *nodes[i]);
    s.plugin->NormalizeScores(pod, nodes, &scores);
    for (size_t i = 0; i < nodes.size(); ++i) total[i] += scores[i] * s.weight;
  }
  return total;
}

size_t Framework::NumFeasibleNodesToFind(size_t all_nodes) const {
  // minFeasibleNodesToFind / minFeasibleNodesPercentageToFind in Kubernetes.
  constexpr size_t kMinFeasibleNodesToFind = 100;
  constexpr int kMinFeasibleNodesPercentageToFind = 5;
  int percent = percentage_of_nodes_to_score_;
  if (all_nodes < kMinFeasibleNodesToFind || percent >= 100) return all_nodes;
  if (percent <= 0) {
    percent = 50 - static_cast<int>(all_nodes / 125);
    if (percent < kMinFeasibleNodesPercentageToFind) percent = kMinFeasibleNodesPercentageToFind;
  }
  size_t n = all_nodes * percent / 100;
  return n < kMinFeasibleNodesToFind ? kMinFeasibleNodesToFind : n;
}

ScheduleResult Framework::SchedulePod(const PodInfo& pod, const std::vector<NodeInfoPtr>& nodes,
                                      std::mt19937_64* rng, size_t* next_start_index) const {
  ScheduleResult result;
  if (nodes.empty()) {
    result.code = Code::kUnschedulableAndUnresolvable;
    result.message = "no nodes available to schedule pods";
    return result;
  }
  const size_t want = NumFeasibleNodesToFind(nodes.size());
  const size_t start = next_start_index ? *next_start_index % nodes.size() : 0;
  size_t processed = 0;
  std::vector<const NodeInfo*> feasible;
  NodeToStatus statuses;
  for (; processed < nodes.size() && feasible.size() < want; ++processed) {
    const auto& node = nodes[(start + processed) % nodes.size()];
    FilterResult r = RunFilters(pod, *node);
    if (r.ok()) {
      feasible.push_back(node.get());
    } else if (r.code() == Code::kError) {
      result.code = Code::kError;
      result.message = "running \"" + r.plugin() + "\" filter plugin: " + r.Message();
      return result;
    } else {
      statuses.emplace(node->name(), std::move(r));
    }
  }
  if (next_start_index) *next_start_index = (start + processed) % nodes.size();
  result.feasible_nodes = static_cast<int>(feasible.size());
  if (feasible.empty()) {
    result.code = Code::kUnschedulable;
    result.message = FitErrorMessage(static_cast<int>(nodes.size()), statuses, "",
                                     PreemptionMessage(*this, pod, nodes, statuses));
    return result;
  }
  if (feasible.size() == 1) {
    result.node = feasible[0]->name();
    return result;
  }
  std::vector<int64_t> totals = RunScores(pod, feasible);
  // Reservoir sampling among the nodes with the highest score (selectHost).
  size_t best = 0;
  int ties = 1;
  for (size_t i = 1; i < feasible.size(); ++i) {
    if (totals[i] > totals[best]) {
      best = i;
      ties = 1;
    } else if (totals[i] == totals[best]) {
      ++ties;
      if (std::uniform_int_distribution<int>(0, ties - 1)(*rng) == 0) best = i;
    }
  }
  result.node = feasible[best]->name();
  return result;
}

}  // namespace cattle::scheduler
