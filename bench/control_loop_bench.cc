// Benchmarks of the control loop (issue 3), each against real processes started with the
// `cattle` CLI in a temporary directory on free loopback ports:
//
//   failover    SIGKILL of a kubelet -> node Ready=Unknown -> first eviction -> every
//               replacement Running; the overhead beyond the scaled grace + toleration.
//   throughput  1000 hollow nodes (one cattle-kubelet --nodes 1000), 10,000 pending pods:
//               scheduler start -> every pod has spec.nodeName (seen by a watch);
//               --concurrent creates them while the scheduler runs instead.
//   scheduler   the same with the scheduler and the apiserver's registry in this process
//               and Node objects instead of kubelets (Kubernetes' scheduler_perf shape).
//   startup     pod startup latency, create -> phase Running seen by a watch, while pods are
//               created and deleted at a steady rate (churn).
//   up          `cattle up --nodes 3` until every node is Ready (the command's wall time).
//   rss         RSS of one kubelet process running 30 pods.
//
// Every time is taken on this process's steady clock when the watch event arrives, so the
// figures include the watch's delivery, as a user would see them. bench/control_loop.sh
// builds and runs them all.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/informer_factory.h"
#include "cattle/log.h"
#include "coordination.capnp.h"
#include "core.capnp.h"
#include "scheduler/framework.h"
#include "scheduler/least_allocated.h"
#include "scheduler/node_affinity.h"
#include "scheduler/node_ready.h"
#include "scheduler/node_resources_fit.h"
#include "scheduler/node_unschedulable.h"
#include "scheduler/scheduler.h"
#include "scheduler/selector_spread.h"
#include "scheduler/taint_toleration.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace cattle;

namespace {

using SteadyClock = std::chrono::steady_clock;
using Tp = SteadyClock::time_point;

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Secs(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// The nearest-rank percentile (p in 0..1) of `v`; 0 when empty.
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * v.size()));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string Fmt(double v, int precision = 1) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", precision, v);
  return buf;
}

std::string Summary(const std::vector<double>& v, const std::string& unit, int precision = 1) {
  return "p50=" + Fmt(Percentile(v, 0.5), precision) + unit + " p90=" + Fmt(Percentile(v, 0.9), precision) + unit +
         " p99=" + Fmt(Percentile(v, 0.99), precision) + unit + " max=" + Fmt(Percentile(v, 1.0), precision) + unit +
         " (n=" + std::to_string(v.size()) + ")";
}

std::string BinDir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// A free loopback port whose successor is free too (`cattle up` may put its HTTP port there).
int FreePortPair() {
  for (int i = 0; i < 100; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    close(fd);
    if (port < 65535 && PortFree(port + 1)) return port;
  }
  return 0;
}

// Runs a shell command; its exit code, and its combined output in *out.
int Run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A benchmark that cannot go on; main reports it after the destructors stopped the cluster.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void Die(const std::string& msg) { throw BenchError(msg); }

// A cluster started by `cattle up` in a fresh directory; `cattle down` and removal on exit.
class BenchCluster {
 public:
  BenchCluster(int nodes, double time_scale, bool keep = false) : keep_(keep) {
    char tmpl[] = "/tmp/cattle-bench-XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreePortPair();
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(port_);
    std::string out;
    auto t0 = SteadyClock::now();
    int rc = Cattle("up --nodes " + std::to_string(nodes) + " --time-scale " + Fmt(time_scale, 3) + " --port " +
                        std::to_string(port_),
                    &out);
    up_seconds_ = Secs(SteadyClock::now() - t0);
    if (rc != 0) Die("cattle up failed:\n" + out);
    ClientOptions o;
    o.endpoint = endpoint_;
    client_ = std::make_unique<Client>(o);
  }
  ~BenchCluster() {
    client_.reset();
    Cattle("down");
    std::error_code ec;
    if (!keep_) fs::remove_all(dir_, ec);
  }

  int Cattle(const std::string& args, std::string* out = nullptr) const {
    return Run(BinDir() + "/cattle " + args + " --dir " + dir_, out);
  }
  int Pid(const std::string& component) const {
    std::string n = component;
    std::replace(n.begin(), n.end(), '/', '_');
    std::ifstream in(dir_ + "/pids/" + n + ".pid");
    int pid = 0;
    in >> pid;
    return pid;
  }
  const std::string& dir() const { return dir_; }
  const std::string& endpoint() const { return endpoint_; }
  Client& client() { return *client_; }
  double up_seconds() const { return up_seconds_; }

 private:
  bool keep_;
  std::string dir_, endpoint_;
  int port_ = 0;
  double up_seconds_ = 0;
  std::unique_ptr<Client> client_;
};

// CPU seconds (user + system) the process has used so far; 0 when it is gone.
double CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = atoll(field.c_str());
    if (i == 15) stime = atoll(field.c_str());
  }
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

