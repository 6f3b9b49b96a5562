#include "kubelet-sim/annotations.h"

#include <cmath>
#include <cstdlib>

namespace cattle::kubelet {
namespace {

// The per-container value if present, else the pod-wide one.
const std::string* Lookup(const std::map<std::string, std::string>& a, const std::string& key,
                          const std::string& container) {
  auto it = a.find(key + "." + container);
  if (it != a.end()) return &it->second;
  it = a.find(key);
  return it == a.end() ? nullptr : &it->second;
}

bool IsTrue(const std::string* v) { return v != nullptr && (*v == "true" || *v == "True" || *v == "1"); }

std::optional<Duration> DurationOf(const std::string* v) {
  if (v == nullptr) return std::nullopt;
  return ParseDuration(*v);
}

// `whole` units and `frac` (nanoseconds below one unit of `unit_ns`) as "12.5".
std::string WithFraction(int64_t whole, int64_t frac, int64_t unit_ns) {
  std::string s = std::to_string(whole);
  if (frac == 0) return s;
  std::string digits;
  for (int64_t scale = unit_ns / 10; scale > 0; scale /= 10) {
    digits.push_back(static_cast<char>('0' + (frac / scale) % 10));
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return digits.empty() ? s : s + "." + digits;
}

}  // namespace

std::optional<Duration> ParseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  // A bare number: seconds.
  char* end = nullptr;
  double bare = std::strtod(text.c_str(), &end);
  if (end != nullptr && *end == '\0') {
    if (bare < 0 || !std::isfinite(bare)) return std::nullopt;
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(bare));
  }
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double value = std::strtod(text.substr(start, i - start).c_str(), nullptr);
    size_t unit_start = i;
    while (i < text.size() && !isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    std::string unit = text.substr(unit_start, i - unit_start);
    double ns;
    if (unit == "h") ns = 3600e9;
    else if (unit == "m") ns = 60e9;
    else if (unit == "s") ns = 1e9;
    else if (unit == "ms") ns = 1e6;
    else if (unit == "us" || unit == "\xC2\xB5s") ns = 1e3;
    else if (unit == "ns") ns = 1;
    else return std::nullopt;
    total_ns += value * ns;
  }
  if (total_ns < 0 || !std::isfinite(total_ns)) return std::nullopt;
  return Duration(static_cast<int64_t>(std::llround(total_ns)));
}

std::string FormatGoDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign;
  if (ns < 0) {
    sign = "-";
    ns = -ns;
  }
  if (ns < 1000) return sign + std::to_string(ns) + "ns";
  if (ns < 1000000) return sign + WithFraction(ns / 1000, ns % 1000, 1000) + "\xC2\xB5s";
  if (ns < 1000000000) return sign + WithFraction(ns / 1000000, ns % 1000000, 1000000) + "ms";
  int64_t secs = ns / 1000000000, frac = ns % 1000000000;
  int64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  std::string out = sign;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += WithFraction(s, frac, 1000000000) + "s";
  return out;
}

ScriptedBehaviour ParseBehaviour(const std::map<std::string, std::string>& annotations,
                                 const std::string& container) {
  ScriptedBehaviour b;
  b.exit_after = DurationOf(Lookup(annotations, kExitAfterAnnotation, container));
  if (const std::string* code = Lookup(annotations, kExitCodeAnnotation, container)) {
    char* end = nullptr;
    long v = std::strtol(code->c_str(), &end, 10);
    if (end != code->c_str() && *end == '\0' && v >= 0 && v <= 255) b.exit_code = static_cast<int>(v);
  }
  b.never_ready = IsTrue(Lookup(annotations, kNeverReadyAnnotation, container));
  b.ready_after = DurationOf(Lookup(annotations, kReadyAfterAnnotation, container));
  b.image_pull_fail = IsTrue(Lookup(annotations, kImagePullFailAnnotation, container));
  b.image_pull_duration = DurationOf(Lookup(annotations, kImagePullDurationAnnotation, container));
  b.stop_delay = DurationOf(Lookup(annotations, kStopDelayAnnotation, container));
  return b;
}

}  // namespace cattle::kubelet
