// Pods: Kubernetes' defaults for pods and pod templates (SetDefaults_PodSpec, SetDefaults_Pod,
// the generated nested defaulters), the admission plugins that mutate every pod
// (DefaultTolerationSeconds, Priority, ServiceAccount), the pod status on create (phase
// Pending and the QoS class), ValidatePodSpec / ValidatePodCreate / ValidatePodUpdate.
#include <capnp/orphan.h>

#include <algorithm>
#include <climits>
#include <map>
#include <set>

#include "apiserver/strategies.h"
#include "cattle/quantity.h"
#include "cattle/validation.h"

namespace cattle::apiserver {
namespace {

constexpr int64_t kMaxInt32 = 2147483647;
constexpr char kUpdatablePodSpecFields[] =
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
    "negative)";

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// ---------------------------------------------------------------------------------------
// Image references (k8s.io/kubernetes/pkg/util/parsers.ParseImageName over the docker
// reference grammar): enough to find the tag and digest and to reject what the grammar
// rejects (Kubernetes then ignores the error and defaults IfNotPresent).

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
bool ValidPathComponent(const std::string& s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (IsLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    // a separator run, followed by an alphanumeric (guaranteed by the back() check)
    size_t j = i;
    while (j < s.size() && !IsLowerAlnum(s[j])) ++j;
    std::string sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              std::all_of(sep.begin(), sep.end(), [](char c) { return c == '-'; });
    if (!ok) return false;
    i = j;
  }
  return true;
}

bool ValidTag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(t[0])) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool ValidDigest(const std::string& d) {
  size_t colon = d.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string hex = d.substr(colon + 1);
  if (hex.size() < 32) return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

bool ParseImageRef(const std::string& ref, std::string* tag, std::string* digest) {
  if (ref.empty()) return false;
  std::string name = ref;
  size_t at = name.find('@');
  if (at != std::string::npos) {
    *digest = name.substr(at + 1);
    name = name.substr(0, at);
    if (!ValidDigest(*digest)) return false;
  }
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    *tag = name.substr(colon + 1);
    name = name.substr(0, colon);
    if (!ValidTag(*tag)) return false;
  }
  if (name.empty() || name.size() > 255) return false;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t p = name.find('/', start);
    parts.push_back(name.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  size_t first = 0;
  if (parts.size() > 1 && (parts[0].find_first_of(".:") != std::string::npos ||
                           parts[0] == "localhost" ||
                           std::any_of(parts[0].begin(), parts[0].end(), ::isupper))) {
    first = 1;  // a registry domain
    for (char c : parts[0])
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
            c == '[' || c == ']'))
        return false;
  }
  for (size_t i = first; i < parts.size(); ++i)
    if (!ValidPathComponent(parts[i])) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Defaults

void RoundResourceList(api::StringMap::Builder m) {
  // SetDefaults_ResourceList: values round up to milli precision.
  for (auto e : m.getEntries()) {
    auto q = Quantity::Parse(e.getValue().cStr());
    if (!q.ok()) continue;
    int64_t milli = q->MilliValue();
    if (milli == INT64_MAX || milli == INT64_MIN) continue;
    Quantity rounded = Quantity::FromMilli(milli, q->format());
    if (Compare(rounded, *q) != 0) e.setValue(rounded.ToString());
  }
}

void DefaultResources(api::ResourceRequirements::Builder r) {
  if (r.hasLimits()) RoundResourceList(r.getLimits());
  if (r.hasRequests()) RoundResourceList(r.getRequests());
}

void DefaultHttpGet(api::HTTPGetAction::Builder h) {
  if (h.getPath().size() == 0) h.setPath("/");
  if (h.getScheme().size() == 0) h.setScheme("HTTP");
}

void DefaultProbe(api::Probe::Builder p) {
  if (p.getTimeoutSeconds() == 0) p.setTimeoutSeconds(1);
  if (p.getPeriodSeconds() == 0) p.setPeriodSeconds(10);
  if (p.getSuccessThreshold() == 0) p.setSuccessThreshold(1);
  if (p.getFailureThreshold() == 0) p.setFailureThreshold(3);
  if (p.hasHttpGet()) DefaultHttpGet(p.getHttpGet());
  if (p.hasGrpc() && !p.getGrpc().hasService()) p.getGrpc().setService("");
}

void DefaultFieldRef(api::ObjectFieldSelector::Builder f) {
  if (f.getApiVersion().size() == 0) f.setApiVersion("v1");
}

template <typename C>
void DefaultContainer(C c) {
  if (c.getImagePullPolicy().size() == 0)
    c.setImagePullPolicy(DefaultPullPolicy(S(c.getImage().asReader())));
  if (c.getTerminationMessagePath().size() == 0)
    c.setTerminationMessagePath("/dev/termination-log");
  if (c.getTerminationMessagePolicy().size() == 0) c.setTerminationMessagePolicy("File");
  for (auto p : c.getPorts())
    if (p.getProtocol().size() == 0) p.setProtocol("TCP");
  for (auto e : c.getEnv()) {
    if (e.hasValueFrom() && e.getValueFrom().hasFieldRef())
      DefaultFieldRef(e.getValueFrom().getFieldRef());
  }
  if (c.hasResources()) DefaultResources(c.getResources());
  if (c.hasLivenessProbe()) DefaultProbe(c.getLivenessProbe());
  if (c.hasReadinessProbe()) DefaultProbe(c.getReadinessProbe());
  if (c.hasStartupProbe()) DefaultProbe(c.getStartupProbe());
  if (c.hasLifecycle()) {
    auto l = c.getLifecycle();
    if (l.hasPostStart() && l.getPostStart().hasHttpGet()) DefaultHttpGet(l.getPostStart().getHttpGet());
    if (l.hasPreStop() && l.getPreStop().hasHttpGet()) DefaultHttpGet(l.getPreStop().getHttpGet());
  }
}

void DefaultDownwardItems(capnp::List<api::DownwardAPIVolumeFile>::Builder items) {
  for (auto it : items)
    if (it.hasFieldRef()) DefaultFieldRef(it.getFieldRef());
}

void DefaultVolume(api::Volume::Builder v) {
  bool any = v.hasHostPath() || v.hasEmptyDir() || v.hasSecret() || v.hasNfs() ||
             v.hasPersistentVolumeClaim() || v.hasDownwardAPI() || v.hasConfigMap() ||
             v.hasProjected() || v.hasCsi() || v.hasEphemeral() || v.hasImage();
  if (!any) v.initEmptyDir();
  if (v.hasHostPath() && !v.getHostPath().hasType()) v.getHostPath().setType("");
  if (v.hasSecret() && !v.getSecret().hasDefaultMode()) v.getSecret().initDefaultMode().setValue(0644);
  if (v.hasConfigMap() && !v.getConfigMap().hasDefaultMode())
    v.getConfigMap().initDefaultMode().setValue(0644);
  if (v.hasDownwardAPI()) {
    auto d = v.getDownwardAPI();
    if (!d.hasDefaultMode()) d.initDefaultMode().setValue(0644);
    DefaultDownwardItems(d.getItems());
  }
  if (v.hasProjected()) {
    auto p = v.getProjected();
    if (!p.hasDefaultMode()) p.initDefaultMode().setValue(0644);
    for (auto src : p.getSources()) {
      if (src.hasDownwardAPI()) DefaultDownwardItems(src.getDownwardAPI().getItems());
      if (src.hasServiceAccountToken() && !src.getServiceAccountToken().hasExpirationSeconds())
        src.getServiceAccountToken().initExpirationSeconds().setValue(3600);
    }
  }
  if (v.hasEphemeral() && v.getEphemeral().hasVolumeClaimTemplate()) {
    auto t = v.getEphemeral().getVolumeClaimTemplate();
    auto spec = t.getSpec();
    if (spec.getVolumeMode().size() == 0) spec.setVolumeMode("Filesystem");
    if (spec.hasResources()) {
      auto r = spec.getResources();
      if (r.hasLimits()) RoundResourceList(r.getLimits());
      if (r.hasRequests()) RoundResourceList(r.getRequests());
    }
  }
  if (v.hasImage() && v.getImage().getPullPolicy().size() == 0) {
    std::string tag, digest;
    ParseImageRef(S(v.getImage().getReference().asReader()), &tag, &digest);
    v.getImage().setPullPolicy(tag == "latest" ? "Always" : "IfNotPresent");
  }
}

// Requests default to limits for each resource with a limit and no request (SetDefaults_Pod).
void RequestsFromLimits(api::Container::Builder c) {
  if (!c.hasResources()) return;
  auto r = c.getResources();
  if (!r.hasLimits() || r.getLimits().getEntries().size() == 0) return;
  auto limits = ToStdMap(r.getLimits().asReader());
  std::map<std::string, std::string> requests;
  if (r.hasRequests()) requests = ToStdMap(r.getRequests().asReader());
  bool changed = !r.hasRequests();
  for (const auto& [k, v] : limits) {
    if (requests.emplace(k, v).second) changed = true;
  }
  if (changed) SetStringMap(r.initRequests(), requests);
}

void HostNetworkPorts(capnp::List<api::Container>::Builder containers) {
  for (auto c : containers)
    for (auto p : c.getPorts())
      if (p.getHostPort() == 0) p.setHostPort(p.getContainerPort());
}

// The DefaultTolerationSeconds admission plugin.
void AddDefaultTolerations(api::PodSpec::Builder spec) {
  static const char kNotReady[] = "node.kubernetes.io/not-ready";
  static const char kUnreachable[] = "node.kubernetes.io/unreachable";
  bool not_ready = false, unreachable = false;
  auto old = spec.getTolerations().asReader();
  for (auto t : old) {
    std::string key = S(t.getKey()), effect = S(t.getEffect());
    bool effect_ok = effect.empty() || effect == "NoExecute";
    if ((key.empty() || key == kNotReady) && effect_ok) not_ready = true;
    if ((key.empty() || key == kUnreachable) && effect_ok) unreachable = true;
  }
  size_t extra = (not_ready ? 0 : 1) + (unreachable ? 0 : 1);
  if (extra == 0) return;
  auto orphanage = capnp::Orphanage::getForMessageContaining(spec);
  auto list = orphanage.newOrphan<capnp::List<api::Toleration>>(old.size() + extra);
  size_t n = 0;
  for (auto t : old) list.get().setWithCaveats(n++, t);
  auto add = [&](const char* key) {
    auto t = list.get()[n++];
    t.setKey(key);
    t.setOperator("Exists");
    t.setEffect("NoExecute");
    t.initTolerationSeconds().setValue(300);
  };
  if (!not_ready) add(kNotReady);
  if (!unreachable) add(kUnreachable);
  spec.adoptTolerations(kj::mv(list));
}

// ---------------------------------------------------------------------------------------
// Validation

struct VolumeInfo {
  bool pvc_or_ephemeral = false;
  bool image = false;
};
using Volumes = std::map<std::string, VolumeInfo>;

void Push(Causes* out, StatusCause c) { out->push_back(std::move(c)); }

void InvalidStr(Causes* out, const std::string& path, const std::string& value,
                const std::string& msg) {
  out->push_back(FieldInvalid(path, GoQuote(value), msg));
}

void ValidateDnsLabel(const std::string& value, const std::string& path, Causes* out) {
  for (const auto& msg : Dns1123LabelErrors(value)) InvalidStr(out, path, value, msg);
}

void ValidateDnsSubdomain(const std::string& value, const std::string& path, Causes* out) {
  for (const auto& msg : Dns1123SubdomainErrors(value)) InvalidStr(out, path, value, msg);
}

void ValidateQualified(const std::string& value, const std::string& path, Causes* out) {
  for (const auto& msg : QualifiedNameErrors(value)) InvalidStr(out, path, value, msg);
}

bool HasBacksteps(const std::string& p) {
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    if (p.substr(start, slash == std::string::npos ? std::string::npos : slash - start) == "..")
      return true;
    if (slash == std::string::npos) return false;
    start = slash + 1;
  }
}

