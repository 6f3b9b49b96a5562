// KubeletLogClient: the apiserver's side of `GET /api/v1/namespaces/NS/pods/NAME/log`. Logs
// live in the kubelet that runs the pod; the client asks it over ZeroMQ (api/kubelet.capnp;
// kubelet-sim/log_server.h is the other end) where the kubelet registered itself, as
// Kubernetes' apiserver does: tcp://<the Node's InternalIP in status.addresses>:<its
// status.daemonEndpoints.kubeletEndpoint.Port>. Nothing else on the Node (no annotation)
// says where to connect, and only addresses in 127.0.0.0/8 are dialed.
//
// With an auth token every message to the kubelet carries its MAC (cattle/kubelet_auth.h);
// the token itself is never sent, so a forged address learns nothing reusable.
//
// Thread-safe: many StreamLogs calls may run at once, each on its own connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "apiserver/registry.h"
#include "cattle/object.h"
#include "cattle/status.h"

namespace cattle::apiserver {

// Kubernetes' PodLogOptions (the query parameters of pods/log).
struct LogOptions {
  std::string container;                   // "": the pod's only container
  bool previous = false;                   // the last terminated instance
  bool follow = false;                     // stream until the instance exits
  std::optional<int64_t> tail_lines;       // >= 0
  std::optional<int64_t> since_seconds;    // >= 1
  bool timestamps = false;                 // "<RFC3339Nano> " before each line
  std::optional<int64_t> limit_bytes;      // >= 1
};

struct KubeletLogClientOptions {
  // The cluster's kubelet auth token (kubelet_auth::ReadTokenFile). Default: "", requests
  // go unauthenticated (only a kubelet started with --insecure-log-server serves them).
  std::string auth_token;
};

// Where the kubelet of `node` (a Node object) serves logs: "tcp://IP:PORT" from its
// InternalIP and daemonEndpoints.kubeletEndpoint.Port. ServiceUnavailable when it reports no
// InternalIP or no port, or an InternalIP outside 127.0.0.0/8 (which is never dialed).
Result<std::string> KubeletEndpoint(const Object& node);

class KubeletLogClient {
 public:
  // `registry` (for reading Nodes) must outlive the client.
  explicit KubeletLogClient(Registry* registry, KubeletLogClientOptions options = {});
  ~KubeletLogClient();
  KubeletLogClient(const KubeletLogClient&) = delete;
  KubeletLogClient& operator=(const KubeletLogClient&) = delete;

  // Streams the log of one container of `pod` (the Pod as read from the store; its
  // spec.nodeName and that Node's KubeletEndpoint say where to ask)
  // to `on_chunk`, which gets raw text (whole lines, except where limit_bytes cut one).
  // Blocks until the log ends (not following: every line was delivered; following: the
  // container instance exited), `on_chunk` returns false (the client is gone: OK), or
  // `*cancelled` becomes true (checked at least every 200 ms; may be null: OK).
  //
  // Errors, with Kubernetes' reasons and messages:
  //   Invalid     `PodLogOptions "p" is invalid: tailLines: Invalid value: -1: ...`
  //   BadRequest  `a container name must be specified for pod p, choose one of: [a b]`,
  //               `container x is not valid for pod p`, `pod p does not have a host
  //               assigned`, and the kubelet's: `container "web" in pod "p" is waiting to
  //               start: ContainerCreating`, `previous terminated container "web" in pod
  //               "p" not found`
  //   NotFound    the Node is gone (`nodes "n" not found`), or the kubelet does not run
  //               this pod (`pods "p" not found`)
  //   ServiceUnavailable  the kubelet refused the request (no or a wrong auth token:
  //               `the kubelet refused ...`), the Node has no usable endpoint (see KubeletEndpoint; nothing is
  //               dialed then), or its kubelet does not answer within 5 s (or goes silent
  //               for 15 s while streaming)
  // An error after chunks were delivered means the stream broke off.
  Status StreamLogs(const Object& pod, const LogOptions& options,
                    const std::function<bool(std::string_view chunk)>& on_chunk,
                    const std::atomic<bool>* cancelled);

 private:
  struct Transport;
  Registry* registry_;
  KubeletLogClientOptions options_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace cattle::apiserver
