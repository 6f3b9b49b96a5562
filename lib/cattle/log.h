// Structured log lines (logfmt) on stderr, which every cattle process sends to its log file:
//   ts=2024-01-02T03:04:05.123456Z level=INFO component=apiserver msg="listening" endpoint=...
// Usage: CATTLE_LOG(INFO) << "listening" << kv("endpoint", e);
#pragma once

#include <sstream>
#include <string>

namespace cattle::log {

enum class Level { DEBUG = 0, INFO = 1, WARN = 2, ERROR = 3 };

// Process-wide settings, set once by main() before threads start.
void Init(const std::string& component, Level min_level);
Level ParseLevel(const std::string& s);  // "debug", "info", "warn", "error"; default info
bool Enabled(Level level);

struct KV {
  std::string key;
  std::string value;
};
template <typename T>
KV kv(const std::string& key, const T& value) {
  std::ostringstream s;
  s << value;
  return KV{key, s.str()};
}

// Collects one line and writes it atomically on destruction.
class Line {
 public:
  explicit Line(Level level) : level_(level) {}
  ~Line();
  Line& operator<<(const KV& kv) {
    fields_ << ' ' << kv.key << '=' << Quote(kv.value);
    return *this;
  }
  template <typename T>
  Line& operator<<(const T& v) {
    msg_ << v;
    return *this;
  }
  static std::string Quote(const std::string& v);

 private:
  Level level_;
  std::ostringstream msg_;
  std::ostringstream fields_;
};

}  // namespace cattle::log

#define CATTLE_LOG(LEVEL)                                            \
  if (!::cattle::log::Enabled(::cattle::log::Level::LEVEL)) {        \
  } else                                                             \
    ::cattle::log::Line(::cattle::log::Level::LEVEL)

namespace cattle {
using log::kv;
}
