// cattle-scheduler: places pending pods on nodes (kube-scheduler). main() only parses
// flags and wires objects: the client, the plugins (registered here, explicitly), an
// Instance (the shared informers, the event recorder and the Scheduler) and, with
// --leader-elect, the LeaderElector on the Lease kube-system/kube-scheduler.
//
// Leadership lost (the apiserver away for longer than the renew deadline, or another
// holder on the lease): kube-scheduler exits and relies on being restarted; cattle has
// nothing to restart it, so instead the Instance is torn down (scheduling stops, the
// informers stop), a fresh one replaces it and the elector campaigns again. The next term
// thus starts from a fresh list, as a restarted process would.
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer_factory.h"
#include "cattle/leader_election.h"
#include "cattle/log.h"
#include "cattle/timescale.h"
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
using namespace cattle;

namespace {

std::string DefaultIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof(host), "localhost");
  return std::string(host) + "_" + std::to_string(getpid());
}

// What one term of leadership uses, built fresh for each so that nothing carries over from
// the last: the informers start at construction (a standby's caches are warm when it
// wins), scheduling at Lead(). Destruction stops scheduling, then the informers.
class Instance {
 public:
  Instance(Client* client, Clock* clock, const scheduler::Framework* framework,
           const scheduler::SchedulerOptions& options)
      : informers_(client, clock),
        recorder_(client, clock, "default-scheduler"),
        sched_(client, &informers_, &recorder_, framework, clock, options) {
    informers_.Start();
  }
  ~Instance() {
    sched_.Stop();
    informers_.Stop();
  }
  void Lead() { sched_.Run(); }

 private:
  InformerFactory informers_;
  EventRecorder recorder_;
  scheduler::Scheduler sched_;
};

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("cattle-scheduler: assigns pending pods to nodes.\nOptions");
  std::string server, log_level, identity;
  double time_scale = 1;
  bool leader_elect = true;
  desc.add_options()
      ("help,h", "print this help")
      ("server", po::value(&server)->default_value("tcp://127.0.0.1:7400"), "the apiserver's ZeroMQ endpoint")
      ("time-scale", po::value(&time_scale)->default_value(1), "divide every duration by this")
      ("log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error")
      ("leader-elect", po::value(&leader_elect)->default_value(true, "true"),
       "take the Lease kube-system/kube-scheduler before scheduling (true/false)")
      ("identity", po::value(&identity)->default_value(DefaultIdentity()), "leader-election identity");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "cattle-scheduler: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (time_scale <= 0) {
    std::cerr << "cattle-scheduler: --time-scale must be positive\n";
    return 2;
  }
  log::Init("scheduler", log::ParseLevel(log_level));

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

  scheduler::Framework framework;
  framework.AddFilter(std::make_unique<scheduler::NodeUnschedulable>());
  framework.AddFilter(std::make_unique<scheduler::TaintToleration>());
  framework.AddFilter(std::make_unique<scheduler::NodeReady>());
  framework.AddFilter(std::make_unique<scheduler::NodeAffinity>());
  framework.AddFilter(std::make_unique<scheduler::NodeResourcesFit>());
  framework.AddScore(std::make_unique<scheduler::NodeResourcesLeastAllocated>(), 1);
  framework.AddScore(std::make_unique<scheduler::SelectorSpread>(), 2);

  const scheduler::SchedulerOptions sopts = scheduler::SchedulerOptions{}.Scaled(scale);
  auto make_instance = [&] { return std::make_unique<Instance>(&client, clock, &framework, sopts); };

  std::mutex mu;
  bool shutting_down = false;                            // GUARDED_BY(mu)
  std::unique_ptr<Instance> instance = make_instance();  // GUARDED_BY(mu)

  std::unique_ptr<LeaderElector> elector;
  if (leader_elect) {
    LeaderElectionOptions lopts;
    lopts.lease_name = "kube-scheduler";
    lopts.identity = identity;
    lopts.lease_duration = scale(lopts.lease_duration);
    lopts.renew_deadline = scale(lopts.renew_deadline);
    lopts.retry_period = scale(lopts.retry_period);
    elector = std::make_unique<LeaderElector>(&client, clock, lopts);
    CATTLE_LOG(INFO) << "waiting for leadership" << kv("lease", "kube-system/kube-scheduler")
                     << kv("identity", identity);
    elector->Start(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          if (shutting_down || !instance) return;
          CATTLE_LOG(INFO) << "became leader" << kv("identity", identity);
          instance->Lead();
        },
        [&] {
          // Nothing may schedule without the lease: stop this term's work before the
          // elector campaigns again, and keep a fresh standby for the next term.
          CATTLE_LOG(WARN) << "leadership lost; scheduling stops until the lease is won again"
                           << kv("identity", identity);
          std::unique_ptr<Instance> old;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (shutting_down) return;  // main stops everything
            old = std::move(instance);
          }
          old.reset();  // scheduling stops, then the informers
          auto fresh = make_instance();
          std::lock_guard<std::mutex> lock(mu);
          if (!shutting_down) instance = std::move(fresh);  // else `fresh` goes after the unlock
          CATTLE_LOG(INFO) << "campaigning again" << kv("identity", identity);
        });
  } else {
    instance->Lead();
  }
  CATTLE_LOG(INFO) << "started" << kv("server", server) << kv("time_scale", time_scale)
                   << kv("leader_elect", leader_elect ? "true" : "false");

  int sig = 0;
  sigwait(&signals, &sig);
  CATTLE_LOG(INFO) << "shutting down" << kv("signal", sig);
  std::unique_ptr<Instance> last;
  {
    std::lock_guard<std::mutex> lock(mu);
    shutting_down = true;
    last = std::move(instance);
  }
  last.reset();                 // scheduling stops first, then
  if (elector) elector->Stop();  // the lease is released: a standby takes over at once
  CATTLE_LOG(INFO) << "stopped";
  return 0;
}
