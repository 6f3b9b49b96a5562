// Test harness: real cattle processes in a temporary directory, on free loopback ports.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cattle/client.h"
#include "testutil/temp_dir.h"

namespace cattle::testutil {

inline std::string BinDir() { return CATTLE_BIN_DIR; }

// Whether `port` on 127.0.0.1 can be bound now.
inline bool PortBindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A port P such that P and P + 1 are free now (a cluster's apiserver takes P for ZeroMQ and
// P + 1 for HTTP). Ports come from 20000–31999, below the kernel's ephemeral range, so no
// port the kernel hands out meanwhile can take them; each test process starts at its own
// place in that range (by pid) and never returns the same port twice, so tests running at
// once (ctest -j) do not pick the same ones between the check and the bind.
inline int FreePort() {
  constexpr int kFirst = 20000, kPairs = 6000;
  static std::atomic<int> next{static_cast<int>((static_cast<unsigned>(getpid()) * 97u) % kPairs)};
  for (int tries = 0; tries < kPairs; ++tries) {
    int port = kFirst + 2 * (next.fetch_add(1) % kPairs);
    if (PortBindable(port) && PortBindable(port + 1)) return port;
  }
  return 0;
}

// Polls `cond` every 10 ms until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// Runs a command, returning its exit code and combined output.
inline int Run(const std::string& cmd, std::string* output = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One cattle-apiserver process.
class ApiServer {
 public:
  explicit ApiServer(std::string dir, std::vector<std::string> extra = {})
      : dir_(std::move(dir)), port_(FreePort()), extra_(std::move(extra)) {}
  ~ApiServer() { Kill(); }

  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }

  // Starts the process and waits until it answers health checks.
  bool Start() {
    std::vector<std::string> args = {BinDir() + "/cattle-apiserver", "--data-dir", dir_ + "/data",
                                     "--zmq-endpoint", endpoint(), "--watch-heartbeat", "0.2"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open((dir_ + "/apiserver.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    ClientOptions o;
    o.endpoint = endpoint();
    Client probe(o);
    return Eventually([&] { return probe.Health(std::chrono::milliseconds(200)).ok(); });
  }

  void Kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // SIGTERM; returns the exit code (or -1 when killed by a signal).
  int Terminate() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string dir_;
  int port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace cattle::testutil
