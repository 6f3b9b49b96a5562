#include "scheduler/types.h"

#include <algorithm>

#include <capnp/any.h>

#include "cattle/quantity.h"

namespace cattle::scheduler {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// schedutil.IsScalarResourceName: extended resources (a domain other than kubernetes.io),
// hugepages and attachable volumes.
bool IsScalarResourceName(const std::string& name) {
  if (StartsWith(name, "hugepages-") || StartsWith(name, "attachable-volumes-")) return true;
  auto slash = name.find('/');
  if (slash == std::string::npos || StartsWith(name, "requests.")) return false;
  std::string domain = name.substr(0, slash);
  const std::string native = "kubernetes.io";
  if (domain == native) return false;
  if (domain.size() > native.size() &&
      domain.compare(domain.size() - native.size() - 1, std::string::npos, "." + native) == 0)
    return false;
  return true;
}

struct ParsedList {
  Resources r;
  int64_t pods = 0;
  bool has_cpu = false;
  bool has_memory = false;
};

ParsedList Parse(api::StringMap::Reader list) {
  ParsedList out;
  for (auto e : list.getEntries()) {
    std::string name = e.getKey().cStr();
    auto q = Quantity::Parse(e.getValue().cStr());
    if (!q.ok()) continue;
    if (name == "cpu") {
      out.r.milli_cpu += q->MilliValue();
      out.has_cpu = true;
    } else if (name == "memory") {
      out.r.memory += q->Value();
      out.has_memory = true;
    } else if (name == "ephemeral-storage") {
      out.r.ephemeral_storage += q->Value();
    } else if (name == "pods") {
      out.pods += q->Value();
    } else if (IsScalarResourceName(name)) {
      out.r.scalar[name] += q->Value();
    }
  }
  return out;
}

Resources ContainerRequests(api::Container::Reader c, bool non_missing) {
  ParsedList p = Parse(c.getResources().getRequests());
  if (non_missing) {
    if (!p.has_cpu) p.r.milli_cpu = kDefaultMilliCpuRequest;
    if (!p.has_memory) p.r.memory = kDefaultMemoryRequest;
  }
  return p.r;
}

}  // namespace

void Resources::Add(const Resources& r) {
  milli_cpu += r.milli_cpu;
  memory += r.memory;
  ephemeral_storage += r.ephemeral_storage;
  for (const auto& [k, v] : r.scalar) scalar[k] += v;
}

void Resources::Sub(const Resources& r) {
  milli_cpu -= r.milli_cpu;
  memory -= r.memory;
  ephemeral_storage -= r.ephemeral_storage;
  for (const auto& [k, v] : r.scalar) scalar[k] -= v;
}

void Resources::SetMax(const Resources& r) {
  milli_cpu = std::max(milli_cpu, r.milli_cpu);
  memory = std::max(memory, r.memory);
  ephemeral_storage = std::max(ephemeral_storage, r.ephemeral_storage);
  for (const auto& [k, v] : r.scalar) scalar[k] = std::max(scalar[k], v);
}

bool Resources::IsZero() const {
  if (milli_cpu != 0 || memory != 0 || ephemeral_storage != 0) return false;
  for (const auto& [k, v] : scalar)
    if (v != 0) return false;
  return true;
}

Resources ResourcesFromList(api::StringMap::Reader list, int64_t* pods) {
  ParsedList p = Parse(list);
  if (pods) *pods = p.pods;
  return p.r;
}

Resources PodRequests(api::PodSpec::Reader spec, bool non_missing) {
  Resources reqs;
  for (auto c : spec.getContainers()) reqs.Add(ContainerRequests(c, non_missing));
  // Init containers run one after another, each alongside the sidecars started before it.
  Resources sidecars, init_max;
  for (auto c : spec.getInitContainers()) {
    Resources r = ContainerRequests(c, non_missing);
    if (c.getRestartPolicy() == "Always") {
      reqs.Add(r);
      sidecars.Add(r);
      r = sidecars;
    } else {
      r.Add(sidecars);
    }
    init_max.SetMax(r);
  }
  reqs.SetMax(init_max);
  // Pod-level requests (spec.resources) replace the container sum for cpu and memory.
  if (spec.hasResources()) {
    ParsedList pod_level = Parse(spec.getResources().getRequests());
    if (pod_level.has_cpu) reqs.milli_cpu = pod_level.r.milli_cpu;
    if (pod_level.has_memory) reqs.memory = pod_level.r.memory;
  }
  reqs.Add(Parse(spec.getOverhead()).r);
  return reqs;
}

