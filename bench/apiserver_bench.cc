// Benchmark of the real apiserver over ZeroMQ: durable creates of objects carrying a 1 KiB
// payload with 1, 16 and 64 concurrent writers, and watch delivery latency (send → receipt
// by every watcher) with 1 and 100 watchers. Run it through bench/run.sh.
#include <boost/program_options.hpp>
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "cattle/client.h"
#include "core.capnp.h"

#include "bench/bench_util.h"

namespace po = boost::program_options;
using namespace cattle;

namespace {

using cattle::bench::NowNs;
using cattle::bench::PercentileMs;
Object Payload(const KindInfo* cm, const std::string& name, size_t bytes, int64_t stamp) {
  Object o(cm);
  o.meta().setName(name);
  o.meta().setNamespace("default");
  SetStringMap(o.as<api::ConfigMap>().initData(), {{"payload", std::string(bytes, 'x')}, {"sent", std::to_string(stamp)}});
  return o;
}

void Writes(const std::string& endpoint, int writers, double seconds, size_t bytes, int clients) {
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < clients; ++i) {
    ClientOptions o;
    o.endpoint = endpoint;
    cs.push_back(std::make_unique<Client>(o));
  }
  const KindInfo* cm = cs[0]->Kind("configmaps");
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<int64_t> lat;
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> ts;
  static std::atomic<int64_t> seq{0};
  for (int w = 0; w < writers; ++w) {
    ts.emplace_back([&, w] {
      std::vector<int64_t> mine;
      Client* c = cs[w % clients].get();
      while (!stop.load()) {
        int64_t t0 = NowNs();
        auto r = c->Create(Payload(cm, "w" + std::to_string(seq.fetch_add(1)), bytes, t0));
        if (!r.ok()) {
          errors++;
          continue;
        }
        mine.push_back(NowNs() - t0);
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double rate = lat.size() / seconds;
  std::cout << "writes  writers=" << writers << "  " << static_cast<int64_t>(rate) << " creates/s"
            << "  p50=" << PercentileMs(lat, 0.50) << "ms p99=" << PercentileMs(lat, 0.99) << "ms"
            << "  errors=" << errors.load() << "\n";
}

void WatchLatency(const std::string& endpoint, int watchers, int events, size_t bytes) {
  int clients = std::min(watchers, 4);
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < clients; ++i) {
    ClientOptions o;
    o.endpoint = endpoint;
    cs.push_back(std::make_unique<Client>(o));
  }
  const KindInfo* cm = cs[0]->Kind("configmaps");
  auto rev = cs[0]->Health();
  std::mutex mu;
  std::vector<int64_t> lat;
  std::atomic<int64_t> received{0};
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int w = 0; w < watchers; ++w) {
    WatchOptions wo;
    wo.resource_version = std::to_string(*rev);
    wo.label_selector = "bench=watch";
    auto s = cs[w % clients]->Watch(
        cm, "default", wo,
        [&](ClientWatchEvent& ev) {
          int64_t now = NowNs();
          auto data = ToStdMap(ev.object.get<api::ConfigMap>().getData());
          int64_t sent = atoll(data["sent"].c_str());
          std::lock_guard<std::mutex> lock(mu);
          lat.push_back(now - sent);
          received++;
        },
        [](const Status&) {});
    if (!s.ok()) {
      std::cerr << "watch failed: " << s.status().ToString() << "\n";
      return;
    }
    streams.push_back(std::move(*s));
  }
  ClientOptions o;
  o.endpoint = endpoint;
  Client writer(o);
  static std::atomic<int64_t> seq{0};
  for (int i = 0; i < events; ++i) {
    Object obj = Payload(cm, "watch-" + std::to_string(seq.fetch_add(1)), bytes, NowNs());
    SetStringMap(obj.meta().initLabels(), {{"bench", "watch"}});
    // Stamp just before sending.
    auto data = ToStdMap(obj.get<api::ConfigMap>().getData());
    data["sent"] = std::to_string(NowNs());
    SetStringMap(obj.as<api::ConfigMap>().initData(), data);
    (void)writer.Create(obj);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // paced: latency, not throughput
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (received.load() < static_cast<int64_t>(events) * watchers && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::lock_guard<std::mutex> lock(mu);
  std::cout << "watch   watchers=" << watchers << "  events=" << events << "  delivered=" << lat.size()
            << "  p50=" << PercentileMs(lat, 0.50) << "ms p99=" << PercentileMs(lat, 0.99) << "ms\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint;
  double seconds = 5;
  size_t bytes = 1024;
  int clients = 4, events = 500;
  std::vector<int> writers = {1, 16, 64}, watchers = {1, 100};
  po::options_description desc("apiserver_bench: writes and watch latency against a running cattle-apiserver");
  desc.add_options()("help,h", "help")
      ("endpoint", po::value(&endpoint)->required(), "apiserver ZeroMQ endpoint")
      ("seconds", po::value(&seconds)->default_value(5), "seconds per write level")
      ("value-bytes", po::value(&bytes)->default_value(1024), "payload bytes per object")
      ("clients", po::value(&clients)->default_value(4), "client connections shared by the writers")
      ("events", po::value(&events)->default_value(500), "events per watch level")
      ("writers", po::value(&writers)->multitoken(), "writer counts (default 1 16 64)")
      ("watchers", po::value(&watchers)->multitoken(), "watcher counts (default 1 100)");
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
  for (int w : writers) Writes(endpoint, w, seconds, bytes, std::min(clients, w));
  for (int w : watchers) WatchLatency(endpoint, w, events, bytes);
  return 0;
}
