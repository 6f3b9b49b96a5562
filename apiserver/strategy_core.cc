// core/v1 kinds other than Pod (Service, Namespace, Node, Event, Secret, ConfigMap,
// Endpoints, PersistentVolume, PersistentVolumeClaim), plus EndpointSlice, Lease and
// PodDisruptionBudget. Defaults from pkg/apis/core/v1/defaults.go and
// pkg/apis/discovery/v1/defaults.go; validation from pkg/apis/core/validation and
// pkg/apis/policy/validation; status on create from pkg/registry/*/strategy.go.
#include <set>

#include "apiserver/strategies.h"
#include "cattle/validation.h"
#include "coordination.capnp.h"
#include "discovery.capnp.h"
#include "policy.capnp.h"

namespace cattle::apiserver {
namespace {

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

void InvalidStr(Causes* out, const std::string& path, const std::string& value,
                const std::string& msg) {
  out->push_back(FieldInvalid(path, GoQuote(value), msg));
}

// --- Service ------------------------------------------------------------------------------

bool IsHeadless(api::ServiceSpec::Reader spec) {
  if (spec.getClusterIPs().size() > 0) return spec.getClusterIPs()[0] == "None";
  return spec.getClusterIP() == "None";
}

bool ExternallyAccessible(api::ServiceSpec::Reader spec) {
  std::string type = S(spec.getType());
  return type == "LoadBalancer" || type == "NodePort" ||
         (type == "ClusterIP" && spec.getExternalIPs().size() > 0);
}

std::string GoServicePortKey(const std::string& protocol, int32_t port) {
  return "core.ServicePort{Name:\"\", Protocol:" + GoQuote(protocol) +
         ", AppProtocol:(*string)(nil), Port:" + std::to_string(port) +
         ", TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}";
}

class ServiceStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto spec = obj.as<api::Service>().getSpec();
    if (spec.getSessionAffinity().size() == 0) spec.setSessionAffinity("None");
    std::string affinity = S(spec.getSessionAffinity().asReader());
    if (affinity == "None" && spec.hasSessionAffinityConfig()) spec.disownSessionAffinityConfig();
    if (affinity == "ClientIP") {
      auto r = spec.asReader();
      if (!r.hasSessionAffinityConfig() || !r.getSessionAffinityConfig().hasClientIP() ||
          !r.getSessionAffinityConfig().getClientIP().hasTimeoutSeconds())
        spec.initSessionAffinityConfig().initClientIP().initTimeoutSeconds().setValue(10800);
    }
    if (spec.getType().size() == 0) spec.setType("ClusterIP");
    for (auto p : spec.getPorts()) {
      if (p.getProtocol().size() == 0) p.setProtocol("TCP");
      auto tp = p.asReader().getTargetPort();
      if (!p.hasTargetPort() || (tp.isInt() && tp.getInt() == 0) || (tp.isStr() && tp.getStr().size() == 0))
        p.initTargetPort().setInt(p.getPort());
    }
    std::string type = S(spec.getType().asReader());
    if (ExternallyAccessible(spec.asReader()) && spec.getExternalTrafficPolicy().size() == 0)
      spec.setExternalTrafficPolicy("Cluster");
    if (!spec.hasInternalTrafficPolicy() &&
        (type == "NodePort" || type == "LoadBalancer" || type == "ClusterIP"))
      spec.setInternalTrafficPolicy("Cluster");
    if (type == "LoadBalancer" && !spec.hasAllocateLoadBalancerNodePorts())
      spec.initAllocateLoadBalancerNodePorts().setValue(true);
    // IP families: what the service IP allocator of a single-stack IPv4 cluster fills in.
    if (type != "ExternalName") {
      if (spec.getIpFamilyPolicy().size() == 0) {
        bool headless_no_selector =
            IsHeadless(spec.asReader()) && spec.asReader().getSelector().getEntries().size() == 0;
        spec.setIpFamilyPolicy(headless_no_selector ? "RequireDualStack" : "SingleStack");
      }
      if (spec.getIpFamilies().size() == 0) spec.initIpFamilies(1).set(0, "IPv4");
    }
  }