void ValidateLocalDescendingPath(const std::string& p, const std::string& path, Causes* out) {
  if (!p.empty() && p[0] == '/') InvalidStr(out, path, p, "must be a relative path");
  if (HasBacksteps(p)) InvalidStr(out, path, p, "must not contain '..'");
}

void ValidateFileMode(const api::OptInt32::Reader& mode, bool has, const std::string& path,
                      Causes* out) {
  if (has && (mode.getValue() > 0777 || mode.getValue() < 0))
    Push(out, FieldInvalid(path, std::to_string(mode.getValue()),
                           "must be a number between 0 and 0777 (octal), both inclusive"));
}

void ValidateKeyToPaths(capnp::List<api::KeyToPath>::Reader items, const std::string& path,
                        Causes* out) {
  for (size_t i = 0; i < items.size(); ++i) {
    auto it = items[i];
    std::string p = Idx(path, i);
    if (it.getKey().size() == 0) Push(out, FieldRequired(p + ".key"));
    if (it.getPath().size() == 0) {
      Push(out, FieldRequired(p + ".path"));
    } else {
      ValidateLocalDescendingPath(S(it.getPath()), p + ".path", out);
    }
    ValidateFileMode(it.getMode(), it.hasMode(), p + ".mode", out);
  }
}

void ValidateVolumeSource(api::Volume::Reader v, const std::string& path, Causes* out) {
  int n = 0;
  auto claim = [&](bool set, const char* name) {
    if (!set) return false;
    if (n > 0) {
      Push(out, FieldForbidden(path + "." + name, "may not specify more than 1 volume type"));
      return false;
    }
    ++n;
    return true;
  };
  if (v.hasEmptyDir()) {
    ++n;
    auto size = v.getEmptyDir().getSizeLimit();
    if (size.size() > 0) {
      auto q = Quantity::Parse(S(size));
      if (q.ok() && q->Sign() < 0)
        Push(out, FieldForbidden(path + ".emptyDir.sizeLimit",
                                 "SizeLimit field must be a valid resource quantity"));
    }
  }
  if (claim(v.hasHostPath(), "hostPath")) {
    auto h = v.getHostPath();
    std::string p = path + ".hostPath";
    if (h.getPath().size() == 0) {
      Push(out, FieldRequired(p + ".path"));
    } else {
      if (HasBacksteps(S(h.getPath()))) InvalidStr(out, p + ".path", S(h.getPath()), "must not contain '..'");
      static const std::vector<std::string> kTypes = {"",     "BlockDevice", "CharDevice",
                                                      "Directory", "DirectoryOrCreate", "File",
                                                      "FileOrCreate", "Socket"};
      std::string t = S(h.getType());
      if (std::find(kTypes.begin(), kTypes.end(), t) == kTypes.end())
        Push(out, FieldNotSupported(p + ".type", t, kTypes));
    }
  }
  if (claim(v.hasSecret(), "secret")) {
    auto s = v.getSecret();
    std::string p = path + ".secret";
    if (s.getSecretName().size() == 0) Push(out, FieldRequired(p + ".secretName"));
    ValidateFileMode(s.getDefaultMode(), s.hasDefaultMode(), p + ".defaultMode", out);
    ValidateKeyToPaths(s.getItems(), p + ".items", out);
  }
  if (claim(v.hasNfs(), "nfs")) {
    auto s = v.getNfs();
    std::string p = path + ".nfs";
    if (s.getServer().size() == 0) Push(out, FieldRequired(p + ".server"));
    if (s.getPath().size() == 0) {
      Push(out, FieldRequired(p + ".path"));
    } else if (s.getPath()[0] != '/') {
      InvalidStr(out, p + ".path", S(s.getPath()), "must be an absolute path");
    }
  }
  if (claim(v.hasPersistentVolumeClaim(), "persistentVolumeClaim")) {
    if (v.getPersistentVolumeClaim().getClaimName().size() == 0)
      Push(out, FieldRequired(path + ".persistentVolumeClaim.claimName"));
  }
  if (claim(v.hasDownwardAPI(), "downwarAPI")) {  // sic: Kubernetes' path has the typo
    auto d = v.getDownwardAPI();
    std::string p = path + ".downwardAPI";
    ValidateFileMode(d.getDefaultMode(), d.hasDefaultMode(), p + ".defaultMode", out);
    auto items = d.getItems();
    for (size_t i = 0; i < items.size(); ++i) {
      auto it = items[i];
      std::string ip = Idx(p + ".items", i);
      if (it.getPath().size() == 0) {
        Push(out, FieldRequired(ip + ".path"));
      } else {
        ValidateLocalDescendingPath(S(it.getPath()), ip + ".path", out);
      }
      ValidateFileMode(it.getMode(), it.hasMode(), ip + ".mode", out);
    }
  }
  if (claim(v.hasConfigMap(), "configMap")) {
    auto c = v.getConfigMap();
    std::string p = path + ".configMap";
    if (c.getName().size() == 0) Push(out, FieldRequired(p + ".name"));
    ValidateFileMode(c.getDefaultMode(), c.hasDefaultMode(), p + ".defaultMode", out);
    ValidateKeyToPaths(c.getItems(), p + ".items", out);
  }
  if (claim(v.hasProjected(), "projected")) {
    auto pr = v.getProjected();
    ValidateFileMode(pr.getDefaultMode(), pr.hasDefaultMode(), path + ".projected.defaultMode", out);
  }
  if (claim(v.hasCsi(), "csi")) {
    if (v.getCsi().getDriver().size() == 0) Push(out, FieldRequired(path + ".csi.driver"));
  }
  if (claim(v.hasEphemeral(), "ephemeral")) {
    if (!v.getEphemeral().hasVolumeClaimTemplate())
      Push(out, FieldRequired(path + ".ephemeral.volumeClaimTemplate"));
  }
  if (claim(v.hasImage(), "image")) {
    if (v.getImage().getReference().size() == 0)
      Push(out, FieldRequired(path + ".image.reference"));
  }
  if (n == 0) Push(out, FieldRequired(path, "must specify a volume type"));
}

Volumes ValidateVolumes(capnp::List<api::Volume>::Reader volumes, const std::string& path,
                        Causes* out) {
  Volumes vols;
  std::set<std::string> names;
  for (size_t i = 0; i < volumes.size(); ++i) {
    auto v = volumes[i];
    std::string p = Idx(path, i);
    Causes el;
    ValidateVolumeSource(v, p, &el);
    std::string name = S(v.getName());
    if (name.empty()) {
      el.push_back(FieldRequired(p + ".name"));
    } else {
      ValidateDnsLabel(name, p + ".name", &el);
    }
    if (names.count(name)) el.push_back(FieldDuplicate(p + ".name", name));
    if (el.empty()) {
      names.insert(name);
      vols[name] = {v.hasPersistentVolumeClaim() || v.hasEphemeral(), v.hasImage()};
    } else {
      out->insert(out->end(), el.begin(), el.end());
    }
  }
  return vols;
}

// Resource names (validateContainerResourceName). Kubernetes prints ResourceName values
// unquoted (the type has a String method).
bool IsHugePages(const std::string& n) { return n.rfind("hugepages-", 0) == 0; }
bool IsNativeResource(const std::string& n) {
  return n.find('/') == std::string::npos || n.find("kubernetes.io/") != std::string::npos;
}
bool IsExtendedResource(const std::string& n) {
  if (IsNativeResource(n) || n.rfind("requests.", 0) == 0) return false;
  return QualifiedNameErrors("requests." + n).empty();
}
bool IsOvercommitAllowed(const std::string& n) { return IsNativeResource(n) && !IsHugePages(n); }