// The machine's CPU time by state since boot (/proc/stat, in clock ticks).
struct MachineCpu {
  int64_t busy = 0, idle = 0, iowait = 0, steal = 0;
  static MachineCpu Read() {
    std::ifstream in("/proc/stat");
    std::string cpu;
    int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    return MachineCpu{user + nice + system + irq + softirq, idle, iowait, steal};
  }
  // "busy 71%, idle 9%, iowait 3%, stolen 17%" between `before` and now.
  static std::string Since(const MachineCpu& before) {
    MachineCpu now = Read();
    double busy = now.busy - before.busy, idle = now.idle - before.idle, io = now.iowait - before.iowait,
           steal = now.steal - before.steal, all = busy + idle + io + steal;
    if (all <= 0) return "unknown";
    return "busy " + Fmt(100 * busy / all, 0) + "%, idle " + Fmt(100 * idle / all, 0) + "%, iowait " +
           Fmt(100 * io / all, 0) + "%, stolen by the hypervisor " + Fmt(100 * steal / all, 0) + "%";
  }
};

Object MustParse(Client& c, const std::string& json) {
  auto obj = Object::FromJson(c.kinds(), Json::parse(json));
  if (!obj.ok()) Die("bad manifest: " + obj.status().ToString());
  return std::move(*obj);
}

// --- watch-fed state ------------------------------------------------------------------

// What the watches have shown so far; every change notifies `cv`.
struct PodState {
  std::string uid, node;
  bool running = false;  // phase Running
  bool ready = false;    // condition Ready=True
  bool deleting = false;
  Tp seen{}, bound{}, running_at{}, deleting_at{};
};

struct NodeState {
  std::string ready = "";        // the Ready condition's status
  std::string heartbeat;         // its lastHeartbeatTime
  bool unreachable_taint = false;
  Tp heartbeat_changed{}, ready_changed{}, tainted_at{};
  // The unreachable taint's timeAdded (whole seconds, as Kubernetes writes it), on this
  // process's steady clock.
  Tp taint_added{};
  std::string lease_renew;       // the Lease's renewTime
  Tp lease_changed{};
};

class ClusterWatch {
 public:
  // Watches pods in `ns` matching `pod_selector`, and (with `nodes`) every node and node
  // Lease, through informers (which relist should a watch fall too far behind).
  ClusterWatch(Client& client, const std::string& ns, const std::string& pod_selector, bool nodes = true) {
    auto add = [&](const char* resource, const std::string& ns, const std::string& labels,
                   std::function<void(bool, const Object&)> fn) {
      auto inf = std::make_unique<Informer>(
          std::make_unique<ClientListerWatcher>(&client, client.Kind(resource), ns, labels), RealClock::Get());
      inf->AddHandlers(EventHandlers{[fn](const ObjectPtr& o) { fn(false, *o); },
                                     [fn](const ObjectPtr&, const ObjectPtr& o) { fn(false, *o); },
                                     [fn](const ObjectPtr& o) { fn(true, *o); }});
      inf->Start();
      informers_.push_back(std::move(inf));
    };
    add("pods", ns, pod_selector, [this](bool deleted, const Object& o) { OnPod(deleted, o); });
    if (nodes) {
      add("nodes", "", "", [this](bool deleted, const Object& o) { OnNode(deleted, o); });
      add("leases", "kube-node-lease", "", [this](bool deleted, const Object& o) { OnLease(deleted, o); });
    }
    for (auto& inf : informers_)
      if (!inf->WaitForSync(std::chrono::seconds(30))) Die("an informer did not sync");
  }
  ~ClusterWatch() {
    for (auto& inf : informers_) inf->Stop();
  }

  // Waits until `pred` (called under the lock) holds; false after `timeout`.
  bool WaitFor(Duration timeout, const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, PodState> pods;    // GUARDED_BY(mu), by name
  std::map<std::string, NodeState> nodes;  // GUARDED_BY(mu), by name
  int bound_pods = 0;                      // GUARDED_BY(mu): pods with spec.nodeName
  int running_pods = 0;                    // GUARDED_BY(mu): pods in phase Running

 private:
  void OnPod(bool deleted, const Object& obj) {
    Tp now = SteadyClock::now();
    std::string name = obj.name();
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = pods.find(name);
      if (it != pods.end() && !it->second.node.empty()) bound_pods--;
      if (it != pods.end() && it->second.running) running_pods--;
      if (deleted) {
        pods.erase(name);
      } else {
        auto p = obj.get<api::Pod>();
        PodState& s = pods[name];
        if (s.uid != obj.uid()) s = PodState{obj.uid(), "", false, false, false, now};
        s.node = p.getSpec().getNodeName().cStr();
        if (!s.node.empty()) bound_pods++;
        if (!s.node.empty() && s.bound == Tp{}) s.bound = now;
        s.running = p.getStatus().getPhase() == "Running";
        if (s.running) running_pods++;
        if (s.running && s.running_at == Tp{}) s.running_at = now;
        s.ready = false;
        for (auto c : p.getStatus().getConditions())
          if (c.getType() == "Ready") s.ready = c.getStatus() == "True";
        s.deleting = obj.meta().getDeletionTimestamp().size() > 0;
        if (s.deleting && s.deleting_at == Tp{}) s.deleting_at = now;
      }
    }
    cv.notify_all();
  }
  void OnNode(bool deleted, const Object& obj) {
    Tp now = SteadyClock::now();
    {
      std::lock_guard<std::mutex> lock(mu);
      NodeState& s = nodes[obj.name()];
      if (deleted) {
        s.ready = "";
      } else {
        auto n = obj.get<api::Node>();
        for (auto c : n.getStatus().getConditions()) {
          if (c.getType() != "Ready") continue;
          if (s.ready != c.getStatus().cStr()) {
            s.ready = c.getStatus().cStr();
            s.ready_changed = now;
          }
          if (s.heartbeat != c.getLastHeartbeatTime().cStr()) {
            s.heartbeat = c.getLastHeartbeatTime().cStr();
            s.heartbeat_changed = now;
          }
        }
        bool tainted = false;
        std::string added;
        for (auto t : n.getSpec().getTaints()) {
          if (t.getKey() == "node.kubernetes.io/unreachable" && t.getEffect() == "NoExecute") {
            tainted = true;
            added = t.getTimeAdded().cStr();
          }
        }
        if (tainted && !s.unreachable_taint) {
          s.tainted_at = now;
          int64_t added_wall = 0;
          int64_t now_wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
          s.taint_added = ParseRfc3339(added, &added_wall) ? now - std::chrono::nanoseconds(now_wall - added_wall) : now;
        }
        s.unreachable_taint = tainted;
      }
    }
    cv.notify_all();
  }
  void OnLease(bool deleted, const Object& obj) {
    Tp now = SteadyClock::now();
    {
      std::lock_guard<std::mutex> lock(mu);
      NodeState& s = nodes[obj.name()];
      std::string renew = obj.get<api::Lease>().getSpec().getRenewTime().cStr();
      if (renew != s.lease_renew) {
        s.lease_renew = renew;
        s.lease_changed = now;
      }
    }
    cv.notify_all();
  }

