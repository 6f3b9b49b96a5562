// cattle-controller-manager: Kubernetes' kube-controller-manager. Parses flags and wires
// the controllers; once it holds the "kube-controller-manager" lease in kube-system (or at
// once with --leader-elect=false), it constructs the enabled controllers on fresh shared
// informers (an Instance), runs them and starts the informers. SIGTERM/SIGINT: clean
// shutdown.
//
// Leadership lost (the apiserver away for longer than the renew deadline, or another
// holder on the lease): kube-controller-manager exits and relies on being restarted;
// cattle has nothing to restart it, so instead the Instance is torn down (controllers
// stopped, then informers) and the elector campaigns again. The next term builds a new
// Instance, which starts from a fresh list, as a restarted process would.
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <vector>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer_factory.h"
#include "cattle/leader_election.h"
#include "cattle/log.h"
#include "cattle/timescale.h"
#include "controller-manager/deployment_controller.h"
#include "controller-manager/garbage_collector.h"
#include "controller-manager/namespace_controller.h"
#include "controller-manager/node_lifecycle_controller.h"
#include "controller-manager/pod_gc_controller.h"
#include "controller-manager/replicaset_controller.h"

namespace po = boost::program_options;
using namespace cattle;
using namespace cattle::controllers;

namespace {

// A controller as main sees it: Run(workers) and Stop(), whatever its class.
struct Running {
  std::string name;
  std::unique_ptr<EventRecorder> recorder;
  std::function<void()> stop;
  std::shared_ptr<void> owner;  // the controller object
};

template <typename C>
Running Start(const std::string& name, std::unique_ptr<EventRecorder> recorder, std::unique_ptr<C> c,
              int workers) {
  c->Run(workers);
  C* raw = c.get();
  Running r{name, std::move(recorder), [raw] { raw->Stop(); }, std::shared_ptr<void>(std::move(c))};
  return r;
}

// Kubernetes' controller names (current and pre-1.28 spellings) -> ours.
const std::map<std::string, std::string>& ControllerAliases() {
  static const std::map<std::string, std::string> m = {
      {"replicaset", "replicaset"},
      {"replicaset-controller", "replicaset"},
      {"deployment", "deployment"},
      {"deployment-controller", "deployment"},
      {"nodelifecycle", "nodelifecycle"},
      {"node-lifecycle-controller", "nodelifecycle"},
      {"taint-eviction-controller", "taint-eviction-controller"},
      {"garbagecollector", "garbagecollector"},
      {"garbage-collector-controller", "garbagecollector"},
      {"podgc", "podgc"},
      {"pod-garbage-collector-controller", "podgc"},
      {"namespace", "namespace"},
      {"namespace-controller", "namespace"},
  };
  return m;
}

// --controllers: "*" enables all; "foo" enables foo; "-foo" disables foo (as Kubernetes).
bool ParseControllers(const std::string& spec, std::set<std::string>* enabled, std::string* error) {
  std::set<std::string> all;
  for (const auto& [alias, name] : ControllerAliases()) all.insert(name);
  std::set<std::string> on, off;
  bool star = false;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    if (item == "*") {
      star = true;
      continue;
    }
    bool neg = item[0] == '-';
    std::string n = neg ? item.substr(1) : item;
    auto it = ControllerAliases().find(n);
    if (it == ControllerAliases().end()) {
      *error = "unknown controller \"" + n + "\"";
      return false;
    }
    (neg ? off : on).insert(it->second);
  }
  enabled->clear();
  for (const auto& n : all)
    if ((star || on.count(n)) && !off.count(n)) enabled->insert(n);
  return true;
}

std::string DefaultIdentity() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) snprintf(host, sizeof(host), "localhost");
  return std::string(host) + "_" + std::to_string(getpid());
}

// One term of leadership: the shared informers and the controllers on them. Destruction
// stops the controllers, then the informers, then frees the controllers and recorders
// (which write what they still hold).
struct Instance {
  Instance(ApiClient* client, Clock* clock) : informers(client, clock) {}
  ~Instance() {
    for (auto& r : running) r.stop();
    informers.Stop();
    running.clear();
  }
  InformerFactory informers;
  std::vector<Running> running;
};