void ValidateContainerResourceName(const std::string& n, const std::string& path, Causes* out) {
  static const std::set<std::string> kStandard = {
      "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
      "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
      "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
      "persistentvolumeclaims", "storage", "requests.storage", "services.nodeports",
      "services.loadbalancers", "count/"};
  auto q = QualifiedNameErrors(n);
  bool no_slash = n.find('/') == std::string::npos;
  for (const auto& msg : q) out->push_back(FieldInvalid(path, n, msg));
  if (q.empty() && no_slash && !kStandard.count(n) && !IsHugePages(n) &&
      n.rfind("requests.hugepages-", 0) != 0) {
    out->push_back(FieldInvalid(path, n, "must be a standard resource type or fully qualified"));
  }
  if (no_slash) {
    if (n != "cpu" && n != "memory" && n != "ephemeral-storage" && !IsHugePages(n))
      out->push_back(FieldInvalid(path, n, "must be a standard resource for containers"));
  } else if (!IsNativeResource(n) && !IsExtendedResource(n)) {
    out->push_back(FieldInvalid(path, n, "doesn't follow extended resource name standard"));
  }
}

void ValidateQuantityValue(const std::string& name, const std::string& value,
                           const std::string& path, Causes* out) {
  auto q = Quantity::Parse(value);
  if (!q.ok()) return;  // the codec already rejected malformed quantities
  if (q->Sign() < 0) InvalidStr(out, path, value, "must be greater than or equal to 0");
  if (IsExtendedResource(name) && q->MilliValue() % 1000 != 0)
    InvalidStr(out, path, value, "must be an integer");
}

void ValidateResourceRequirements(api::ResourceRequirements::Reader r, const std::string& path,
                                  Causes* out) {
  std::string lim_path = path + ".limits", req_path = path + ".requests";
  auto limits = ToStdMap(r.getLimits());
  auto requests = ToStdMap(r.getRequests());
  bool lim_cpu_mem = false, req_cpu_mem = false, hugepages = false;
  for (const auto& [name, value] : limits) {
    ValidateContainerResourceName(name, Key(lim_path, name), out);
    ValidateQuantityValue(name, value, Key(lim_path, name), out);
    if (IsHugePages(name)) hugepages = true;
    if (name == "cpu" || name == "memory") lim_cpu_mem = true;
  }
  for (const auto& [name, value] : requests) {
    ValidateContainerResourceName(name, Key(req_path, name), out);
    ValidateQuantityValue(name, value, Key(req_path, name), out);
    auto lim = limits.find(name);
    if (lim != limits.end()) {
      auto rq = Quantity::Parse(value), lq = Quantity::Parse(lim->second);
      if (rq.ok() && lq.ok()) {
        int c = Compare(*rq, *lq);
        if (c != 0 && !IsOvercommitAllowed(name)) {
          InvalidStr(out, req_path, value, "must be equal to " + name + " limit of " + lim->second);
        } else if (c > 0) {
          InvalidStr(out, req_path, value,
                     "must be less than or equal to " + name + " limit of " + lim->second);
        }
      }
    } else if (!IsOvercommitAllowed(name)) {
      Push(out, FieldRequired(lim_path, "Limit must be set for non overcommitable resources"));
    }
    if (IsHugePages(name)) hugepages = true;
    if (name == "cpu" || name == "memory") req_cpu_mem = true;
  }
  if (!lim_cpu_mem && !req_cpu_mem && hugepages)
    Push(out, FieldForbidden(path, "HugePages require cpu or memory"));
}

void ValidateContainerPorts(capnp::List<api::ContainerPort>::Reader ports, const std::string& path,
                            Causes* out) {
  static const std::vector<std::string> kProtocols = {"SCTP", "TCP", "UDP"};
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size(); ++i) {
    auto port = ports[i];
    std::string p = Idx(path, i);
    std::string name = S(port.getName());
    if (!name.empty()) {
      auto msgs = PortNameErrors(name);
      if (!msgs.empty()) {
        for (const auto& m : msgs) InvalidStr(out, p + ".name", name, m);
      } else if (names.count(name)) {
        Push(out, FieldDuplicate(p + ".name", name));
      } else {
        names.insert(name);
      }
    }
    if (port.getContainerPort() == 0) {
      Push(out, FieldRequired(p + ".containerPort"));
    } else {
      for (const auto& m : PortNumErrors(port.getContainerPort()))
        Push(out, FieldInvalid(p + ".containerPort", std::to_string(port.getContainerPort()), m));
    }
    if (port.getHostPort() != 0) {
      for (const auto& m : PortNumErrors(port.getHostPort()))
        Push(out, FieldInvalid(p + ".hostPort", std::to_string(port.getHostPort()), m));
    }
    std::string proto = S(port.getProtocol());
    if (proto.empty()) {
      Push(out, FieldRequired(p + ".protocol"));
    } else if (std::find(kProtocols.begin(), kProtocols.end(), proto) == kProtocols.end()) {
      Push(out, FieldNotSupported(p + ".protocol", proto, kProtocols));
    }
  }
}

void ValidateEnv(capnp::List<api::EnvVar>::Reader env, const std::string& path, Causes* out) {
  for (size_t i = 0; i < env.size(); ++i) {
    auto ev = env[i];
    std::string p = Idx(path, i);
    std::string name = S(ev.getName());
    if (name.empty()) {
      Push(out, FieldRequired(p + ".name"));
    } else {
      for (unsigned char c : name) {
        if (c < 0x20 || c > 0x7e || c == '=') {
          InvalidStr(out, p + ".name", name,
                     "a valid environment variable name must consist only of printable ASCII "
                     "characters other than '='");
          break;
        }
      }
    }
    if (!ev.hasValueFrom()) continue;
    auto vf = ev.getValueFrom();
    std::string vp = p + ".valueFrom";
    int sources = 0;
    if (vf.hasFieldRef()) {
      ++sources;
      auto f = vf.getFieldRef();
      if (f.getApiVersion().size() == 0) {
        Push(out, FieldRequired(vp + ".fieldRef.apiVersion"));
      } else if (f.getFieldPath().size() == 0) {
        Push(out, FieldRequired(vp + ".fieldRef.fieldPath"));
      }
    }
    if (vf.hasResourceFieldRef()) {
      ++sources;
      if (vf.getResourceFieldRef().getResource().size() == 0)
        Push(out, FieldRequired(vp + ".resourceFieldRef.resource"));
    }
    if (vf.hasConfigMapKeyRef()) {
      ++sources;
      auto k = vf.getConfigMapKeyRef();
      std::string kp = vp + ".configMapKeyRef";
      ValidateDnsSubdomain(S(k.getName()), kp + ".name", out);
      if (k.getKey().size() == 0) {
        Push(out, FieldRequired(kp + ".key"));
      } else {
        for (const auto& m : ConfigMapKeyErrors(S(k.getKey()))) InvalidStr(out, kp + ".key", S(k.getKey()), m);
      }
    }
    if (vf.hasSecretKeyRef()) {
      ++sources;
      auto k = vf.getSecretKeyRef();
      std::string kp = vp + ".secretKeyRef";
      ValidateDnsSubdomain(S(k.getName()), kp + ".name", out);
      if (k.getKey().size() == 0) {
        Push(out, FieldRequired(kp + ".key"));
      } else {
        for (const auto& m : ConfigMapKeyErrors(S(k.getKey()))) InvalidStr(out, kp + ".key", S(k.getKey()), m);
      }
    }
    if (sources == 0) {
      Push(out, FieldInvalid(vp, "\"\"",
                             "must specify one of: `fieldRef`, `resourceFieldRef`, "
                             "`configMapKeyRef` or `secretKeyRef`"));
    } else if (ev.getValue().size() != 0) {
      Push(out, FieldInvalid(vp, "\"\"", "may not be specified when `value` is not empty"));
    } else if (sources > 1) {
      Push(out, FieldInvalid(vp, "\"\"", "may not have more than one field specified at a time"));
    }
  }
}

void ValidateEnvFrom(capnp::List<api::EnvFromSource>::Reader env, const std::string& path,
                     Causes* out) {
  for (size_t i = 0; i < env.size(); ++i) {
    auto ev = env[i];
    std::string p = Idx(path, i);
    int sources = 0;
    if (ev.hasConfigMapRef()) {
      ++sources;
      std::string name = S(ev.getConfigMapRef().getName());
      if (name.empty()) {
        Push(out, FieldRequired(p + ".configMapRef.name"));
      } else {
        ValidateDnsSubdomain(name, p + ".configMapRef.name", out);
      }
    }
    if (ev.hasSecretRef()) {
      ++sources;
      std::string name = S(ev.getSecretRef().getName());
      if (name.empty()) {
        Push(out, FieldRequired(p + ".secretRef.name"));
      } else {
        ValidateDnsSubdomain(name, p + ".secretRef.name", out);
      }
    }
    if (sources == 0) {
      Push(out, FieldInvalid(path, "\"\"", "must specify one of: `configMapRef` or `secretRef`"));
    } else if (sources > 1) {
      Push(out, FieldInvalid(path, "\"\"", "may not have more than one field specified at a time"));
    }
  }
}

