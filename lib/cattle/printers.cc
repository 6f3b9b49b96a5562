// Kubernetes' server-side table printers (pkg/printers/internalversion/printers.go),
// re-expressed over cattle's Cap'n Proto objects, plus kubectl's text rendering of a Table
// and apimachinery's HumanDuration.

#include "cattle/printers.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <set>
#include <sstream>

#include "apps.capnp.h"
#include "cattle/clock.h"
#include "coordination.capnp.h"
#include "core.capnp.h"
#include "discovery.capnp.h"
#include "networking.capnp.h"
#include "policy.capnp.h"

namespace cattle {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Go's zero time: "no timestamp" in comparisons (lastRestartDate starts there).
constexpr int64_t kZeroTime = INT64_MIN;

// ---------------------------------------------------------------------------------------
// Column helpers

const char* kNameDoc =
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically.";
const char* kAgeDoc =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created.";
const char* kContainersDoc = "Names of each container in the template.";
const char* kImagesDoc = "Images referenced by each container in the template.";

TableColumn NameCol() { return {"Name", "string", "name", kNameDoc, 0}; }
TableColumn AgeCol() { return {"Age", "string", "", kAgeDoc, 0}; }
TableColumn Col(std::string name, std::string type, std::string description,
                int priority = 0) {
  return {std::move(name), std::move(type), "", std::move(description), priority};
}

// ---------------------------------------------------------------------------------------
// Value helpers

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// Parses a timestamp; kZeroTime when empty or malformed (Go's zero metav1.Time).
int64_t TimeOf(capnp::Text::Reader t) {
  if (t.size() == 0) return kZeroTime;
  int64_t nanos = 0;
  if (!ParseRfc3339(Str(t), &nanos)) return kZeroTime;
  return nanos;
}

std::string AgeOfNanos(int64_t t, int64_t now) {
  if (t == kZeroTime) return "<unknown>";
  // int(d.Seconds()) truncates toward zero, as C++ integer division does.
  return HumanDuration((now - t) / kNanosPerSecond);
}

std::string AgeOf(capnp::Text::Reader t, int64_t now) { return AgeOfNanos(TimeOf(t), now); }

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string IntOrStringText(api::IntOrString::Reader v) {
  if (v.which() == api::IntOrString::INT) return std::to_string(v.getInt());
  return Str(v.getStr());
}

// metav1.LabelSelectorAsSelector(...).String(); *ok is false for an invalid selector.
std::string SelectorString(api::LabelSelector::Reader sel, bool* ok) {
  *ok = true;
  struct Req {
    std::string key;
    std::string text;
  };
  std::vector<Req> reqs;
  for (auto e : sel.getMatchLabels().getEntries()) {
    reqs.push_back({Str(e.getKey()), Str(e.getKey()) + "=" + Str(e.getValue())});
  }
  for (auto expr : sel.getMatchExpressions()) {
    std::string key = Str(expr.getKey());
    std::string op = Str(expr.getOperator());
    std::set<std::string> values;
    for (auto v : expr.getValues()) values.insert(Str(v));
    std::vector<std::string> sorted(values.begin(), values.end());
    if (op == "In" || op == "NotIn") {
      if (sorted.empty()) {
        *ok = false;
        return "";
      }
      reqs.push_back({key, key + (op == "In" ? " in (" : " notin (") + Join(sorted, ",") + ")"});
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!sorted.empty()) {
        *ok = false;
        return "";
      }
      reqs.push_back({key, op == "Exists" ? key : "!" + key});
    } else {
      *ok = false;
      return "";
    }
  }
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const Req& a, const Req& b) { return a.key < b.key; });
  std::vector<std::string> texts;
  for (auto& r : reqs) texts.push_back(std::move(r.text));
  return Join(texts, ",");
}

// metav1.FormatLabelSelector: "<none>" for an empty (or null) selector, "<error>" when
// invalid. `present` is false for a null selector pointer.
std::string FormatLabelSelector(bool present, api::LabelSelector::Reader sel) {
  if (!present) return "<none>";  // labels.Nothing().String() is ""
  bool ok = true;
  std::string s = SelectorString(sel, &ok);
  if (!ok) return "<error>";
  return s.empty() ? "<none>" : s;
}

std::string FormatStringMap(api::StringMap::Reader m) { return FormatLabels(ToStdMap(m)); }

// layoutContainerCells: names and images joined with ",".
std::pair<std::string, std::string> ContainerCells(
    capnp::List<api::Container>::Reader containers) {
  std::vector<std::string> names, images;
  for (auto c : containers) {
    names.push_back(Str(c.getName()));
    images.push_back(Str(c.getImage()));
  }
  return {Join(names, ","), Join(images, ",")};
}

