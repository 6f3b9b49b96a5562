// cattle-apiserver: the store (RocksDB) and the API over ZeroMQ. main() only parses flags
// and wires objects.
#include <signal.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "apiserver/http_server.h"
#include "apiserver/kubelet_logs.h"
#include "apiserver/registry.h"
#include "apiserver/rest_api.h"
#include "apiserver/store.h"
#include "apiserver/zmq_server.h"
#include "cattle/kubelet_auth.h"
#include "cattle/log.h"

namespace po = boost::program_options;
using namespace cattle;

int main(int argc, char** argv) {
  po::options_description desc("cattle-apiserver: the cluster's store and API server.\nOptions");
  std::string data_dir, zmq_endpoint, log_level, http_address, kubelet_token_file;
  int http_port = 7401;
  double time_scale = 1, compaction_age_s = 300, heartbeat_s = 1;
  int64_t compaction_max_events = 0;
  // HTTP transport limits: wall-clock seconds, not scaled by --time-scale.
  apiserver::HttpServerOptions hdefaults;
  int http_max_connections = hdefaults.max_connections;
  int http_max_per_client = hdefaults.max_connections_per_client;
  double http_header_timeout_s = 10, http_idle_timeout_s = 90, http_body_timeout_s = 10,
         http_body_timeout_per_mib_s = 10, http_write_timeout_s = 60;
  desc.add_options()
      ("help,h", "print this help")
      ("data-dir", po::value(&data_dir)->default_value(".cattle/apiserver-data"), "RocksDB directory")
      ("zmq-endpoint", po::value(&zmq_endpoint)->default_value("tcp://127.0.0.1:7400"), "ZeroMQ endpoint to bind")
      ("http-address", po::value(&http_address)->default_value("127.0.0.1"), "address of the Kubernetes HTTP API (kubectl)")
      ("http-port", po::value(&http_port)->default_value(7401), "port of the Kubernetes HTTP API; 0 picks a free one, -1 turns it off")
      ("http-max-connections", po::value(&http_max_connections)->default_value(http_max_connections),
       "HTTP connections open at once, all clients together (lowered to fit the open-file limit); more are answered 429")
      ("http-max-connections-per-client", po::value(&http_max_per_client)->default_value(http_max_per_client),
       "HTTP connections open at once from one source IP (every local client is 127.0.0.1)")
      ("http-header-timeout", po::value(&http_header_timeout_s)->default_value(http_header_timeout_s),
       "seconds from a connection's accept (or a keep-alive request's first byte) to its request header's end")
      ("http-idle-timeout", po::value(&http_idle_timeout_s)->default_value(http_idle_timeout_s),
       "seconds a keep-alive HTTP connection may wait for its next request")
      ("http-body-timeout", po::value(&http_body_timeout_s)->default_value(http_body_timeout_s),
       "seconds to receive a request body, plus --http-body-timeout-per-mib for each MiB of it")
      ("http-body-timeout-per-mib", po::value(&http_body_timeout_per_mib_s)->default_value(http_body_timeout_per_mib_s),
       "extra seconds to receive each MiB of a request body")
      ("http-write-timeout", po::value(&http_write_timeout_s)->default_value(http_write_timeout_s),
       "seconds an HTTP client (a watch or log stream too) may take no bytes before it is dropped")
      ("compaction-age", po::value(&compaction_age_s)->default_value(300), "seconds of watch history kept (before --time-scale)")
      ("compaction-max-events", po::value(&compaction_max_events)->default_value(0), "history events kept at most (0: no limit)")
      ("watch-heartbeat", po::value(&heartbeat_s)->default_value(1), "seconds between watch heartbeats")
      ("time-scale", po::value(&time_scale)->default_value(1), "divide every duration by this")
      ("kubelet-auth-token-file", po::value(&kubelet_token_file)->default_value(""),
       "the cluster's kubelet auth token (mode 0600; made by `cattle up`), signing every request to a kubelet; "
       "without it only kubelets run with --insecure-log-server serve logs")
      ("log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "cattle-apiserver: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  if (http_port < -1 || http_port > 65535) {
    std::cerr << "cattle-apiserver: --http-port must be in 0..65535 (or -1 to turn HTTP off)\n";
    return 2;
  }
  if (time_scale <= 0 || compaction_age_s <= 0 || heartbeat_s <= 0) {
    std::cerr << "cattle-apiserver: --time-scale, --compaction-age and --watch-heartbeat must be positive\n";
    return 2;
  }
  if (http_max_connections <= 0 || http_max_per_client <= 0 || http_header_timeout_s <= 0 || http_idle_timeout_s <= 0 ||
      http_body_timeout_s <= 0 || http_body_timeout_per_mib_s < 0 || http_write_timeout_s <= 0) {
    std::cerr << "cattle-apiserver: the --http-* limits must be positive\n";
    return 2;
  }
  apiserver::KubeletLogClientOptions kubelet_options;
  if (!kubelet_token_file.empty()) {
    auto token = kubelet_auth::ReadTokenFile(kubelet_token_file);
    if (!token.ok()) {
      std::cerr << "cattle-apiserver: " << token.status().message() << "\n";
      return 2;
    }
    kubelet_options.auth_token = *token;
  }
  log::Init("apiserver", log::ParseLevel(log_level));
  if (kubelet_options.auth_token.empty()) {
    CATTLE_LOG(WARN) << "no --kubelet-auth-token-file: requests to kubelets are unauthenticated";
  }
  // Thousands of HTTP connections (and the store's files) need more than the usual 1024.
  int64_t open_files = apiserver::RaiseOpenFileLimit();

  // SIGTERM/SIGINT are taken synchronously by main; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  store::StoreOptions sopts;
  sopts.dir = data_dir;
  sopts.compaction_age = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(compaction_age_s / time_scale));
  sopts.compaction_max_events = compaction_max_events;
  // A restart right after a kill may find the old process's last threads still exiting
  // with the LOCK held: wait a few seconds for it rather than fail.
  sopts.lock_wait = std::chrono::seconds(5);
  auto store = store::Store::Open(sopts);
  if (!store.ok()) {
    CATTLE_LOG(ERROR) << "cannot open the store" << kv("dir", data_dir) << kv("error", store.status().ToString());
    std::cerr << "cattle-apiserver: cannot open the store in " << data_dir << ": " << store.status().message() << "\n";
    return 1;
  }
  apiserver::Registry registry(store->get(), &KindRegistry::Default(), RealClock::Get());
  if (Status s = registry.Bootstrap(); !s.ok()) {
    CATTLE_LOG(ERROR) << "bootstrap failed" << kv("error", s.ToString());
    return 1;
  }
  apiserver::ZmqServerOptions zopts;
  zopts.endpoint = zmq_endpoint;
  zopts.heartbeat_interval = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(heartbeat_s));
  apiserver::ZmqServer server(&registry, zopts);
  if (Status s = server.Start(); !s.ok()) {
    CATTLE_LOG(ERROR) << "cannot serve" << kv("error", s.ToString());
    std::cerr << "cattle-apiserver: " << s.message() << "\n";
    return 1;
  }
  apiserver::KubeletLogClient kubelet_logs(&registry, kubelet_options);
  std::unique_ptr<apiserver::RestApi> rest;
  std::unique_ptr<apiserver::HttpServer> http;
  if (http_port >= 0) {
    apiserver::RestApiOptions ropts;
    ropts.server_address = http_address + ":" + std::to_string(http_port);
    ropts.logs = [&kubelet_logs](const Object& pod, const apiserver::LogOptions& options,
                                 const std::function<bool(std::string_view)>& on_chunk,
                                 const std::atomic<bool>* cancelled) {
      return kubelet_logs.StreamLogs(pod, options, on_chunk, cancelled);
    };
    rest = std::make_unique<apiserver::RestApi>(&registry, RealClock::Get(), ropts);
    apiserver::HttpServerOptions hopts;
    hopts.address = http_address;
    hopts.port = http_port;
    auto seconds = [](double s) { return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s)); };
    hopts.max_connections = http_max_connections;
    hopts.max_connections_per_client = http_max_per_client;
    hopts.header_timeout = seconds(http_header_timeout_s);
    hopts.idle_timeout = seconds(http_idle_timeout_s);
    hopts.body_timeout = seconds(http_body_timeout_s);
    hopts.body_timeout_per_mib = seconds(http_body_timeout_per_mib_s);
    hopts.write_timeout = seconds(http_write_timeout_s);
    http = std::make_unique<apiserver::HttpServer>(rest.get(), hopts);
    if (Status s = http->Start(); !s.ok()) {
      CATTLE_LOG(ERROR) << "cannot serve HTTP" << kv("error", s.ToString());
      std::cerr << "cattle-apiserver: " << s.message() << "\n";
      server.Stop();
      return 1;
    }
  }
  CATTLE_LOG(INFO) << "serving" << kv("zmq", server.endpoint())
                   << kv("http", http ? http_address + ":" + std::to_string(http->port()) : std::string("off"))
                   << kv("data_dir", data_dir) << kv("revision", (*store)->CurrentRevision())
                   << kv("open_files", open_files)
                   << kv("http_max_connections", http ? http->max_connections() : 0);

  int sig = 0;
  sigwait(&signals, &sig);
  CATTLE_LOG(INFO) << "shutting down" << kv("signal", sig);
  if (http) http->Stop();
  server.Stop();
  store->reset();
  CATTLE_LOG(INFO) << "stopped";
  return 0;
}
