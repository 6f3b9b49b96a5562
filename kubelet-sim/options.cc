#include "kubelet-sim/options.h"

#include <cstdlib>
#include <sstream>

namespace cattle::kubelet {
namespace {

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int NodeIndexFromName(const std::string& node_name) {
  size_t end = node_name.size(), start = end;
  while (start > 0 && isdigit(static_cast<unsigned char>(node_name[start - 1]))) --start;
  if (start < end && end - start <= 6) return std::atoi(node_name.substr(start).c_str());
  uint32_t h = 2166136261u;
  for (unsigned char c : node_name) {
    h ^= c;
    h *= 16777619u;
  }
  return 1 + static_cast<int>(h % 255);
}

Result<std::string> PodCidrFor(const std::string& base, int index) {
  auto parts = Split(base, '.');
  if (parts.size() != 2) return Status::BadRequest("--pod-cidr-base must be two octets, e.g. 10.244");
  int a = std::atoi(parts[0].c_str()), b = std::atoi(parts[1].c_str());
  if (a < 1 || a > 255 || b < 0 || b > 255) return Status::BadRequest("--pod-cidr-base: octet out of range");
  if (index < 0) return Status::BadRequest("node index must not be negative");
  int second = b + index / 256;
  if (second > 255) return Status::BadRequest("node index " + std::to_string(index) + " is past the pod CIDR range of " + base);
  return std::to_string(a) + "." + std::to_string(second) + "." + std::to_string(index % 256) + ".0/24";
}

std::string InternalIpFor(int index) {
  return "127." + std::to_string((index / 256) % 256) + "." + std::to_string(index % 256) + ".1";
}

std::string InternalIpOf(const KubeletOptions& o) {
  if (!o.internal_ip.empty()) return o.internal_ip;
  return InternalIpFor(o.node_index >= 0 ? o.node_index : NodeIndexFromName(o.node_name));
}

std::vector<KubeletOptions> HollowNodeOptions(const KubeletOptions& base, int n, const std::string& prefix,
                                              int first_index) {
  std::vector<KubeletOptions> out;
  for (int i = 0; i < n; ++i) {
    KubeletOptions o = base;
    o.node_name = prefix + std::to_string(i + 1);
    o.node_index = first_index + i;
    o.pod_cidr.clear();
    o.internal_ip.clear();
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseLabels(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& item : Split(text, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) return Status::BadRequest("label \"" + item + "\" is not key=value");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

Result<std::vector<TaintSpec>> ParseTaints(const std::string& text) {
  std::vector<TaintSpec> out;
  for (const auto& item : Split(text, ',')) {
    auto colon = item.rfind(':');
    if (colon == std::string::npos) return Status::BadRequest("taint \"" + item + "\" has no :Effect");
    TaintSpec t;
    t.effect = item.substr(colon + 1);
    std::string kv = item.substr(0, colon);
    auto eq = kv.find('=');
    t.key = eq == std::string::npos ? kv : kv.substr(0, eq);
    t.value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (t.key.empty()) return Status::BadRequest("taint \"" + item + "\" has no key");
    if (t.effect != "NoSchedule" && t.effect != "PreferNoSchedule" && t.effect != "NoExecute")
      return Status::BadRequest("taint \"" + item + "\": effect must be NoSchedule, PreferNoSchedule or NoExecute");
    out.push_back(t);
  }
  return out;
}

}  // namespace cattle::kubelet
