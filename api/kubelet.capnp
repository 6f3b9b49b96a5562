@0xa7d15902cb9d8a00;
# The kubelet's log service (kubelet-sim/log_server.h): the apiserver asks the kubelet that
# runs a pod for a container's output. The kubelet process binds a ZeroMQ ROUTER on its
# Node's InternalIP and status.daemonEndpoints.kubeletEndpoint.Port; a requester connects a
# DEALER. Every ZeroMQ message to the kubelet (after the ROUTER's identity frame) is two
# frames, HMAC-SHA256 of the second under the cluster's kubelet auth token (32 bytes;
# lib/cattle/kubelet_auth.h) and one KubeletMessage; an insecure kubelet also takes the
# message alone. Replies are one KubeletMessage.
#
#   requester                         kubelet
#   logRequest(id) ───────────────▶
#                  ◀─────────────── logReply(id, seq 1..n): chunk* then end | error
#                                   (following: heartbeat while idle, about every second)
#   logCancel(id)  ───────────────▶   (stop following; closing the socket does it too)

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cattle::wire");
using Wire = import "wire.capnp";

struct KubeletMessage {
  union {
    logRequest @0 :LogRequest;
    logCancel @1 :LogCancel;
    logReply @2 :LogReply;
  }
}

# Kubernetes' PodLogOptions, plus which pod on which node.
struct LogRequest {
  id @0 :UInt64;              # chosen by the requester, unique per connection; echoed
  node @1 :Text;              # one kubelet process may serve many (hollow) nodes
  namespace @2 :Text;
  pod @3 :Text;
  podUid @4 :Text;            # "" or the UID the pod must have (not a re-created namesake)
  container @5 :Text;         # required (the apiserver resolves the default container)
  previous @6 :Bool;          # the last terminated instance instead of the current one
  follow @7 :Bool;            # keep sending until the instance exits
  timestamps @8 :Bool;        # prefix each line with its RFC3339Nano time and a space
  tailLines @9 :Int64;        # with hasTailLines: only the last this many lines (>= 0)
  hasTailLines @10 :Bool;
  sinceSeconds @11 :Int64;    # with hasSinceSeconds: lines of the last this many seconds (>= 1)
  hasSinceSeconds @12 :Bool;
  sinceTime @13 :Text;        # RFC 3339: lines written at or after it ("" for none)
  limitBytes @14 :Int64;      # with hasLimitBytes: stop after this many bytes (>= 1)
  hasLimitBytes @15 :Bool;
}

struct LogCancel {
  id @0 :UInt64;              # the request to stop; unknown ids are ignored
}

struct LogReply {
  id @0 :UInt64;              # the request's id (0 when the request could not be read)
  seq @1 :UInt64;             # 1, 2, 3 ... per request: a gap means replies were lost
  union {
    chunk @2 :Data;           # log bytes: whole lines, except where limitBytes cut one
    end @3 :Void;             # the log is complete (following: the instance exited)
    error @4 :Wire.Status;    # the request failed with Kubernetes' reason and message
    heartbeat @5 :Void;       # following, nothing new: the stream is alive
  }
}
