#include "cli/cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cattle/client.h"
#include "core.capnp.h"

namespace cattle::cli {
namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string BinDir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

namespace {
// The state letter in a /proc/.../stat file ('R', 'S', 'Z', ...); 0 if unreadable.
char StatState(const std::string& path) {
  std::ifstream stat(path);
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : 0;
}
}  // namespace

bool ProcessAlive(int pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  // A zombie (exited, not yet reaped) is not alive. But a thread group's leader is a zombie
  // as soon as its own thread has exited, while the other threads may still be tearing
  // down and holding the process's files (RocksDB's LOCK): alive while any thread is.
  const std::string proc = "/proc/" + std::to_string(pid);
  std::error_code ec;
  bool any_task = false;
  for (fs::directory_iterator it(proc + "/task", ec), end; !ec && it != end; it.increment(ec)) {
    const char st = StatState(it->path().string() + "/stat");
    if (st == 0) continue;  // gone meanwhile
    any_task = true;
    if (st != 'Z' && st != 'X' && st != 'x') return true;
  }
  if (any_task) return false;
  const char st = StatState(proc + "/stat");  // no task list readable: the process itself
  return st != 0 && st != 'Z' && st != 'X' && st != 'x';
}

bool WaitExited(int pid, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ProcessAlive(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

Cluster::Cluster(std::string dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  dir_ = fs::absolute(dir).lexically_normal().string();
  if (!dir_.empty() && dir_.back() == '/') dir_.pop_back();
  config_.dir = dir_;
}

std::string Cluster::PidPath(const std::string& name) const {
  std::string n = name;
  for (char& c : n)
    if (c == '/') c = '_';
  return dir_ + "/pids/" + n + ".pid";
}

std::string Cluster::LogPath(const std::string& name) const {
  std::string n = name;
  for (char& c : n)
    if (c == '/') c = '_';
  return dir_ + "/logs/" + n + ".log";
}

Status Cluster::Load() {
  std::ifstream in(dir_ + "/cluster.json");
  if (!in) return Status::NotFound("no cluster in " + dir_ + " (run `cattle up` first)");
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::BadRequest(dir_ + "/cluster.json is corrupt");
  config_.apiserver_endpoint = j.value("apiserver", "");
  config_.http_server = j.value("http", "");
  config_.time_scale = j.value("timeScale", 1.0);
  config_.nodes = j.value("nodes", 0);
  config_.components.clear();
  for (const auto& c : j.value("components", Json::array())) {
    Component comp;
    comp.name = c.value("name", "");
    comp.argv = c.value("argv", std::vector<std::string>{});
    comp.health = c.value("health", "");
    config_.components.push_back(std::move(comp));
  }
  return Status::Ok();
}

Status Cluster::Save() const {
  Json j;
  j["dir"] = dir_;
  j["apiserver"] = config_.apiserver_endpoint;
  if (!config_.http_server.empty()) j["http"] = config_.http_server;
  j["timeScale"] = config_.time_scale;
  j["nodes"] = config_.nodes;
  j["components"] = Json::array();
  for (const auto& c : config_.components)
    j["components"].push_back({{"name", c.name}, {"argv", c.argv}, {"health", c.health}});
  std::string tmp = dir_ + "/cluster.json.tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) return Status::Internal("cannot write " + tmp);
  }
  fs::rename(tmp, dir_ + "/cluster.json");
  return Status::Ok();
}

Status Cluster::WriteKubeconfig() const {
  if (config_.http_server.empty()) return Status::Ok();
  std::string tmp = KubeconfigPath() + ".tmp";
  {
    std::ofstream out(tmp);
    out << "apiVersion: v1\n"
           "kind: Config\n"
           "clusters:\n"
           "- name: cattle\n"
           "  cluster:\n"
           "    server: " << config_.http_server << "\n"
           "contexts:\n"
           "- name: cattle\n"
           "  context:\n"
           "    cluster: cattle\n"
           "    user: cattle\n"
           "    namespace: default\n"
           "current-context: cattle\n"
           "preferences: {}\n"
           "users:\n"
           "- name: cattle\n"
           "  user: {}\n";
    if (!out) return Status::Internal("cannot write " + tmp);
  }
  fs::rename(tmp, KubeconfigPath());
  return Status::Ok();
}

const Component* Cluster::Find(const std::string& name) const {
  for (const auto& c : config_.components)
    if (c.name == name) return &c;
  return nullptr;
}

int Cluster::Pid(const std::string& name) const {
  std::ifstream in(PidPath(name));
  int pid = 0;
  in >> pid;
  return pid;
}

bool Cluster::Alive(const std::string& name) const {
  int pid = Pid(name);
  if (!ProcessAlive(pid)) return false;
  // Guard against a recycled pid: the process must be the component's binary.
  const Component* c = Find(name);
  if (c == nullptr || c->argv.empty()) return true;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string argv0;
  std::getline(cmd, argv0, '\0');
  return fs::path(argv0).filename() == fs::path(c->argv[0]).filename();
}

namespace {
std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += "  " + all[i] + "\n";
  return out;
}
}  // namespace

Status Cluster::Start(const Component& c, Duration timeout) {
  std::error_code ec;
  fs::create_directories(dir_ + "/pids", ec);
  fs::create_directories(dir_ + "/logs", ec);
  int pid_now = Alive(c.name) ? Pid(c.name) : 0;
  if (pid_now == 0) {
    if (access(c.argv[0].c_str(), X_OK) != 0) return Status::NotFound("no executable " + c.argv[0]);
    std::string log = LogPath(c.name);
    pid_t pid = fork();
    if (pid < 0) return Status::Internal("fork failed");
    if (pid == 0) {
      setsid();  // its own session: a terminal's Ctrl-C does not reach it
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      int null = open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (null >= 0) dup2(null, 0);
      if (chdir(dir_.c_str()) != 0) _exit(126);
      std::vector<char*> argv;
      for (const auto& a : c.argv) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      dprintf(2, "cannot exec %s: %s\n", argv[0], strerror(errno));
      _exit(127);
    }
    std::ofstream(PidPath(c.name)) << pid << "\n";
    pid_now = pid;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_ptr<Client> client;
  if (c.health == "apiserver" || c.health.rfind("node:", 0) == 0) {
    ClientOptions o;
    o.endpoint = config_.apiserver_endpoint;
    client = std::make_unique<Client>(o);
  }
  while (true) {
    // The pid we started (its cmdline is not yet the component's right after fork).
    if (!ProcessAlive(pid_now))
      return Status::Unavailable(c.name + " exited; the end of " + LogPath(c.name) + ":\n" + Tail(LogPath(c.name), 10));
    if (!client) return Status::Ok();
    if (c.health == "apiserver") {
      if (client->Health(std::chrono::milliseconds(200)).ok()) return Status::Ok();
    } else if (NodeReady(*client, c.health.substr(5)) == "True") {
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Timeout(c.name + " did not become healthy in time; see " + LogPath(c.name));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string NodeReady(Client& client, const std::string& node) {
  auto obj = client.Get(client.Kind("nodes"), "", node);
  if (!obj.ok()) return obj.status().Is(Reason::kNotFound) ? "NotRegistered" : "?";
  auto n = obj->get<api::Node>();
  for (auto c : n.getStatus().getConditions())
    if (c.getType() == "Ready") return c.getStatus().cStr();
  return "Unknown";
}

Status Cluster::Kill(const std::string& name, Duration timeout) {
  int pid = Pid(name);
  if (!Alive(name)) return Status::NotFound(name + " is not running");
  kill(pid, SIGKILL);
  if (!WaitExited(pid, timeout)) {
    return Status::Timeout(name + " (pid " + std::to_string(pid) + ") was sent SIGKILL but has not exited after " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s");
  }
  return Status::Ok();
}

Status Cluster::Stop(const std::string& name, Duration grace, Duration kill_timeout) {
  int pid = Pid(name);
  std::error_code ec;
  if (!Alive(name)) {
    fs::remove(PidPath(name), ec);
    return Status::Ok();
  }
  kill(pid, SIGTERM);
  if (!WaitExited(pid, grace)) {
    kill(pid, SIGKILL);
    if (!WaitExited(pid, kill_timeout)) {
      return Status::Timeout(name + " (pid " + std::to_string(pid) +
                             ") did not exit on SIGTERM nor, after the grace period, on SIGKILL");
    }
  }
  fs::remove(PidPath(name), ec);
  return Status::Ok();
}

}  // namespace cattle::cli
