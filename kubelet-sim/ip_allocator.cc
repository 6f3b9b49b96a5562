#include "kubelet-sim/ip_allocator.h"

#include <cstdio>
#include <cstdlib>

namespace cattle::kubelet {

std::optional<uint32_t> ParseIpv4(const std::string& text) {
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return std::nullopt;
  if (a > 255 || b > 255 || c > 255 || d > 255) return std::nullopt;
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::string FormatIpv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

std::optional<Ipv4Cidr> Ipv4Cidr::Parse(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto ip = ParseIpv4(text.substr(0, slash));
  char* end = nullptr;
  std::string len = text.substr(slash + 1);
  long prefix = std::strtol(len.c_str(), &end, 10);
  if (!ip || len.empty() || *end != '\0' || prefix < 8 || prefix > 30) return std::nullopt;
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return Ipv4Cidr{*ip & mask, static_cast<int>(prefix)};
}

std::string Ipv4Cidr::ToString() const { return FormatIpv4(network) + "/" + std::to_string(prefix); }

bool Ipv4Cidr::Contains(uint32_t ip) const {
  uint32_t mask = ~uint32_t{0} << (32 - prefix);
  return (ip & mask) == network;
}

void PodIpAllocator::SetCidr(const Ipv4Cidr& cidr) {
  std::lock_guard<std::mutex> lock(mu_);
  cidr_ = cidr;
}

Result<std::string> PodIpAllocator::Allocate(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto held = by_uid_.find(uid);
  if (held != by_uid_.end()) return FormatIpv4(held->second);
  if (!cidr_) return Status::Unavailable("the node has no pod CIDR yet");
  uint32_t size = uint32_t{1} << (32 - cidr_->prefix);
  uint32_t first = cidr_->network + 2, last = cidr_->network + size - 2;  // skip .0, .1, broadcast
  uint32_t span = last - first + 1;
  uint32_t start = (last_ >= first && last_ <= last) ? last_ - first + 1 : 0;
  for (uint32_t i = 0; i < span; ++i) {
    uint32_t ip = first + (start + i) % span;
    if (by_ip_.count(ip)) continue;
    by_ip_[ip] = uid;
    by_uid_[uid] = ip;
    last_ = ip;
    return FormatIpv4(ip);
  }
  return Status::Unavailable("no free pod IP in " + cidr_->ToString());
}

bool PodIpAllocator::Reserve(const std::string& uid, const std::string& ip_text) {
  auto ip = ParseIpv4(ip_text);
  if (!ip) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto owner = by_ip_.find(*ip);
  if (owner != by_ip_.end()) return owner->second == uid;
  auto held = by_uid_.find(uid);
  if (held != by_uid_.end()) by_ip_.erase(held->second);
  by_ip_[*ip] = uid;
  by_uid_[uid] = *ip;
  return true;
}

void PodIpAllocator::Release(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto held = by_uid_.find(uid);
  if (held == by_uid_.end()) return;
  auto owner = by_ip_.find(held->second);
  if (owner != by_ip_.end() && owner->second == uid) by_ip_.erase(owner);
  by_uid_.erase(held);
}

std::string PodIpAllocator::Get(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto held = by_uid_.find(uid);
  return held == by_uid_.end() ? "" : FormatIpv4(held->second);
}

size_t PodIpAllocator::InUse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_uid_.size();
}

}  // namespace cattle::kubelet