void ValidateVolumeMounts(capnp::List<api::VolumeMount>::Reader mounts,
                          const std::map<std::string, std::string>& devices,
                          const Volumes& volumes, const std::string& path, Causes* out) {
  std::set<std::string> mountpoints;
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto m = mounts[i];
    std::string p = Idx(path, i);
    std::string name = S(m.getName()), mount_path = S(m.getMountPath());
    if (name.empty()) Push(out, FieldRequired(p + ".name"));
    auto vol = volumes.find(name);
    if (vol == volumes.end()) Push(out, FieldNotFound(p + ".name", name));
    if (mount_path.empty()) Push(out, FieldRequired(p + ".mountPath"));
    if (mountpoints.count(mount_path)) InvalidStr(out, p + ".mountPath", mount_path, "must be unique");
    mountpoints.insert(mount_path);
    if (devices.count(name)) InvalidStr(out, p + ".name", name, "must not already exist in volumeDevices");
    for (const auto& [dn, dp] : devices) {
      if (dp == mount_path) {
        InvalidStr(out, p + ".mountPath", mount_path, "must not already exist as a path in volumeDevices");
        break;
      }
    }
    std::string sub = S(m.getSubPath()), sub_expr = S(m.getSubPathExpr());
    if (vol != volumes.end() && vol->second.image) {
      if (!sub.empty()) InvalidStr(out, p + ".subPath", sub, "not allowed in image volume sources");
      if (!sub_expr.empty()) InvalidStr(out, p + ".subPathExpr", sub_expr, "not allowed in image volume sources");
    }
    // Kubernetes reports subPath errors at volumeMounts.subPath (no index).
    if (!sub.empty()) ValidateLocalDescendingPath(sub, path + ".subPath", out);
    if (!sub_expr.empty()) {
      if (!sub.empty()) InvalidStr(out, p + ".subPathExpr", sub_expr, "subPathExpr and subPath are mutually exclusive");
      ValidateLocalDescendingPath(sub_expr, path + ".subPathExpr", out);
    }
    std::string prop = S(m.getMountPropagation());
    if (m.hasMountPropagation()) {
      static const std::vector<std::string> kModes = {"Bidirectional", "HostToContainer", "None"};
      if (std::find(kModes.begin(), kModes.end(), prop) == kModes.end())
        Push(out, FieldNotSupported(path + ".mountPropagation", prop, kModes));
    }
  }
}

void ValidateVolumeDevices(capnp::List<api::VolumeDevice>::Reader devices,
                           const std::map<std::string, std::string>& mounts,
                           const Volumes& volumes, const std::string& path, Causes* out) {
  std::set<std::string> paths, names;
  for (size_t i = 0; i < devices.size(); ++i) {
    auto d = devices[i];
    std::string p = Idx(path, i);
    std::string name = S(d.getName()), dev_path = S(d.getDevicePath());
    auto vol = volumes.find(name);
    if (name.empty()) Push(out, FieldRequired(p + ".name"));
    if (names.count(name)) InvalidStr(out, p + ".name", name, "must be unique");
    if (vol != volumes.end() && !vol->second.pvc_or_ephemeral)
      InvalidStr(out, p + ".name", name,
                 "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode");
    if (vol == volumes.end()) Push(out, FieldNotFound(p + ".name", name));
    if (dev_path.empty()) Push(out, FieldRequired(p + ".devicePath"));
    if (paths.count(dev_path)) InvalidStr(out, p + ".devicePath", dev_path, "must be unique");
    if (!dev_path.empty() && HasBacksteps(dev_path)) {
      InvalidStr(out, p + ".devicePath", dev_path, "can not contain backsteps ('..')");
    } else {
      paths.insert(dev_path);
    }
    if (mounts.count(name)) InvalidStr(out, p + ".name", name, "must not already exist in volumeMounts");
    for (const auto& [mn, mp] : mounts) {
      if (mp == dev_path) {
        InvalidStr(out, p + ".devicePath", dev_path, "must not already exist as a path in volumeMounts");
        break;
      }
    }
    if (!name.empty()) names.insert(name);
  }
}

void ValidateHandler(api::ExecAction::Reader exec, bool has_exec, api::HTTPGetAction::Reader http,
                     bool has_http, api::TCPSocketAction::Reader tcp, bool has_tcp,
                     api::GRPCAction::Reader grpc, bool has_grpc, api::SleepAction::Reader sleep,
                     bool has_sleep, const api::OptInt64::Reader* grace, const std::string& path,
                     Causes* out) {
  int n = 0;
  auto claim = [&](bool set, const char* name) {
    if (!set) return false;
    if (n > 0) {
      Push(out, FieldForbidden(path + "." + name, "may not specify more than 1 handler type"));
      return false;
    }
    ++n;
    return true;
  };
  if (claim(has_exec, "exec")) {
    if (exec.getCommand().size() == 0) Push(out, FieldRequired(path + ".exec.command"));
  }
  if (claim(has_http, "httpGet")) {
    std::string p = path + ".httpGet";
    if (http.getPath().size() == 0) Push(out, FieldRequired(p + ".path"));
    ValidatePortNumOrName(http.getPort(), p + ".port", out);
    std::string scheme = S(http.getScheme());
    if (scheme != "HTTP" && scheme != "HTTPS")
      Push(out, FieldNotSupported(p + ".scheme", scheme, {"HTTP", "HTTPS"}));
    for (auto h : http.getHttpHeaders()) {
      std::string name = S(h.getName());
      bool ok = !name.empty();
      for (char c : name)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '-')) ok = false;
      if (!ok)
        InvalidStr(out, p + ".httpHeaders", name,
                   "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. "
                   "'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')");
    }
  }
  if (claim(has_tcp, "tcpSocket")) ValidatePortNumOrName(tcp.getPort(), path + ".tcpSocket.port", out);
  if (claim(has_grpc, "grpc")) {
    for (const auto& m : PortNumErrors(grpc.getPort()))
      Push(out, FieldInvalid(path + ".grpc.port", std::to_string(grpc.getPort()), m));
  }
  if (claim(has_sleep, "sleep")) {
    if (grace != nullptr && (sleep.getSeconds() < 0 || sleep.getSeconds() > grace->getValue()))
      Push(out, FieldInvalid(path + ".sleep", std::to_string(sleep.getSeconds()),
                             "must be non-negative and less than terminationGracePeriodSeconds (" +
                                 std::to_string(grace->getValue()) + ")"));
  }
  if (n == 0) Push(out, FieldRequired(path, "must specify a handler type"));
}

enum class ProbeKind { kLiveness, kReadiness, kStartup };

void ValidateProbe(api::Probe::Reader p, ProbeKind kind, const api::OptInt64::Reader* grace,
                   const std::string& path, Causes* out) {
  ValidateHandler(p.getExec(), p.hasExec(), p.getHttpGet(), p.hasHttpGet(), p.getTcpSocket(),
                  p.hasTcpSocket(), p.getGrpc(), p.hasGrpc(), api::SleepAction::Reader(), false,
                  grace, path, out);
  ValidateNonnegative(p.getInitialDelaySeconds(), path + ".initialDelaySeconds", out);
  ValidateNonnegative(p.getTimeoutSeconds(), path + ".timeoutSeconds", out);
  ValidateNonnegative(p.getPeriodSeconds(), path + ".periodSeconds", out);
  ValidateNonnegative(p.getSuccessThreshold(), path + ".successThreshold", out);
  ValidateNonnegative(p.getFailureThreshold(), path + ".failureThreshold", out);
  if (p.hasTerminationGracePeriodSeconds() && p.getTerminationGracePeriodSeconds().getValue() <= 0)
    Push(out, FieldInvalid(path + ".terminationGracePeriodSeconds",
                           std::to_string(p.getTerminationGracePeriodSeconds().getValue()),
                           "must be greater than 0"));
  if (kind == ProbeKind::kReadiness) {
    if (p.hasTerminationGracePeriodSeconds())
      Push(out, FieldInvalid(path + ".terminationGracePeriodSeconds",
                             std::to_string(p.getTerminationGracePeriodSeconds().getValue()),
                             "must not be set for readinessProbes"));
  } else if (p.getSuccessThreshold() != 1) {
    Push(out, FieldInvalid(path + ".successThreshold", std::to_string(p.getSuccessThreshold()),
                           "must be 1"));
  }
}

void ValidateLifecycleHandler(api::LifecycleHandler::Reader h, const api::OptInt64::Reader* grace,
                              const std::string& path, Causes* out) {
  ValidateHandler(h.getExec(), h.hasExec(), h.getHttpGet(), h.hasHttpGet(), h.getTcpSocket(),
                  h.hasTcpSocket(), api::GRPCAction::Reader(), false, h.getSleep(), h.hasSleep(),
                  grace, path, out);
}

template <typename C>
void ValidateLifecycleAndProbes(C c, const api::OptInt64::Reader* grace, const std::string& path,
                                Causes* out) {
  if (c.hasLifecycle()) {
    auto l = c.getLifecycle();
    if (l.hasPostStart()) ValidateLifecycleHandler(l.getPostStart(), grace, path + ".lifecycle.postStart", out);
    if (l.hasPreStop()) ValidateLifecycleHandler(l.getPreStop(), grace, path + ".lifecycle.preStop", out);
  }
  if (c.hasLivenessProbe()) ValidateProbe(c.getLivenessProbe(), ProbeKind::kLiveness, grace, path + ".livenessProbe", out);
  if (c.hasReadinessProbe()) ValidateProbe(c.getReadinessProbe(), ProbeKind::kReadiness, grace, path + ".readinessProbe", out);
  if (c.hasStartupProbe()) ValidateProbe(c.getStartupProbe(), ProbeKind::kStartup, grace, path + ".startupProbe", out);
}

void ValidateIdRange(int64_t id, const std::string& path, Causes* out) {
  if (id < 0 || id > kMaxInt32)
    Push(out, FieldInvalid(path, std::to_string(id), "must be between 0 and 2147483647, inclusive"));
}

void ValidateSeccomp(api::SeccompProfile::Reader s, const std::string& path, Causes* out) {
  std::string t = S(s.getType());
  if (t == "Localhost") {
    if (s.getLocalhostProfile().size() == 0)
      Push(out, FieldRequired(path + ".localhostProfile", "must be set when seccomp type is Localhost"));
  } else if (t == "RuntimeDefault" || t == "Unconfined") {
    if (s.hasLocalhostProfile())
      InvalidStr(out, path + ".localhostProfile", S(s.getLocalhostProfile()),
                 "can only be set when seccomp type is Localhost");
  } else if (t.empty()) {
    Push(out, FieldRequired(path + ".type", "type is required when seccompProfile is set"));
  } else {
    Push(out, FieldNotSupported(path + ".type", t, {"Localhost", "RuntimeDefault", "Unconfined"}));
  }
}

