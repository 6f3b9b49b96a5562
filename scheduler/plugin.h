// The two extension points of the scheduling framework that cattle implements, as
// Kubernetes' framework.FilterPlugin and framework.ScorePlugin. Plugins are small
// stateless classes; main() builds them and registers them on a Framework explicitly.
//
// Thread-safety: Filter, Score and NormalizeScores are const and may be called from any
// thread; the objects they are given are not modified.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/types.h"

namespace cattle::scheduler {

// framework.Code, for the outcomes a filter can have.
enum class Code {
  kSuccess,
  // The pod does not fit now but may once other pods go (preemption may help).
  kUnschedulable,
  // The pod cannot fit on this node whatever is removed from it.
  kUnschedulableAndUnresolvable,
  // The plugin failed; the scheduling attempt is an error, not a rejection.
  kError,
};

// framework.Status of one filter on one node: a code and the reasons, whose text is what
// users see, counted, in FailedScheduling messages ("Insufficient cpu").
class FilterResult {
 public:
  FilterResult() = default;
  static FilterResult Success() { return FilterResult(); }
  static FilterResult Unschedulable(std::vector<std::string> reasons) {
    return FilterResult(Code::kUnschedulable, std::move(reasons));
  }
  static FilterResult Unresolvable(std::string reason) {
    return FilterResult(Code::kUnschedulableAndUnresolvable, {std::move(reason)});
  }
  static FilterResult Error(std::string message) {
    return FilterResult(Code::kError, {std::move(message)});
  }

  bool ok() const { return code_ == Code::kSuccess; }
  Code code() const { return code_; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  // The reasons joined with ", " (Status.Message()).
  std::string Message() const;
  // The plugin that returned this result (set by the Framework).
  const std::string& plugin() const { return plugin_; }
  void set_plugin(std::string plugin) { plugin_ = std::move(plugin); }

 private:
  FilterResult(Code code, std::vector<std::string> reasons)
      : code_(code), reasons_(std::move(reasons)) {}
  Code code_ = Code::kSuccess;
  std::vector<std::string> reasons_;
  std::string plugin_;
};

class FilterPlugin {
 public:
  virtual ~FilterPlugin() = default;
  virtual std::string Name() const = 0;
  // Whether `pod` may run on `node` (whose pods() are the pods bound or assumed there).
  virtual FilterResult Filter(const PodInfo& pod, const NodeInfo& node) const = 0;
};

class ScorePlugin {
 public:
  virtual ~ScorePlugin() = default;
  virtual std::string Name() const = 0;
  // The raw score of a node that passed every filter.
  virtual int64_t Score(const PodInfo& pod, const NodeInfo& node) const = 0;
  // Brings the raw scores of `nodes` (same order) into 0..kMaxNodeScore, where higher is
  // better. The default keeps them (for plugins that score in that range already).
  virtual void NormalizeScores(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                               std::vector<int64_t>* scores) const {}
};

}  // namespace cattle::scheduler