  std::vector<std::unique_ptr<Informer>> informers_;
};

// --- failover -------------------------------------------------------------------------

int Failover(int reps, double time_scale, int replicas, int nodes, bool keep) {
  const double grace = 50 / time_scale, toleration = 300 / time_scale;
  std::cout << "== failover: " << nodes << " nodes, Deployment of " << replicas << " replicas, time scale "
            << Fmt(time_scale, 0) << " (node-monitor-grace " << Fmt(grace, 2) << " s, toleration "
            << Fmt(toleration, 2) << " s, node-monitor-period " << Fmt(5 / time_scale, 2) << " s, lease renew "
            << Fmt(10 / time_scale, 2) << " s)\n";
  BenchCluster cluster(nodes, time_scale, keep);
  Client& c = cluster.client();
  ClusterWatch watch(c, "default", "app=web");
  auto dep = MustParse(c, R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
      "spec":{"replicas":)" + std::to_string(replicas) + R"(,"selector":{"matchLabels":{"app":"web"}},
        "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}})");
  if (auto r = c.Create(dep); !r.ok()) Die("create deployment: " + r.status().ToString());

  // Steady: exactly `replicas` pods, all Running and Ready, every node Ready and untainted.
  auto steady = [&] {
    int ok = 0;
    for (auto& [name, p] : watch.pods) {
      if (p.deleting || !p.running || !p.ready) return false;
      ok++;
    }
    if (ok != replicas) return false;
    for (auto& [name, n] : watch.nodes)
      if (n.ready != "True" || n.unreachable_taint) return false;
    return static_cast<int>(watch.nodes.size()) == nodes;
  };
  std::vector<double> detect, taint, evict, recover, total;
  for (int rep = 1; rep <= reps; ++rep) {
    if (!watch.WaitFor(std::chrono::seconds(120), steady)) Die("the cluster did not settle before rep " + std::to_string(rep));
    std::string victim;
    int most = 0;
    std::set<std::string> victims_pods;
    {
      std::lock_guard<std::mutex> lock(watch.mu);
      std::map<std::string, int> per_node;
      for (auto& [name, p] : watch.pods) per_node[p.node]++;
      for (auto& [node, n] : per_node)
        if (n > most) most = n, victim = node;
      for (auto& [name, p] : watch.pods)
        if (p.node == victim) victims_pods.insert(name);
    }
    int pid = cluster.Pid("kubelet/" + victim);
    if (pid <= 0) Die("no pid for kubelet/" + victim);
    Tp killed = SteadyClock::now();
    kill(pid, SIGKILL);
    Tp last_beat;
    {
      std::lock_guard<std::mutex> lock(watch.mu);
      auto& n = watch.nodes[victim];
      last_beat = std::max(n.lease_changed, n.heartbeat_changed);
    }
    Tp unknown, evicted, recovered, tainted, taint_added;
    if (!watch.WaitFor(std::chrono::seconds(60), [&] { return watch.nodes[victim].ready == "Unknown"; }))
      Die(victim + " never went Unknown");
    {
      std::lock_guard<std::mutex> lock(watch.mu);
      unknown = watch.nodes[victim].ready_changed;
    }
    if (!watch.WaitFor(std::chrono::seconds(60), [&] { return watch.nodes[victim].unreachable_taint; }))
      Die(victim + " was never tainted unreachable");
    {
      std::lock_guard<std::mutex> lock(watch.mu);
      tainted = watch.nodes[victim].tainted_at;
      taint_added = watch.nodes[victim].taint_added;
    }
    if (!watch.WaitFor(std::chrono::seconds(120), [&] {
          for (auto& name : victims_pods) {
            auto it = watch.pods.find(name);
            if (it == watch.pods.end() || it->second.deleting) return true;
          }
          return false;
        }))
      Die("no pod of " + victim + " was evicted");
    {
      std::lock_guard<std::mutex> lock(watch.mu);
      evicted = Tp::max();
      for (auto& name : victims_pods) {
        auto it = watch.pods.find(name);
        if (it != watch.pods.end() && it->second.deleting_at != Tp{}) evicted = std::min(evicted, it->second.deleting_at);
      }
      if (evicted == Tp::max()) evicted = SteadyClock::now();
    }
    if (!watch.WaitFor(std::chrono::seconds(120), [&] {
          int ok = 0;
          for (auto& [name, p] : watch.pods) ok += !p.deleting && p.running && p.node != victim;
          return ok == replicas;
        }))
      Die("the replacements never all ran");
    recovered = SteadyClock::now();
    // Running since when: the latest running_at among the pods counted.
    {
      std::lock_guard<std::mutex> lock(watch.mu);
      Tp latest{};
      for (auto& [name, p] : watch.pods)
        if (!p.deleting && p.running && p.node != victim) latest = std::max(latest, p.running_at);
      if (latest != Tp{}) recovered = latest;
    }
    // Each stage's time beyond what the configuration asks for. The toleration counts from
    // the taint's timeAdded, which Kubernetes writes in whole seconds: an eviction comes up
    // to 1 s before Unknown + toleration, by design, and that is not counted as a gain.
    double d = Secs(unknown - last_beat) - grace;
    double lag = Secs(tainted - unknown);
    double e = Secs(evicted - taint_added) - toleration;
    double r = Secs(recovered - evicted);
    double t = d + lag + e + r;
    detect.push_back(d * 1000);
    taint.push_back(lag * 1000);
    evict.push_back(e * 1000);
    recover.push_back(r * 1000);
    total.push_back(t * 1000);
    std::cout << "rep " << rep << "  killed kubelet/" << victim << " (" << victims_pods.size() << " pods)"
              << "  last heartbeat " << Fmt(Ms(killed - last_beat), 0) << " ms before the kill; from it:"
              << "  Unknown +" << Fmt(Secs(unknown - last_beat), 3) << " s"
              << "  tainted +" << Fmt(Secs(tainted - last_beat), 3) << " s (timeAdded +"
              << Fmt(Secs(taint_added - last_beat), 3) << " s)"
              << "  first eviction +" << Fmt(Secs(evicted - last_beat), 3) << " s"
              << "  all Running +" << Fmt(Secs(recovered - last_beat), 3) << " s"
              << "  overhead " << Fmt(t * 1000, 0) << " ms\n";
    std::string out;
    if (cluster.Cattle("start kubelet/" + victim, &out) != 0) Die("cattle start kubelet/" + victim + ":\n" + out);
  }
  std::cout << "detection  (Unknown - last heartbeat - grace):                " << Summary(detect, " ms", 0) << "\n"
            << "tainting   (taint seen - Unknown):                           " << Summary(taint, " ms", 0) << "\n"
            << "eviction   (first eviction - taint timeAdded - toleration):  " << Summary(evict, " ms", 0) << "\n"
            << "recovery   (all replacements Running - first eviction):      " << Summary(recover, " ms", 0) << "\n"
            << "overhead beyond grace + toleration (sum of the above):       " << Summary(total, " ms", 0)
            << "   target p99 < 1000 ms\n";
  return 0;
}

// --- throughput -----------------------------------------------------------------------

// Waits until process `pid` (not our child) has exited; false after `timeout`.
bool WaitGone(int pid, Duration timeout) {
  Tp deadline = SteadyClock::now() + timeout;
  while (kill(pid, 0) == 0) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Kubernetes' scheduler_perf shape with real processes: the pods wait unbound while the
// scheduler is stopped (SIGTERM: it hands its lease back), then `cattle start scheduler`
// and the clock runs until every pod has a node. With `concurrent`, the scheduler runs
// throughout and the clock starts at the first create instead (creation is then part of
// the figure, and on 2 cores usually its bound). The image has a tag, as scheduler_perf's
// pause pod does, so each node pulls it once (an untagged image is pulled for every pod).
int Throughput(int nodes, int pods, int writers, bool concurrent, bool keep) {
  std::cout << "== scheduling throughput: " << nodes << " hollow nodes, " << pods << " pods "
            << (concurrent ? "created by " + std::to_string(writers) + " writers while the scheduler runs"
                           : "pending (created by " + std::to_string(writers) + " writers while the scheduler is stopped)")
            << "\n";
  BenchCluster cluster(0, 1, keep);
  Client& c = cluster.client();
  // The hollow kubelet: one process, `nodes` nodes.
  pid_t kubelet = fork();
  if (kubelet == 0) {
    setsid();
    int fd = open((cluster.dir() + "/logs/hollow-kubelet.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::string bin = BinDir() + "/cattle-kubelet";
    std::string n = std::to_string(nodes);
    execl(bin.c_str(), bin.c_str(), "--server", cluster.endpoint().c_str(), "--nodes", n.c_str(), "--node-prefix",
          "hollow-", "--log-level", "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      kill(pid, SIGTERM);
      int st;
      waitpid(pid, &st, 0);
    }
  } reap{kubelet};
  ClusterWatch watch(c, "default", "bench=throughput");
  Tp t_nodes = SteadyClock::now();
  if (!watch.WaitFor(std::chrono::seconds(300), [&] {
        int ready = 0;
        for (auto& [name, n] : watch.nodes) ready += n.ready == "True";
        return ready >= nodes;
      }))
    Die("the hollow nodes did not all become Ready");
  std::cout << nodes << " hollow nodes Ready after " << Fmt(Secs(SteadyClock::now() - t_nodes), 2) << " s\n";

  if (!concurrent) {
    int pid = cluster.Pid("scheduler");
    kill(pid, SIGTERM);
    if (!WaitGone(pid, std::chrono::seconds(30))) Die("the scheduler did not stop on SIGTERM");
  }
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < std::min(writers, 8); ++i) {
    ClientOptions o;
    o.endpoint = cluster.endpoint();
    o.request_timeout = std::chrono::seconds(30);
    clients.push_back(std::make_unique<Client>(o));
  }
  std::atomic<int> next{0}, errors{0};
  auto rev_before = c.Health();
  std::vector<std::pair<std::string, int>> procs = {{"apiserver", cluster.Pid("apiserver")},
                                                    {"scheduler", cluster.Pid("scheduler")},
                                                    {"controller-manager", cluster.Pid("controller-manager")},
                                                    {"hollow kubelet", kubelet}};
  std::vector<double> cpu_before;
  for (auto& [name, pid] : procs) cpu_before.push_back(CpuSeconds(pid));
  MachineCpu machine_before = MachineCpu::Read();
  Tp first_create = SteadyClock::now();
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      Client& cl = *clients[w % clients.size()];
      for (int i = next.fetch_add(1); i < pods; i = next.fetch_add(1)) {
        Object pod = MustParse(cl, R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"tp-)" + std::to_string(i) +
                                       R"(","namespace":"default","labels":{"bench":"throughput"}},
            "spec":{"containers":[{"name":"c","image":"registry.k8s.io/pause:3.10",
                                   "resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}})");
        if (!cl.Create(pod).ok()) errors++;
      }
    });
  }
  for (auto& t : ts) t.join();
  Tp created = SteadyClock::now();
  const int want = pods - errors.load();
  std::cout << "created " << want << " pods in " << Fmt(Secs(created - first_create), 2) << " s ("
            << Fmt(want / Secs(created - first_create), 0) << " creates/s, " << errors.load() << " errors)\n";
  Tp t0 = first_create;
  if (!concurrent) {
    if (!watch.WaitFor(std::chrono::seconds(120), [&] { return static_cast<int>(watch.pods.size()) >= want; }))
      Die("the watch did not see every pod created");
    rev_before = c.Health();
    cpu_before.clear();
    for (auto& [name, pid] : procs) cpu_before.push_back(CpuSeconds(pid));
    machine_before = MachineCpu::Read();
    t0 = SteadyClock::now();
    if (cluster.Cattle("start scheduler") != 0) Die("cattle start scheduler failed");
    procs[1].second = cluster.Pid("scheduler");
    cpu_before[1] = 0;
  }
  if (!watch.WaitFor(std::chrono::seconds(600), [&] { return watch.bound_pods >= want; })) {
    std::lock_guard<std::mutex> lock(watch.mu);
    Die("only " + std::to_string(watch.bound_pods) + " pods were bound in 600 s");
  }
  Tp t_end = SteadyClock::now();
  std::string machine = MachineCpu::Since(machine_before);
  auto rev_after = c.Health();
  std::string cpu;
  for (size_t i = 0; i < procs.size(); ++i)
    cpu += "  " + procs[i].first + " " + Fmt(CpuSeconds(procs[i].second) - cpu_before[i], 1) + " s";
  std::unique_lock<std::mutex> lock(watch.mu);
  Tp first_bound = Tp::max(), last_bound{};
  std::vector<double> wait;
  std::map<std::string, int> per_node;
  for (auto& [name, p] : watch.pods) {
    first_bound = std::min(first_bound, p.bound);
    last_bound = std::max(last_bound, p.bound);
    wait.push_back(Ms(p.bound - p.seen));
    per_node[p.node]++;
  }
  int n = static_cast<int>(watch.pods.size());
  int most = 0;
  for (auto& [node, k] : per_node) most = std::max(most, k);
  std::cout << "bound " << n << " pods on " << per_node.size() << " nodes (at most " << most << " on one)\n"
            << (concurrent ? "first create -> all bound:     " : "scheduler start -> all bound:  ")
            << Fmt(Secs(last_bound - t0), 2) << " s  => " << Fmt(n / Secs(last_bound - t0), 0)
            << " pods/s   target >= 1000 pods/s\n"
            << "first bind -> last bind:       " << Fmt(Secs(last_bound - first_bound), 2) << " s  => "
            << Fmt(n / Secs(last_bound - first_bound), 0) << " pods/s\n";
  if (concurrent) std::cout << "created -> bound, per pod: " << Summary(wait, " ms", 0) << "\n";
  if (rev_before.ok() && rev_after.ok()) {
    int64_t writes = *rev_after - *rev_before;
    std::cout << "apiserver writes meanwhile (" << (concurrent ? "creates, " : "")
              << "bindings, pod status, events, leases, node status): " << writes << " ("
              << Fmt(writes / Secs(t_end - t0), 0) << "/s, " << Fmt(static_cast<double>(writes) / n, 1)
              << " per pod)\n";
  }
  std::cout << "CPU used meanwhile:" << cpu << "\n"
            << "the machine meanwhile: " << machine
            << " (time stolen by the hypervisor is time none of the processes could run)\n";
  // The kubelets start the pods behind the bindings: how far behind.
  lock.unlock();
  if (watch.WaitFor(std::chrono::seconds(300), [&] { return watch.running_pods >= want; })) {
    std::cout << (concurrent ? "first create -> all Running:   " : "scheduler start -> all Running: ")
              << Fmt(Secs(SteadyClock::now() - t0), 2) << " s\n";
  } else {
    std::cout << "only " << watch.running_pods << " pods Running after 300 s\n";
  }
  return 0;
}

// --- scheduler (in process) -------------------------------------------------------------

// Kubernetes' scheduler_perf shape: the scheduler and the apiserver's registry and store
// (RocksDB, durable) in one process, Node objects and no kubelets, so the figure is the
// scheduler's (plus the store's), not the machine's ability to run 1000 kubelets beside it.
int SchedulerInProcess(int nodes, int pods, int writers) {
  std::cout << "== scheduling throughput in process (scheduler_perf style): " << nodes << " Node objects, " << pods
            << " pods created unbound by " << writers << " writers, no kubelets\n";
  // Not a line per bound pod, nor per event the recorder drops once its 1000-deep queue
  // is full (as Kubernetes' broadcaster does).
  log::Init("bench", log::ParseLevel("error"));
  Clock* clock = RealClock::Get();
  apiserver::LocalApiServer server(clock);
  ApiClient& c = *server.client;
  auto node_json = [](int i) {
    return R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"node-)" + std::to_string(i) +
           R"(","labels":{"kubernetes.io/hostname":"node-)" + std::to_string(i) +
           R"("}},"status":{"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},
             "conditions":[{"type":"Ready","status":"True"}]}})";
  };
  for (int i = 1; i <= nodes; ++i) {
    auto n = Object::FromJson(c.kinds(), Json::parse(node_json(i)));
    if (!n.ok() || !c.Create(*n).ok()) Die("cannot create node-" + std::to_string(i));
  }
  InformerFactory informers(&c, clock);
  EventRecorder recorder(&c, clock, "default-scheduler");
  scheduler::Framework framework;
  framework.AddFilter(std::make_unique<scheduler::NodeUnschedulable>());
  framework.AddFilter(std::make_unique<scheduler::TaintToleration>());
  framework.AddFilter(std::make_unique<scheduler::NodeReady>());
  framework.AddFilter(std::make_unique<scheduler::NodeAffinity>());
  framework.AddFilter(std::make_unique<scheduler::NodeResourcesFit>());
  framework.AddScore(std::make_unique<scheduler::NodeResourcesLeastAllocated>(), 1);
  framework.AddScore(std::make_unique<scheduler::SelectorSpread>(), 2);
  scheduler::Scheduler sched(&c, &informers, &recorder, &framework, clock);
  // The bench's own watch of the pods, as in the other benchmarks.
  std::mutex mu;
  std::condition_variable cv;
  int bound = 0;
  Tp first_bound = Tp::max(), last_bound{};
  Informer* watch = informers.For(c.Kind("pods"), "", "bench=sched");
  watch->AddHandlers(EventHandlers{nullptr, [&](const ObjectPtr& old_pod, const ObjectPtr& pod) {
                                     if (old_pod->get<api::Pod>().getSpec().getNodeName().size() > 0 ||
                                         pod->get<api::Pod>().getSpec().getNodeName().size() == 0)
                                       return;
                                     Tp now = SteadyClock::now();
                                     std::lock_guard<std::mutex> lock(mu);
                                     bound++;
                                     first_bound = std::min(first_bound, now);
                                     last_bound = now;
                                     cv.notify_all();
                                   },
                                   nullptr});
  informers.Start();
  sched.Run();
  if (!informers.WaitForSync(std::chrono::seconds(30))) Die("informers did not sync");
  std::atomic<int> next{0}, errors{0};
  Tp first_create = SteadyClock::now();
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&] {
      for (int i = next.fetch_add(1); i < pods; i = next.fetch_add(1)) {
        auto pod = Object::FromJson(c.kinds(), Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"sp-)" +
                                                           std::to_string(i) + R"(","namespace":"default","labels":{"bench":"sched"}},
            "spec":{"containers":[{"name":"c","image":"pause","resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}})"));
        if (!pod.ok() || !c.Create(*pod).ok()) errors++;
      }
    });
  }
  for (auto& t : ts) t.join();
  Tp created = SteadyClock::now();
  int want = pods - errors.load();
  std::unique_lock<std::mutex> lock(mu);
  if (!cv.wait_for(lock, std::chrono::seconds(600), [&] { return bound >= want; }))
    Die("only " + std::to_string(bound) + " pods were bound in 600 s");
  std::cout << "created " << want << " pods in " << Fmt(Secs(created - first_create), 2) << " s ("
            << Fmt(want / Secs(created - first_create), 0) << " creates/s)\n"
            << "first create -> all bound: " << Fmt(Secs(last_bound - first_create), 2) << " s  => "
            << Fmt(want / Secs(last_bound - first_create), 0) << " pods/s   target >= 1000 pods/s\n"
            << "first bind -> last bind:   " << Fmt(Secs(last_bound - first_bound), 2) << " s  => "
            << Fmt(want / Secs(last_bound - first_bound), 0) << " pods/s\n";
  lock.unlock();
  sched.Stop();
  informers.Stop();
  return 0;
}