  void PrepareForCreate(Object& obj) const override {
    Strategy::PrepareForCreate(obj);
    obj.as<api::Service>().getStatus().initLoadBalancer();
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    // Service names are DNS-1035 labels (the registry checked the RFC 1123 label rules).
    std::string name = obj.name();
    if (!name.empty() && Dns1123LabelErrors(name).empty())
      for (const auto& m : Dns1035LabelErrors(name)) InvalidStr(&out, "metadata.name", name, m);

    auto spec = obj.get<api::Service>().getSpec();
    std::string type = S(spec.getType());
    bool headless = IsHeadless(spec);
    auto ports = spec.getPorts();
    if (ports.size() == 0 && !headless && type != "ExternalName") out.push_back(FieldRequired("spec.ports"));
    if ((type == "LoadBalancer" || type == "NodePort") && headless)
      out.push_back(FieldInvalid("spec.clusterIPs[0]", "\"None\"",
                                 "may not be set to 'None' for " + type + " services"));
    if (type == "ExternalName") {
      if (spec.getClusterIPs().size() > 0)
        out.push_back(FieldForbidden("spec.clusterIPs", "may not be set for ExternalName services"));
      if (spec.getIpFamilies().size() > 0)
        out.push_back(FieldForbidden("spec.ipFamilies", "may not be set for ExternalName services"));
      if (spec.hasIpFamilyPolicy())
        out.push_back(FieldForbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
      std::string cname = S(spec.getExternalName());
      if (!cname.empty() && cname.back() == '.') cname.pop_back();
      if (cname.empty()) {
        out.push_back(FieldRequired("spec.externalName"));
      } else {
        for (const auto& m : Dns1123SubdomainErrors(cname)) InvalidStr(&out, "spec.externalName", cname, m);
      }
    }
    std::set<std::string> names;
    for (size_t i = 0; i < ports.size(); ++i) {
      auto p = ports[i];
      std::string pp = Idx("spec.ports", i);
      std::string pname = S(p.getName());
      if (ports.size() > 1 && pname.empty()) {
        out.push_back(FieldRequired(pp + ".name"));
      } else if (!pname.empty()) {
        for (const auto& m : Dns1123LabelErrors(pname)) InvalidStr(&out, pp + ".name", pname, m);
        if (!names.insert(pname).second) out.push_back(FieldDuplicate(pp + ".name", pname));
      }
      for (const auto& m : PortNumErrors(p.getPort()))
        out.push_back(FieldInvalid(pp + ".port", std::to_string(p.getPort()), m));
      std::string proto = S(p.getProtocol());
      if (proto.empty()) {
        out.push_back(FieldRequired(pp + ".protocol"));
      } else if (proto != "SCTP" && proto != "TCP" && proto != "UDP") {
        out.push_back(FieldNotSupported(pp + ".protocol", proto, {"SCTP", "TCP", "UDP"}));
      }
      ValidatePortNumOrName(p.getTargetPort(), pp + ".targetPort", &out);
      if (p.hasAppProtocol())
        for (const auto& m : QualifiedNameErrors(S(p.getAppProtocol())))
          InvalidStr(&out, pp + ".appProtocol", S(p.getAppProtocol()), m);
    }
    if (spec.hasSelector()) ValidateLabelMap(spec.getSelector(), "spec.selector", &out);
    std::string affinity = S(spec.getSessionAffinity());
    if (affinity.empty()) {
      out.push_back(FieldRequired("spec.sessionAffinity"));
    } else if (affinity != "ClientIP" && affinity != "None") {
      out.push_back(FieldNotSupported("spec.sessionAffinity", affinity, {"ClientIP", "None"}));
    }
    if (affinity == "ClientIP") {
      std::string p = "spec.sessionAffinityConfig";
      const char* kWhen = "when session affinity type is ClientIP";
      if (!spec.hasSessionAffinityConfig()) {
        out.push_back(FieldRequired(p, kWhen));
      } else if (!spec.getSessionAffinityConfig().hasClientIP()) {
        out.push_back(FieldRequired(p + ".clientIP", kWhen));
      } else if (!spec.getSessionAffinityConfig().getClientIP().hasTimeoutSeconds()) {
        out.push_back(FieldRequired(p + ".clientIP.timeoutSeconds", kWhen));
      } else {
        int32_t t = spec.getSessionAffinityConfig().getClientIP().getTimeoutSeconds().getValue();
        if (t <= 0 || t > 86400)
          out.push_back(FieldInvalid(p + ".clientIP.timeoutSeconds", std::to_string(t),
                                     "must be greater than 0 and less than 86400"));
      }
    } else if (affinity == "None" && spec.hasSessionAffinityConfig()) {
      out.push_back(FieldForbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"));
    }
    if (type.empty()) {
      out.push_back(FieldRequired("spec.type"));
    } else if (type != "ClusterIP" && type != "ExternalName" && type != "LoadBalancer" && type != "NodePort") {
      out.push_back(FieldNotSupported("spec.type", type, {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}));
    }
    if (type == "ClusterIP") {
      for (size_t i = 0; i < ports.size(); ++i)
        if (ports[i].getNodePort() != 0)
          out.push_back(FieldForbidden(Idx("spec.ports", i) + ".nodePort", "may not be used when `type` is 'ClusterIP'"));
    }
    std::set<std::pair<std::string, int32_t>> node_ports, port_keys;
    for (size_t i = 0; i < ports.size(); ++i) {
      auto p = ports[i];
      if (p.getNodePort() != 0 && !node_ports.insert({S(p.getProtocol()), p.getNodePort()}).second)
        out.push_back(FieldDuplicateRendered(Idx("spec.ports", i) + ".nodePort", std::to_string(p.getNodePort())));
    }
    for (size_t i = 0; i < ports.size(); ++i) {
      auto p = ports[i];
      if (!port_keys.insert({S(p.getProtocol()), p.getPort()}).second)
        out.push_back(FieldDuplicateRendered(Idx("spec.ports", i), GoServicePortKey(S(p.getProtocol()), p.getPort())));
    }
    if (spec.hasAllocateLoadBalancerNodePorts() && type != "LoadBalancer")
      out.push_back(FieldForbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
    std::string etp = S(spec.getExternalTrafficPolicy());
    if (!ExternallyAccessible(spec)) {
      if (!etp.empty())
        InvalidStr(&out, "spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services");
    } else if (etp.empty()) {
      out.push_back(FieldRequired("spec.externalTrafficPolicy"));
    } else if (etp != "Cluster" && etp != "Local") {
      out.push_back(FieldNotSupported("spec.externalTrafficPolicy", etp, {"Cluster", "Local"}));
    }
    if (!spec.hasInternalTrafficPolicy()) {
      if (type == "NodePort" || type == "LoadBalancer" || type == "ClusterIP")
        out.push_back(FieldRequired("spec.internalTrafficPolicy"));
    } else {
      std::string itp = S(spec.getInternalTrafficPolicy());
      if (itp != "Cluster" && itp != "Local")
        out.push_back(FieldNotSupported("spec.internalTrafficPolicy", itp, {"Cluster", "Local"}));
    }
    return out;
  }

  bool NameIsLabel() const override { return true; }
  bool HasGeneration(const Object&) const override { return false; }
};

// --- Namespace ----------------------------------------------------------------------------

class NamespaceStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    // SetDefaults_Namespace: the name label, on every write.
    std::string name = obj.name();
    if (name.empty()) return;
    auto meta = obj.meta();
    auto labels = ToStdMap(meta.asReader().getLabels());
    auto it = labels.find("kubernetes.io/metadata.name");
    if (it != labels.end() && it->second == name) return;
    labels["kubernetes.io/metadata.name"] = name;
    SetStringMap(meta.initLabels(), labels);
  }

  void PrepareForCreate(Object& obj) const override {
    Strategy::PrepareForCreate(obj);
    auto ns = obj.as<api::Namespace>();
    ns.getStatus().setPhase("Active");
    // The "kubernetes" finalizer is required on create only (it is removed by the
    // namespace controller through /finalize, so it is no default).
    auto spec = ns.getSpec();
    auto old = spec.getFinalizers().asReader();
    for (auto f : old)
      if (f == "kubernetes") return;
    std::vector<std::string> finalizers;
    for (auto f : old) finalizers.push_back(S(f));
    finalizers.push_back("kubernetes");
    auto list = spec.initFinalizers(finalizers.size());
    for (size_t i = 0; i < finalizers.size(); ++i) list.set(i, finalizers[i]);
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    for (auto f : obj.get<api::Namespace>().getSpec().getFinalizers()) {
      std::string name = S(f);
      for (const auto& m : QualifiedNameErrors(name)) InvalidStr(&out, "spec.finalizers", name, m);
      if (name.find('/') == std::string::npos && name != "kubernetes")
        InvalidStr(&out, "spec.finalizers", name, "name is neither a standard finalizer name nor is it fully qualified");
    }
    return out;
  }

  bool NameIsLabel() const override { return true; }
  bool HasGeneration(const Object&) const override { return false; }
  std::vector<std::string> SelectableFields() const override { return {"status.phase"}; }
};

// --- Node ---------------------------------------------------------------------------------

class NodeStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto node = obj.as<api::Node>();
    if (!node.hasStatus()) return;
    auto status = node.getStatus();
    if (!status.hasAllocatable() && status.hasCapacity()) status.setAllocatable(status.getCapacity().asReader());
  }

  // A kubelet registers its node with its status: nothing is reset on create.
  void PrepareForCreate(Object&) const override {}

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto taints = obj.get<api::Node>().getSpec().getTaints();
    std::map<std::string, std::set<std::string>> unique;  // effect -> keys
    for (size_t i = 0; i < taints.size(); ++i) {
      auto t = taints[i];
      // Kubernetes reports node taints under "metadata.taints" (sic).
      std::string p = Idx("metadata.taints", i);
      std::string key = S(t.getKey()), value = S(t.getValue()), effect = S(t.getEffect());
      for (const auto& m : QualifiedNameErrors(key)) InvalidStr(&out, p + ".key", key, m);
      auto verrs = LabelValueErrors(value);
      if (!verrs.empty()) InvalidStr(&out, p + ".value", value, JoinMessages(verrs, ";"));
      if (effect.empty()) {
        out.push_back(FieldRequired(p + ".effect"));
      } else if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
        out.push_back(FieldNotSupported(p + ".effect", effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"}));
      }
      if (!unique[effect].insert(key).second) {
        auto c = FieldDuplicateRendered(p, "core.Taint{Key:" + GoQuote(key) + ", Value:" + GoQuote(value) +
                                               ", Effect:" + GoQuote(effect) + ", TimeAdded:(*v1.Time)(nil)}");
        c.message += ": taints must be unique by key and effect pair";
        out.push_back(c);
      }
    }
    return out;
  }

  bool HasGeneration(const Object&) const override { return false; }
  std::vector<std::string> SelectableFields() const override { return {"spec.unschedulable"}; }
};

