#include "kubelet-sim/node_status.h"

#include <random>
#include <vector>

#include "cattle/log.h"
#include "core.capnp.h"
#include "kubelet-sim/util.h"

namespace cattle::kubelet {
namespace {

struct DesiredCondition {
  const char* type;
  const char* status;
  const char* reason;
  const char* message;
  const char* event;  // the event reason when the condition takes this status
};

// Kubernetes' order and wording (pkg/kubelet/nodestatus/setters.go).
const DesiredCondition kConditions[] = {
    {"MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
     "NodeHasSufficientMemory"},
    {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", "NodeHasNoDiskPressure"},
    {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available",
     "NodeHasSufficientPID"},
    {"Ready", "True", "KubeletReady", "kubelet is posting ready status", "NodeReady"},
};

bool IsOwnCondition(const std::string& type) {
  for (const auto& c : kConditions)
    if (type == c.type) return true;
  return false;
}

// The status as JSON without heartbeat times: what "changed" means.
Json StatusForComparison(const Object& node) {
  Json j = node.ToJson();
  Json s = j.contains("status") ? j["status"] : Json::object();
  if (s.contains("conditions")) {
    for (auto& c : s["conditions"]) c.erase("lastHeartbeatTime");
  }
  return s;
}

// Kubernetes' default kubelet port, registered when no log server runs.
constexpr int32_t kDefaultKubeletPort = 10250;

// Older kubelets advertised their log endpoint in this annotation; nothing reads it now and
// a re-registering kubelet removes it.
constexpr const char* kLegacyEndpointAnnotation = "cattle.dev/kubelet-endpoint";

std::string RandomUuid() {
  std::random_device rd;
  std::string seed = std::to_string(rd()) + "-" + std::to_string(rd());
  return AsUuid(StableHex(seed, 32));
}

}  // namespace

NodeStatusManager::NodeStatusManager(ApiClient* client, Clock* clock, EventRecorder* recorder,
                                     const KubeletOptions* options, std::string runtime_version)
    : client_(client), clock_(clock), recorder_(recorder), options_(options),
      runtime_version_(std::move(runtime_version)), nodes_(client->Kind("nodes")),
      boot_id_(RandomUuid()) {
  int index = options_->node_index >= 0 ? options_->node_index : NodeIndexFromName(options_->node_name);
  internal_ip_ = InternalIpOf(*options_);
  if (!options_->pod_cidr.empty()) {
    derived_cidr_ = options_->pod_cidr;
  } else {
    auto cidr = PodCidrFor(options_->pod_cidr_base, index);
    if (cidr.ok()) derived_cidr_ = *cidr;
    else CATTLE_LOG(ERROR) << "no pod CIDR" << kv("error", cidr.status().ToString());
  }
  pod_cidr_ = derived_cidr_;
}

Object NodeStatusManager::BuildNode() const {
  Object obj(nodes_);
  auto node = obj.as<api::Node>();
  auto meta = node.getMetadata();
  meta.setName(options_->node_name);
  std::map<std::string, std::string> labels = {
      {"beta.kubernetes.io/arch", "amd64"},
      {"beta.kubernetes.io/os", "linux"},
      {"kubernetes.io/arch", "amd64"},
      {"kubernetes.io/hostname", options_->node_name},
      {"kubernetes.io/os", "linux"},
      {"node.kubernetes.io/instance-type", "cattle-sim"},
  };
  for (const auto& [k, v] : options_->labels) labels[k] = v;
  SetStringMap(meta.initLabels(), labels);
  std::map<std::string, std::string> annotations = {{"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
  SetStringMap(meta.initAnnotations(), annotations);
  auto spec = node.initSpec();
  if (!derived_cidr_.empty()) {
    spec.setPodCIDR(derived_cidr_);
    spec.initPodCIDRs(1).set(0, derived_cidr_);
  }
  if (!options_->taints.empty()) {
    auto taints = spec.initTaints(options_->taints.size());
    for (size_t i = 0; i < options_->taints.size(); ++i) {
      taints[i].setKey(options_->taints[i].key);
      if (!options_->taints[i].value.empty()) taints[i].setValue(options_->taints[i].value);
      taints[i].setEffect(options_->taints[i].effect);
    }
  }
  return obj;
}

void NodeStatusManager::FillStatus(Object& obj, const Object* old, int64_t now_wall) const {
  std::string now = FormatRfc3339(now_wall);
  auto status = obj.as<api::Node>().getStatus();
  std::map<std::string, std::string> resources = {
      {"cpu", options_->cpu},
      {"ephemeral-storage", options_->ephemeral_storage},
      {"hugepages-1Gi", "0"},
      {"hugepages-2Mi", "0"},
      {"memory", options_->memory},
      {"pods", std::to_string(options_->max_pods)},
  };
  SetStringMap(status.initCapacity(), resources);
  SetStringMap(status.initAllocatable(), resources);

  // Conditions: ours in Kubernetes' order, then any others (set by other components).
  struct Kept {
    std::string type, status, reason, message, transition, heartbeat;
  };
  std::vector<Kept> out;
  std::map<std::string, Kept> previous;
  std::vector<Kept> others;
  if (old != nullptr) {
    for (auto c : old->get<api::Node>().getStatus().getConditions()) {
      Kept k{Str(c.getType()), Str(c.getStatus()), Str(c.getReason()), Str(c.getMessage()),
             Str(c.getLastTransitionTime()), Str(c.getLastHeartbeatTime())};
      if (IsOwnCondition(k.type)) previous[k.type] = k;
      else others.push_back(k);
    }
  }
  for (const auto& d : kConditions) {
    Kept k{d.type, d.status, d.reason, d.message, now, now};
    auto it = previous.find(d.type);
    if (it != previous.end() && it->second.status == d.status && !it->second.transition.empty())
      k.transition = it->second.transition;
    out.push_back(k);
  }
  out.insert(out.end(), others.begin(), others.end());
  auto conds = status.initConditions(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    conds[i].setType(out[i].type);
    conds[i].setStatus(out[i].status);
    if (!out[i].heartbeat.empty()) conds[i].setLastHeartbeatTime(out[i].heartbeat);
    if (!out[i].transition.empty()) conds[i].setLastTransitionTime(out[i].transition);
    if (!out[i].reason.empty()) conds[i].setReason(out[i].reason);
    if (!out[i].message.empty()) conds[i].setMessage(out[i].message);
  }

  auto addresses = status.initAddresses(2);
  addresses[0].setType("InternalIP");
  addresses[0].setAddress(internal_ip_);
  addresses[1].setType("Hostname");
  addresses[1].setAddress(options_->node_name);
  const bool port_ok = options_->kubelet_port > 0 && options_->kubelet_port <= 65535;
  status.initDaemonEndpoints().initKubeletEndpoint().setPort(port_ok ? options_->kubelet_port : kDefaultKubeletPort);

  auto info = status.initNodeInfo();
  std::string machine = StableHex("machine/" + options_->node_name, 32);
  info.setMachineID(machine);
  info.setSystemUUID(AsUuid(StableHex("system/" + options_->node_name, 32)));
  info.setBootID(boot_id_);
  info.setKernelVersion("6.1.0-cattle-sim");
  info.setOsImage("Debian GNU/Linux 12 (bookworm)");
  info.setContainerRuntimeVersion(runtime_version_);
  info.setKubeletVersion("v1.32.0-cattle");
  info.setKubeProxyVersion("");
  info.setOperatingSystem("linux");
  info.setArchitecture("amd64");
}

void NodeStatusManager::RecordConditionEvents(const Object* old, const Object& updated) {
  if (recorder_ == nullptr) return;
  std::map<std::string, std::string> before;
  if (old != nullptr)
    for (auto c : old->get<api::Node>().getStatus().getConditions()) before[Str(c.getType())] = Str(c.getStatus());
  for (const auto& d : kConditions) {
    auto it = before.find(d.type);
    if (it != before.end() && it->second == d.status) continue;
    recorder_->Event(updated, "Normal", d.event,
                     "Node " + options_->node_name + " status is now: " + d.event);
  }
}

Status NodeStatusManager::Register() {
  const TimePoint started = clock_->Now();
  Object node = BuildNode();
  int64_t now = clock_->WallNanos();
  FillStatus(node, nullptr, now);
  auto created = client_->Create(node);
  if (created.ok()) {
    node_uid_ = created->uid();
    auto spec = created->get<api::Node>().getSpec();
    if (spec.getPodCIDR().size() > 0) pod_cidr_ = Str(spec.getPodCIDR());
    registered_ = true;
    last_post_ = started;
    posts_++;
    if (recorder_ != nullptr) recorder_->Event(*created, "Normal", "Starting", "Starting kubelet.");
    RecordConditionEvents(nullptr, *created);
    CATTLE_LOG(INFO) << "node registered" << kv("node", options_->node_name) << kv("podCIDR", pod_cidr_);
    return Status::Ok();
  }
  if (!created.status().Is(Reason::kAlreadyExists)) return created.status();

  // A node of this name exists (this kubelet restarted): keep its spec, refresh the rest.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto existing = client_->Get(nodes_, "", options_->node_name);
    if (!existing.ok()) return existing.status();
    Object updated = existing->Clone();
    auto meta = updated.meta();
    auto labels = ToStdMap(meta.getLabels().asReader());
    auto annotations = ToStdMap(meta.getAnnotations().asReader());
    auto want_labels = ToStdMap(node.meta().getLabels().asReader());
    bool changed = false;
    for (const auto& [k, v] : want_labels) {
      if (labels[k] != v) changed = true;
      labels[k] = v;
    }
    if (annotations["volumes.kubernetes.io/controller-managed-attach-detach"] != "true") {
      annotations["volumes.kubernetes.io/controller-managed-attach-detach"] = "true";
      changed = true;
    }
    if (annotations.erase(kLegacyEndpointAnnotation) > 0) changed = true;
    auto spec = updated.as<api::Node>().getSpec();
    if (spec.getPodCIDR().size() == 0 && !derived_cidr_.empty()) {
      spec.setPodCIDR(derived_cidr_);
      spec.initPodCIDRs(1).set(0, derived_cidr_);
      changed = true;
    }
    Object current = existing->Clone();
    if (changed) {
      SetStringMap(meta.initLabels(), labels);
      SetStringMap(meta.initAnnotations(), annotations);
      auto r = client_->Update(updated);
      if (!r.ok()) {
        if (r.status().Is(Reason::kConflict)) continue;
        return r.status();
      }
      current = std::move(*r);
    }
    node_uid_ = current.uid();
    auto cur_spec = current.get<api::Node>().getSpec();
    pod_cidr_ = cur_spec.getPodCIDR().size() > 0 ? Str(cur_spec.getPodCIDR()) : derived_cidr_;
    Object with_status = current.Clone();
    FillStatus(with_status, &current, clock_->WallNanos());
    auto posted = client_->UpdateStatus(with_status);
    if (!posted.ok()) {
      if (posted.status().Is(Reason::kConflict)) continue;
      return posted.status();
    }
    registered_ = true;
    last_post_ = started;
    posts_++;
    if (recorder_ != nullptr) recorder_->Event(*posted, "Normal", "Starting", "Starting kubelet.");
    RecordConditionEvents(&current, *posted);
    CATTLE_LOG(INFO) << "node re-registered" << kv("node", options_->node_name) << kv("podCIDR", pod_cidr_);
    return Status::Ok();
  }
  return Status::Conflict("node " + options_->node_name + " kept changing during registration");
}

Status NodeStatusManager::Update() {
  // Kubernetes retries a failed status update up to 5 times (nodeStatusUpdateRetry).
  // Measured from when a post started, so posts keep the rhythm of the caller's ticks.
  const TimePoint started = clock_->Now();
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto current = client_->Get(nodes_, "", options_->node_name);
    if (!current.ok()) return current.status();
    Object updated = current->Clone();
    FillStatus(updated, &*current, clock_->WallNanos());
    bool due = started - last_post_ >= options_->time_scale(options_->node_status_report_frequency);
    if (!due && StatusForComparison(updated) == StatusForComparison(*current)) return Status::Ok();
    auto posted = client_->UpdateStatus(updated);
    if (posted.ok()) {
      last_post_ = started;
      posts_++;
      node_uid_ = posted->uid();
      RecordConditionEvents(&*current, *posted);
      return Status::Ok();
    }
    last = posted.status();
    if (!last.Is(Reason::kConflict)) return last;
  }
  return last;
}

}  // namespace cattle::kubelet
