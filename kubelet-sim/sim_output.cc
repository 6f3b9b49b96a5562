#include "kubelet-sim/sim_output.h"

#include <cstdio>

#include "cattle/clock.h"

namespace cattle::kubelet {
namespace {

// Pieces of the UTC time: "2024-11-26T17:23:43Z" split up.
struct Civil {
  std::string date;  // 2024-11-26
  std::string time;  // 17:23:43
  int millis = 0;
};

Civil CivilOf(int64_t wall_nanos) {
  std::string s = FormatRfc3339(wall_nanos);  // 2024-11-26T17:23:43Z
  Civil c;
  c.date = s.substr(0, 10);
  c.time = s.substr(11, 8);
  int64_t frac = wall_nanos % 1'000'000'000;
  c.millis = static_cast<int>((frac < 0 ? frac + 1'000'000'000 : frac) / 1'000'000);
  return c;
}

// nginx's error log time: 2024/11/26 17:23:43
std::string NginxTime(int64_t wall_nanos) {
  Civil c = CivilOf(wall_nanos);
  std::string d = c.date;
  for (char& ch : d)
    if (ch == '-') ch = '/';
  return d + " " + c.time;
}

// redis' log time: 26 Nov 2024 17:23:43.123
std::string RedisTime(int64_t wall_nanos) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  Civil c = CivilOf(wall_nanos);
  int month = std::stoi(c.date.substr(5, 2));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s %s %s %s.%03d", c.date.substr(8, 2).c_str(), kMonths[(month + 11) % 12],
                c.date.substr(0, 4).c_str(), c.time.c_str(), c.millis);
  return buf;
}

// A version for the banner: the tag when it looks like one ("1.27" → "1.27"), else a
// plausible current release.
std::string VersionFromTag(const std::string& tag, const std::string& fallback) {
  if (tag.empty() || tag[0] < '0' || tag[0] > '9') return fallback;
  size_t end = tag.find_first_not_of("0123456789.");
  return tag.substr(0, end);
}

// Text after "echo" in each simple command of a shell script (`sh -c "echo hi; sleep 5"`),
// with one level of quotes removed. Good enough for the usual one-liners.
std::vector<std::string> Echoes(const std::string& script) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < script.size() && out.size() < 20) {
    size_t end = script.find_first_of(";&|\n", pos);
    std::string cmd = script.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? script.size() : end + 1;
    size_t first = cmd.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    cmd = cmd.substr(first);
    if (cmd.rfind("echo", 0) != 0 || (cmd.size() > 4 && cmd[4] != ' ')) continue;
    std::string text;
    char quote = 0;
    for (size_t i = 5; i < cmd.size(); ++i) {
      char ch = cmd[i];
      if (quote == 0 && (ch == '"' || ch == '\'')) quote = ch;
      else if (ch == quote) quote = 0;
      else text.push_back(ch);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
    out.push_back(text);
  }
  return out;
}

}  // namespace

ImageName ParseImageName(const std::string& normalized_image) {
  std::string name = normalized_image;
  ImageName out;
  auto at = name.find('@');
  if (at != std::string::npos) {
    name = name.substr(0, at);
  } else {
    auto slash = name.rfind('/');
    auto colon = name.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      out.tag = name.substr(colon + 1);
      name = name.substr(0, colon);
    }
  }
  auto slash = name.rfind('/');
  out.base = slash == std::string::npos ? name : name.substr(slash + 1);
  return out;
}

std::vector<std::string> SimulatedStartOutput(const ContainerConfig& config, const std::string& normalized_image,
                                              int64_t wall_nanos) {
  ImageName image = ParseImageName(normalized_image);
  // A command of its own replaces the image's server (busybox sh -c "echo ...", etc.).
  std::string script;
  for (const auto& part : config.command) script += part + "\n";
  for (const auto& part : config.args) script += part + "\n";
  if (!script.empty()) return Echoes(script);

  if (image.base == "nginx") {
    std::string t = NginxTime(wall_nanos);
    return {
        "/docker-entrypoint.sh: Configuration complete; ready for start up",
        t + " [notice] 1#1: using the \"epoll\" event method",
        t + " [notice] 1#1: nginx/" + VersionFromTag(image.tag, "1.27.3"),
        t + " [notice] 1#1: start worker processes",
        t + " [notice] 1#1: start worker process 29",
    };
  }
  if (image.base == "httpd") {
    return {
        "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, "
        "using 127.0.0.1. Set the 'ServerName' directive globally to suppress this message",
        "[mpm_event:notice] [pid 1:tid 1] AH00489: Apache/" + VersionFromTag(image.tag, "2.4.62") +
            " (Unix) configured -- resuming normal operations",
    };
  }
  if (image.base == "redis") {
    std::string t = RedisTime(wall_nanos);
    return {
        "1:C " + t + " * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        "1:C " + t + " * Redis version=" + VersionFromTag(image.tag, "7.4.1") + ", bits=64, pid=1, just started",
        "1:M " + t + " * Server initialized",
        "1:M " + t + " * Ready to accept connections tcp",
    };
  }
  return {};  // pause and anything unknown: quiet
}

std::vector<std::string> SimulatedStopOutput(const ContainerConfig& config, const std::string& normalized_image,
                                             int64_t wall_nanos) {
  if (!config.command.empty() || !config.args.empty()) return {};
  ImageName image = ParseImageName(normalized_image);
  if (image.base == "nginx") {
    std::string t = NginxTime(wall_nanos);
    return {
        t + " [notice] 1#1: signal 15 (SIGTERM) received, exiting",
        t + " [notice] 29#29: exiting",
        t + " [notice] 1#1: exit",
    };
  }
  if (image.base == "httpd") return {"[mpm_event:notice] [pid 1:tid 1] AH00491: caught SIGTERM, shutting down"};
  if (image.base == "redis") {
    std::string t = RedisTime(wall_nanos);
    return {
        "1:signal-handler (" + std::to_string(wall_nanos / 1'000'000'000) + ") Received SIGTERM scheduling shutdown...",
        "1:M " + t + " # Redis is now ready to exit, bye bye...",
    };
  }
  return {};
}

}  // namespace cattle::kubelet