// --- Event --------------------------------------------------------------------------------

class EventStrategy : public Strategy {
 public:
  bool HasGeneration(const Object&) const override { return false; }
  std::vector<std::string> SelectableFields() const override {
    return {"involvedObject.kind",     "involvedObject.namespace",       "involvedObject.name",
            "involvedObject.uid",      "involvedObject.apiVersion",      "involvedObject.resourceVersion",
            "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"};
  }
};

// --- Secret and ConfigMap -----------------------------------------------------------------

std::string Base64Std(const std::string& in) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

void ValidateDataKeys(api::StringMap::Reader data, const std::string& path, Causes* out) {
  for (const auto& [key, value] : ToStdMap(data))
    for (const auto& m : ConfigMapKeyErrors(key)) InvalidStr(out, Key(path, key), key, m);
}

class SecretStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto secret = obj.as<api::Secret>();
    if (secret.getType().size() == 0) secret.setType("Opaque");
    // v1 conversion: stringData is written into data (base64) and is never stored.
    if (secret.hasStringData()) {
      auto data = ToStdMap(secret.getData().asReader());
      for (const auto& [k, v] : ToStdMap(secret.getStringData().asReader())) data[k] = Base64Std(v);
      SetStringMap(secret.initData(), data);
      secret.disownStringData();
    }
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto secret = obj.get<api::Secret>();
    ValidateDataKeys(secret.getData(), "data", &out);
    auto data = ToStdMap(secret.getData());
    std::string type = S(secret.getType());
    auto require = [&](const char* key) {
      if (!data.count(key)) out.push_back(FieldRequired(Key("data", key)));
    };
    if (type == "kubernetes.io/service-account-token") {
      auto ann = ToStdMap(obj.meta().getAnnotations());
      auto it = ann.find("kubernetes.io/service-account.name");
      if (it == ann.end() || it->second.empty())
        out.push_back(FieldRequired("metadata.annotations[kubernetes.io/service-account.name]"));
    } else if (type == "kubernetes.io/dockercfg") {
      require(".dockercfg");
    } else if (type == "kubernetes.io/dockerconfigjson") {
      require(".dockerconfigjson");
    } else if (type == "kubernetes.io/basic-auth") {
      if (!data.count("username") && !data.count("password")) {
        require("username");
        require("password");
      }
    } else if (type == "kubernetes.io/ssh-auth") {
      auto it = data.find("ssh-privatekey");
      if (it == data.end() || it->second.empty()) out.push_back(FieldRequired("data[ssh-privatekey]"));
    } else if (type == "kubernetes.io/tls") {
      require("tls.crt");
      require("tls.key");
    }
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    Causes out;
    auto now = obj.get<api::Secret>();
    auto before = old.get<api::Secret>();
    if (S(now.getType()) != S(before.getType()))
      InvalidStr(&out, "type", S(now.getType()), "field is immutable");
    if (before.hasImmutable() && before.getImmutable().getValue()) {
      if (!now.hasImmutable() || !now.getImmutable().getValue())
        out.push_back(FieldForbidden("immutable", "field is immutable when `immutable` is set"));
      if (ToStdMap(now.getData()) != ToStdMap(before.getData()))
        out.push_back(FieldForbidden("data", "field is immutable when `immutable` is set"));
    }
    auto more = Validate(obj);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }

  std::vector<std::string> SelectableFields() const override { return {"type"}; }
};