std::string JoinHostPort(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string ListWithMore(const std::vector<std::string>& list, bool more, int count,
                         int maximum) {
  std::string ret = Join(list, ",");
  if (more) return ret + " + " + std::to_string(count - maximum) + " more...";
  if (ret.empty()) ret = "<unset>";
  return ret;
}

std::string TrimSpace(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

std::string ToLower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// helper.GetAccessModesAsString.
std::string AccessModes(capnp::List<capnp::Text>::Reader modes) {
  std::set<std::string> have;
  for (auto m : modes) have.insert(Str(m));
  std::vector<std::string> out;
  if (have.count("ReadWriteOnce")) out.push_back("RWO");
  if (have.count("ReadOnlyMany")) out.push_back("ROX");
  if (have.count("ReadWriteMany")) out.push_back("RWX");
  if (have.count("ReadWriteOncePod")) out.push_back("RWOP");
  return Join(out, ",");
}

// resource.Quantity.String() of map[key]: the canonical text, "0" when absent.
std::string QuantityOf(api::StringMap::Reader m, const char* key) {
  for (auto e : m.getEntries()) {
    if (e.getKey() == key) return Str(e.getValue());
  }
  return "0";
}

std::string AnnotationOr(api::ObjectMeta::Reader meta, const char* key, bool* found) {
  for (auto e : meta.getAnnotations().getEntries()) {
    if (e.getKey() == key) {
      *found = true;
      return Str(e.getValue());
    }
  }
  *found = false;
  return "";
}

// helper.GetPersistentVolumeClass / GetPersistentVolumeClaimClass: the beta annotation
// wins over spec.storageClassName.
std::string StorageClassOf(api::ObjectMeta::Reader meta, capnp::Text::Reader spec_class) {
  bool found = false;
  std::string v = AnnotationOr(meta, "volume.beta.kubernetes.io/storage-class", &found);
  if (found) return v;
  return Str(spec_class);
}

// ---------------------------------------------------------------------------------------
// Pod

std::vector<TableColumn> PodColumns() {
  return {NameCol(),
          Col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
          Col("Status", "string", "The aggregate status of the containers in this pod."),
          Col("Restarts", "string",
              "The number of times the containers in this pod have been restarted and when the "
              "last container in this pod has restarted."),
          AgeCol(),
          Col("IP", "string", "IP address allocated to the pod.", 1),
          Col("Node", "string", "The node the pod is scheduled onto.", 1),
          Col("Nominated Node", "string", "The node the scheduler nominated for the pod.", 1),
          Col("Readiness Gates", "string", "The pod's readiness gates that are satisfied.", 1)};
}

bool HasConditionTrue(capnp::List<api::Condition>::Reader conds, const char* type) {
  for (auto c : conds) {
    if (c.getType() == type && c.getStatus() == "True") return true;
  }
  return false;
}

void PodRow(const Object& obj, int64_t now, TableRow* row) {
  auto pod = obj.get<api::Pod>();
  auto spec = pod.getSpec();
  auto status = pod.getStatus();
  auto meta = pod.getMetadata();

  int restarts = 0;
  int restartable_init_restarts = 0;
  int total = static_cast<int>(spec.getContainers().size());
  int ready = 0;
  int64_t last_restart = kZeroTime;
  int64_t last_restartable_init_restart = kZeroTime;

  std::string pod_phase = Str(status.getPhase());
  std::string reason = pod_phase;
  if (status.getReason().size() > 0) reason = Str(status.getReason());

  for (auto c : status.getConditions()) {
    if (c.getType() == "PodScheduled" && c.getReason() == "SchedulingGated") {
      reason = "SchedulingGated";
    }
  }

  // Init containers with restartPolicy Always are sidecars: counted as containers.
  std::set<std::string> restartable_init;
  for (auto c : spec.getInitContainers()) {
    if (c.getRestartPolicy() == "Always") {
      restartable_init.insert(Str(c.getName()));
      ++total;
    }
  }
  const int num_init = static_cast<int>(spec.getInitContainers().size());

  auto later = [](int64_t* latest, api::ContainerStatus::Reader cs) {
    if (!cs.getLastState().hasTerminated()) return;
    int64_t t = TimeOf(cs.getLastState().getTerminated().getFinishedAt());
    if (*latest < t) *latest = t;
  };

  bool initializing = false;
  auto init_statuses = status.getInitContainerStatuses();
  for (unsigned i = 0; i < init_statuses.size(); ++i) {
    auto cs = init_statuses[i];
    bool restartable = restartable_init.count(Str(cs.getName())) > 0;
    restarts += cs.getRestartCount();
    later(&last_restart, cs);
    if (restartable) {
      restartable_init_restarts += cs.getRestartCount();
      later(&last_restartable_init_restart, cs);
    }
    auto state = cs.getState();
    if (state.hasTerminated() && state.getTerminated().getExitCode() == 0) continue;
    if (restartable && cs.hasStarted() && cs.getStarted().getValue()) {
      if (cs.getReady()) ++ready;
      continue;
    }
    if (state.hasTerminated()) {
      auto t = state.getTerminated();
      if (t.getReason().size() == 0) {
        if (t.getSignal() != 0) {
          reason = "Init:Signal:" + std::to_string(t.getSignal());
        } else {
          reason = "Init:ExitCode:" + std::to_string(t.getExitCode());
        }
      } else {
        reason = "Init:" + Str(t.getReason());
      }
    } else if (state.hasWaiting() && state.getWaiting().getReason().size() > 0 &&
               state.getWaiting().getReason() != "PodInitializing") {
      reason = "Init:" + Str(state.getWaiting().getReason());
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(num_init);
    }
    initializing = true;
    break;
  }

  if (!initializing || HasConditionTrue(status.getConditions(), "Initialized")) {
    restarts = restartable_init_restarts;
    last_restart = last_restartable_init_restart;
    bool has_running = false;
    auto statuses = status.getContainerStatuses();
    for (int i = static_cast<int>(statuses.size()) - 1; i >= 0; --i) {
      auto cs = statuses[i];
      restarts += cs.getRestartCount();
      later(&last_restart, cs);
      auto state = cs.getState();
      if (state.hasWaiting() && state.getWaiting().getReason().size() > 0) {
        reason = Str(state.getWaiting().getReason());
      } else if (state.hasTerminated() && state.getTerminated().getReason().size() > 0) {
        reason = Str(state.getTerminated().getReason());
      } else if (state.hasTerminated()) {
        auto t = state.getTerminated();
        if (t.getSignal() != 0) {
          reason = "Signal:" + std::to_string(t.getSignal());
        } else {
          reason = "ExitCode:" + std::to_string(t.getExitCode());
        }
      } else if (cs.getReady() && state.hasRunning()) {
        has_running = true;
        ++ready;
      }
    }
    // A pod whose last container completed but another still runs is Running/NotReady.
    if (reason == "Completed" && has_running) {
      reason = HasConditionTrue(status.getConditions(), "Ready") ? "Running" : "NotReady";
    }
  }

  bool deleting = meta.getDeletionTimestamp().size() > 0;
  if (deleting && status.getReason() == "NodeLost") {
    reason = "Unknown";
  } else if (deleting && pod_phase != "Succeeded" && pod_phase != "Failed") {
    reason = "Terminating";
  }

  std::string restarts_str = std::to_string(restarts);
  if (restarts != 0 && last_restart != kZeroTime) {
    restarts_str += " (" + AgeOfNanos(last_restart, now) + " ago)";
  }

  std::string pod_ip;
  if (status.getPodIPs().size() > 0) pod_ip = Str(status.getPodIPs()[0].getIp());
  if (pod_ip.empty()) pod_ip = Str(status.getPodIP());
  if (pod_ip.empty()) pod_ip = "<none>";
  std::string node = Str(spec.getNodeName());
  if (node.empty()) node = "<none>";
  std::string nominated = Str(status.getNominatedNodeName());
  if (nominated.empty()) nominated = "<none>";

  std::string gates = "<none>";
  if (spec.getReadinessGates().size() > 0) {
    int true_conditions = 0;
    for (auto g : spec.getReadinessGates()) {
      for (auto c : status.getConditions()) {
        if (c.getType() == g.getConditionType()) {
          if (c.getStatus() == "True") ++true_conditions;
          break;
        }
      }
    }
    gates = std::to_string(true_conditions) + "/" + std::to_string(spec.getReadinessGates().size());
  }

  row->cells = {Str(meta.getName()),
                std::to_string(ready) + "/" + std::to_string(total),
                reason,
                restarts_str,
                AgeOf(meta.getCreationTimestamp(), now),
                pod_ip,
                node,
                nominated,
                gates};
}

// ---------------------------------------------------------------------------------------
// Node

std::vector<TableColumn> NodeColumns() {
  return {NameCol(),
          Col("Status", "string", "The status of the node"),
          Col("Roles", "string", "The roles of the node"),
          AgeCol(),
          Col("Version", "string", "Kubelet Version reported by the node."),
          Col("Internal-IP", "string", "The node's first InternalIP address.", 1),
          Col("External-IP", "string", "The node's first ExternalIP address.", 1),
          Col("OS-Image", "string", "OS Image reported by the node.", 1),
          Col("Kernel-Version", "string", "Kernel Version reported by the node.", 1),
          Col("Container-Runtime", "string", "Container runtime version reported by the node.",
              1)};
}

void NodeRow(const Object& obj, int64_t now, TableRow* row) {
  auto node = obj.get<api::Node>();
  auto meta = node.getMetadata();
  auto status = node.getStatus();

  // The last Ready condition wins, as in the printer's condition map.
  std::string ready_status;
  bool have_ready = false;
  for (auto c : status.getConditions()) {
    if (c.getType() == "Ready") {
      have_ready = true;
      ready_status = Str(c.getStatus());
    }
  }
  std::vector<std::string> st;
  if (have_ready) st.push_back(ready_status == "True" ? "Ready" : "NotReady");
  if (st.empty()) st.push_back("Unknown");
  if (node.getSpec().getUnschedulable()) st.push_back("SchedulingDisabled");

  std::set<std::string> roles;
  for (auto e : meta.getLabels().getEntries()) {
    std::string k = Str(e.getKey());
    static const std::string kPrefix = "node-role.kubernetes.io/";
    if (k.rfind(kPrefix, 0) == 0) {
      if (k.size() > kPrefix.size()) roles.insert(k.substr(kPrefix.size()));
    } else if (k == "kubernetes.io/role" && e.getValue().size() > 0) {
      roles.insert(Str(e.getValue()));
    }
  }
  std::string roles_str = Join(std::vector<std::string>(roles.begin(), roles.end()), ",");
  if (roles_str.empty()) roles_str = "<none>";

  auto address = [&](const char* type) -> std::string {
    for (auto a : status.getAddresses()) {
      if (a.getType() == type) return Str(a.getAddress());
    }
    return "<none>";
  };
  auto info = status.getNodeInfo();
  auto unknown_if_empty = [](capnp::Text::Reader t) {
    return t.size() == 0 ? std::string("<unknown>") : Str(t);
  };

  row->cells = {Str(meta.getName()),
                Join(st, ","),
                roles_str,
                AgeOf(meta.getCreationTimestamp(), now),
                Str(info.getKubeletVersion()),
                address("InternalIP"),
                address("ExternalIP"),
                unknown_if_empty(info.getOsImage()),
                unknown_if_empty(info.getKernelVersion()),
                unknown_if_empty(info.getContainerRuntimeVersion())};
}

// ---------------------------------------------------------------------------------------
// Workloads

std::vector<TableColumn> DeploymentColumns() {
  return {NameCol(),
          Col("Ready", "string", "Number of the pod with ready state"),
          Col("Up-to-date", "string",
              "Total number of non-terminated pods targeted by this deployment that have the "
              "desired template spec."),
          Col("Available", "string",
              "Total number of available non-terminating pods (ready for at least "
              "minReadySeconds) targeted by this deployment."),
          AgeCol(),
          Col("Containers", "string", kContainersDoc, 1),
          Col("Images", "string", kImagesDoc, 1),
          Col("Selector", "string", "Label selector for pods.", 1)};
}

void DeploymentRow(const Object& obj, int64_t now, TableRow* row) {
  auto d = obj.get<api::Deployment>();
  auto spec = d.getSpec();
  auto status = d.getStatus();
  int64_t desired = spec.hasReplicas() ? spec.getReplicas().getValue() : 0;
  // LabelSelectorAsSelector(nil).String() is "" (labels.Nothing()).
  std::string selector;
  if (spec.hasSelector()) {
    bool ok = true;
    selector = SelectorString(spec.getSelector(), &ok);
    if (!ok) selector = "<invalid>";
  }
  auto [names, images] = ContainerCells(spec.getTemplate().getSpec().getContainers());
  row->cells = {Str(d.getMetadata().getName()),
                std::to_string(status.getReadyReplicas()) + "/" + std::to_string(desired),
                int64_t{status.getUpdatedReplicas()},
                int64_t{status.getAvailableReplicas()},
                AgeOf(d.getMetadata().getCreationTimestamp(), now),
                names,
                images,
                selector};
}

std::vector<TableColumn> ReplicaSetColumns() {
  return {NameCol(),
          Col("Desired", "integer", "Number of desired pods."),
          Col("Current", "integer", "The most recently observed number of replicas."),
          Col("Ready", "integer", "The number of pods targeted by this ReplicaSet with a Ready "
                                  "Condition."),
          AgeCol(),
          Col("Containers", "string", kContainersDoc, 1),
          Col("Images", "string", kImagesDoc, 1),
          Col("Selector", "string", "A label query over pods that should match the replica "
                                    "count.", 1)};
}

void ReplicaSetRow(const Object& obj, int64_t now, TableRow* row) {
  auto rs = obj.get<api::ReplicaSet>();
  auto spec = rs.getSpec();
  auto status = rs.getStatus();
  auto [names, images] = ContainerCells(spec.getTemplate().getSpec().getContainers());
  row->cells = {Str(rs.getMetadata().getName()),
                int64_t{spec.hasReplicas() ? spec.getReplicas().getValue() : 0},
                int64_t{status.getReplicas()},
                int64_t{status.getReadyReplicas()},
                AgeOf(rs.getMetadata().getCreationTimestamp(), now),
                names,
                images,
                FormatLabelSelector(spec.hasSelector(), spec.getSelector())};
}

std::vector<TableColumn> StatefulSetColumns() {
  return {NameCol(), Col("Ready", "string", "Number of the pod with ready state"), AgeCol(),
          Col("Containers", "string", kContainersDoc, 1),
          Col("Images", "string", kImagesDoc, 1)};
}

void StatefulSetRow(const Object& obj, int64_t now, TableRow* row) {
  auto ss = obj.get<api::StatefulSet>();
  auto spec = ss.getSpec();
  int64_t desired = spec.hasReplicas() ? spec.getReplicas().getValue() : 0;
  auto [names, images] = ContainerCells(spec.getTemplate().getSpec().getContainers());
  row->cells = {Str(ss.getMetadata().getName()),
                std::to_string(ss.getStatus().getReadyReplicas()) + "/" + std::to_string(desired),
                AgeOf(ss.getMetadata().getCreationTimestamp(), now), names, images};
}

std::vector<TableColumn> DaemonSetColumns() {
  return {NameCol(),
          Col("Desired", "integer",
              "The total number of nodes that should be running the daemon pod."),
          Col("Current", "integer",
              "The number of nodes that are running at least 1 daemon pod and are supposed to "
              "run the daemon pod."),
          Col("Ready", "integer",
              "The number of nodes that should be running the daemon pod and have one or more "
              "of the daemon pod running and ready."),
          Col("Up-to-date", "integer",
              "The total number of nodes that are running updated daemon pod."),
          Col("Available", "integer",
              "The number of nodes that should be running the daemon pod and have one or more "
              "of the daemon pod running and available."),
          Col("Node Selector", "string",
              "NodeSelector is a selector which must be true for the pod to fit on a node."),
          AgeCol(),
          Col("Containers", "string", kContainersDoc, 1),
          Col("Images", "string", kImagesDoc, 1),
          Col("Selector", "string", "A label query over pods that are managed by the daemon "
                                    "set.", 1)};
}

void DaemonSetRow(const Object& obj, int64_t now, TableRow* row) {
  auto ds = obj.get<api::DaemonSet>();
  auto spec = ds.getSpec();
  auto status = ds.getStatus();
  auto pod_spec = spec.getTemplate().getSpec();
  auto [names, images] = ContainerCells(pod_spec.getContainers());
  row->cells = {Str(ds.getMetadata().getName()),
                int64_t{status.getDesiredNumberScheduled()},
                int64_t{status.getCurrentNumberScheduled()},
                int64_t{status.getNumberReady()},
                int64_t{status.getUpdatedNumberScheduled()},
                int64_t{status.getNumberAvailable()},
                FormatStringMap(pod_spec.getNodeSelector()),
                AgeOf(ds.getMetadata().getCreationTimestamp(), now),
                names,
                images,
                FormatLabelSelector(spec.hasSelector(), spec.getSelector())};
}

std::vector<TableColumn> ControllerRevisionColumns() {
  return {NameCol(), Col("Controller", "string", "Controller of the object"),
          Col("Revision", "string", "Revision indicates the revision of the state represented "
                                    "by Data."),
          AgeCol()};
}

void ControllerRevisionRow(const Object& obj, int64_t now, TableRow* row) {
  auto cr = obj.get<api::ControllerRevision>();
  auto meta = cr.getMetadata();
  std::string controller = "<none>";
  for (auto ref : meta.getOwnerReferences()) {
    if (!(ref.hasController() && ref.getController().getValue())) continue;
    std::string api_version = Str(ref.getApiVersion());
    auto slash = api_version.find('/');
    std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
    std::string kind = Str(ref.getKind());
    std::string name = Str(ref.getName());
    if (group.empty() && kind.empty()) {
      controller = name;
    } else {
      controller = ToLower(group.empty() ? kind : kind + "." + group) + "/" + name;
    }
    break;
  }
  row->cells = {Str(meta.getName()), controller, int64_t{cr.getRevision()},
                AgeOf(meta.getCreationTimestamp(), now)};
}

// ---------------------------------------------------------------------------------------
// Services and networking

std::vector<TableColumn> ServiceColumns() {
  return {NameCol(),
          Col("Type", "string", "type determines how the Service is exposed."),
          Col("Cluster-IP", "string", "clusterIP is the IP address of the service."),
          Col("External-IP", "string",
              "externalIPs is a list of IP addresses for which nodes in the cluster will also "
              "accept traffic for this service."),
          Col("Port(s)", "string", "The list of ports that are exposed by this service."),
          AgeCol(),
          Col("Selector", "string",
              "Route service traffic to pods with label keys and values matching this "
              "selector.", 1)};
}

std::string ServiceExternalIP(api::Service::Reader svc) {
  auto spec = svc.getSpec();
  std::vector<std::string> external;
  for (auto ip : spec.getExternalIPs()) external.push_back(Str(ip));
  std::string type = Str(spec.getType());
  if (type == "ClusterIP" || type == "NodePort") {
    return external.empty() ? "<none>" : Join(external, ",");
  }
  if (type == "LoadBalancer") {
    std::vector<std::string> lb;
    for (auto ing : svc.getStatus().getLoadBalancer().getIngress()) {
      std::string v = ing.getIp().size() > 0 ? Str(ing.getIp()) : Str(ing.getHostname());
      if (!v.empty() && std::find(lb.begin(), lb.end(), v) == lb.end()) lb.push_back(v);
    }
    if (!external.empty()) {
      lb.insert(lb.end(), external.begin(), external.end());
      return Join(lb, ",");
    }
    return lb.empty() ? "<pending>" : Join(lb, ",");
  }
  if (type == "ExternalName") return Str(spec.getExternalName());
  return "<unknown>";
}

void ServiceRow(const Object& obj, int64_t now, TableRow* row) {
  auto svc = obj.get<api::Service>();
  auto spec = svc.getSpec();
  std::string cluster_ip = "<none>";
  if (spec.getClusterIPs().size() > 0) {
    cluster_ip = Str(spec.getClusterIPs()[0]);
  } else if (spec.getClusterIP().size() > 0) {
    cluster_ip = Str(spec.getClusterIP());
  }
  std::vector<std::string> ports;
  for (auto p : spec.getPorts()) {
    // Kubernetes defaults protocol to TCP; an undefaulted object prints as if it had been.
    std::string proto = p.getProtocol().size() > 0 ? Str(p.getProtocol()) : "TCP";
    std::string s = std::to_string(p.getPort());
    if (p.getNodePort() > 0) s += ":" + std::to_string(p.getNodePort());
    ports.push_back(s + "/" + proto);
  }
  std::string ports_str = Join(ports, ",");
  if (ports_str.empty()) ports_str = "<none>";
  row->cells = {Str(svc.getMetadata().getName()),
                Str(spec.getType()),
                cluster_ip,
                ServiceExternalIP(svc),
                ports_str,
                AgeOf(svc.getMetadata().getCreationTimestamp(), now),
                FormatStringMap(spec.getSelector())};
}

std::vector<TableColumn> EndpointsColumns() {
  return {NameCol(), Col("Endpoints", "string", "The set of all endpoints is the union of all "
                                                "subsets."),
          AgeCol()};
}

std::string FormatEndpoints(api::Endpoints::Reader ep) {
  auto subsets = ep.getSubsets();
  if (subsets.size() == 0) return "<none>";
  std::vector<std::string> list;
  const int maximum = 3;
  bool more = false;
  int count = 0;
  for (auto ss : subsets) {
    auto addrs = ss.getAddresses();
    if (ss.getPorts().size() == 0) {
      // Headless services with no ports.
      count += static_cast<int>(addrs.size());
      for (auto a : addrs) {
        if (static_cast<int>(list.size()) == maximum) {
          more = true;
          break;
        }
        list.push_back(Str(a.getIp()));
      }
      continue;
    }
    for (auto port : ss.getPorts()) {
      count += static_cast<int>(addrs.size());
      for (auto a : addrs) {
        if (static_cast<int>(list.size()) == maximum) {
          more = true;
          break;
        }
        list.push_back(JoinHostPort(Str(a.getIp()), port.getPort()));
      }
    }
  }
  std::string ret = Join(list, ",");
  if (more) return ret + " + " + std::to_string(count - maximum) + " more...";
  return ret;
}

void EndpointsRow(const Object& obj, int64_t now, TableRow* row) {
  auto ep = obj.get<api::Endpoints>();
  row->cells = {Str(ep.getMetadata().getName()), FormatEndpoints(ep),
                AgeOf(ep.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> EndpointSliceColumns() {
  return {NameCol(),
          Col("AddressType", "string", "addressType specifies the type of address carried by "
                                       "this EndpointSlice."),
          Col("Ports", "string", "ports specifies the list of network ports exposed by each "
                                 "endpoint in this slice."),
          Col("Endpoints", "string", "endpoints is a list of unique endpoints in this slice."),
          AgeCol()};
}

void EndpointSliceRow(const Object& obj, int64_t now, TableRow* row) {
  auto es = obj.get<api::EndpointSlice>();
  const int maximum = 3;
  std::vector<std::string> ports;
  bool more = false;
  int count = 0;
  for (auto p : es.getPorts()) {
    if (static_cast<int>(ports.size()) < maximum) {
      std::string n = "*";
      if (p.hasPort()) {
        n = std::to_string(p.getPort().getValue());
      } else if (p.hasName()) {
        n = Str(p.getName());
      }
      ports.push_back(n);
    } else if (static_cast<int>(ports.size()) == maximum) {
      more = true;
    }
    ++count;
  }
  std::string ports_str = ListWithMore(ports, more, count, maximum);

  std::vector<std::string> eps;
  more = false;
  count = 0;
  for (auto e : es.getEndpoints()) {
    for (auto a : e.getAddresses()) {
      if (static_cast<int>(eps.size()) < maximum) {
        eps.push_back(Str(a));
      } else if (static_cast<int>(eps.size()) == maximum) {
        more = true;
      }
      ++count;
    }
  }
  row->cells = {Str(es.getMetadata().getName()), Str(es.getAddressType()), ports_str,
                ListWithMore(eps, more, count, maximum),
                AgeOf(es.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> NetworkPolicyColumns() {
  return {NameCol(),
          Col("Pod-Selector", "string",
              "podSelector selects the pods to which this NetworkPolicy object applies."),
          AgeCol()};
}

void NetworkPolicyRow(const Object& obj, int64_t now, TableRow* row) {
  auto np = obj.get<api::NetworkPolicy>();
  // spec.podSelector is a value, not a pointer: unset means empty, i.e. "<none>".
  row->cells = {Str(np.getMetadata().getName()),
                FormatLabelSelector(true, np.getSpec().getPodSelector()),
                AgeOf(np.getMetadata().getCreationTimestamp(), now)};
}

// ---------------------------------------------------------------------------------------
// Config and cluster objects

std::vector<TableColumn> NamespaceColumns() {
  return {NameCol(), Col("Status", "string", "The status of the namespace"), AgeCol()};
}

void NamespaceRow(const Object& obj, int64_t now, TableRow* row) {
  auto ns = obj.get<api::Namespace>();
  row->cells = {Str(ns.getMetadata().getName()), Str(ns.getStatus().getPhase()),
                AgeOf(ns.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> ConfigMapColumns() {
  return {NameCol(), Col("Data", "string", "Data contains the configuration data."), AgeCol()};
}

void ConfigMapRow(const Object& obj, int64_t now, TableRow* row) {
  auto cm = obj.get<api::ConfigMap>();
  int64_t n = cm.getData().getEntries().size() + cm.getBinaryData().getEntries().size();
  row->cells = {Str(cm.getMetadata().getName()), n,
                AgeOf(cm.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> SecretColumns() {
  return {NameCol(), Col("Type", "string", "Used to facilitate programmatic handling of secret "
                                           "data."),
          Col("Data", "string", "Data contains the secret data."), AgeCol()};
}

void SecretRow(const Object& obj, int64_t now, TableRow* row) {
  auto s = obj.get<api::Secret>();
  row->cells = {Str(s.getMetadata().getName()), Str(s.getType()),
                int64_t(s.getData().getEntries().size()),
                AgeOf(s.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> EventColumns() {
  return {Col("Last Seen", "string",
              "The time at which the most recent occurrence of this event was recorded."),
          Col("Type", "string", "Type of this event (Normal, Warning), new types could be added "
                                "in the future"),
          Col("Reason", "string", "This should be a short, machine understandable string that "
                                  "gives the reason for the transition into the object's "
                                  "current status."),
          Col("Object", "string", "The object that this event is about."),
          Col("Subobject", "string", "The part of the object this event is about (fieldPath).",
              1),
          Col("Source", "string", "The component reporting this event.", 1),
          Col("Message", "string", "A human-readable description of the status of this "
                                   "operation."),
          Col("First Seen", "string",
              "The time at which the event was first recorded.", 1),
          Col("Count", "string", "The number of times this event has occurred.", 1),
          {"Name", "string", "name", kNameDoc, 1}};
}

void EventRow(const Object& obj, int64_t now, TableRow* row) {
  auto ev = obj.get<api::Event>();
  std::string first = ev.getFirstTimestamp().size() > 0 ? AgeOf(ev.getFirstTimestamp(), now)
                                                        : AgeOf(ev.getEventTime(), now);
  std::string last = ev.getLastTimestamp().size() > 0 ? AgeOf(ev.getLastTimestamp(), now) : first;
  int64_t count = ev.getCount();
  if (ev.hasSeries()) {
    last = AgeOf(ev.getSeries().getLastObservedTime(), now);
    count = ev.getSeries().getCount();
  } else if (count == 0) {
    count = 1;  // singleton events of the new API carry no count
  }
  auto io = ev.getInvolvedObject();
  std::string target = ToLower(Str(io.getKind()));
  if (io.getName().size() > 0) target += "/" + Str(io.getName());
  std::string component = ev.getSource().getComponent().size() > 0
                              ? Str(ev.getSource().getComponent())
                              : Str(ev.getReportingComponent());
  std::string instance = ev.getSource().getHost().size() > 0 ? Str(ev.getSource().getHost())
                                                             : Str(ev.getReportingInstance());
  std::string source = instance.empty() ? component : component + ", " + instance;
  row->cells = {last,
                Str(ev.getType()),
                Str(ev.getReason()),
                target,
                Str(io.getFieldPath()),
                source,
                TrimSpace(Str(ev.getMessage())),
                first,
                count,
                Str(ev.getMetadata().getName())};
}

std::vector<TableColumn> LeaseColumns() {
  return {NameCol(), Col("Holder", "string", "holderIdentity contains the identity of the holder "
                                             "of a current lease."),
          AgeCol()};
}

void LeaseRow(const Object& obj, int64_t now, TableRow* row) {
  auto l = obj.get<api::Lease>();
  row->cells = {Str(l.getMetadata().getName()), Str(l.getSpec().getHolderIdentity()),
                AgeOf(l.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> PodDisruptionBudgetColumns() {
  return {NameCol(),
          Col("Min Available", "string", "The minimum number of pods that must be available."),
          Col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
          Col("Allowed Disruptions", "integer",
              "Calculated number of pods that may be disrupted at this time."),
          AgeCol()};
}

void PodDisruptionBudgetRow(const Object& obj, int64_t now, TableRow* row) {
  auto pdb = obj.get<api::PodDisruptionBudget>();
  auto spec = pdb.getSpec();
  std::string min_available =
      spec.hasMinAvailable() ? IntOrStringText(spec.getMinAvailable()) : "N/A";
  std::string max_unavailable =
      spec.hasMaxUnavailable() ? IntOrStringText(spec.getMaxUnavailable()) : "N/A";
  row->cells = {Str(pdb.getMetadata().getName()), min_available, max_unavailable,
                int64_t{pdb.getStatus().getDisruptionsAllowed()},
                AgeOf(pdb.getMetadata().getCreationTimestamp(), now)};
}

std::vector<TableColumn> PersistentVolumeColumns() {
  return {NameCol(),
          Col("Capacity", "string", "capacity is the description of the persistent volume's "
                                    "resources and capacity."),
          Col("Access Modes", "string", "accessModes contains all ways the volume can be "
                                        "mounted."),
          Col("Reclaim Policy", "string", "persistentVolumeReclaimPolicy defines what happens to "
                                          "a persistent volume when released from its claim."),
          Col("Status", "string", "phase indicates if a volume is available, bound to a claim, "
                                  "or released by a claim."),
          Col("Claim", "string", "claimRef is part of a bi-directional binding between "
                                 "PersistentVolume and PersistentVolumeClaim."),
          Col("StorageClass", "string", "StorageClass of the pv"),
          Col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
          Col("Reason", "string", "reason is a brief CamelCase string that describes any "
                                  "failure."),
          AgeCol(),
          Col("VolumeMode", "string", "volumeMode defines if a volume is intended to be used "
                                      "with a formatted filesystem or to remain in raw block "
                                      "state.", 1)};
}

void PersistentVolumeRow(const Object& obj, int64_t now, TableRow* row) {
  auto pv = obj.get<api::PersistentVolume>();
  auto spec = pv.getSpec();
  auto meta = pv.getMetadata();
  std::string claim;
  if (spec.hasClaimRef()) {
    claim = Str(spec.getClaimRef().getNamespace()) + "/" + Str(spec.getClaimRef().getName());
  }
  std::string phase = Str(pv.getStatus().getPhase());
  if (meta.getDeletionTimestamp().size() > 0) phase = "Terminating";
  std::string volume_mode = spec.hasVolumeMode() ? Str(spec.getVolumeMode()) : "<unset>";
  std::string vac =
      spec.hasVolumeAttributesClassName() ? Str(spec.getVolumeAttributesClassName()) : "<unset>";
  row->cells = {Str(meta.getName()),
                QuantityOf(spec.getCapacity(), "storage"),
                AccessModes(spec.getAccessModes()),
                Str(spec.getPersistentVolumeReclaimPolicy()),
                phase,
                claim,
                StorageClassOf(meta, spec.getStorageClassName()),
                vac,
                Str(pv.getStatus().getReason()),
                AgeOf(meta.getCreationTimestamp(), now),
                volume_mode};
}

std::vector<TableColumn> PersistentVolumeClaimColumns() {
  return {NameCol(),
          Col("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
          Col("Volume", "string", "volumeName is the binding reference to the PersistentVolume "
                                  "backing this claim."),
          Col("Capacity", "string", "capacity represents the actual resources of the underlying "
                                    "volume."),
          Col("Access Modes", "string", "accessModes contains the actual access modes the "
                                        "volume backing the PVC has."),
          Col("StorageClass", "string", "StorageClass of the pvc"),
          Col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
          AgeCol(),
          Col("VolumeMode", "string", "volumeMode defines what type of volume is required by "
                                      "the claim.", 1)};
}

void PersistentVolumeClaimRow(const Object& obj, int64_t now, TableRow* row) {
  auto pvc = obj.get<api::PersistentVolumeClaim>();
  auto spec = pvc.getSpec();
  auto status = pvc.getStatus();
  auto meta = pvc.getMetadata();
  std::string phase = Str(status.getPhase());
  if (meta.getDeletionTimestamp().size() > 0) phase = "Terminating";
  std::string capacity, access_modes;
  if (spec.getVolumeName().size() > 0) {
    access_modes = AccessModes(status.getAccessModes());
    capacity = QuantityOf(status.getCapacity(), "storage");
  }
  std::string volume_mode = spec.hasVolumeMode() ? Str(spec.getVolumeMode()) : "<unset>";
  std::string vac =
      spec.hasVolumeAttributesClassName() ? Str(spec.getVolumeAttributesClassName()) : "<unset>";
  // GetPersistentVolumeClaimClass: annotation, else spec.storageClassName (nil -> "").
  row->cells = {Str(meta.getName()),
                phase,
                Str(spec.getVolumeName()),
                capacity,
                access_modes,
                StorageClassOf(meta, spec.getStorageClassName()),
                vac,
                AgeOf(meta.getCreationTimestamp(), now),
                volume_mode};
}

// ---------------------------------------------------------------------------------------
// Generic

std::vector<TableColumn> GenericColumns() {
  return {NameCol(), {"Age", "date", "", kAgeDoc, 0}};
}

void GenericRow(const Object& obj, int64_t now, TableRow* row) {
  auto meta = obj.meta();
  row->cells = {Str(meta.getName()), AgeOf(meta.getCreationTimestamp(), now)};
}

// ---------------------------------------------------------------------------------------
// Dispatch

struct Printer {
  const char* group;
  const char* kind;
  std::vector<TableColumn> (*columns)();
  void (*row)(const Object&, int64_t, TableRow*);
};

const Printer kPrinters[] = {
    {"", "Pod", PodColumns, PodRow},
    {"", "Node", NodeColumns, NodeRow},
    {"", "Service", ServiceColumns, ServiceRow},
    {"", "Endpoints", EndpointsColumns, EndpointsRow},
    {"", "ConfigMap", ConfigMapColumns, ConfigMapRow},
    {"", "Secret", SecretColumns, SecretRow},
    {"", "Event", EventColumns, EventRow},
    {"", "Namespace", NamespaceColumns, NamespaceRow},
    {"", "PersistentVolume", PersistentVolumeColumns, PersistentVolumeRow},
    {"", "PersistentVolumeClaim", PersistentVolumeClaimColumns, PersistentVolumeClaimRow},
    {"apps", "Deployment", DeploymentColumns, DeploymentRow},
    {"apps", "ReplicaSet", ReplicaSetColumns, ReplicaSetRow},
    {"apps", "StatefulSet", StatefulSetColumns, StatefulSetRow},
    {"apps", "DaemonSet", DaemonSetColumns, DaemonSetRow},
    {"apps", "ControllerRevision", ControllerRevisionColumns, ControllerRevisionRow},
    {"coordination.k8s.io", "Lease", LeaseColumns, LeaseRow},
    {"policy", "PodDisruptionBudget", PodDisruptionBudgetColumns, PodDisruptionBudgetRow},
    {"networking.k8s.io", "NetworkPolicy", NetworkPolicyColumns, NetworkPolicyRow},
    {"discovery.k8s.io", "EndpointSlice", EndpointSliceColumns, EndpointSliceRow},
};

const Printer* FindPrinter(const KindInfo& kind) {
  for (const auto& p : kPrinters) {
    if (kind.group == p.group && kind.kind == p.kind) return &p;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// Rendering

size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count UTF-8 code points, as text/tabwriter does
  }
  return n;
}

// kubectl's printRows cell formatting: strings cut at the first \f, \n or \r ("..."
// appended) and terminal-escaped; other values as fmt.Sprint prints them.
std::string CellText(const Json& cell) {
  std::string s;
  bool truncated = false;
  if (cell.is_null()) return "";
  if (cell.is_string()) {
    s = cell.get<std::string>();
    size_t brk = s.find_first_of("\f\n\r");
    if (brk != std::string::npos) {
      s.resize(brk);
      truncated = true;
    }
  } else if (cell.is_boolean()) {
    s = cell.get<bool>() ? "true" : "false";
  } else if (cell.is_number_integer()) {
    s = cell.is_number_unsigned() ? std::to_string(cell.get<uint64_t>())
                                  : std::to_string(cell.get<int64_t>());
  } else if (cell.is_number_float()) {
    std::ostringstream os;
    os << cell.get<double>();
    s = os.str();
  } else {
    s = DumpJson(cell);
  }
  std::string out;
  for (char c : s) {
    if (c == '\x1b') {
      out += "^[";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  if (truncated) out += "...";
  return out;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// -----------------------------------------------------------------------------------------

std::string HumanDuration(int64_t seconds) {
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    if (s == 0) return std::to_string(minutes) + "m";
    return std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  int64_t hours = seconds / 3600;
  if (hours < 8) {
    int64_t m = minutes % 60;
    if (m == 0) return std::to_string(hours) + "h";
    return std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    if (h == 0) return std::to_string(hours / 24) + "d";
    return std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    if (dy == 0) return std::to_string(hours / 24 / 365) + "y";
    return std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::string TimestampAge(std::string_view rfc3339, int64_t now_wall_nanos) {
  if (rfc3339.empty()) return "<unknown>";
  int64_t t = 0;
  if (!ParseRfc3339(std::string(rfc3339), &t)) return "<unknown>";
  return AgeOfNanos(t, now_wall_nanos);
}

std::string FormatLabels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ",";
    out += k + "=" + v;
  }
  return out.empty() ? "<none>" : out;
}

std::vector<TableColumn> TableColumns(const KindInfo& kind) {
  if (const Printer* p = FindPrinter(kind)) return p->columns();
  return GenericColumns();
}

TableRow TableRowFor(const Object& obj, int64_t now_wall_nanos) {
  TableRow row;
  if (const Printer* p = FindPrinter(*obj.kind())) {
    p->row(obj, now_wall_nanos, &row);
  } else {
    GenericRow(obj, now_wall_nanos, &row);
  }
  return row;
}

Table MakeTable(const KindInfo& kind, const std::vector<const Object*>& objects,
                int64_t now_wall_nanos) {
  Table t;
  t.columns = TableColumns(kind);
  t.rows.reserve(objects.size());
  for (const Object* o : objects) t.rows.push_back(TableRowFor(*o, now_wall_nanos));
  return t;
}

Json ColumnDefinitionJson(const TableColumn& c) {
  return Json{{"name", c.name},
              {"type", c.type},
              {"format", c.format},
              {"description", c.description},
              {"priority", c.priority}};
}

std::string RenderTable(const Table& table, bool wide, const std::vector<std::string>* namespaces,
                        const std::vector<std::string>* labels) {
  // kubectl's tabwriter: minwidth 6, padding 3, pad char ' ', no trailing cell padding.
  constexpr size_t kMinWidth = 6;
  constexpr size_t kPadding = 3;

  std::vector<size_t> shown;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (wide || table.columns[i].priority == 0) shown.push_back(i);
  }

  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> header;
  if (namespaces) header.push_back("NAMESPACE");
  for (size_t i : shown) header.push_back(Upper(table.columns[i].name));
  if (labels) header.push_back("LABELS");
  lines.push_back(std::move(header));

  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& cells = table.rows[r].cells;
    std::vector<std::string> line;
    if (namespaces) line.push_back(r < namespaces->size() ? (*namespaces)[r] : "");
    for (size_t i : shown) line.push_back(i < cells.size() ? CellText(cells[i]) : "");
    if (labels) line.push_back(r < labels->size() ? (*labels)[r] : "");
    lines.push_back(std::move(line));
  }

  const size_t ncols = lines[0].size();
  std::vector<size_t> widths(ncols, kMinWidth);
  for (const auto& line : lines) {
    for (size_t c = 0; c + 1 < line.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(line[c]) + kPadding);
    }
  }

  std::string out;
  for (const auto& line : lines) {
    for (size_t c = 0; c < line.size(); ++c) {
      out += line[c];
      if (c + 1 < line.size()) out.append(widths[c] - DisplayWidth(line[c]), ' ');
    }
    out += "\n";
  }
  return out;
}

}  // namespace cattle
