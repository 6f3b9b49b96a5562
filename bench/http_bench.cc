// Benchmark of the apiserver's Kubernetes HTTP API: durable creates (1 KiB ConfigMaps)
// with 1, 16 and 64 keep-alive connections, gets, lists of 500 objects, and watch delivery
// latency (send -> receipt of the event line) with 1 and 100 watch streams. Run it through
// bench/run.sh, which puts etcd's JSON gateway beside it.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/program_options.hpp>
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench/bench_util.h"

namespace po = boost::program_options;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using cattle::bench::NowNs;
using cattle::bench::PercentileMs;
// One keep-alive HTTP/1.1 connection.
class Conn {
 public:
  explicit Conn(int port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    socket_.set_option(tcp::no_delay(true));
  }
  // The status code, or -1 on a transport error.
  int Do(http::verb verb, const std::string& target, const std::string& body, std::string* out = nullptr) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::accept, "application/json");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(socket_, req, ec);
    if (ec) return -1;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 30);
    http::read(socket_, buffer_, parser, ec);
    if (ec) return -1;
    if (out) *out = parser.get().body();
    return parser.get().result_int();
  }
  tcp::socket& socket() { return socket_; }
  beast::flat_buffer& buffer() { return buffer_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string ConfigMap(const std::string& name, size_t bytes, int64_t stamp) {
  nlohmann::json j = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                      {"metadata", {{"name", name}}},
                      {"data", {{"payload", std::string(bytes, 'x')}, {"sent", std::to_string(stamp)}}}};
  return j.dump();
}

struct Run {
  int64_t ops = 0;
  int64_t errors = 0;
  std::vector<int64_t> lat;
};

// `op(conn, i)` returns the HTTP status; 2xx counts.
template <typename Op>
Run Drive(int port, int conns, double seconds, Op op) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  Run total;
  std::vector<std::thread> ts;
  static std::atomic<int64_t> seq{0};
  for (int w = 0; w < conns; ++w) {
    ts.emplace_back([&] {
      Conn c(port);
      Run mine;
      while (!stop.load()) {
        int64_t t0 = NowNs();
        int code = op(c, seq.fetch_add(1));
        if (code < 200 || code >= 300) {
          mine.errors++;
          if (code < 0) break;
          continue;
        }
        mine.lat.push_back(NowNs() - t0);
      }
      std::lock_guard<std::mutex> lock(mu);
      total.lat.insert(total.lat.end(), mine.lat.begin(), mine.lat.end());
      total.errors += mine.errors;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  total.ops = static_cast<int64_t>(total.lat.size());
  return total;
}

void Report(const std::string& what, int conns, double seconds, Run r) {
  std::cout << what << "  conns=" << conns << "  " << static_cast<int64_t>(r.ops / seconds) << " req/s"
            << "  p50=" << PercentileMs(r.lat, 0.50) << "ms p99=" << PercentileMs(r.lat, 0.99) << "ms"
            << "  errors=" << r.errors << "\n";
}

void WatchLatency(int port, int watchers, int events, size_t bytes) {
  // Watch streams from "now": each reads event lines and records receipt - send time.
  std::string ns = "watch-" + std::to_string(watchers);
  {
    Conn c(port);
    c.Do(http::verb::post, "/api/v1/namespaces",
         nlohmann::json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}.dump());
  }
  std::mutex mu;
  std::vector<int64_t> lat;
  std::atomic<int64_t> delivered{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  for (int w = 0; w < watchers; ++w) {
    ts.emplace_back([&] {
      Conn c(port);
      http::request<http::empty_body> req{http::verb::get,
                                          "/api/v1/namespaces/" + ns + "/configmaps?watch=true&timeoutSeconds=60", 11};
      req.set(http::field::host, "127.0.0.1");
      http::write(c.socket(), req);
      http::response_parser<http::buffer_body> parser;
      parser.body_limit(1ull << 40);
      http::read_header(c.socket(), c.buffer(), parser);
      ready++;
      std::string pending;
      std::vector<int64_t> mine;
      char data[65536];
      int seen = 0;
      while (seen < events && !parser.is_done()) {
        parser.get().body().data = data;
        parser.get().body().size = sizeof(data);
        boost::system::error_code ec;
        http::read_some(c.socket(), c.buffer(), parser, ec);
        if (ec && ec != http::error::need_buffer) break;
        pending.append(data, sizeof(data) - parser.get().body().size);
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          int64_t now = NowNs();
          auto ev = nlohmann::json::parse(pending.substr(0, nl), nullptr, false);
          pending.erase(0, nl + 1);
          if (ev.is_discarded() || ev.value("type", "") != "ADDED") continue;
          mine.push_back(now - std::stoll(ev["object"]["data"]["sent"].get<std::string>()));
          ++seen;
        }
      }
      delivered += static_cast<int64_t>(mine.size());
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  while (ready.load() < watchers) std::this_thread::yield();
  // The watches are registered once their headers came back; write at a steady pace.
  Conn writer(port);
  for (int i = 0; i < events; ++i) {
    writer.Do(http::verb::post, "/api/v1/namespaces/" + ns + "/configmaps",
              ConfigMap("e" + std::to_string(i), bytes, NowNs()));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& t : ts) t.join();
  std::cout << "watch   watchers=" << watchers << "  events=" << events << "  delivered=" << delivered.load()
            << "  p50=" << PercentileMs(lat, 0.50) << "ms p99=" << PercentileMs(lat, 0.99) << "ms\n";
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("http_bench: the apiserver's Kubernetes HTTP API under load.\nOptions");
  int port = 7401;
  double seconds = 5;
  size_t bytes = 1024;
  desc.add_options()
      ("help,h", "print this help")
      ("port", po::value(&port)->default_value(7401), "the apiserver's HTTP port on 127.0.0.1")
      ("seconds", po::value(&seconds)->default_value(5), "seconds per measurement")
      ("bytes", po::value(&bytes)->default_value(1024), "payload bytes per object");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "http_bench: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  try {
    for (int conns : {1, 16, 64}) {
      auto r = Drive(port, conns, seconds, [&](Conn& c, int64_t i) {
        return c.Do(http::verb::post, "/api/v1/namespaces/default/configmaps",
                    ConfigMap("c" + std::to_string(i), bytes, NowNs()));
      });
      Report("create", conns, seconds, std::move(r));
    }
    for (int conns : {1, 16}) {
      auto r = Drive(port, conns, seconds, [&](Conn& c, int64_t i) {
        return c.Do(http::verb::get, "/api/v1/namespaces/default/configmaps/c" + std::to_string(i % 100), "");
      });
      Report("get   ", conns, seconds, std::move(r));
    }
    for (int conns : {1, 4}) {
      auto r = Drive(port, conns, seconds, [&](Conn& c, int64_t) {
        return c.Do(http::verb::get, "/api/v1/namespaces/default/configmaps?limit=500", "");
      });
      Report("list500", conns, seconds, std::move(r));
    }
    WatchLatency(port, 1, 500, bytes);
    WatchLatency(port, 100, 500, bytes);
  } catch (const std::exception& e) {
    std::cerr << "http_bench: " << e.what() << " (is the apiserver's HTTP port " << port << " up?)\n";
    return 1;
  }
  return 0;
}
