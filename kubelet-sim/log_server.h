// KubeletLogServer: the kubelet's log endpoint, what `kubectl logs` reaches through the
// apiserver (api/kubelet.capnp is the protocol). One ZeroMQ ROUTER per kubelet process; in
// hollow mode it serves every node of the process and requests name their node.
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

#include "cattle/clock.h"
#include "cattle/status.h"
#include "kubelet-sim/container_log.h"

namespace cattle::kubelet {

struct LogServerOptions {
  // Where to bind. Default: "tcp://127.0.0.1:0", a free loopback port (see endpoint()).
  std::string endpoint = "tcp://127.0.0.1:0";
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

  // Binds and starts the I/O thread. Unavailable when the endpoint cannot be bound.
  Status Start();
  // Ends every stream (requesters see the connection go) and joins the thread; idempotent.
  void Stop();

  // The bound endpoint ("tcp://127.0.0.1:40123"); empty before Start().
  std::string endpoint() const;
  // Following streams open now (for tests and leak checks).
  size_t stream_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle::kubelet
