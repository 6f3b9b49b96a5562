// cattle-kubelet: one simulated node (or, with --nodes N, N "hollow" nodes in one process,
// each with its own Node, Lease, runtime and pods). main() only parses flags and wires
// objects; see kubelet.h.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <memory>
#include <vector>

#include "cattle/client.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/kubelet_auth.h"
#include "cattle/log.h"
#include "kubelet-sim/annotations.h"
#include "kubelet-sim/kubelet.h"
#include "kubelet-sim/log_server.h"
#include "kubelet-sim/sim_runtime.h"

namespace po = boost::program_options;
using namespace cattle;

namespace {

// One node's object graph.
struct Node {
  std::unique_ptr<kubelet::SimulatedRuntime> runtime;
  std::unique_ptr<EventRecorder> recorder;
  std::unique_ptr<kubelet::Kubelet> kubelet;
};

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc(
      "cattle-kubelet: a simulated kubelet (node agent); with --nodes, many hollow nodes in one process.\n"
      "Pods are scripted with annotations: cattle.dev/exit-after, exit-code, never-ready, ready-after,\n"
      "image-pull-fail, image-pull-duration, stop-delay (see kubelet-sim/README.md).\nOptions");
  std::string server, node_name, cpu, memory, ephemeral, labels, taints, log_level, node_prefix,
      cidr_base, pod_cidr, pull_duration, auth_token_file;
  double time_scale = 1, report_frequency = 10;
  int max_pods = 110, nodes = 0, node_index = -1, pod_workers = 0, log_port = 0;
  bool insecure_logs = false;
  desc.add_options()
      ("help,h", "print this help")
      ("server", po::value(&server)->default_value("tcp://127.0.0.1:7400"), "the apiserver's ZeroMQ endpoint")
      ("node-name", po::value(&node_name), "this node's name (required unless --nodes)")
      ("cpu", po::value(&cpu)->default_value("4"), "node CPU capacity")
      ("memory", po::value(&memory)->default_value("8Gi"), "node memory capacity")
      ("ephemeral-storage", po::value(&ephemeral)->default_value("100Gi"), "node ephemeral-storage capacity")
      ("pods", po::value(&max_pods)->default_value(110), "node pod capacity")
      ("labels", po::value(&labels)->default_value(""), "extra node labels: k=v,k2=v2")
      ("taints", po::value(&taints)->default_value(""), "node taints at registration: key=value:Effect,...")
      ("time-scale", po::value(&time_scale)->default_value(1), "divide every duration by this")
      ("log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error")
      ("nodes", po::value(&nodes)->default_value(0), "hollow mode: run this many nodes named <prefix>1..<prefix>N")
      ("node-prefix", po::value(&node_prefix)->default_value("hollow-node-"), "hollow mode: node name prefix")
      ("node-index", po::value(&node_index)->default_value(-1),
       "derives pod CIDR and InternalIP (default: the node name's trailing number); hollow mode: the first node's")
      ("pod-cidr-base", po::value(&cidr_base)->default_value("10.244"), "node i gets <base>+i as a /24: 10.244.<i>.0/24")
      ("pod-cidr", po::value(&pod_cidr)->default_value(""), "this node's pod CIDR (overrides --pod-cidr-base)")
      ("image-pull-duration", po::value(&pull_duration)->default_value("0s"), "how long a simulated image pull takes")
      ("node-status-report-frequency", po::value(&report_frequency)->default_value(10),
       "seconds between node status posts when nothing changed (Kubernetes: 300)")
      ("pod-workers", po::value(&pod_workers)->default_value(0), "threads running pod workers per node (default 4; hollow 1)")
      ("log-port", po::value(&log_port)->default_value(0),
       "port to serve container logs on, on each node's InternalIP (0: a free one); registered as the Node's "
       "status.daemonEndpoints.kubeletEndpoint.Port")
      ("kubelet-auth-token-file", po::value(&auth_token_file)->default_value(""),
       "the cluster's kubelet auth token (mode 0600; made by `cattle up`): log requests must be signed with it")
      ("insecure-log-server", po::bool_switch(&insecure_logs),
       "without --kubelet-auth-token-file, serve logs to anyone (default: refuse every log request)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "cattle-kubelet: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  auto fail = [&](const std::string& msg) {
    std::cerr << "cattle-kubelet: " << msg << "\n";
    return 2;
  };
  if (time_scale <= 0) return fail("--time-scale must be positive");
  if (nodes < 0) return fail("--nodes must not be negative");
  if (nodes == 0 && node_name.empty()) return fail("--node-name is required (or --nodes N for hollow nodes)");
  if (nodes > 0 && vm.count("node-name")) return fail("--node-name and --nodes exclude each other");
  if (nodes > 1 && !pod_cidr.empty()) return fail("--pod-cidr names one node's range; not with --nodes");
  auto parsed_labels = kubelet::ParseLabels(labels);
  if (!parsed_labels.ok()) return fail(parsed_labels.status().message());
  auto parsed_taints = kubelet::ParseTaints(taints);
  if (!parsed_taints.ok()) return fail(parsed_taints.status().message());
  auto pull = kubelet::ParseDuration(pull_duration);
  if (!pull) return fail("--image-pull-duration: not a duration: " + pull_duration);
  if (log_port < 0 || log_port > 65535) return fail("--log-port must be in 0..65535");
  if (insecure_logs && !auth_token_file.empty())
    return fail("--insecure-log-server and --kubelet-auth-token-file exclude each other");
  std::string auth_token;
  if (!auth_token_file.empty()) {
    auto token = kubelet_auth::ReadTokenFile(auth_token_file);
    if (!token.ok()) return fail(token.status().message());
    auth_token = *token;
  }

  kubelet::KubeletOptions base;
  base.cpu = cpu;
  base.memory = memory;
  base.ephemeral_storage = ephemeral;
  base.max_pods = max_pods;
  base.labels = *parsed_labels;
  base.taints = *parsed_taints;
  base.pod_cidr_base = cidr_base;
  base.pod_cidr = pod_cidr;
  base.time_scale = TimeScale(time_scale);
  base.image_pull_duration = *pull;
  base.node_status_report_frequency =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(report_frequency));
  base.pod_worker_threads = pod_workers > 0 ? pod_workers : (nodes > 0 ? 1 : 4);