class ConfigMapStrategy : public Strategy {
 public:
  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto cm = obj.get<api::ConfigMap>();
    auto binary = ToStdMap(cm.getBinaryData());
    for (const auto& [key, value] : ToStdMap(cm.getData())) {
      for (const auto& m : ConfigMapKeyErrors(key)) InvalidStr(&out, Key("data", key), key, m);
      if (binary.count(key)) InvalidStr(&out, Key("data", key), key, "duplicate of key present in binaryData");
    }
    ValidateDataKeys(cm.getBinaryData(), "binaryData", &out);
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    Causes out;
    auto now = obj.get<api::ConfigMap>();
    auto before = old.get<api::ConfigMap>();
    if (before.hasImmutable() && before.getImmutable().getValue()) {
      if (!now.hasImmutable() || !now.getImmutable().getValue())
        out.push_back(FieldForbidden("immutable", "field is immutable when `immutable` is set"));
      if (ToStdMap(now.getData()) != ToStdMap(before.getData()))
        out.push_back(FieldForbidden("data", "field is immutable when `immutable` is set"));
      if (ToStdMap(now.getBinaryData()) != ToStdMap(before.getBinaryData()))
        out.push_back(FieldForbidden("binaryData", "field is immutable when `immutable` is set"));
    }
    auto more = Validate(obj);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  }
};

