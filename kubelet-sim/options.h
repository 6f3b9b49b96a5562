// KubeletOptions: everything one simulated kubelet (one node) is configured with, with
// Kubernetes' defaults. main() fills it from flags; tests build it directly.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/status.h"
#include "cattle/timescale.h"

namespace cattle::kubelet {

struct TaintSpec {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute
};

struct KubeletOptions {
  std::string node_name;                    // Required.
  // Derives the pod CIDR and the node's InternalIP; unique per node. Default: -1, i.e.
  // NodeIndexFromName(node_name).
  int node_index = -1;
  std::string cpu = "4";                    // Default: 4
  std::string memory = "8Gi";               // Default: 8Gi
  std::string ephemeral_storage = "100Gi";  // Default: 100Gi
  int max_pods = 110;                       // Default: 110 (Kubernetes')
  std::map<std::string, std::string> labels;  // added to the default node labels
  std::vector<TaintSpec> taints;            // registered with the node
  // The first two octets of every pod CIDR; node i gets <a>.<b + i/256>.<i%256>.0/24.
  // Default: 10.244 (flannel's and kind's).
  std::string pod_cidr_base = "10.244";
  // Overrides the derived pod CIDR when set (e.g. "10.244.7.0/24").
  std::string pod_cidr;
  // Overrides the derived InternalIP (127.<i/256>.<i%256>.1, loopback: bindable later).
  std::string internal_ip;
  // The port this kubelet serves container logs on (its KubeletLogServer's, listening on
  // the InternalIP), registered as status.daemonEndpoints.kubeletEndpoint.Port: with the
  // InternalIP, where the apiserver connects. Default: 0 (the port shows Kubernetes' 10250).
  int kubelet_port = 0;

  // Divides every duration below, and the scripted ones from annotations.
  TimeScale time_scale;

  // How often node status is computed (and posted when it changed). Default: 10 s.
  Duration node_status_update_frequency = std::chrono::seconds(10);
  // Node status is posted at least this often even when unchanged (refreshing the
  // conditions' lastHeartbeatTime). Default: 10 s — Kubernetes posts unchanged status
  // only every 5 min, since the Lease is the heartbeat; set 300 s for that.
  Duration node_status_report_frequency = std::chrono::seconds(10);
  // The node Lease: duration written into it, and how often it is renewed. Default: 40 s
  // and 10 s. Failed renewals retry after 200 ms doubling to 7 s.
  int lease_duration_seconds = 40;
  Duration lease_renew_interval = std::chrono::seconds(10);
  // How long an image pull takes unless a pod's annotation says otherwise. Default: 0.
  Duration image_pull_duration = Duration::zero();
  // Threads running pod workers (each pod is still handled serially). Default: 4.
  int pod_worker_threads = 4;
  // How long ErrImagePull shows before ImagePullBackOff. Default: 1 s.
  Duration image_pull_error_display = std::chrono::seconds(1);
};

// The trailing number of a node name ("node-7" → 7), else a stable hash in [1, 255].
int NodeIndexFromName(const std::string& node_name);
// "10.244" and 7 → "10.244.7.0/24"; 300 → "10.245.44.0/24". InvalidArgument-style
// BadRequest on a malformed base or an index past the range.
Result<std::string> PodCidrFor(const std::string& base, int index);
// 7 → "127.0.7.1".
std::string InternalIpFor(int index);
// The node's InternalIP: options.internal_ip, else InternalIpFor(its index).
std::string InternalIpOf(const KubeletOptions& options);
// Hollow mode: `n` nodes named <prefix>1..<prefix>n with indexes first_index.. (pod CIDRs
// and InternalIPs follow), each otherwise configured as `base`.
std::vector<KubeletOptions> HollowNodeOptions(const KubeletOptions& base, int n, const std::string& prefix,
                                              int first_index = 1);
// "a=b,c=d" → {a: b, c: d}. BadRequest on an entry without '='.
Result<std::map<std::string, std::string>> ParseLabels(const std::string& text);
// "key=value:Effect,key2:Effect" → taints. BadRequest on a malformed entry or effect.
Result<std::vector<TaintSpec>> ParseTaints(const std::string& text);

}  // namespace cattle::kubelet
