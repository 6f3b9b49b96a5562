#include "kubelet-sim/sim_runtime.h"

#include <chrono>
#include <random>

#include "kubelet-sim/annotations.h"
#include "kubelet-sim/sim_output.h"

namespace cattle::kubelet {
namespace {

uint64_t Fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string Hex64(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 15];
  return s;
}

}  // namespace

std::string NormalizeImage(const std::string& image) {
  std::string name = image, suffix;
  auto at = name.find('@');
  if (at != std::string::npos) {
    suffix = name.substr(at);
    name = name.substr(0, at);
  } else {
    auto slash = name.rfind('/');
    auto colon = name.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      suffix = name.substr(colon);
      name = name.substr(0, colon);
    } else {
      suffix = ":latest";
    }
  }
  auto first_slash = name.find('/');
  std::string first = first_slash == std::string::npos ? "" : name.substr(0, first_slash);
  bool has_domain = !first.empty() && (first.find('.') != std::string::npos ||
                                       first.find(':') != std::string::npos || first == "localhost");
  if (!has_domain) name = (first_slash == std::string::npos ? "docker.io/library/" : "docker.io/") + name;
  return name + suffix;
}

std::string FakeImageId(const std::string& normalized_image) {
  std::string repo = normalized_image;
  auto at = repo.find('@');
  if (at != std::string::npos) return normalized_image;  // already by digest
  auto slash = repo.rfind('/');
  auto colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) repo = repo.substr(0, colon);
  std::string digest;
  for (uint64_t seed = 0; seed < 4; ++seed) digest += Hex64(Fnv1a(normalized_image, seed * 0x51ED27ULL));
  return repo + "@sha256:" + digest;
}

SimulatedRuntime::SimulatedRuntime(Clock* clock, ContainerLogLimits log_limits)
    : clock_(clock), log_limits_(log_limits) {
  std::random_device rd;
  rng_state_ = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(clock->WallNanos());
}

std::string SimulatedRuntime::NewId() {
  std::string id = "cattle://";
  for (int i = 0; i < 4; ++i) id += Hex64(SplitMix(&rng_state_));
  return id;
}

Result<PulledImage> SimulatedRuntime::PullImage(const std::string& image, bool fail, Duration duration) {
  std::string ref = NormalizeImage(image);
  if (fail) {
    return Status::NotFound("rpc error: code = NotFound desc = failed to pull and unpack image \"" + ref +
                            "\": failed to resolve reference \"" + ref + "\": " + ref +
                            ": not found");
  }
  std::lock_guard<std::mutex> lock(mu_);
  PulledImage p;
  p.image_ref = ref;
  p.image_id = FakeImageId(ref);
  p.size_bytes = 10'000'000 + static_cast<int64_t>(Fnv1a(ref, 7) % 90'000'000);
  p.ready_at = clock_->Now() + (duration > Duration::zero() ? duration : Duration::zero());
  images_[ref] = p;
  return p;
}

