// Scripted container behaviour: what a simulated container does is read from pod
// annotations, so tests and demos can make pods crash, stay unready or fail to pull.
//
// Annotations (every duration is Go-style, "5s", "1m30s", "500ms", or a bare number of
// seconds, and is divided by the kubelet's --time-scale like every other duration):
//
//   cattle.dev/exit-after: "5s"         each container exits this long after it started
//                                        (default: it runs until stopped)
//   cattle.dev/exit-code: "1"           the exit code of such an exit (default 0: reason
//                                        Completed; anything else: reason Error)
//   cattle.dev/never-ready: "true"      running and started, but never ready
//   cattle.dev/ready-after: "3s"        ready this long after it started (default: at once)
//   cattle.dev/image-pull-fail: "true"  every pull of its image fails: ErrImagePull, then
//                                        ImagePullBackOff (10 s doubling to 300 s)
//   cattle.dev/image-pull-duration: "2s"  a pull takes this long (default: --image-pull-duration)
//   cattle.dev/stop-delay: "5s"         after the stop signal the container takes this long
//                                        to exit (exit 0, Completed); longer than the grace
//                                        period means it is killed then (exit 137, Error)
//
// Each one also exists per container, which wins over the pod-wide value:
//   cattle.dev/exit-after.<container>: "5s"   e.g. cattle.dev/exit-code.sidecar: "2"
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cattle/clock.h"

namespace cattle::kubelet {

inline constexpr const char* kExitAfterAnnotation = "cattle.dev/exit-after";
inline constexpr const char* kExitCodeAnnotation = "cattle.dev/exit-code";
inline constexpr const char* kNeverReadyAnnotation = "cattle.dev/never-ready";
inline constexpr const char* kReadyAfterAnnotation = "cattle.dev/ready-after";
inline constexpr const char* kImagePullFailAnnotation = "cattle.dev/image-pull-fail";
inline constexpr const char* kImagePullDurationAnnotation = "cattle.dev/image-pull-duration";
inline constexpr const char* kStopDelayAnnotation = "cattle.dev/stop-delay";

// One container's scripted behaviour. Durations are nominal (before the time scale).
struct ScriptedBehaviour {
  std::optional<Duration> exit_after;     // unset: runs until stopped
  int exit_code = 0;
  bool never_ready = false;
  std::optional<Duration> ready_after;    // unset: ready once running
  bool image_pull_fail = false;
  std::optional<Duration> image_pull_duration;  // unset: the kubelet's default
  std::optional<Duration> stop_delay;     // unset: exits at once when stopped
};

// The behaviour of `container` from a pod's annotations. Malformed values are ignored
// (the default applies), so a typo never breaks a pod.
ScriptedBehaviour ParseBehaviour(const std::map<std::string, std::string>& annotations,
                                 const std::string& container);

// Parses "1h2m3.5s", "500ms", "10us", "7ns" or a bare number of seconds ("2.5").
// Returns nullopt on malformed or negative text.
std::optional<Duration> ParseDuration(const std::string& text);

// Go's time.Duration.String(): "10s", "1m20s", "5m0s", "1h0m0s", "500ms", "1.5s", "0s".
std::string FormatGoDuration(Duration d);

}  // namespace cattle::kubelet
