// Durability under SIGKILL: concurrent writers create ConfigMaps against a real
// cattle-apiserver process while it is killed with SIGKILL and restarted, again and again.
// At the end every acknowledged create must be in the store. Prints the counts
// (acknowledged, lost) and exits 1 if anything acknowledged was lost.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cattle/client.h"
#include "core.capnp.h"

namespace po = boost::program_options;
using namespace cattle;

namespace {

// The apiserver as a child process on a fixed endpoint and data directory.
class Server {
 public:
  Server(std::string binary, std::string dir, std::string endpoint)
      : binary_(std::move(binary)), dir_(std::move(dir)), endpoint_(std::move(endpoint)) {}
  ~Server() { Kill(); }

  bool Start() {
    std::vector<std::string> args = {binary_, "--data-dir", dir_ + "/data", "--zmq-endpoint", endpoint_,
                                     "--http-port", "-1", "--watch-heartbeat", "0.2"};
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
    o.endpoint = endpoint_;
    Client probe(o);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe.Health(std::chrono::milliseconds(200)).ok()) return true;
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
    }
    return false;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string binary_, dir_, endpoint_;
  pid_t pid_ = -1;
};

std::string DefaultApiserver() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (exe.parent_path() / "cattle-apiserver").string();
}

}  // namespace

int main(int argc, char** argv) {
  std::string apiserver = DefaultApiserver(), dir;
  int kills = 30, writers = 8, port = 7480;
  double up_seconds = 1.0;
  po::options_description desc(
      "durability_bench: writers create objects while the apiserver is SIGKILLed and restarted; "
      "counts acknowledged creates and those lost");
  desc.add_options()("help,h", "help")
      ("apiserver", po::value(&apiserver)->default_value(apiserver), "the cattle-apiserver binary")
      ("dir", po::value(&dir), "data directory (default: a new one under /tmp, removed at the end)")
      ("port", po::value(&port)->default_value(port), "ZeroMQ port on 127.0.0.1")
      ("kills", po::value(&kills)->default_value(kills), "SIGKILLs")
      ("writers", po::value(&writers)->default_value(writers), "concurrent writers (one connection each)")
      ("up-seconds", po::value(&up_seconds)->default_value(up_seconds), "how long the server runs between kills");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc;
      return 0;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n" << desc;
    return 2;
  }
  if (kills < 1 || writers < 1 || up_seconds <= 0 || port <= 0 || port > 65535) {
    std::cerr << "--kills and --writers must be >= 1, --up-seconds > 0, --port in 1..65535\n";
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/cattle-durability-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  Server server(apiserver, dir, endpoint);
  if (!server.Start()) {
    std::cerr << "the apiserver did not start (log: " << dir << "/apiserver.log)\n";
    return 1;
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> failed{0};
  std::mutex mu;
  std::vector<std::string> acked;  // guarded by mu
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      ClientOptions o;
      o.endpoint = endpoint;
      o.request_timeout = std::chrono::seconds(2);
      Client c(o);
      const KindInfo* cm = c.Kind("configmaps");
      for (int64_t i = 0; !stop.load(); ++i) {
        std::string name = "d-" + std::to_string(w) + "-" + std::to_string(i);
        Object obj(cm);
        obj.meta().setName(name);
        obj.meta().setNamespace("default");
        SetStringMap(obj.as<api::ConfigMap>().initData(), {{"payload", std::string(1024, 'x')}});
        auto r = c.Create(obj);
        if (r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked.push_back(name);
        } else {
          failed++;  // unacknowledged (server down): may or may not be stored
        }
      }
    });
  }
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::duration<double>(up_seconds));
    server.Kill();
    if (!server.Start()) {
      std::cerr << "the apiserver did not restart after kill " << k + 1 << " (log: " << dir << "/apiserver.log)\n";
      stop = true;
      for (auto& t : ts) t.join();
      return 1;
    }
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(up_seconds));
  stop = true;
  for (auto& t : ts) t.join();

  ClientOptions o;
  o.endpoint = endpoint;
  o.request_timeout = std::chrono::seconds(30);
  Client reader(o);
  std::set<std::string> stored;
  ListOptions lo;
  lo.limit = 1000;  // 1 KiB objects: a page stays under the client's 3 MiB message limit
  while (true) {
    auto list = reader.List(reader.Kind("configmaps"), "default", lo);
    if (!list.ok()) {
      std::cerr << "list failed: " << list.status().ToString() << "\n";
      return 1;
    }
    for (auto& item : list->items) stored.insert(item.name());
    if (list->continue_token.empty()) break;
    lo.continue_token = list->continue_token;
  }
  int64_t lost = 0;
  for (const auto& name : acked)
    if (!stored.count(name)) lost++;
  std::cout << "durability  kills=" << kills << "  writers=" << writers << "  acknowledged=" << acked.size()
            << "  lost=" << lost << "  unacknowledged=" << failed.load() << "  stored=" << stored.size() << "\n";
  server.Kill();
  if (own_dir) std::filesystem::remove_all(dir);
  return lost == 0 ? 0 : 1;
}
