// What a simulated container prints. Nothing runs, so the output is made up, but in the
// shape of the real image's so `kubectl logs` reads familiar: nginx, httpd and redis print
// (abridged) startup and shutdown lines as those servers do, a shell command's `echo`s are
// echoed, `pause` prints nothing, anything else only the simulator's own lines. The
// simulator's lines themselves ("container web started (simulated, image ...)", "exiting
// with code N") are written by SimulatedRuntime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kubelet-sim/container_runtime.h"

namespace cattle::kubelet {

// "docker.io/library/nginx:1.27" → {"nginx", "1.27"}; a digest reference gives tag "".
struct ImageName {
  std::string base;
  std::string tag;
};
ImageName ParseImageName(const std::string& normalized_image);

// The lines the image prints when it starts at `wall_nanos` (without the simulator's line).
std::vector<std::string> SimulatedStartOutput(const ContainerConfig& config,
                                              const std::string& normalized_image, int64_t wall_nanos);
// The lines it prints on SIGTERM at `wall_nanos`.
std::vector<std::string> SimulatedStopOutput(const ContainerConfig& config,
                                             const std::string& normalized_image, int64_t wall_nanos);

}  // namespace cattle::kubelet
