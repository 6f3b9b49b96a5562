// What the scheduler knows about a pod and a node during one scheduling cycle (Kubernetes'
// framework.PodInfo and framework.NodeInfo): the object plus the numbers the plugins need,
// computed once.
//
// Thread-safety: immutable once built, except NodeInfo's AddPod/RemovePod, which the
// scheduling thread calls on its own snapshot only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cattle/informer.h"
#include "core.capnp.h"

namespace cattle::scheduler {

// framework.MaxNodeScore: every score plugin's normalised result lies in 0..100.
inline constexpr int64_t kMaxNodeScore = 100;
// schedutil.DefaultMilliCPURequest / DefaultMemoryRequest: what scoring assumes for a
// container that requests no CPU or memory (filtering does not).
inline constexpr int64_t kDefaultMilliCpuRequest = 100;
inline constexpr int64_t kDefaultMemoryRequest = 200LL * 1024 * 1024;

// framework.Resource without the pod count: milli-CPU, bytes, and extended resources
// (e.g. "example.com/gpu", "hugepages-2Mi") by name.
struct Resources {
  int64_t milli_cpu = 0;
  int64_t memory = 0;
  int64_t ephemeral_storage = 0;
  std::map<std::string, int64_t> scalar;

  void Add(const Resources& r);
  void Sub(const Resources& r);
  // Per resource, the larger of the two (how init containers count).
  void SetMax(const Resources& r);
  bool IsZero() const;
};

// A ResourceList (name -> quantity) as numbers. Quantities that do not parse are skipped
// (the apiserver has validated them). `pods` receives the "pods" entry when given.
Resources ResourcesFromList(api::StringMap::Reader list, int64_t* pods = nullptr);

// resource.PodRequests: the sum over containers, at least each init container (a
// restartable "sidecar" init container adds to everything after it), pod-level requests
// replacing the sum where set, plus overhead. With `non_missing`, a container without a
// CPU or memory request counts as 100m / 200Mi (what scoring uses).
Resources PodRequests(api::PodSpec::Reader spec, bool non_missing);

struct PodInfo {
  ObjectPtr pod;
  std::string key;  // "namespace/name"
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string node_name;       // spec.nodeName, or the node the pod is assumed on
  std::string controller_uid;  // the ownerReference with controller: true, or ""
  int32_t priority = 0;        // spec.priority (0 when unset)
  bool terminating = false;    // metadata.deletionTimestamp is set
  std::string preemption_policy;
  Resources requests;           // PodRequests(spec, false): what must fit
  Resources non_zero_requests;  // PodRequests(spec, true): what scoring counts
  // spec.nodeSelector is not empty or required node affinity is set.
  bool constrains_nodes = false;

  api::Pod::Reader get() const { return pod->get<api::Pod>(); }
  static std::shared_ptr<const PodInfo> From(ObjectPtr pod);
  // Whether `a` and `b` (one pod's two versions) give the same PodInfo and count alike:
  // true for the kubelet's status writes until the pod turns terminal.
  static bool Same(const Object& a, const Object& b);
};
using PodInfoPtr = std::shared_ptr<const PodInfo>;

class NodeInfo {
 public:
  struct Taint {
    std::string key, value, effect;
  };

  explicit NodeInfo(ObjectPtr node);

  const std::string& name() const { return name_; }
  api::Node::Reader node() const { return node_->get<api::Node>(); }
  const ObjectPtr& object() const { return node_; }
  // Read from the Node once, for the filters that run on every node in every cycle: the
  // first Ready condition is True; spec.unschedulable; spec.taints.
  bool ready() const { return ready_; }
  bool unschedulable() const { return unschedulable_; }
  const std::vector<Taint>& taints() const { return taints_; }
  // status.allocatable; `allowed_pods` is its "pods" entry (0 when absent).
  const Resources& allocatable() const { return allocatable_; }
  int64_t allowed_pods() const { return allowed_pods_; }
  // Sums over pods(): their requests, and their requests with scoring's defaults.
  const Resources& requested() const { return requested_; }
  const Resources& non_zero_requested() const { return non_zero_requested_; }
  const std::vector<PodInfoPtr>& pods() const { return pods_; }

  void AddPod(PodInfoPtr pod);
  // Removes the pod with this uid; false if there is none.
  bool RemovePod(const std::string& uid);

 private:
  ObjectPtr node_;
  std::string name_;
  bool ready_ = false;
  bool unschedulable_ = false;
  std::vector<Taint> taints_;
  Resources allocatable_;
  int64_t allowed_pods_ = 0;
  Resources requested_;
  Resources non_zero_requested_;
  std::vector<PodInfoPtr> pods_;
};
using NodeInfoPtr = std::shared_ptr<NodeInfo>;

}  // namespace cattle::scheduler