void ValidateSecurityContext(api::SecurityContext::Reader sc, const std::string& path, Causes* out) {
  if (sc.hasRunAsUser()) ValidateIdRange(sc.getRunAsUser().getValue(), path + ".runAsUser", out);
  if (sc.hasRunAsGroup()) ValidateIdRange(sc.getRunAsGroup().getValue(), path + ".runAsGroup", out);
  if (sc.hasProcMount()) {
    std::string pm = S(sc.getProcMount());
    if (pm != "Default" && pm != "Unmasked")
      Push(out, FieldNotSupported(path + ".procMount", pm, {"Default", "Unmasked"}));
  }
  if (sc.hasSeccompProfile()) ValidateSeccomp(sc.getSeccompProfile(), path + ".seccompProfile", out);
}

template <typename C>
void ValidateContainerCommon(C c, const Volumes& volumes, const std::string& restart_policy,
                             const std::string& path, Causes* out) {
  std::string name = S(c.getName());
  if (name.empty()) {
    Push(out, FieldRequired(path + ".name"));
  } else {
    ValidateDnsLabel(name, path + ".name", out);
  }
  if (c.getImage().size() == 0) Push(out, FieldRequired(path + ".image"));
  std::string tmp = S(c.getTerminationMessagePolicy());
  if (tmp.empty()) {
    Push(out, FieldRequired(path + ".terminationMessagePolicy"));
  } else if (tmp != "File" && tmp != "FallbackToLogsOnError") {
    Push(out, FieldNotSupported(path + ".terminationMessagePolicy", tmp, {"File", "FallbackToLogsOnError"}));
  }
  std::map<std::string, std::string> mount_map, device_map;
  for (auto m : c.getVolumeMounts()) mount_map[S(m.getName())] = S(m.getMountPath());
  for (auto d : c.getVolumeDevices()) device_map[S(d.getName())] = S(d.getDevicePath());
  ValidateContainerPorts(c.getPorts(), path + ".ports", out);
  ValidateEnv(c.getEnv(), path + ".env", out);
  ValidateEnvFrom(c.getEnvFrom(), path + ".envFrom", out);
  ValidateVolumeMounts(c.getVolumeMounts(), device_map, volumes, path + ".volumeMounts", out);
  ValidateVolumeDevices(c.getVolumeDevices(), mount_map, volumes, path + ".volumeDevices", out);
  std::string pull = S(c.getImagePullPolicy());
  if (pull.empty()) {
    Push(out, FieldRequired(path + ".imagePullPolicy"));
  } else if (pull != "Always" && pull != "IfNotPresent" && pull != "Never") {
    Push(out, FieldNotSupported(path + ".imagePullPolicy", pull, {"Always", "IfNotPresent", "Never"}));
  }
  ValidateResourceRequirements(c.getResources(), path + ".resources", out);
  auto policies = c.getResizePolicy();
  std::set<std::string> seen;
  std::string rp = path + ".resizePolicy";
  for (size_t i = 0; i < policies.size(); ++i) {
    std::string res = S(policies[i].getResourceName()), pol = S(policies[i].getRestartPolicy());
    if (seen.count(res)) Push(out, FieldDuplicateRendered(Idx(rp, i), res));
    seen.insert(res);
    if (res.empty()) {
      Push(out, FieldRequired(rp));
    } else if (res != "cpu" && res != "memory") {
      Push(out, FieldNotSupportedRendered(rp, res, {"cpu", "memory"}));
    }
    if (pol.empty()) {
      Push(out, FieldRequired(rp));
    } else if (pol != "NotRequired" && pol != "RestartContainer") {
      Push(out, FieldNotSupported(rp, pol, {"NotRequired", "RestartContainer"}));
    }
    if (restart_policy == "Never" && pol != "NotRequired")
      InvalidStr(out, rp, pol, "must be 'NotRequired' when `restartPolicy` is 'Never'");
  }
  if (c.hasSecurityContext()) ValidateSecurityContext(c.getSecurityContext(), path + ".securityContext", out);
}

void CheckHostPortConflicts(capnp::List<api::Container>::Reader containers, size_t only,
                            const std::string& path, Causes* out) {
  std::set<std::string> seen;
  for (size_t ci = 0; ci < containers.size(); ++ci) {
    if (only != SIZE_MAX && ci != only) continue;
    auto ports = containers[ci].getPorts();
    for (size_t pi = 0; pi < ports.size(); ++pi) {
      auto port = ports[pi];
      if (port.getHostPort() == 0) continue;
      std::string key = S(port.getProtocol()) + "/" + S(port.getHostIP()) + "/" +
                        std::to_string(port.getHostPort());
      std::string p = Idx(Idx(path, ci) + ".ports", pi) + ".hostPort";
      if (!seen.insert(key).second) Push(out, FieldDuplicate(p, key));
    }
  }
}

