// Test harness for the Kubernetes HTTP face: a cluster started with `cattle up` (HTTP port and
// kubeconfig), the real kubectl run against it, background commands (kubectl get -w, logs -f)
// whose output lands in a file, and a ZeroMQ client to check the resulting API state
// independently of the HTTP face under test.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cattle/client.h"
#include "cattle/codec.h"
#include "testutil/process.h"

namespace cattle::testutil {

// Quotes `s` for /bin/sh.
inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

inline bool HaveCommand(const std::string& name) { return Run("command -v " + name + " >/dev/null") == 0; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) n++;
  return n;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

// Whitespace-separated fields of one line.
inline std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (ss >> f) out.push_back(f);
  return out;
}

// The line of a table whose first field (or second, with -A) is `name`; "" if none.
inline std::string RowOf(const std::string& table, const std::string& name, size_t column = 0) {
  for (const auto& line : Lines(table)) {
    auto f = Fields(line);
    if (f.size() > column && f[column] == name) return line;
  }
  return "";
}

// Field `index` of that line; "" when the row or the field is missing.
inline std::string Cell(const std::string& table, const std::string& name, size_t index, size_t column = 0) {
  auto f = Fields(RowOf(table, name, column));
  return index < f.size() ? f[index] : "";
}

// A shell command running in the background, in its own process group, with stdout and
// stderr appended to a file.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::string& command, std::string output_path) : path_(std::move(output_path)) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int in = open("/dev/null", O_RDONLY);
      dup2(in, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid_ > 0) setpgid(pid_, pid_);
  }
  ~BackgroundProcess() { Stop(); }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  std::string Output() const { return ReadFile(path_); }

  // True while the process has not exited (reaps it when it has).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
    return false;
  }
  // Waits up to `timeout` for the process to exit by itself; its exit code, or -2 if still running.
  int Wait(std::chrono::milliseconds timeout) {
    if (!Eventually([&] { return !Running(); }, timeout)) return -2;
    return exit_code_;
  }
  // SIGTERM to the group (SIGKILL after 2 s); returns the exit code (-1 for a signal).
  int Stop() {
    if (!Running()) return exit_code_;
    kill(-pid_, SIGTERM);
    if (!Eventually([&] { return !Running(); }, std::chrono::seconds(2))) {
      kill(-pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
      exit_code_ = -1;
    }
    return exit_code_;
  }

 private:
  std::string path_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// A cluster from `cattle up --nodes N --time-scale X --port P --http-port H --dir DIR/cluster`,
// with kubectl (KUBECONFIG=DIR/cluster/kubeconfig, HOME=DIR/home so the discovery cache is
// private) and a ZeroMQ client.
class KubeCluster {
 public:
  KubeCluster() : port_(FreePort()), http_port_(FreePort()) {
    while (http_port_ == port_) http_port_ = FreePort();
    std::filesystem::create_directories(home());
  }
  ~KubeCluster() { Down(); }

  bool Up(int nodes, double time_scale, std::string* out) {
    int rc = Cattle("up --nodes " + std::to_string(nodes) + " --time-scale " + std::to_string(time_scale) +
                        " --port " + std::to_string(port_) + " --http-port " + std::to_string(http_port_),
                    out);
    if (rc != 0) return false;
    up_ = true;
    ClientOptions o;
    o.endpoint = "tcp://127.0.0.1:" + std::to_string(port_);
    o.request_timeout = std::chrono::seconds(5);
    client_ = std::make_unique<Client>(o);
    return std::filesystem::exists(kubeconfig());
  }
  void Down() {
    client_.reset();
    if (up_) Cattle("down");
    up_ = false;
  }
  int Cattle(const std::string& args, std::string* out = nullptr) {
    return Run(BinDir() + "/cattle " + args + " --dir " + cluster_dir(), out);
  }

  const std::string& dir() const { return dir_.path(); }
  std::string cluster_dir() const { return dir_.path() + "/cluster"; }
  std::string home() const { return dir_.path() + "/home"; }
  std::string kubeconfig() const { return cluster_dir() + "/kubeconfig"; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string Write(const std::string& name, const std::string& text) const {
    WriteFile(Path(name), text);
    return Path(name);
  }
  Client& client() { return *client_; }

  // The environment prefix for kubectl and the Python client.
  std::string Env() const {
    return "cd " + ShellQuote(dir()) + " && KUBECONFIG=" + ShellQuote(kubeconfig()) + " HOME=" + ShellQuote(home()) +
           " ";
  }
  // Runs `kubectl ARGS` (args are shell text), stdout into *out, stderr into *err (or, when
  // err is null, appended to *out). Killed after `timeout_s`.
  int Kubectl(const std::string& args, std::string* out = nullptr, std::string* err = nullptr, int timeout_s = 90) {
    std::string err_path = Path("kubectl.stderr");
    std::string cmd = Env() + "timeout -k 5 " + std::to_string(timeout_s) + " kubectl " + args + " </dev/null 2>" +
                      ShellQuote(err_path);
    std::string o;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) o.append(buf, n);
    int status = pclose(p);
    std::string e = ReadFile(err_path);
    if (err) *err = e;
    else o += e;
    if (out) *out = o;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::unique_ptr<BackgroundProcess> KubectlInBackground(const std::string& args, const std::string& output_name) {
    return std::make_unique<BackgroundProcess>(Env() + "exec kubectl " + args, Path(output_name));
  }

  // API state over ZeroMQ, as JSON (null when absent).
  Json Get(const std::string& resource, const std::string& ns, const std::string& name) {
    auto r = client_->Get(client_->Kind(resource), ns, name);
    return r.ok() ? r->ToJson() : Json();
  }
  std::vector<Json> List(const std::string& resource, const std::string& ns, const std::string& labels = "") {
    ListOptions lo;
    lo.label_selector = labels;
    auto r = client_->List(client_->Kind(resource), ns, lo);
    std::vector<Json> out;
    if (r.ok())
      for (auto& o : r->items) out.push_back(o.ToJson());
    return out;
  }

 private:
  TempDir dir_;
  int port_, http_port_;
  bool up_ = false;
  std::unique_ptr<Client> client_;
};

// Pod helpers on the JSON form.
inline bool PodTerminating(Json p) { return p["metadata"].contains("deletionTimestamp"); }
inline bool PodReady(Json p) {
  if (PodTerminating(p) || p["status"].value("phase", "") != "Running") return false;
  for (const auto& c : p["status"].value("conditions", Json::array()))
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  return false;
}

}  // namespace cattle::testutil