// --- startup --------------------------------------------------------------------------

int Startup(double rate, double seconds, int nodes, int writers, bool keep) {
  std::cout << "== pod startup latency: " << nodes << " nodes, " << Fmt(rate, 0)
            << " pods/s created for " << Fmt(seconds, 0) << " s, each deleted once Running (churn)\n";
  BenchCluster cluster(nodes, 1, keep);
  Client& c = cluster.client();
  ClusterWatch watch(c, "default", "bench=startup", false);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 2; ++i) {
    ClientOptions o;
    o.endpoint = cluster.endpoint();
    clients.push_back(std::make_unique<Client>(o));
  }
  const int total = static_cast<int>(rate * seconds);
  std::mutex mu;
  std::map<std::string, Tp> issued;  // GUARDED_BY(mu): when the create was sent
  std::vector<double> lat;           // GUARDED_BY(mu)
  std::atomic<int> next{0}, errors{0}, deleted{0};
  Tp start = SteadyClock::now() + std::chrono::milliseconds(100);
  std::vector<std::thread> ts;
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      Client& cl = *clients[w % clients.size()];
      for (int i = next.fetch_add(1); i < total; i = next.fetch_add(1)) {
        Tp due = start + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(i / rate));
        std::this_thread::sleep_until(due);  // the pacer: one create every 1/rate s
        std::string name = "st-" + std::to_string(i);
        Object pod = MustParse(cl, R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                                       R"(","namespace":"default","labels":{"bench":"startup"}},
            "spec":{"containers":[{"name":"c","image":"pause"}]}})");
        {
          std::lock_guard<std::mutex> lock(mu);
          issued[name] = SteadyClock::now();
        }
        if (!cl.Create(pod).ok()) errors++;
      }
    });
  }
  // The deleter: deletes each pod once it runs, and takes its latency.
  std::thread deleter([&] {
    std::set<std::string> done;
    Client& cl = *clients[1 % clients.size()];
    while (static_cast<int>(done.size()) + errors.load() < total) {
      std::vector<std::pair<std::string, Tp>> ready;
      {
        std::unique_lock<std::mutex> lock(watch.mu);
        watch.cv.wait_for(lock, std::chrono::milliseconds(200), [&] {
          for (auto& [name, p] : watch.pods)
            if (p.running && !done.count(name)) return true;
          return false;
        });
        for (auto& [name, p] : watch.pods)
          if (p.running && !done.count(name)) ready.emplace_back(name, p.running_at);
      }
      if (ready.empty() && SteadyClock::now() > start + std::chrono::duration_cast<SteadyClock::duration>(
                                                           std::chrono::duration<double>(seconds + 60)))
        break;
      for (auto& [name, at] : ready) {
        done.insert(name);
        {
          std::lock_guard<std::mutex> lock(mu);
          lat.push_back(Ms(at - issued[name]));
        }
        if (cl.Delete(cl.Kind("pods"), "default", name).ok()) deleted++;
      }
    }
  });
  for (auto& t : ts) t.join();
  Tp created = SteadyClock::now();
  deleter.join();
  std::cout << "created " << total - errors.load() << " pods in " << Fmt(Secs(created - start), 1) << " s ("
            << Fmt((total - errors.load()) / Secs(created - start), 0) << " pods/s), deleted " << deleted.load()
            << ", errors " << errors.load() << "\n";
  std::lock_guard<std::mutex> lock(mu);
  std::cout << "create -> Running (watch): " << Summary(lat, " ms", 0) << "   target p99 < 500 ms\n";
  return 0;
}

