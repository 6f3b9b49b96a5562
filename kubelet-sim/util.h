// Small helpers shared by the kubelet's files (Cap'n Proto text, stable ids).
#pragma once

#include <capnp/blob.h>

#include <cstdint>
#include <string>

namespace cattle::kubelet {

inline std::string Str(capnp::Text::Reader r) { return std::string(r.cStr(), r.size()); }

// A stable 64-bit hash (FNV-1a) for fake ids derived from names.
inline uint64_t StableHash(const std::string& s, uint64_t seed = 0) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// `n` hex digits from a hash of `s`.
inline std::string StableHex(const std::string& s, int n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (uint64_t seed = 1; static_cast<int>(out.size()) < n; ++seed) {
    uint64_t v = StableHash(s, seed);
    for (int i = 0; i < 16 && static_cast<int>(out.size()) < n; ++i, v >>= 4) out.push_back(kDigits[v & 15]);
  }
  return out;
}

// "8-4-4-4-12" from 32 hex digits.
inline std::string AsUuid(const std::string& hex32) {
  return hex32.substr(0, 8) + "-" + hex32.substr(8, 4) + "-" + hex32.substr(12, 4) + "-" +
         hex32.substr(16, 4) + "-" + hex32.substr(20, 12);
}

}  // namespace cattle::kubelet