// --- Endpoints and EndpointSlice ------------------------------------------------------------

class EndpointsStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    for (auto ss : obj.as<api::Endpoints>().getSubsets())
      for (auto p : ss.getPorts())
        if (p.getProtocol().size() == 0) p.setProtocol("TCP");
  }
};

class EndpointSliceStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    for (auto p : obj.as<api::EndpointSlice>().getPorts()) {
      if (!p.hasName()) p.setName("");
      if (!p.hasProtocol()) p.setProtocol("TCP");
    }
  }
};

// --- PersistentVolume(Claim) ------------------------------------------------------------

class PersistentVolumeStrategy : public Strategy {
 public:
  explicit PersistentVolumeStrategy(Clock* clock) : clock_(clock) {}

  void Default(Object& obj) const override {
    auto pv = obj.as<api::PersistentVolume>();
    auto spec = pv.getSpec();
    if (spec.getPersistentVolumeReclaimPolicy().size() == 0) spec.setPersistentVolumeReclaimPolicy("Retain");
    if (spec.getVolumeMode().size() == 0) spec.setVolumeMode("Filesystem");
    if (spec.hasHostPath() && !spec.getHostPath().hasType()) spec.getHostPath().setType("");
    if (pv.hasStatus() && pv.getStatus().getPhase().size() == 0) pv.getStatus().setPhase("Pending");
  }

  void PrepareForCreate(Object& obj) const override {
    Strategy::PrepareForCreate(obj);
    auto status = obj.as<api::PersistentVolume>().getStatus();
    status.setPhase("Pending");
    status.setLastPhaseTransitionTime(FormatRfc3339(clock_->WallNanos()));
  }

  bool HasGeneration(const Object&) const override { return false; }

 private:
  Clock* clock_;
};

class PersistentVolumeClaimStrategy : public Strategy {
 public:
  void Default(Object& obj) const override {
    auto pvc = obj.as<api::PersistentVolumeClaim>();
    auto spec = pvc.getSpec();
    if (spec.getVolumeMode().size() == 0) spec.setVolumeMode("Filesystem");
    if (pvc.hasStatus() && pvc.getStatus().getPhase().size() == 0) pvc.getStatus().setPhase("Pending");
  }