// --- up -------------------------------------------------------------------------------

int Up(int reps, int nodes) {
  std::cout << "== cattle up --nodes " << nodes << " until every node is Ready\n";
  std::vector<double> secs;
  for (int rep = 1; rep <= reps; ++rep) {
    double s;
    {
      BenchCluster cluster(nodes, 1);
      s = cluster.up_seconds();
    }
    secs.push_back(s * 1000);
    std::cout << "rep " << rep << "  " << Fmt(s * 1000, 0) << " ms\n";
  }
  std::cout << "cattle up --nodes " << nodes << ": " << Summary(secs, " ms", 0) << "   target < 1000 ms\n";
  return 0;
}

// --- rss ------------------------------------------------------------------------------

std::map<std::string, int64_t> ProcStatus(int pid) {
  std::map<std::string, int64_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = atoll(line.c_str() + colon + 1);
  }
  return out;
}

// Resident kB by kind of mapping: heap (brk), thread stacks and malloc arenas (anonymous),
// the binary and shared libraries (file-backed).
std::map<std::string, int64_t> RssBreakdown(int pid) {
  std::map<std::string, int64_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line, kind;
  while (std::getline(in, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 16) {
      std::istringstream ss(line);
      std::string range, perms, offset, dev, inode, path;
      ss >> range >> perms >> offset >> dev >> inode;
      std::getline(ss, path);
      path.erase(0, path.find_first_not_of(' '));
      if (path == "[heap]") kind = "heap";
      else if (path == "[stack]") kind = "main stack";
      else if (path.empty()) kind = "anonymous (thread stacks, arenas, mmap)";
      else if (path.find("cattle-kubelet") != std::string::npos) kind = "binary";
      else if (path[0] == '/') kind = "shared libraries";
      else kind = "other " + path;
    } else if (line.rfind("Rss:", 0) == 0) {
      out[kind] += atoll(line.c_str() + 4);
    }
  }
  return out;
}

