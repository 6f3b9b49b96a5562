// Issue 8, HTTP connection exhaustion: a real cattle-apiserver with 2,000 sockets held open by
// clients that send part of a request line and then nothing. While they are open, the real
// kubectl and curl keep working; the server closes each stalled socket at its header deadline
// (--http-header-timeout 1).
//
// The stalled sockets come from 127.0.0.2..127.0.0.5 (500 each, under the per-client cap of
// 1,000); kubectl and curl come from 127.0.0.1. A pump thread replaces every socket the server
// closes, so 2,000 stay open for the whole test, as a persistent attacker would keep them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "testutil/kube.h"

namespace cattle {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using testutil::Eventually;
using testutil::ShellQuote;

constexpr int kStalled = 2000;
constexpr int kSources = 4;  // 127.0.0.2 .. 127.0.0.5
constexpr double kHeaderTimeoutS = 1;

int ConnectFrom(int port, const std::string& source) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Holds kStalled sockets open, each having sent a partial request line; replaces each one the
// server closes and records how long it had lived and whether it got bytes (a refusal) first.
class StallPump {
 public:
  explicit StallPump(int port) : port_(port) {
    for (int i = 0; i < kStalled; ++i) slots_.push_back(Open(i));
  }
  ~StallPump() {
    Stop();
    for (auto& s : slots_)
      if (s.fd >= 0) ::close(s.fd);
  }
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  // Stops replacing sockets; the open ones stay open.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int open() const { return open_.load(); }
  int64_t closed() const { return closed_.load(); }
  int64_t refused() const { return refused_.load(); }
  int64_t connect_failures() const { return connect_failures_.load(); }
  double min_life_s() const {
    std::lock_guard<std::mutex> lock(mu_);
    return min_life_s_;
  }
  double max_life_s() const {
    std::lock_guard<std::mutex> lock(mu_);
    return max_life_s_;
  }
  // Waits until the server has closed every open socket (nothing replaced any more).
  bool AllClosedWithin(std::chrono::milliseconds timeout) {
    auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      Sweep(/*replace=*/false);
      if (open_ == 0) return true;
    }
    return open_ == 0;
  }

 private:
  struct Slot {
    int fd = -1;
    SteadyClock::time_point opened;
    bool got_bytes = false;
  };

  Slot Open(int i) {
    Slot s;
    s.fd = ConnectFrom(port_, "127.0.0." + std::to_string(2 + i % kSources));
    s.opened = SteadyClock::now();
    if (s.fd < 0) {
      connect_failures_++;
      return s;
    }
    static const std::string kPartial = "GET /api/v1/namespaces/default/pods?limit=50";
    ::send(s.fd, kPartial.data(), kPartial.size(), MSG_NOSIGNAL);
    open_++;
    return s;
  }

  void Run() {
    while (!stop_) Sweep(/*replace=*/true);
  }

  // One poll over all sockets (50 ms at most); each closed one is counted and, with
  // `replace`, opened anew.
  void Sweep(bool replace) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].fd < 0) continue;
      fds.push_back({slots_[i].fd, POLLIN | POLLRDHUP, 0});
      index.push_back(i);
    }
    if (fds.empty()) {
      std::this_thread::sleep_for(10ms);
      return;
    }
    if (::poll(fds.data(), fds.size(), 50) <= 0) return;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Slot& s = slots_[index[k]];
      char buf[4096];
      ssize_t n = ::recv(s.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        s.got_bytes = true;
        continue;
      }
      if (n < 0 && errno != ECONNRESET) continue;
      double life = std::chrono::duration<double>(SteadyClock::now() - s.opened).count();
      ::close(s.fd);
      s.fd = -1;
      open_--;
      closed_++;
      if (s.got_bytes) refused_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        min_life_s_ = std::min(min_life_s_, life);
        max_life_s_ = std::max(max_life_s_, life);
      }
      if (replace && !stop_) s = Open(static_cast<int>(index[k]));
    }
  }

  int port_;
  std::vector<Slot> slots_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> open_{0};
  std::atomic<int64_t> closed_{0}, refused_{0}, connect_failures_{0};
  mutable std::mutex mu_;
  double min_life_s_ = 1e9, max_life_s_ = 0;
};

class HttpLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // This process holds 2,000+ sockets too.
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < kStalled + 500) GTEST_SKIP() << "the open-file limit (" << rl.rlim_cur << ") is too low";
    http_port_ = testutil::FreePort();
    server_ = std::make_unique<testutil::ApiServer>(
        dir_.path(), std::vector<std::string>{"--http-port", std::to_string(http_port_), "--http-header-timeout",
                                              std::to_string(kHeaderTimeoutS)});
    ASSERT_TRUE(server_->Start()) << testutil::ReadFile(dir_.path() + "/apiserver.log");
    ASSERT_TRUE(Eventually([&] { return Curl("-o /dev/null " + Url("/healthz")) == 0; }))
        << testutil::ReadFile(dir_.path() + "/apiserver.log");
    std::filesystem::create_directories(dir_.path() + "/home");
    testutil::WriteFile(dir_.path() + "/kubeconfig",
                        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + Url("") +
                            "\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\n"
                            "current-context: c\nusers:\n- name: u\n  user: {}\n");
  }

  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(http_port_) + path; }
  int Curl(const std::string& args, std::string* out = nullptr) {
    return testutil::Run("curl -sS --fail --max-time 20 " + args, out);
  }
  int Kubectl(const std::string& args, std::string* out = nullptr) {
    return testutil::Run("cd " + ShellQuote(dir_.path()) + " && KUBECONFIG=kubeconfig HOME=" +
                             ShellQuote(dir_.path() + "/home") + " timeout -k 5 30 kubectl " + args + " </dev/null",
                         out);
  }

  testutil::TempDir dir_;
  int http_port_ = 0;
  std::unique_ptr<testutil::ApiServer> server_;
};

TEST_F(HttpLimitsTest, KubectlAndCurlKeepWorkingWhile2000StalledSocketsAreOpen) {
  if (!testutil::HaveCommand("kubectl") || !testutil::HaveCommand("curl")) GTEST_SKIP() << "needs kubectl and curl";
  StallPump pump(http_port_);
  ASSERT_EQ(pump.connect_failures(), 0);
  ASSERT_EQ(pump.open(), kStalled);
  pump.Start();

  // Every client request below must succeed, each well within a deadline, while ~2,000
  // stalled sockets are open.
  int min_open = kStalled;
  double worst_s = 0, total_s = 0;
  int runs = 0;
  auto timed = [&](const std::string& what, const std::function<int(std::string*)>& run) {
    min_open = std::min(min_open, pump.open());
    auto start = SteadyClock::now();
    std::string out;
    int rc = run(&out);
    double took = std::chrono::duration<double>(SteadyClock::now() - start).count();
    min_open = std::min(min_open, pump.open());
    worst_s = std::max(worst_s, took);
    total_s += took;
    runs++;
    EXPECT_EQ(rc, 0) << what << ":\n" << out;
    EXPECT_LT(took, 10.0) << what;
    return out;
  };
  for (int round = 0; round < 3; ++round) {
    std::string name = "stall-" + std::to_string(round);
    std::string ns = timed("kubectl get namespaces", [&](std::string* o) { return Kubectl("get namespaces", o); });
    EXPECT_NE(ns.find("default"), std::string::npos) << ns;
    timed("kubectl create configmap",
          [&](std::string* o) { return Kubectl("create configmap " + name + " --from-literal=k=v", o); });
    std::string got = timed("curl GET configmap", [&](std::string* o) {
      return Curl(Url("/api/v1/namespaces/default/configmaps/" + name), o);
    });
    EXPECT_NE(got.find("\"name\":\"" + name + "\""), std::string::npos) << got;
    timed("curl POST configmap", [&](std::string* o) {
      return Curl("-X POST -H 'Content-Type: application/json' -d " +
                      ShellQuote(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
                                 R"(-curl"},"data":{"a":"b"}})") +
                      " " + Url("/api/v1/namespaces/default/configmaps"),
                  o);
    });
  }
  timed("kubectl get configmaps", [&](std::string* o) { return Kubectl("get configmaps -o name", o); });

  pump.Stop();
  int min_open_seen = min_open;
  EXPECT_GE(min_open_seen, kStalled * 9 / 10);
  EXPECT_EQ(pump.refused(), 0);
  EXPECT_EQ(pump.connect_failures(), 0);
  // Every stalled socket still open is closed by the server at its header deadline (1 s):
  // not before it, not much after it.
  EXPECT_TRUE(pump.AllClosedWithin(std::chrono::milliseconds(static_cast<int>(kHeaderTimeoutS * 1000) + 5000)))
      << pump.open() << " stalled sockets still open";
  EXPECT_GE(pump.closed(), kStalled);
  EXPECT_GE(pump.min_life_s(), kHeaderTimeoutS * 0.9);
  EXPECT_LT(pump.max_life_s(), kHeaderTimeoutS + 5);
  std::cout << "[ figures  ] stalled sockets open during the client requests: at least " << min_open_seen << " of "
            << kStalled << "; " << runs << " kubectl/curl runs, mean " << total_s / runs << " s, worst " << worst_s
            << " s; server closed " << pump.closed() << " stalled sockets (lifetimes " << pump.min_life_s() << ".."
            << pump.max_life_s() << " s), refused " << pump.refused() << "\n";
}

}  // namespace
}  // namespace cattle