std::optional<PulledImage> SimulatedRuntime::ImageStatus(const std::string& image) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = images_.find(NormalizeImage(image));
  if (it == images_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> SimulatedRuntime::CreateContainer(const ContainerConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = NewId();
  Container c;
  c.config = config;
  c.info.id = id;
  c.info.state = ContainerState::kCreated;
  c.info.created_at = clock_->WallNanos();
  c.log = std::make_shared<ContainerLog>(log_limits_);
  containers_.emplace(id, std::move(c));
  return id;
}

Status SimulatedRuntime::StartContainer(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Status::NotFound("container " + id + " not found");
  Container& c = it->second;
  if (c.info.state != ContainerState::kCreated) return Status::Conflict("container " + id + " already started");
  c.info.state = ContainerState::kRunning;
  c.info.started_at = clock_->WallNanos();
  c.started_mono = clock_->Now();
  if (c.config.exit_after) {
    c.exit_at = c.started_mono + *c.config.exit_after;
    c.exit_code_at_exit = c.config.exit_code;
  }
  c.info.next_change = c.exit_at;
  std::string image = NormalizeImage(c.config.image);
  c.log->Append(c.info.started_at, "container " + c.config.name + " started (simulated, image " + image + ")");
  for (const auto& line : SimulatedStartOutput(c.config, image, c.info.started_at))
    c.log->Append(c.info.started_at, line);
  Settle(c);
  return Status::Ok();
}

void SimulatedRuntime::Settle(Container& c) const {
  if (c.info.state != ContainerState::kRunning || c.exit_at == kNoDeadline) return;
  if (clock_->Now() < c.exit_at) return;
  c.info.state = ContainerState::kExited;
  c.info.exit_code = c.exit_code_at_exit;
  c.info.reason = c.exit_code_at_exit == 0 ? "Completed" : "Error";
  c.info.finished_at = c.info.started_at + (c.exit_at - c.started_mono).count();
  c.info.next_change = kNoDeadline;
  c.log->Append(c.info.finished_at,
                c.info.stopping && c.exit_code_at_exit == 137
                    ? "container " + c.config.name + " killed: grace period over (SIGKILL, exit code 137)"
                    : "container " + c.config.name + " exiting with code " + std::to_string(c.exit_code_at_exit));
  c.log->Close();
}

Status SimulatedRuntime::StopContainer(const std::string& id, Duration grace) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return Status::NotFound("container " + id + " not found");
  Container& c = it->second;
  Settle(c);
  if (c.info.state == ContainerState::kExited) return Status::Ok();
  TimePoint now = clock_->Now();
  if (c.info.state == ContainerState::kCreated) {  // never started: gone at once
    c.info.state = ContainerState::kExited;
    c.info.exit_code = 0;
    c.info.reason = "Completed";
    c.info.finished_at = clock_->WallNanos();
    c.log->Close();
    return Status::Ok();
  }
  if (c.info.stopping) return Status::Ok();
  c.info.stopping = true;
  int64_t wall = clock_->WallNanos();
  c.log->Append(wall, "container " + c.config.name + ": SIGTERM received (grace period " +
                          FormatGoDuration(grace > Duration::zero() ? grace : Duration::zero()) + ")");
  for (const auto& line : SimulatedStopOutput(c.config, NormalizeImage(c.config.image), wall)) c.log->Append(wall, line);
  Duration delay = c.config.stop_delay ? *c.config.stop_delay : Duration::zero();
  TimePoint stop_at;
  int code;
  if (delay > grace) {
    stop_at = now + (grace > Duration::zero() ? grace : Duration::zero());
    code = 137;
  } else {
    stop_at = now + delay;
    code = 0;
  }
  if (stop_at < c.exit_at) {
    c.exit_at = stop_at;
    c.exit_code_at_exit = code;
  }
  c.info.next_change = c.exit_at;
  Settle(c);
  return Status::Ok();
}

void SimulatedRuntime::RemoveContainer(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  it->second.log->Close();  // a follower still holding it is done
  containers_.erase(it);
}

std::optional<ContainerInfo> SimulatedRuntime::Inspect(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  Settle(it->second);
  return it->second.info;
}

Status SimulatedRuntime::AdoptContainer(const ContainerConfig& config, const std::string& id,
                                        int64_t started_at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (containers_.count(id)) return Status::Ok();  // already known: adopting twice is harmless
  Container c;
  c.config = config;
  c.info.id = id;
  c.info.state = ContainerState::kRunning;
  c.info.created_at = started_at;
  c.info.started_at = started_at;
  int64_t age = clock_->WallNanos() - started_at;
  c.started_mono = clock_->Now() - Duration(age > 0 ? age : 0);
  if (config.exit_after) {
    c.exit_at = c.started_mono + *config.exit_after;
    c.exit_code_at_exit = config.exit_code;
  }
  c.info.next_change = c.exit_at;
  c.log = std::make_shared<ContainerLog>(log_limits_);
  c.log->Append(clock_->WallNanos(), "container " + config.name + " adopted after a kubelet restart (simulated, image " +
                                         NormalizeImage(config.image) + "; its earlier output was lost)");
  Settle(c);
  containers_.emplace(id, std::move(c));
  return Status::Ok();
}

std::shared_ptr<ContainerLog> SimulatedRuntime::Log(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return nullptr;
  Settle(it->second);
  return it->second.log;
}

void SimulatedRuntime::AppendLog(const std::string& id, const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  Settle(it->second);
  if (it->second.info.state != ContainerState::kRunning) return;
  it->second.log->Append(clock_->WallNanos(), line);
}

size_t SimulatedRuntime::ContainerCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return containers_.size();
}

}  // namespace cattle::kubelet