Duration Secs(double s) { return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s)); }

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "cattle-controller-manager: the control loops that drive the cluster to its declared state\n"
      "(ReplicaSet, Deployment, node lifecycle, taint eviction, garbage collection, pod GC,\n"
      "namespace).\n"
      "Durations are Kubernetes' defaults and are divided by --time-scale.\nOptions");
  std::string server, log_level, identity, controllers;
  double time_scale = 1, grace_s = 50, period_s = 5, startup_grace_s = 60;
  bool leader_elect = true;
  int rs_workers = 5, deploy_workers = 5, gc_workers = 20, ns_workers = 10, terminated_threshold = 12500;
  desc.add_options()
      ("help,h", "print this help")
      ("server", po::value(&server)->default_value("tcp://127.0.0.1:7400"), "the apiserver's ZeroMQ endpoint")
      ("time-scale", po::value(&time_scale)->default_value(1), "divide every duration by this")
      ("log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error")
      ("leader-elect", po::value(&leader_elect)->default_value(true)->implicit_value(true),
       "take the lease kube-system/kube-controller-manager before acting (--leader-elect=false: act at once)")
      ("identity", po::value(&identity)->default_value(""), "leader election identity (default: HOSTNAME_PID)")
      ("controllers", po::value(&controllers)->default_value("*"),
       "controllers to enable: '*' for all, 'foo' enables, '-foo' disables; names: replicaset, deployment, "
       "nodelifecycle, taint-eviction-controller, garbagecollector, podgc, namespace")
      ("node-monitor-grace-period", po::value(&grace_s)->default_value(50),
       "seconds without a kubelet report before a node is marked Unknown (before --time-scale)")
      ("node-monitor-period", po::value(&period_s)->default_value(5),
       "seconds between node health checks (before --time-scale)")
      ("node-startup-grace-period", po::value(&startup_grace_s)->default_value(60),
       "seconds a node that never reported is given (before --time-scale)")
      ("terminated-pod-gc-threshold", po::value(&terminated_threshold)->default_value(12500),
       "terminated pods kept before the pod GC deletes the oldest (<= 0: never)")
      ("concurrent-replicaset-syncs", po::value(&rs_workers)->default_value(5), "ReplicaSet workers")
      ("concurrent-deployment-syncs", po::value(&deploy_workers)->default_value(5), "Deployment workers")
      ("concurrent-gc-syncs", po::value(&gc_workers)->default_value(20), "garbage collector workers")
      ("concurrent-namespace-syncs", po::value(&ns_workers)->default_value(10), "namespace workers");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "cattle-controller-manager: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (time_scale <= 0 || grace_s <= 0 || period_s <= 0 || startup_grace_s <= 0) {
    std::cerr << "cattle-controller-manager: --time-scale and the node periods must be positive\n";
    return 2;
  }
  std::set<std::string> enabled;
  std::string error;
  if (!ParseControllers(controllers, &enabled, &error)) {
    std::cerr << "cattle-controller-manager: --controllers: " << error << "\n";
    return 2;
  }
  if (identity.empty()) identity = DefaultIdentity();
  log::Init("controller-manager", log::ParseLevel(log_level));

  // SIGTERM/SIGINT are taken synchronously by main; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  TimeScale scale(time_scale);
  Clock* clock = RealClock::Get();
  ClientOptions copts;
  copts.endpoint = server;
  Client client(copts);

  // A new Instance with the enabled controllers running and the informers started.
  auto start_controllers = [&] {
    auto inst = std::make_unique<Instance>(&client, clock);
    InformerFactory* informers = &inst->informers;
    std::vector<Running>& running = inst->running;
    auto recorder = [&](const char* component) {
      return std::make_unique<EventRecorder>(&client, clock, component);
    };
    // Construct every controller (they register informer handlers), then start informers.
    if (enabled.count("replicaset")) {
      auto rec = recorder("replicaset-controller");
      auto c = std::make_unique<ReplicaSetController>(informers, &client, rec.get(), clock, scale);
      running.push_back(Start("replicaset", std::move(rec), std::move(c), rs_workers));
    }
    if (enabled.count("deployment")) {
      auto rec = recorder("deployment-controller");
      auto c = std::make_unique<DeploymentController>(informers, &client, rec.get(), clock, scale);
      running.push_back(Start("deployment", std::move(rec), std::move(c), deploy_workers));
    }
    if (enabled.count("nodelifecycle")) {
      NodeLifecycleOptions o;
      o.node_monitor_grace_period = Secs(grace_s);
      o.node_monitor_period = Secs(period_s);
      o.node_startup_grace_period = Secs(startup_grace_s);
      auto rec = recorder("node-controller");
      auto c = std::make_unique<NodeLifecycleController>(informers, &client, rec.get(), clock, scale, o);
      running.push_back(Start("nodelifecycle", std::move(rec), std::move(c), 8));
    }
    if (enabled.count("taint-eviction-controller")) {
      auto rec = recorder("taint-eviction-controller");
      auto c = std::make_unique<TaintEvictionController>(informers, &client, rec.get(), clock, scale);
      running.push_back(Start("taint-eviction-controller", std::move(rec), std::move(c), 8));
    }
    if (enabled.count("garbagecollector")) {
      auto rec = recorder("garbage-collector-controller");
      auto c = std::make_unique<GarbageCollector>(informers, &client, rec.get(), clock, scale);
      running.push_back(Start("garbagecollector", std::move(rec), std::move(c), gc_workers));
    }
    if (enabled.count("podgc")) {
      PodGCOptions o;
      o.terminated_pod_gc_threshold = terminated_threshold;
      auto c = std::make_unique<PodGCController>(informers, &client, nullptr, clock, scale, o);
      running.push_back(Start("podgc", nullptr, std::move(c), 1));
    }
    if (enabled.count("namespace")) {
      auto c = std::make_unique<NamespaceController>(informers, &client, nullptr, clock, scale);
      running.push_back(Start("namespace", nullptr, std::move(c), ns_workers));
    }
    informers->Start();
    std::string names;
    for (const auto& r : running) names += (names.empty() ? "" : ",") + r.name;
    CATTLE_LOG(INFO) << "controllers started" << kv("controllers", names);
    return inst;
  };

  std::mutex mu;
  bool shutting_down = false;        // GUARDED_BY(mu)
  std::unique_ptr<Instance> current;  // GUARDED_BY(mu); the running term's controllers

  CATTLE_LOG(INFO) << "starting" << kv("server", server) << kv("identity", identity)
                   << kv("time_scale", time_scale) << kv("leader_elect", leader_elect);
  std::unique_ptr<LeaderElector> elector;
  if (leader_elect) {
    LeaderElectionOptions lo;
    lo.lease_namespace = "kube-system";
    lo.lease_name = "kube-controller-manager";
    lo.identity = identity;
    lo.lease_duration = scale(lo.lease_duration);
    lo.renew_deadline = scale(lo.renew_deadline);
    lo.retry_period = scale(lo.retry_period);
    elector = std::make_unique<LeaderElector>(&client, clock, lo);
    elector->Start(
        [&] {
          {
            std::lock_guard<std::mutex> lock(mu);
            if (shutting_down) return;
          }
          CATTLE_LOG(INFO) << "became leader" << kv("lease", "kube-system/kube-controller-manager");
          auto inst = start_controllers();
          std::lock_guard<std::mutex> lock(mu);
          if (!shutting_down) current = std::move(inst);  // else `inst` stops after the unlock
        },
        [&] {
          // Nothing may act without the lease: stop this term's controllers before the
          // elector campaigns again.
          CATTLE_LOG(WARN) << "leadership lost; controllers stop until the lease is won again";
          std::unique_ptr<Instance> old;
          {
            std::lock_guard<std::mutex> lock(mu);
            old = std::move(current);
          }
          old.reset();
          CATTLE_LOG(INFO) << "controllers stopped; campaigning again";
        });
  } else {
    std::lock_guard<std::mutex> lock(mu);
    current = start_controllers();
  }

  int sig = 0;
  sigwait(&signals, &sig);
  CATTLE_LOG(INFO) << "shutting down" << kv("signal", sig);
  std::unique_ptr<Instance> last;
  {
    std::lock_guard<std::mutex> lock(mu);
    shutting_down = true;
    last = std::move(current);
  }
  // Controllers first (they use the informers and recorders), then the informers and the
  // recorders (which write what they still hold), then the lease.
  last.reset();
  if (elector) elector->Stop();
  CATTLE_LOG(INFO) << "stopped";
  return 0;
}