void ValidateTolerations(capnp::List<api::Toleration>::Reader tolerations, const std::string& path,
                         Causes* out) {
  for (size_t i = 0; i < tolerations.size(); ++i) {
    auto t = tolerations[i];
    std::string p = Idx(path, i);
    std::string key = S(t.getKey()), op = S(t.getOperator()), value = S(t.getValue()),
                effect = S(t.getEffect());
    if (!key.empty()) ValidateQualified(key, p + ".key", out);
    if (key.empty() && op != "Exists")
      InvalidStr(out, p + ".operator", op,
                 "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
    if (t.hasTolerationSeconds() && effect != "NoExecute")
      InvalidStr(out, p + ".effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set");
    if (op == "Equal" || op.empty()) {
      auto errs = LabelValueErrors(value);
      if (!errs.empty()) InvalidStr(out, p + ".operator", value, JoinMessages(errs, ";"));
    } else if (op == "Exists") {
      if (!value.empty()) InvalidStr(out, p + ".operator", value, "value must be empty when `operator` is 'Exists'");
    } else {
      Push(out, FieldNotSupported(p + ".operator", op, {"Equal", "Exists"}));
    }
    if (!effect.empty() && effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute")
      Push(out, FieldNotSupported(p + ".effect", effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"}));
  }
}

void ValidateNodeSelectorRequirement(api::NodeSelectorRequirement::Reader rq, bool fields,
                                     const std::string& path, Causes* out) {
  std::string op = S(rq.getOperator());
  size_t n = rq.getValues().size();
  if (fields) {
    // ValidateNodeFieldSelectorRequirement: In/NotIn with exactly one value; key metadata.name.
    if (op == "In" || op == "NotIn") {
      if (n != 1) Push(out, FieldRequired(path + ".values", "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else {
      InvalidStr(out, path + ".operator", op, "not a valid selector operator");
    }
    std::string key = S(rq.getKey());
    if (key != "metadata.name")
      Push(out, FieldNotSupported(path + ".key", key, {"metadata.name"}));
    return;
  }
  if (op == "In" || op == "NotIn") {
    if (n == 0) Push(out, FieldRequired(path + ".values", "must be specified when `operator` is 'In' or 'NotIn'"));
  } else if (op == "Exists" || op == "DoesNotExist") {
    if (n > 0) Push(out, FieldForbidden(path + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  } else if (op == "Gt" || op == "Lt") {
    if (n != 1) Push(out, FieldRequired(path + ".values", "must be specified single value when `operator` is 'Lt' or 'Gt'"));
  } else {
    InvalidStr(out, path + ".operator", op, "not a valid selector operator");
  }
  ValidateQualified(S(rq.getKey()), path + ".key", out);
  auto values = rq.getValues();
  for (size_t i = 0; i < values.size(); ++i)
    for (const auto& m : LabelValueErrors(S(values[i]))) InvalidStr(out, Idx(path + ".values", i), S(values[i]), m);
}

void ValidateNodeSelectorTerm(api::NodeSelectorTerm::Reader term, const std::string& path, Causes* out) {
  auto exprs = term.getMatchExpressions();
  for (size_t i = 0; i < exprs.size(); ++i)
    ValidateNodeSelectorRequirement(exprs[i], false, Idx(path + ".matchExpressions", i), out);
  auto fields = term.getMatchFields();
  for (size_t i = 0; i < fields.size(); ++i)
    ValidateNodeSelectorRequirement(fields[i], true, Idx(path + ".matchFields", i), out);
}

void ValidatePodAffinityTerm(api::PodAffinityTerm::Reader t, const std::string& path, Causes* out) {
  if (t.hasLabelSelector()) ValidateLabelSelector(t.getLabelSelector(), path + ".labelSelector", out);
  if (t.hasNamespaceSelector()) ValidateLabelSelector(t.getNamespaceSelector(), path + ".namespaceSelector", out);
  for (auto ns : t.getNamespaces()) ValidateDnsLabel(S(ns), path + ".namespace", out);
  if (t.getTopologyKey().size() == 0) {
    Push(out, FieldRequired(path + ".topologyKey", "can not be empty"));
  } else {
    ValidateQualified(S(t.getTopologyKey()), path + ".topologyKey", out);
  }
}

void ValidatePodAffinityTerms(capnp::List<api::PodAffinityTerm>::Reader required,
                              capnp::List<api::WeightedPodAffinityTerm>::Reader preferred,
                              const std::string& path, Causes* out) {
  for (size_t i = 0; i < required.size(); ++i)
    ValidatePodAffinityTerm(required[i], Idx(path + ".requiredDuringSchedulingIgnoredDuringExecution", i), out);
  for (size_t i = 0; i < preferred.size(); ++i) {
    std::string p = Idx(path + ".preferredDuringSchedulingIgnoredDuringExecution", i);
    int w = preferred[i].getWeight();
    if (w <= 0 || w > 100) Push(out, FieldInvalid(p + ".weight", std::to_string(w), "must be in the range 1-100"));
    ValidatePodAffinityTerm(preferred[i].getPodAffinityTerm(), p + ".podAffinityTerm", out);
  }
}

void ValidateAffinity(api::Affinity::Reader a, const std::string& path, Causes* out) {
  if (a.hasNodeAffinity()) {
    auto na = a.getNodeAffinity();
    std::string p = path + ".nodeAffinity";
    if (na.hasRequiredDuringSchedulingIgnoredDuringExecution()) {
      auto sel = na.getRequiredDuringSchedulingIgnoredDuringExecution();
      std::string sp = p + ".requiredDuringSchedulingIgnoredDuringExecution";
      auto terms = sel.getNodeSelectorTerms();
      if (terms.size() == 0) {
        Push(out, FieldRequired(sp + ".nodeSelectorTerms", "must have at least one node selector term"));
      }
      for (size_t i = 0; i < terms.size(); ++i)
        ValidateNodeSelectorTerm(terms[i], Idx(sp + ".nodeSelectorTerms", i), out);
    }
    auto pref = na.getPreferredDuringSchedulingIgnoredDuringExecution();
    for (size_t i = 0; i < pref.size(); ++i) {
      std::string pp = Idx(p + ".preferredDuringSchedulingIgnoredDuringExecution", i);
      int w = pref[i].getWeight();
      if (w <= 0 || w > 100) Push(out, FieldInvalid(pp + ".weight", std::to_string(w), "must be in the range 1-100"));
      ValidateNodeSelectorTerm(pref[i].getPreference(), pp + ".preference", out);
    }
  }
  if (a.hasPodAffinity()) {
    auto pa = a.getPodAffinity();
    ValidatePodAffinityTerms(pa.getRequiredDuringSchedulingIgnoredDuringExecution(),
                             pa.getPreferredDuringSchedulingIgnoredDuringExecution(), path + ".podAffinity", out);
  }
  if (a.hasPodAntiAffinity()) {
    auto pa = a.getPodAntiAffinity();
    ValidatePodAffinityTerms(pa.getRequiredDuringSchedulingIgnoredDuringExecution(),
                             pa.getPreferredDuringSchedulingIgnoredDuringExecution(), path + ".podAntiAffinity", out);
  }
}

void ValidateTopologySpread(capnp::List<api::TopologySpreadConstraint>::Reader cs,
                            const std::string& path, Causes* out) {
  for (size_t i = 0; i < cs.size(); ++i) {
    auto c = cs[i];
    std::string p = Idx(path, i);
    if (c.getMaxSkew() <= 0)
      Push(out, FieldInvalid(p + ".maxSkew", std::to_string(c.getMaxSkew()), "must be greater than zero"));
    std::string key = S(c.getTopologyKey()), when = S(c.getWhenUnsatisfiable());
    if (key.empty()) {
      Push(out, FieldRequired(p + ".topologyKey", "can not be empty"));
    } else {
      ValidateQualified(key, p + ".topologyKey", out);
    }
    if (when != "DoNotSchedule" && when != "ScheduleAnyway")
      Push(out, FieldNotSupported(p + ".whenUnsatisfiable", when, {"DoNotSchedule", "ScheduleAnyway"}));
    for (size_t j = i + 1; j < cs.size(); ++j) {
      if (S(cs[j].getTopologyKey()) == key && S(cs[j].getWhenUnsatisfiable()) == when) {
        Push(out, FieldDuplicate(p + ".{topologyKey, whenUnsatisfiable}", "{" + key + ", " + when + "}"));
        break;
      }
    }
    if (c.hasMinDomains()) {
      int md = c.getMinDomains().getValue();
      if (md <= 0) {
        Push(out, FieldInvalid(p + ".minDomains", std::to_string(md), "must be greater than 0"));
      } else if (when != "DoNotSchedule") {
        Push(out, FieldInvalid(p + ".minDomains", std::to_string(md),
                               "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not " + when));
      }
    }
    if (c.hasLabelSelector()) ValidateLabelSelector(c.getLabelSelector(), p + ".labelSelector", out);
  }
}

void ValidatePodSecurityContext(api::PodSecurityContext::Reader sc, const std::string& path, Causes* out) {
  if (sc.hasFsGroup()) ValidateIdRange(sc.getFsGroup().getValue(), path + ".fsGroup", out);
  if (sc.hasRunAsUser()) ValidateIdRange(sc.getRunAsUser().getValue(), path + ".runAsUser", out);
  if (sc.hasRunAsGroup()) ValidateIdRange(sc.getRunAsGroup().getValue(), path + ".runAsGroup", out);
  auto groups = sc.getSupplementalGroups();
  for (size_t i = 0; i < groups.size(); ++i) ValidateIdRange(groups[i], Idx(path + ".supplementalGroups", i), out);
  auto sysctls = sc.getSysctls();
  std::set<std::string> names;
  for (size_t i = 0; i < sysctls.size(); ++i) {
    std::string n = S(sysctls[i].getName());
    std::string p = Idx(path + ".sysctls", i) + ".name";
    if (n.empty()) {
      Push(out, FieldRequired(p));
    } else if (!names.insert(n).second) {
      Push(out, FieldDuplicate(p, n));
    }
  }
  if (sc.hasFsGroupChangePolicy()) {
    std::string f = S(sc.getFsGroupChangePolicy());
    if (f != "Always" && f != "OnRootMismatch")
      Push(out, FieldNotSupported(path + ".fsGroupChangePolicy", f, {"Always", "OnRootMismatch"}));
  }
  if (sc.hasSeccompProfile()) ValidateSeccomp(sc.getSeccompProfile(), path + ".seccompProfile", out);
  if (sc.hasSupplementalGroupsPolicy()) {
    std::string f = S(sc.getSupplementalGroupsPolicy());
    if (f != "Merge" && f != "Strict")
      Push(out, FieldNotSupported(path + ".supplementalGroupsPolicy", f, {"Merge", "Strict"}));
  }
}

// Quantities of a resource map as sums over the supported QoS resources (cpu, memory).
void AddQos(api::StringMap::Reader m, std::map<std::string, Quantity>* sums,
            std::set<std::string>* found) {
  for (auto e : m.getEntries()) {
    std::string name = S(e.getKey());
    if (name != "cpu" && name != "memory") continue;
    auto q = Quantity::Parse(e.getValue().cStr());
    if (!q.ok() || q->Sign() <= 0) continue;
    if (found) found->insert(name);
    auto it = sums->find(name);
    if (it == sums->end()) {
      sums->emplace(name, *q);
    } else {
      it->second.Add(*q);
    }
  }
}

}  // namespace

std::string DefaultPullPolicy(const std::string& image) {
  std::string tag, digest;
  if (!ParseImageRef(image, &tag, &digest)) return "IfNotPresent";
  if (tag.empty() && digest.empty()) tag = "latest";
  return tag == "latest" ? "Always" : "IfNotPresent";
}

void SetPodSpecDefaults(api::PodSpec::Builder spec) {
  if (spec.getDnsPolicy().size() == 0) spec.setDnsPolicy("ClusterFirst");
  if (spec.getRestartPolicy().size() == 0) spec.setRestartPolicy("Always");
  if (!spec.hasSecurityContext()) spec.initSecurityContext();
  if (!spec.hasTerminationGracePeriodSeconds()) spec.initTerminationGracePeriodSeconds().setValue(30);
  if (spec.getSchedulerName().size() == 0) spec.setSchedulerName("default-scheduler");
  // v1 conversion: serviceAccount is the deprecated alias of serviceAccountName.
  if (spec.getServiceAccountName().size() == 0 && spec.getServiceAccount().size() > 0)
    spec.setServiceAccountName(spec.getServiceAccount().asReader());
  if (spec.getServiceAccountName().size() > 0) {
    spec.setServiceAccount(spec.getServiceAccountName().asReader());
  } else if (spec.hasServiceAccount()) {
    spec.disownServiceAccount();
  }
  for (auto v : spec.getVolumes()) DefaultVolume(v);
  for (auto c : spec.getInitContainers()) DefaultContainer(c);
  for (auto c : spec.getContainers()) DefaultContainer(c);
  for (auto c : spec.getEphemeralContainers()) DefaultContainer(c);
  if (spec.hasOverhead()) RoundResourceList(spec.getOverhead());
  if (spec.hasResources()) DefaultResources(spec.getResources());
}

void SetPodOnlyDefaults(api::PodSpec::Builder spec) {
  for (auto c : spec.getContainers()) RequestsFromLimits(c);
  for (auto c : spec.getInitContainers()) RequestsFromLimits(c);
  if (!spec.hasEnableServiceLinks()) spec.initEnableServiceLinks().setValue(true);
  if (spec.getHostNetwork()) {
    HostNetworkPorts(spec.getContainers());
    HostNetworkPorts(spec.getInitContainers());
  }
}

std::string PodQosClass(api::PodSpec::Reader spec) {
  std::map<std::string, Quantity> requests, limits;
  bool guaranteed = true;
  auto visit = [&](api::Container::Reader c) {
    auto r = c.getResources();
    AddQos(r.getRequests(), &requests, nullptr);
    std::set<std::string> found;
    AddQos(r.getLimits(), &limits, &found);
    if (!found.count("cpu") || !found.count("memory")) guaranteed = false;
  };
  for (auto c : spec.getContainers()) visit(c);
  for (auto c : spec.getInitContainers()) visit(c);
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed) {
    for (const auto& [name, req] : requests) {
      auto lim = limits.find(name);
      if (lim == limits.end() || Compare(lim->second, req) != 0) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size() == limits.size() ? "Guaranteed" : "Burstable";
}

void ValidatePodSpec(api::PodSpec::Reader spec, const std::string& path, bool is_pod, Causes* out) {
  if (!spec.hasTerminationGracePeriodSeconds())
    Push(out, FieldRequired(path + ".terminationGracePeriodSeconds"));
  api::OptInt64::Reader grace_reader = spec.getTerminationGracePeriodSeconds();
  const api::OptInt64::Reader* grace = spec.hasTerminationGracePeriodSeconds() ? &grace_reader : nullptr;
  std::string restart = S(spec.getRestartPolicy());

  Volumes vols = ValidateVolumes(spec.getVolumes(), path + ".volumes", out);

  // Regular containers.
  auto containers = spec.getContainers();
  std::string cpath = path + ".containers";
  if (containers.size() == 0) {
    Push(out, FieldRequired(cpath));
  } else {
    std::set<std::string> names;
    for (size_t i = 0; i < containers.size(); ++i) {
      auto c = containers[i];
      std::string p = Idx(cpath, i);
      ValidateContainerCommon(c, vols, restart, p, out);
      if (!names.insert(S(c.getName())).second) Push(out, FieldDuplicate(p + ".name", S(c.getName())));
      ValidateLifecycleAndProbes(c, grace, p, out);
      if (c.hasRestartPolicy()) Push(out, FieldForbidden(p + ".restartPolicy", "may not be set for non-init containers"));
    }
    CheckHostPortConflicts(containers, SIZE_MAX, cpath, out);
  }

  // Init containers.
  auto inits = spec.getInitContainers();
  std::string ipath = path + ".initContainers";
  std::set<std::string> all_names;
  for (auto c : containers) all_names.insert(S(c.getName()));
  for (size_t i = 0; i < inits.size(); ++i) {
    auto c = inits[i];
    std::string p = Idx(ipath, i);
    ValidateContainerCommon(c, vols, restart, p, out);
    bool restart_always = false;
    if (c.hasRestartPolicy()) {
      std::string rp = S(c.getRestartPolicy());
      if (rp != "Always") Push(out, FieldNotSupported(p + ".restartPolicy", rp, {"Always"}));
      restart_always = rp == "Always";
    }
    std::string name = S(c.getName());
    if (all_names.count(name)) {
      Push(out, FieldDuplicate(p + ".name", name));
    } else if (!name.empty()) {
      all_names.insert(name);
    }
    CheckHostPortConflicts(inits, i, ipath, out);
    if (restart_always) {
      ValidateLifecycleAndProbes(c, grace, p, out);
    } else {
      const char* kMsg = "may not be set for init containers without restartPolicy=Always";
      if (c.hasLifecycle()) Push(out, FieldForbidden(p + ".lifecycle", kMsg));
      if (c.hasLivenessProbe()) Push(out, FieldForbidden(p + ".livenessProbe", kMsg));
      if (c.hasReadinessProbe()) Push(out, FieldForbidden(p + ".readinessProbe", kMsg));
      if (c.hasStartupProbe()) Push(out, FieldForbidden(p + ".startupProbe", kMsg));
    }
  }

  // Ephemeral containers: common checks and unique names.
  auto ephemeral = spec.getEphemeralContainers();
  for (size_t i = 0; i < ephemeral.size(); ++i) {
    auto c = ephemeral[i];
    std::string p = Idx(path + ".ephemeralContainers", i);
    ValidateContainerCommon(c, vols, restart, p, out);
    std::string name = S(c.getName());
    if (!all_names.insert(name).second) Push(out, FieldDuplicate(p + ".name", name));
  }

  // hostNetwork: host ports must equal container ports (0 allowed in templates).
  if (spec.getHostNetwork()) {
    for (size_t i = 0; i < containers.size(); ++i) {
      auto ports = containers[i].getPorts();
      for (size_t j = 0; j < ports.size(); ++j) {
        int hp = ports[j].getHostPort(), cp = ports[j].getContainerPort();
        if ((is_pod || hp != 0) && hp != cp)
          Push(out, FieldInvalid(Idx(Idx(cpath, i) + ".ports", j) + ".hostPort", std::to_string(hp),
                                 "must match `containerPort` when `hostNetwork` is true"));
      }
    }
  }

  if (restart.empty()) {
    Push(out, FieldRequired(path + ".restartPolicy"));
  } else if (restart != "Always" && restart != "OnFailure" && restart != "Never") {
    Push(out, FieldNotSupported(path + ".restartPolicy", restart, {"Always", "OnFailure", "Never"}));
  }
  std::string dns = S(spec.getDnsPolicy());
  if (dns.empty()) {
    Push(out, FieldRequired(path + ".dnsPolicy"));
  } else if (dns != "ClusterFirstWithHostNet" && dns != "ClusterFirst" && dns != "Default" && dns != "None") {
    Push(out, FieldNotSupported(path + ".dnsPolicy", dns, {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}));
  }
  ValidateLabelMap(spec.getNodeSelector(), path + ".nodeSelector", out);
  if (spec.hasSecurityContext()) ValidatePodSecurityContext(spec.getSecurityContext(), path + ".securityContext", out);
  if (spec.hasAffinity()) ValidateAffinity(spec.getAffinity(), path + ".affinity", out);

  // dnsConfig
  std::string dcpath = path + ".dnsConfig";
  if (dns == "None" && !spec.hasDnsConfig()) {
    Push(out, FieldRequired(dcpath, "must provide `dnsConfig` when `dnsPolicy` is None"));
  } else if (dns == "None" && spec.getDnsConfig().getNameservers().size() == 0) {
    Push(out, FieldRequired(dcpath + ".nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None"));
  } else if (spec.hasDnsConfig()) {
    auto dc = spec.getDnsConfig();
    if (dc.getNameservers().size() > 3) {
      std::string v = "[]string{";
      for (size_t i = 0; i < dc.getNameservers().size(); ++i)
        v += (i ? ", " : "") + GoQuote(S(dc.getNameservers()[i]));
      Push(out, FieldInvalid(dcpath + ".nameservers", v + "}", "must not have more than 3 nameservers"));
    }
    auto searches = dc.getSearches();
    for (size_t i = 0; i < searches.size(); ++i) {
      std::string s = S(searches[i]);
      if (s != "." && !s.empty() && s.back() == '.') s.pop_back();
      if (s != ".") ValidateDnsSubdomain(s, Idx(dcpath + ".searches", i), out);
    }
    auto opts = dc.getOptions();
    for (size_t i = 0; i < opts.size(); ++i)
      if (opts[i].getName().size() == 0) Push(out, FieldRequired(Idx(dcpath + ".options", i), "must not be empty"));
  }

  auto gates = spec.getReadinessGates();
  for (size_t i = 0; i < gates.size(); ++i)
    ValidateQualified(S(gates[i].getConditionType()), Idx(path + ".readinessGates", i) + ".conditionType", out);
  auto sgates = spec.getSchedulingGates();
  std::set<std::string> sgnames;
  for (size_t i = 0; i < sgates.size(); ++i) {
    std::string n = S(sgates[i].getName());
    ValidateQualified(n, Idx(path + ".schedulingGates", i), out);
    if (!sgnames.insert(n).second) Push(out, FieldDuplicate(Idx(path + ".schedulingGates", i), n));
  }
  ValidateTopologySpread(spec.getTopologySpreadConstraints(), path + ".topologySpreadConstraints", out);

  if (spec.getServiceAccountName().size() > 0)
    ValidateDnsSubdomain(S(spec.getServiceAccountName()), path + ".serviceAccountName", out);
  if (spec.getNodeName().size() > 0) ValidateDnsSubdomain(S(spec.getNodeName()), path + ".nodeName", out);
  if (spec.hasActiveDeadlineSeconds()) {
    int64_t v = spec.getActiveDeadlineSeconds().getValue();
    if (v < 1 || v > kMaxInt32)
      Push(out, FieldInvalid(path + ".activeDeadlineSeconds", std::to_string(v), "must be between 1 and 2147483647, inclusive"));
  }
  if (spec.getHostname().size() > 0) ValidateDnsLabel(S(spec.getHostname()), path + ".hostname", out);
  if (spec.getSubdomain().size() > 0) ValidateDnsLabel(S(spec.getSubdomain()), path + ".subdomain", out);
  ValidateTolerations(spec.getTolerations(), path + ".tolerations", out);
  auto aliases = spec.getHostAliases();
  for (size_t i = 0; i < aliases.size(); ++i) {
    auto hosts = aliases[i].getHostnames();
    for (size_t j = 0; j < hosts.size(); ++j)
      ValidateDnsSubdomain(S(hosts[j]), Idx(Idx(path + ".hostAliases", i) + ".hostnames", j), out);
  }
  if (spec.getPriorityClassName().size() > 0)
    ValidateDnsSubdomain(S(spec.getPriorityClassName()), path + ".priorityClassName", out);
  if (spec.hasRuntimeClassName()) ValidateDnsSubdomain(S(spec.getRuntimeClassName()), path + ".runtimeClassName", out);
  if (spec.hasPreemptionPolicy()) {
    std::string pp = S(spec.getPreemptionPolicy());
    if (pp.empty()) {
      Push(out, FieldRequired(path + ".preemptionPolicy"));
    } else if (pp != "PreemptLowerPriority" && pp != "Never") {
      Push(out, FieldNotSupported(path + ".preemptionPolicy", pp, {"PreemptLowerPriority", "Never"}));
    }
  }
  if (spec.hasOverhead()) {
    for (const auto& [name, value] : ToStdMap(spec.getOverhead())) {
      std::string p = Key(path + ".overhead.limits", name);
      ValidateContainerResourceName(name, p, out);
      ValidateQuantityValue(name, value, p, out);
    }
  }
  if (spec.hasOs()) {
    std::string os = S(spec.getOs().getName());
    if (os.empty()) {
      Push(out, FieldRequired(path + ".os.name"));
    } else if (os != "linux" && os != "windows") {
      Push(out, FieldNotSupported(path + ".os.name", os, {"linux", "windows"}));
    }
  }

  if (is_pod) {
    // validateContainersOnlyForPod
    auto ws = [&](capnp::List<api::Container>::Reader list, const std::string& p) {
      for (size_t i = 0; i < list.size(); ++i) {
        std::string image = S(list[i].getImage());
        size_t b = image.find_first_not_of(" \t\n\v\f\r");
        size_t e = image.find_last_not_of(" \t\n\v\f\r");
        std::string trimmed = b == std::string::npos ? "" : image.substr(b, e - b + 1);
        if (trimmed.size() != image.size())
          InvalidStr(out, Idx(p, i) + ".image", image, "must not have leading or trailing whitespace");
      }
    };
    ws(containers, cpath);
    ws(inits, ipath);
  }
}

void ValidatePodTemplateSpec(api::PodTemplateSpec::Reader tmpl, const std::string& path, Causes* out) {
  auto meta = tmpl.getMetadata();
  ValidateLabelMap(meta.getLabels(), path + ".labels", out);
  for (const auto& [k, v] : ToStdMap(meta.getAnnotations())) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    for (const auto& msg : QualifiedNameErrors(lower)) InvalidStr(out, path + ".annotations", k, msg);
  }
  ValidatePodSpec(tmpl.getSpec(), path + ".spec", false, out);
  if (tmpl.getSpec().getEphemeralContainers().size() > 0)
    Push(out, FieldForbidden(path + ".spec.ephemeralContainers", "ephemeral containers not allowed in pod template"));
}

namespace {

// ValidateContainerUpdates: the same number of containers, each with an image.
bool ValidateContainerUpdates(capnp::List<api::Container>::Reader now,
                              capnp::List<api::Container>::Reader before, const std::string& path,
                              Causes* out) {
  if (now.size() != before.size()) {
    Push(out, FieldForbidden(path, "pod updates may not add or remove containers"));
    return false;
  }
  for (size_t i = 0; i < now.size(); ++i) {
    std::string image = S(now[i].getImage());
    if (image.empty()) Push(out, FieldRequired(Idx(path, i) + ".image"));
    size_t b = image.find_first_not_of(" \t\n\v\f\r");
    size_t e = image.find_last_not_of(" \t\n\v\f\r");
    std::string trimmed = b == std::string::npos ? "" : image.substr(b, e - b + 1);
    if (trimmed.size() != image.size())
      InvalidStr(out, Idx(path, i) + ".image", image, "must not have leading or trailing whitespace");
  }
  return true;
}

bool SameTolerationIgnoringSeconds(api::Toleration::Reader a, api::Toleration::Reader b) {
  return S(a.getKey()) == S(b.getKey()) && S(a.getOperator()) == S(b.getOperator()) &&
         S(a.getValue()) == S(b.getValue()) && S(a.getEffect()) == S(b.getEffect());
}

class PodStrategy : public Strategy {
 public:
  explicit PodStrategy(Clock* clock) : clock_(clock) {}

  void Default(Object& obj) const override {
    auto spec = obj.as<api::Pod>().getSpec();
    SetPodOnlyDefaults(spec);
    SetPodSpecDefaults(spec);
    // ServiceAccount admission: pods run as "default" unless told otherwise.
    if (spec.getServiceAccountName().size() == 0) {
      spec.setServiceAccountName("default");
      spec.setServiceAccount("default");
    }
    // Priority admission: the built-in classes, else the global default (0).
    if (!spec.hasPriority()) {
      std::string cls = S(spec.getPriorityClassName().asReader());
      int32_t prio = 0;
      if (cls == "system-node-critical") prio = 2000001000;
      if (cls == "system-cluster-critical") prio = 2000000000;
      spec.initPriority().setValue(prio);
    }
    if (!spec.hasPreemptionPolicy()) spec.setPreemptionPolicy("PreemptLowerPriority");
    AddDefaultTolerations(spec);
  }

  void PrepareForCreate(Object& obj) const override {
    Default(obj);  // the QoS class sees the defaulted requests, as in Kubernetes
    Strategy::PrepareForCreate(obj);
    auto pod = obj.as<api::Pod>();
    auto status = pod.getStatus();
    status.setPhase("Pending");
    status.setQosClass(PodQosClass(pod.getSpec().asReader()));
    if (pod.getSpec().getSchedulingGates().size() > 0) {
      auto c = status.initConditions(1)[0];
      c.setType("PodScheduled");
      c.setStatus("False");
      c.setReason("SchedulingGated");
      c.setMessage("Scheduling is blocked due to non-empty scheduling gates");
    }
  }

  std::vector<StatusCause> Validate(const Object& obj) const override {
    Causes out;
    auto spec = obj.get<api::Pod>().getSpec();
    ValidatePodSpec(spec, "spec", true, &out);
    if (spec.getEphemeralContainers().size() > 0)
      Push(&out, FieldForbidden("spec.ephemeralContainers", "cannot be set on create"));
    if (spec.getNodeName().size() > 0 && spec.getSchedulingGates().size() > 0)
      Push(&out, FieldForbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"));
    return out;
  }

  std::vector<StatusCause> ValidateUpdate(const Object& obj, const Object& old) const override {
    Causes out;
    auto spec = obj.get<api::Pod>().getSpec();
    auto old_spec = old.get<api::Pod>().getSpec();
    ValidatePodSpec(spec, "spec", true, &out);
    if (!ValidateContainerUpdates(spec.getContainers(), old_spec.getContainers(), "spec.containers", &out))
      return out;
    if (!ValidateContainerUpdates(spec.getInitContainers(), old_spec.getInitContainers(),
                                  "spec.initContainers", &out))
      return out;

    // activeDeadlineSeconds: set from nil, or lowered.
    if (spec.hasActiveDeadlineSeconds()) {
      int64_t v = spec.getActiveDeadlineSeconds().getValue();
      if (v < 0 || v > kMaxInt32) {
        Push(&out, FieldInvalid("spec.activeDeadlineSeconds", std::to_string(v),
                                "must be between 0 and 2147483647, inclusive"));
        return out;
      }
      if (old_spec.hasActiveDeadlineSeconds() && old_spec.getActiveDeadlineSeconds().getValue() < v) {
        Push(&out, FieldInvalid("spec.activeDeadlineSeconds", std::to_string(v),
                                "must be less than or equal to previous value"));
        return out;
      }
    } else if (old_spec.hasActiveDeadlineSeconds()) {
      Push(&out, FieldInvalid("spec.activeDeadlineSeconds", "null",
                              "must not update from a positive integer to nil value"));
    }

    // Tolerations: only additions (tolerationSeconds of existing ones may change).
    bool tolerations_ok = true;
    for (auto o : old_spec.getTolerations()) {
      bool found = false;
      for (auto n : spec.getTolerations()) found |= SameTolerationIgnoringSeconds(o, n);
      if (!found) {
        Push(&out, FieldForbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"));
        tolerations_ok = false;
        break;
      }
    }
    if (tolerations_ok) ValidateTolerations(spec.getTolerations(), "spec.tolerations", &out);

    // Scheduling gates: only removals.
    auto new_gates = spec.getSchedulingGates();
    for (size_t i = 0; i < new_gates.size(); ++i) {
      bool was = false;
      for (auto g : old_spec.getSchedulingGates()) was |= S(g.getName()) == S(new_gates[i].getName());
      if (!was)
        Push(&out, FieldForbidden(Idx("spec.schedulingGates", i) + ".name",
                                  "only deletion is allowed, but found new scheduling gate '" +
                                      S(new_gates[i].getName()) + "'"));
    }

    // Everything else is immutable: copy the mutable fields from the old spec and compare.
    Object munged = obj.Clone();
    auto m = munged.as<api::Pod>().getSpec();
    auto mc = m.getContainers();
    for (size_t i = 0; i < mc.size(); ++i) mc[i].setImage(old_spec.getContainers()[i].getImage());
    auto mi = m.getInitContainers();
    for (size_t i = 0; i < mi.size(); ++i) mi[i].setImage(old_spec.getInitContainers()[i].getImage());
    if (old_spec.hasActiveDeadlineSeconds()) {
      m.setActiveDeadlineSeconds(old_spec.getActiveDeadlineSeconds());
    } else if (m.hasActiveDeadlineSeconds()) {
      m.disownActiveDeadlineSeconds();
    }
    if (old_spec.hasSchedulingGates()) {
      m.setSchedulingGates(old_spec.getSchedulingGates());
    } else if (m.hasSchedulingGates()) {
      m.disownSchedulingGates();
    }
    if (old_spec.hasTolerations()) {
      m.setTolerations(old_spec.getTolerations());
    } else if (m.hasTolerations()) {
      m.disownTolerations();
    }
    // terminationGracePeriodSeconds: 1 may replace a negative value; and a pod being
    // deleted may have it changed (the grace period of the deletion).
    if (old_spec.hasTerminationGracePeriodSeconds() && m.hasTerminationGracePeriodSeconds()) {
      int64_t was = old_spec.getTerminationGracePeriodSeconds().getValue();
      int64_t now = m.getTerminationGracePeriodSeconds().getValue();
      if ((was < 0 && now == 1) || old.meta().hasDeletionTimestamp())
        m.getTerminationGracePeriodSeconds().setValue(was);
    }
    if (!SemanticEqual(capnp::toDynamic(m.asReader()), capnp::toDynamic(old_spec)))
      Push(&out, FieldForbidden("spec", kUpdatablePodSpecFields));
    return out;
  }

  // The kubelet's status writes: the spec is the stored (already validated) one, so the
  // spec rules above, which cost more than the write itself, have nothing to judge.
  std::vector<StatusCause> ValidateStatusUpdate(const Object&, const Object&) const override { return {}; }

  std::vector<std::string> SelectableFields() const override {
    return {"spec.nodeName",    "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
            "status.podIP",     "status.nominatedNodeName"};
  }

 private:
  Clock* clock_;
};

}  // namespace

std::unique_ptr<Strategy> NewPodStrategy(Clock* clock) {
  return std::make_unique<PodStrategy>(clock);
}

}  // namespace cattle::apiserver