  std::vector<kubelet::KubeletOptions> per_node;
  if (nodes == 0) {
    kubelet::KubeletOptions o = base;
    o.node_name = node_name;
    o.node_index = node_index;
    per_node.push_back(o);
  } else {
    per_node = kubelet::HollowNodeOptions(base, nodes, node_prefix, node_index >= 0 ? node_index : 1);
  }
  for (const auto& o : per_node) {
    if (o.pod_cidr.empty()) {
      auto cidr = kubelet::PodCidrFor(o.pod_cidr_base, o.node_index >= 0 ? o.node_index : kubelet::NodeIndexFromName(o.node_name));
      if (!cidr.ok()) return fail(cidr.status().message());
    }
  }

  log::Init("kubelet", log::ParseLevel(log_level));
  // Two malloc arenas, not 8 per core: the kubelet's threads rarely allocate at the same
  // time, and each arena keeps its own free memory.
  mallopt(M_ARENA_MAX, 2);
  if (nodes > 0) {
    // Hollow mode runs a few threads per node, mostly waiting on futexes. Since Linux 6.16
    // a process gets a private futex hash of 16 buckets on a 2-CPU machine, so with
    // thousands of waiters every wake-up walks a chain of hundreds: ask for about a bucket
    // per thread (prctl PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS; older kernels refuse it,
    // harmlessly).
    unsigned long slots = 16;
    while (slots < 4ul * static_cast<unsigned long>(nodes) && slots < 65536) slots *= 2;
    (void)prctl(78 /* PR_FUTEX_HASH */, 1 /* PR_FUTEX_HASH_SET_SLOTS */, slots, 0, 0);
  }

  // SIGTERM/SIGINT are taken synchronously by main; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Container logs for `kubectl logs`: one socket for every node of this process, on each
  // node's InternalIP and one port (what the apiserver dials).
  kubelet::LogServerOptions log_options;
  log_options.addresses.clear();
  for (const auto& o : per_node) log_options.addresses.push_back(kubelet::InternalIpOf(o));
  log_options.port = log_port;
  log_options.auth_token = auth_token;
  log_options.insecure = insecure_logs;
  kubelet::KubeletLogServer log_server(RealClock::Get(), log_options);
  if (Status s = log_server.Start(); !s.ok()) return fail(s.message());
  for (auto& o : per_node) o.kubelet_port = log_server.port();

  ClientOptions copts;
  copts.endpoint = server;
  Client client(copts);
  Clock* clock = RealClock::Get();

  // Hollow mode: one watch of every bound pod for all nodes, not one per node (each watch
  // costs the apiserver a filter evaluation per pod event), routed to each pod's kubelet.
  std::unique_ptr<Informer> shared_pods;
  kubelet::PodRouter router;
  if (nodes > 0) {
    shared_pods = std::make_unique<Informer>(
        std::make_unique<ClientListerWatcher>(&client, client.Kind("pods"), "", "", "spec.nodeName!="), clock);
  }

  // One event-writing thread for all the nodes, each with its own source.host.
  EventRecorder events(&client, clock, "kubelet");
  std::vector<Node> graph;
  graph.reserve(per_node.size());
  for (const auto& o : per_node) {
    Node n;
    n.runtime = std::make_unique<kubelet::SimulatedRuntime>(clock);
    n.recorder = std::make_unique<EventRecorder>(&events, o.node_name);
    n.kubelet = std::make_unique<kubelet::Kubelet>(&client, clock, n.runtime.get(), n.recorder.get(), o,
                                                   shared_pods.get());
    if (shared_pods) router.Add(n.kubelet.get());
    kubelet::Kubelet* k = n.kubelet.get();
    log_server.AddNode(o.node_name, [k](const std::string& ns, const std::string& pod, const std::string& uid,
                                        const std::string& container, bool previous) {
      return k->OpenContainerLog(ns, pod, uid, container, previous);
    });
    graph.push_back(std::move(n));
  }
  if (shared_pods) {
    shared_pods->AddHandlers(router.Handlers());
    shared_pods->Start();
  }
  for (auto& n : graph) n.kubelet->Start();
  CATTLE_LOG(INFO) << "started" << kv("server", server) << kv("logs", log_server.endpoint()) << kv("nodes", graph.size())
                   << kv("first", per_node.front().node_name) << kv("time_scale", time_scale);

  // Memory: a kubelet runs per node and mostly waits. Between bursts (pods starting, a
  // relist) the heap's free pages go back to the OS, so its RSS follows what it holds.
  int sig = -1;
  const timespec trim_every{10, 0};
  while ((sig = sigtimedwait(&signals, nullptr, &trim_every)) < 0) malloc_trim(0);
  CATTLE_LOG(INFO) << "shutting down" << kv("signal", sig);
  log_server.Stop();  // before the kubelets its openers use
  for (auto& n : graph) n.kubelet->Stop();
  if (shared_pods) shared_pods->Stop();  // its handlers point at the kubelets
  graph.clear();
  CATTLE_LOG(INFO) << "stopped";
  return 0;
}
