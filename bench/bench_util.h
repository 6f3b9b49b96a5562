// Helpers the benchmark programs share (each bench/*.cc is its own executable).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace cattle::bench {

// Steady-clock nanoseconds, for latencies.
inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The p-th quantile (0..1) of latencies in nanoseconds, in milliseconds; sorts `v`.
inline double PercentileMs(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i] / 1e6;
}

}  // namespace cattle::bench