std::shared_ptr<const PodInfo> PodInfo::From(ObjectPtr pod) {
  auto info = std::make_shared<PodInfo>();
  auto p = pod->get<api::Pod>();
  auto meta = p.getMetadata();
  auto spec = p.getSpec();
  info->namespace_ = meta.getNamespace().cStr();
  info->name = meta.getName().cStr();
  info->key = info->namespace_ + "/" + info->name;
  info->uid = meta.getUid().cStr();
  info->node_name = spec.getNodeName().cStr();
  for (auto ref : meta.getOwnerReferences()) {
    if (ref.hasController() && ref.getController().getValue()) {
      info->controller_uid = ref.getUid().cStr();
      break;
    }
  }
  info->priority = spec.hasPriority() ? spec.getPriority().getValue() : 0;
  info->terminating = meta.getDeletionTimestamp().size() > 0;
  info->preemption_policy = spec.getPreemptionPolicy().cStr();
  info->requests = PodRequests(spec, false);
  info->non_zero_requests = PodRequests(spec, true);
  info->constrains_nodes =
      spec.getNodeSelector().getEntries().size() > 0 ||
      (spec.hasAffinity() && spec.getAffinity().hasNodeAffinity() &&
       spec.getAffinity().getNodeAffinity().hasRequiredDuringSchedulingIgnoredDuringExecution());
  info->pod = std::move(pod);
  return info;
}

bool PodInfo::Same(const Object& a, const Object& b) {
  auto pa = a.get<api::Pod>(), pb = b.get<api::Pod>();
  auto ma = pa.getMetadata(), mb = pb.getMetadata();
  auto terminal = [](api::PodStatus::Reader s) { return s.getPhase() == "Succeeded" || s.getPhase() == "Failed"; };
  return ma.getUid() == mb.getUid() && ma.getName() == mb.getName() && ma.getNamespace() == mb.getNamespace() &&
         ma.hasDeletionTimestamp() == mb.hasDeletionTimestamp() &&
         terminal(pa.getStatus()) == terminal(pb.getStatus()) &&
         capnp::AnyStruct::Reader(pa.getSpec()) == capnp::AnyStruct::Reader(pb.getSpec()) &&
         capnp::AnyStruct::Reader(ma.getLabels()) == capnp::AnyStruct::Reader(mb.getLabels()) &&
         capnp::AnyList::Reader(ma.getOwnerReferences()) == capnp::AnyList::Reader(mb.getOwnerReferences());
}

NodeInfo::NodeInfo(ObjectPtr node) : node_(std::move(node)) {
  auto n = node_->get<api::Node>();
  name_ = n.getMetadata().getName().cStr();
  for (auto c : n.getStatus().getConditions()) {
    if (c.getType() != "Ready") continue;
    ready_ = c.getStatus() == "True";
    break;
  }
  unschedulable_ = n.getSpec().getUnschedulable();
  for (auto t : n.getSpec().getTaints())
    taints_.push_back(Taint{t.getKey().cStr(), t.getValue().cStr(), t.getEffect().cStr()});
  allocatable_ = ResourcesFromList(n.getStatus().getAllocatable(), &allowed_pods_);
}

void NodeInfo::AddPod(PodInfoPtr pod) {
  requested_.Add(pod->requests);
  non_zero_requested_.milli_cpu += pod->non_zero_requests.milli_cpu;
  non_zero_requested_.memory += pod->non_zero_requests.memory;
  pods_.push_back(std::move(pod));
}

bool NodeInfo::RemovePod(const std::string& uid) {
  for (auto it = pods_.begin(); it != pods_.end(); ++it) {
    if ((*it)->uid != uid) continue;
    requested_.Sub((*it)->requests);
    non_zero_requested_.milli_cpu -= (*it)->non_zero_requests.milli_cpu;
    non_zero_requested_.memory -= (*it)->non_zero_requests.memory;
    pods_.erase(it);
    return true;
  }
  return false;
}

}  // namespace cattle::scheduler
