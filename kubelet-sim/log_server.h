// KubeletLogServer: the kubelet's log endpoint, what `kubectl logs` reaches through the
// apiserver (api/kubelet.capnp is the protocol). One ZeroMQ ROUTER per kubelet process,
// listening on each of its nodes' InternalIPs on one port (the port every Node registers as
// status.daemonEndpoints.kubeletEndpoint.Port; the apiserver dials InternalIP:Port). In
// hollow mode it serves every node of the process and requests name their node.
//
// Authentication (cattle/kubelet_auth.h): with an auth token, only messages carrying the
// token's MAC of their bytes are read; any other message is answered with one error (id 0,
// ServiceUnavailable: "the kubelet refused ...") and logged (at most once a second, with a
// count of the ones not logged). Without a token nobody is served (every request is
// refused), unless the server was explicitly made insecure (`insecure`,
// --insecure-log-server), which serves anyone.
//
// A request is answered with chunks of log text and then an end marker, or with one error
// (Kubernetes' reasons and messages). A following request stays open: new lines are sent
// as the container writes them (checked every follow_poll_interval) and the stream ends
// when the instance exits; idle streams get a heartbeat every heartbeat_interval. A stream
// is dropped when its requester cancels it, disconnects (the next send fails) or stops
// reading (its queue is full), so nothing is kept for a requester that is gone. Malformed
// messages get an error reply and change nothing.
//
// Thread-safe. One I/O thread owns the socket and all streams.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/status.h"
#include "kubelet-sim/container_log.h"

namespace cattle::kubelet {

struct LogServerOptions {
  // The addresses to listen on (the nodes' InternalIPs; duplicates are bound once), all on
  // one port. Each must be an IPv4 address in 127.0.0.0/8. Default: 127.0.0.1.
  std::vector<std::string> addresses = {"127.0.0.1"};
  // The port; 0: a free one (see port()). Default: 0.
  int port = 0;
  // The cluster's kubelet auth token (kubelet_auth::ReadTokenFile): requests must carry its
  // MAC. Default: "" (see `insecure`).
  std::string auth_token;
  // Without an auth token: serve every request unauthenticated instead of refusing them all.
  // Ignored when auth_token is set. Default: false.
  bool insecure = false;
  // A following stream with nothing new gets a heartbeat this often. Default: 1 s.
  std::chrono::milliseconds heartbeat_interval{1000};
  // How often following streams look for new lines. Default: 50 ms.
  std::chrono::milliseconds follow_poll_interval{50};
  // Following streams open at once; more are refused with TooManyRequests. Default: 256.
  size_t max_streams = 256;
  // Bytes per chunk message (whole lines; one longer line makes a longer chunk).
  // Default: 64 KiB.
  size_t chunk_bytes = 64 * 1024;
};

// Finds the log of a container of a pod on one node (Kubelet::OpenContainerLog).
using LogOpener = std::function<Result<std::shared_ptr<ContainerLog>>(
    const std::string& ns, const std::string& pod, const std::string& pod_uid, const std::string& container,
    bool previous)>;

class KubeletLogServer {
 public:
  // `clock` gives "now" for sinceSeconds (the clock the logs' timestamps come from).
  explicit KubeletLogServer(Clock* clock, LogServerOptions options = {});
  // Stop()s.
  ~KubeletLogServer();
  KubeletLogServer(const KubeletLogServer&) = delete;
  KubeletLogServer& operator=(const KubeletLogServer&) = delete;

  // Serves `node`'s logs through `opener` (replacing an earlier one). Any time, any thread;
  // whatever the opener uses must live until Stop() (RemoveNode only refuses new requests).
  void AddNode(const std::string& node, LogOpener opener);
  void RemoveNode(const std::string& node);

  // Binds and starts the I/O thread. BadRequest for an address outside 127.0.0.0/8 (or
  // none); Unavailable when an address cannot be bound.
  Status Start();
  // Ends every stream (requesters see the connection go) and joins the thread; idempotent.
  void Stop();

  // The first address's bound endpoint ("tcp://127.0.0.1:40123"); empty before Start().
  std::string endpoint() const;
  // The bound port; 0 before Start().
  int port() const;
  // Following streams open now (for tests and leak checks).
  size_t stream_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle::kubelet
