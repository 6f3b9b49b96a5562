#include "cattle/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>

#include "cattle/clock.h"

namespace cattle::log {
namespace {
std::string g_component = "cattle";
std::atomic<int> g_level{static_cast<int>(Level::INFO)};
const char* Name(Level l) {
  switch (l) {
    case Level::DEBUG:
      return "DEBUG";
    case Level::INFO:
      return "INFO";
    case Level::WARN:
      return "WARN";
    case Level::ERROR:
      return "ERROR";
  }
  return "INFO";
}
}  // namespace

void Init(const std::string& component, Level min_level) {
  g_component = component;
  g_level.store(static_cast<int>(min_level));
}

Level ParseLevel(const std::string& s) {
  if (s == "debug") return Level::DEBUG;
  if (s == "warn" || s == "warning") return Level::WARN;
  if (s == "error") return Level::ERROR;
  return Level::INFO;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

std::string Line::Quote(const std::string& v) {
  bool plain = !v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) plain = false;
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Line::~Line() {
  std::string line = "ts=" + FormatRfc3339Micro(RealClock::Get()->WallNanos()) +
                     " level=" + Name(level_) + " component=" + g_component +
                     " msg=" + Quote(msg_.str()) + fields_.str() + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace cattle::log
