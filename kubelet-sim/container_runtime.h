// ContainerRuntime: what the kubelet asks of a container runtime (a small CRI). The kubelet's
// pod workers decide *what* should run; the runtime runs it and reports what happened.
// SimulatedRuntime (sim_runtime.h) implements it with scripted containers; a runtime of real
// processes can replace it without touching the pod workers.
//
// Times are the kubelet clock's: wall nanoseconds for what ends up in pod status, and the
// monotonic TimePoint for when something will happen.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/status.h"
#include "kubelet-sim/container_log.h"

namespace cattle::kubelet {

// What the runtime needs to create one container.
struct ContainerConfig {
  std::string pod_uid;
  std::string pod_namespace;
  std::string pod_name;
  std::string name;            // the container's name in the pod spec
  std::string image;           // as in the spec ("nginx")
  std::vector<std::string> command;
  std::vector<std::string> args;
  // Scripted behaviour (simulated runtimes only), already divided by the time scale.
  std::optional<Duration> exit_after;
  int exit_code = 0;
  std::optional<Duration> stop_delay;
};

struct PulledImage {
  std::string image_ref;   // normalised: "docker.io/library/nginx:latest"
  std::string image_id;    // "docker.io/library/nginx@sha256:<digest>"
  int64_t size_bytes = 0;
  // The image is usable from this time on (a simulated pull takes a while; a runtime
  // that pulls synchronously returns a time <= now).
  TimePoint ready_at;
};

enum class ContainerState { kCreated, kRunning, kExited };

struct ContainerInfo {
  std::string id;          // "cattle://<64 hex>"
  ContainerState state = ContainerState::kCreated;
  int64_t created_at = 0;  // wall nanoseconds
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int exit_code = 0;
  std::string reason;      // when exited: "Completed", "Error", "OOMKilled"
  bool stopping = false;   // the stop signal was sent
  // The runtime will change this container's state by itself at this time (a scripted
  // exit, the end of a stop); kNoDeadline when nothing is scheduled. The pod worker syncs
  // again then, which is how a simulated runtime replaces container events.
  TimePoint next_change = kNoDeadline;
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  // "cattle-sim://1.0": the node's containerRuntimeVersion.
  virtual std::string Version() const = 0;

  // Starts pulling `image` (fail: scripted failure; duration: how long it takes).
  // NotFound when the image cannot be pulled (the kubelet reports ErrImagePull).
  virtual Result<PulledImage> PullImage(const std::string& image, bool fail, Duration duration) = 0;
  // The image if it has been pulled on this node (CRI's ImageStatus), else nullopt.
  virtual std::optional<PulledImage> ImageStatus(const std::string& image) const = 0;

  // Creates (not starts) a container; returns its id.
  virtual Result<std::string> CreateContainer(const ContainerConfig& config) = 0;
  virtual Status StartContainer(const std::string& id) = 0;
  // Sends the stop signal: the container exits within `grace` (killed then: 137).
  // A no-op for an exited container. NotFound for an unknown id.
  virtual Status StopContainer(const std::string& id, Duration grace) = 0;
  // Forgets an exited (or any, stopping it at once) container and its logs.
  virtual void RemoveContainer(const std::string& id) = 0;
  // The container's state; nullopt for an unknown id.
  virtual std::optional<ContainerInfo> Inspect(const std::string& id) const = 0;

  // Re-creates the record of a container that the API shows as running with `id` since
  // `started_at` (wall ns), after a kubelet restart: the store is the truth. The scripted
  // exit counts from `started_at`.
  virtual Status AdoptContainer(const ContainerConfig& config, const std::string& id,
                                int64_t started_at) = 0;

  // The output of a container instance (kept until RemoveContainer; a holder may keep
  // reading it after that, and finds it closed). nullptr for an unknown id.
  virtual std::shared_ptr<ContainerLog> Log(const std::string& id) const = 0;
  // Writes a line into a container's output as of now (the kubelet records what its
  // simulated probes saw there). A no-op for an unknown or exited container.
  virtual void AppendLog(const std::string& id, const std::string& line) = 0;
};

}  // namespace cattle::kubelet