int Rss(int pods, double settle_seconds, bool keep) {
  std::cout << "== RSS of one kubelet process with " << pods << " pods\n";
  BenchCluster cluster(1, 1, keep);
  Client& c = cluster.client();
  int pid = cluster.Pid("kubelet/node-1");
  auto before = ProcStatus(pid);
  std::cout << "kubelet/node-1 (pid " << pid << ") with 0 pods: VmRSS " << before["VmRSS"] << " kB, threads "
            << before["Threads"] << "\n";
  ClusterWatch watch(c, "default", "app=rss", false);
  auto dep = MustParse(c, R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"rss","namespace":"default"},
      "spec":{"replicas":)" + std::to_string(pods) + R"(,"selector":{"matchLabels":{"app":"rss"}},
        "template":{"metadata":{"labels":{"app":"rss"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}})");
  if (auto r = c.Create(dep); !r.ok()) Die("create deployment: " + r.status().ToString());
  if (!watch.WaitFor(std::chrono::seconds(120), [&] {
        int ok = 0;
        for (auto& [name, p] : watch.pods) ok += p.running && p.ready;
        return ok == pods;
      }))
    Die("the pods did not all run");
  // Sample through a few node-status and lease periods (10 s at scale 1) of steady running.
  int64_t max_rss = 0, last = 0;
  Tp end = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(settle_seconds));
  while (SteadyClock::now() < end) {
    last = ProcStatus(pid)["VmRSS"];
    max_rss = std::max(max_rss, last);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // sampling period
  }
  auto st = ProcStatus(pid);
  std::cout << "kubelet/node-1 with " << pods << " Running pods: VmRSS " << last << " kB (" << Fmt(last / 1024.0, 2)
            << " MiB; max " << max_rss << " kB over " << Fmt(settle_seconds, 0) << " s, VmHWM " << st["VmHWM"]
            << " kB)  RssAnon " << st["RssAnon"] << " kB  RssFile " << st["RssFile"] << " kB  threads "
            << st["Threads"] << "   target < 10 MB\n";
  for (auto& [kind, kb] : RssBreakdown(pid)) std::cout << "  " << kind << ": " << kb << " kB\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  int reps = 5, replicas = 6, nodes = 0, pods = 0, writers = 0;
  double time_scale = 20, rate = 100, seconds = 30, settle = 12;
  bool keep = false, concurrent = false;
  po::options_description desc(
      "control_loop_bench failover|throughput|scheduler|startup|up|rss [options]: the control loop's benchmarks against real "
      "processes\nOptions");
  desc.add_options()("help,h", "help")
      ("reps", po::value(&reps)->default_value(5), "failover, up: repetitions")
      ("time-scale", po::value(&time_scale)->default_value(20), "failover: the cluster's time scale")
      ("replicas", po::value(&replicas)->default_value(6), "failover: Deployment replicas")
      ("nodes", po::value(&nodes)->default_value(0), "nodes (failover 3, throughput 1000 hollow, scheduler 1000, startup 3, up 3)")
      ("pods", po::value(&pods)->default_value(0), "throughput, scheduler: pods (10000); rss: pods (30)")
      ("writers", po::value(&writers)->default_value(0), "throughput, scheduler: concurrent creators (16); startup: (4)")
      ("rate", po::value(&rate)->default_value(100), "startup: pods created (and deleted) per second")
      ("seconds", po::value(&seconds)->default_value(30), "startup: seconds of churn")
      ("settle", po::value(&settle)->default_value(12), "rss: seconds of sampling once the pods run")
      ("concurrent", po::bool_switch(&concurrent),
       "throughput: create the pods while the scheduler runs (the clock starts at the first create) instead of "
       "pending before it starts")
      ("keep", po::bool_switch(&keep), "keep the cluster's directory (logs) after the run");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc - 1, argv + 1, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help") || cmd.empty() || cmd[0] == '-') {
    std::cout << desc;
    return vm.count("help") ? 0 : 2;
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    if (cmd == "failover") return Failover(reps, time_scale, replicas, nodes > 0 ? nodes : 3, keep);
    if (cmd == "throughput")
      return Throughput(nodes > 0 ? nodes : 1000, pods > 0 ? pods : 10000, writers > 0 ? writers : 16, concurrent,
                        keep);
    if (cmd == "scheduler")
      return SchedulerInProcess(nodes > 0 ? nodes : 1000, pods > 0 ? pods : 10000, writers > 0 ? writers : 16);
    if (cmd == "startup") return Startup(rate, seconds, nodes > 0 ? nodes : 3, writers > 0 ? writers : 4, keep);
    if (cmd == "up") return Up(reps, nodes > 0 ? nodes : 3);
    if (cmd == "rss") return Rss(pods > 0 ? pods : 30, settle, keep);
  } catch (const BenchError& e) {
    std::cerr << "control_loop_bench " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "unknown benchmark \"" << cmd << "\"\n" << desc;
  return 2;
}
