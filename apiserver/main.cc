// cattle-apiserver: the store (RocksDB) and the API over ZeroMQ. main() only parses flags
// and wires objects.
#include <signal.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "apiserver/registry.h"
#include "apiserver/store.h"
#include "apiserver/zmq_server.h"
#include "cattle/log.h"

namespace po = boost::program_options;
using namespace cattle;

int main(int argc, char** argv) {
  po::options_description desc("cattle-apiserver: the cluster's store and API server.\nOptions");
  std::string data_dir, zmq_endpoint, log_level;
  double time_scale = 1, compaction_age_s = 300, heartbeat_s = 1;
  int64_t compaction_max_events = 0;
  desc.add_options()
      ("help,h", "print this help")
      ("data-dir", po::value(&data_dir)->default_value(".cattle/apiserver-data"), "RocksDB directory")
      ("zmq-endpoint", po::value(&zmq_endpoint)->default_value("tcp://127.0.0.1:7400"), "ZeroMQ endpoint to bind")
      ("compaction-age", po::value(&compaction_age_s)->default_value(300), "seconds of watch history kept (before --time-scale)")
      ("compaction-max-events", po::value(&compaction_max_events)->default_value(0), "history events kept at most (0: no limit)")
      ("watch-heartbeat", po::value(&heartbeat_s)->default_value(1), "seconds between watch heartbeats")
      ("time-scale", po::value(&time_scale)->default_value(1), "divide every duration by this")
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
  if (time_scale <= 0 || compaction_age_s <= 0 || heartbeat_s <= 0) {
    std::cerr << "cattle-apiserver: --time-scale, --compaction-age and --watch-heartbeat must be positive\n";
    return 2;
  }
  log::Init("apiserver", log::ParseLevel(log_level));

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
  CATTLE_LOG(INFO) << "serving" << kv("zmq", server.endpoint()) << kv("data_dir", data_dir)
                   << kv("revision", (*store)->CurrentRevision());

  int sig = 0;
  sigwait(&signals, &sig);
  CATTLE_LOG(INFO) << "shutting down" << kv("signal", sig);
  server.Stop();
  store->reset();
  CATTLE_LOG(INFO) << "stopped";
  return 0;
}
