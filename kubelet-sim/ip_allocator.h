// PodIpAllocator: the node's pod IPs from its podCIDR, as the host-local IPAM plugin hands
// them out — round-robin from the last one given, so a freed address is reused as late as
// possible; the network (.0), the gateway (.1) and the broadcast address are never given.
// An address stays held by its pod UID until Release, i.e. for as long as the pod exists.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "cattle/status.h"

namespace cattle::kubelet {

// "10.244.1.0/24" → network address and prefix length; nullopt on malformed text.
struct Ipv4Cidr {
  uint32_t network = 0;
  int prefix = 0;
  static std::optional<Ipv4Cidr> Parse(const std::string& text);
  std::string ToString() const;
  bool Contains(uint32_t ip) const;
};
std::optional<uint32_t> ParseIpv4(const std::string& text);
std::string FormatIpv4(uint32_t ip);

class PodIpAllocator {
 public:
  // An allocator without a range fails every Allocate until SetCidr.
  PodIpAllocator() = default;
  explicit PodIpAllocator(const Ipv4Cidr& cidr) : cidr_(cidr) {}

  void SetCidr(const Ipv4Cidr& cidr);
  // The address held by `uid`, or a fresh one. Unavailable when the range is exhausted.
  Result<std::string> Allocate(const std::string& uid);
  // Records that `uid` holds `ip` (read back from a pod's status after a kubelet restart),
  // inside the range or not. False if another UID holds it already (the caller keeps the
  // address the API shows anyway: the store is the truth).
  bool Reserve(const std::string& uid, const std::string& ip);
  // Frees the address of `uid` (no-op when it holds none).
  void Release(const std::string& uid);
  // The address held by `uid`, or "".
  std::string Get(const std::string& uid) const;
  size_t InUse() const;

 private:
  mutable std::mutex mu_;
  std::optional<Ipv4Cidr> cidr_;            // GUARDED_BY(mu_)
  std::map<std::string, uint32_t> by_uid_;  // GUARDED_BY(mu_)
  std::map<uint32_t, std::string> by_ip_;   // GUARDED_BY(mu_)
  uint32_t last_ = 0;                       // GUARDED_BY(mu_): the last address handed out
};

}  // namespace cattle::kubelet