  void PrepareForCreate(Object& obj) const override {
    Strategy::PrepareForCreate(obj);
    obj.as<api::PersistentVolumeClaim>().getStatus().setPhase("Pending");
  }

  bool HasGeneration(const Object&) const override { return false; }
};

// --- PodDisruptionBudget, Lease -----------------------------------------------------------

class PodDisruptionBudgetStrategy : public Strategy {
 public:
  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto spec = obj.get<api::PodDisruptionBudget>().getSpec();
    if (spec.hasMinAvailable() && spec.hasMaxUnavailable()) {
      auto ptr = [](bool has, api::IntOrString::Reader v) {
        return has ? "&" + GoIntOrString(v) : std::string("(*intstr.IntOrString)(nil)");
      };
      std::string rendered =
          "policy.PodDisruptionBudgetSpec{MinAvailable:" + ptr(true, spec.getMinAvailable()) +
          ", Selector:" + (spec.hasSelector() ? "&" + GoLabelSelector(spec.getSelector()) : "(*v1.LabelSelector)(nil)") +
          ", MaxUnavailable:" + ptr(true, spec.getMaxUnavailable()) +
          ", UnhealthyPodEvictionPolicy:" +
          (spec.hasUnhealthyPodEvictionPolicy() ? "&" + GoQuote(S(spec.getUnhealthyPodEvictionPolicy()))
                                                : "(*policy.UnhealthyPodEvictionPolicyType)(nil)") +
          "}";
      out.push_back(FieldInvalid("spec", rendered, "minAvailable and maxUnavailable cannot be both set"));
    }
    if (spec.hasMinAvailable()) {
      ValidatePositiveIntOrPercent(spec.getMinAvailable(), "spec.minAvailable", &out);
      ValidateNotMoreThan100Percent(spec.getMinAvailable(), "spec.minAvailable", &out);
    }
    if (spec.hasMaxUnavailable()) {
      ValidatePositiveIntOrPercent(spec.getMaxUnavailable(), "spec.maxUnavailable", &out);
      ValidateNotMoreThan100Percent(spec.getMaxUnavailable(), "spec.maxUnavailable", &out);
    }
    if (spec.hasSelector()) ValidateLabelSelector(spec.getSelector(), "spec.selector", &out);
    if (spec.hasUnhealthyPodEvictionPolicy()) {
      std::string p = S(spec.getUnhealthyPodEvictionPolicy());
      if (p != "AlwaysAllow" && p != "IfHealthyBudget")
        out.push_back(FieldNotSupported("spec.unhealthyPodEvictionPolicy", p, {"AlwaysAllow", "IfHealthyBudget"}));
    }
    return out;
  }
};

class LeaseStrategy : public Strategy {
 public:
  bool HasGeneration(const Object&) const override { return false; }
};

}  // namespace

std::unique_ptr<Strategy> NewServiceStrategy(Clock*) { return std::make_unique<ServiceStrategy>(); }
std::unique_ptr<Strategy> NewNamespaceStrategy(Clock*) { return std::make_unique<NamespaceStrategy>(); }
std::unique_ptr<Strategy> NewNodeStrategy(Clock*) { return std::make_unique<NodeStrategy>(); }
std::unique_ptr<Strategy> NewEventStrategy(Clock*) { return std::make_unique<EventStrategy>(); }
std::unique_ptr<Strategy> NewSecretStrategy(Clock*) { return std::make_unique<SecretStrategy>(); }
std::unique_ptr<Strategy> NewConfigMapStrategy(Clock*) { return std::make_unique<ConfigMapStrategy>(); }
std::unique_ptr<Strategy> NewEndpointsStrategy(Clock*) { return std::make_unique<EndpointsStrategy>(); }
std::unique_ptr<Strategy> NewEndpointSliceStrategy(Clock*) { return std::make_unique<EndpointSliceStrategy>(); }
std::unique_ptr<Strategy> NewPersistentVolumeStrategy(Clock* clock) {
  return std::make_unique<PersistentVolumeStrategy>(clock);
}
std::unique_ptr<Strategy> NewPersistentVolumeClaimStrategy(Clock*) {
  return std::make_unique<PersistentVolumeClaimStrategy>();
}
std::unique_ptr<Strategy> NewPodDisruptionBudgetStrategy(Clock*) {
  return std::make_unique<PodDisruptionBudgetStrategy>();
}
std::unique_ptr<Strategy> NewLeaseStrategy(Clock*) { return std::make_unique<LeaseStrategy>(); }

}  // namespace cattle::apiserver
