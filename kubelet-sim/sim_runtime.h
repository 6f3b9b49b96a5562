// SimulatedRuntime: a ContainerRuntime without processes. A container is a record whose
// state is a function of the clock: it runs from StartContainer until its scripted exit
// (ContainerConfig::exit_after) or until stopped; images "pull" in a scripted time and
// get stable fake digests. Each container instance keeps a bounded log in memory
// (container_log.h): the simulator's own lines ("container web started (simulated, image
// ...)", "SIGTERM received", "exiting with code N") and the image's imitated output
// (sim_output.h).
//
// Thread-safe. One per node (its images are the node's).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kubelet-sim/container_runtime.h"

namespace cattle::kubelet {

// "nginx" → "docker.io/library/nginx:latest"; "quay.io/a/b:1" unchanged.
std::string NormalizeImage(const std::string& image);
// A stable fake "docker.io/library/nginx@sha256:<64 hex>" for a normalised image.
std::string FakeImageId(const std::string& normalized_image);

class SimulatedRuntime : public ContainerRuntime {
 public:
  explicit SimulatedRuntime(Clock* clock, ContainerLogLimits log_limits = {});

  std::string Version() const override { return "cattle-sim://1.0"; }
  Result<PulledImage> PullImage(const std::string& image, bool fail, Duration duration) override;
  std::optional<PulledImage> ImageStatus(const std::string& image) const override;
  Result<std::string> CreateContainer(const ContainerConfig& config) override;
  Status StartContainer(const std::string& id) override;
  Status StopContainer(const std::string& id, Duration grace) override;
  void RemoveContainer(const std::string& id) override;
  std::optional<ContainerInfo> Inspect(const std::string& id) const override;
  Status AdoptContainer(const ContainerConfig& config, const std::string& id,
                        int64_t started_at) override;
  std::shared_ptr<ContainerLog> Log(const std::string& id) const override;
  void AppendLog(const std::string& id, const std::string& line) override;

  // Containers known (running or exited and not removed), for tests and memory checks.
  size_t ContainerCount() const;

 private:
  struct Container {
    ContainerConfig config;
    ContainerInfo info;
    TimePoint started_mono{};
    TimePoint exit_at = kNoDeadline;   // scripted exit or end of a stop, whichever first
    int exit_code_at_exit = 0;         // the exit code then
    std::shared_ptr<ContainerLog> log;
  };
  // Moves `c` to exited if its exit time has come. REQUIRES(mu_)
  void Settle(Container& c) const;
  std::string NewId();

  Clock* clock_;
  const ContainerLogLimits log_limits_;
  mutable std::mutex mu_;
  mutable std::map<std::string, Container> containers_;  // GUARDED_BY(mu_)
  std::map<std::string, PulledImage> images_;            // GUARDED_BY(mu_): by normalised ref
  uint64_t rng_state_;                                   // GUARDED_BY(mu_)
};

}  // namespace cattle::kubelet
