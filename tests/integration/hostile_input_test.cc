// The real cattle-apiserver against a hostile user: corrupted Cap'n Proto bodies on the
// ZeroMQ socket, ill-formed UTF-8 in every body format on both faces, and YAML alias bombs.
// Each is answered with a 400-class error, nothing is stored, and the process, its other
// requests and its watches go on.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <zmq.hpp>

#include "cattle/client.h"
#include "cattle/utf8.h"
#include "cattle/wire.h"
#include "core.capnp.h"
#include "testutil/corrupt.h"
#include "testutil/hostile_bodies.h"
#include "testutil/process.h"

namespace cattle {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using testutil::Eventually;

const KindInfo* ConfigMaps() { return KindRegistry::Default().ByGroupResource("", "configmaps"); }

Object MakeConfigMap(const std::string& name, const std::string& value = "hello") {
  Object cm(ConfigMaps());
  cm.meta().setName(name);
  cm.meta().setNamespace("default");
  SetStringMap(cm.as<api::ConfigMap>().initData(), {{"greeting", value}});
  return cm;
}

// A raw ZeroMQ peer sending hand-made envelopes.
struct RawPeer {
  explicit RawPeer(const std::string& endpoint) {
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(endpoint);
  }
  // The reply's status reason ("OK" for none, "" for no reply within 5 s).
  std::string Call(const std::string& bytes) {
    socket.send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    if (!(item.revents & ZMQ_POLLIN)) return "";
    zmq::message_t m;
    (void)socket.recv(m);
    auto d = wire_util::Decoded::Parse(std::string_view(static_cast<const char*>(m.data()), m.size()));
    if (!d.ok()) return "undecodable reply";
    auto resp = (*d)->envelope().getResponse();
    return resp.hasStatus() ? resp.getStatus().getReason().cStr() : "OK";
  }
  // A request with `verb` on configmaps in "default" carrying `body`.
  static std::string Request(wire::Verb verb, const std::string& body, const std::string& name = "",
                             const std::string& ns = "default") {
    capnp::MallocMessageBuilder msg;
    auto req = msg.initRoot<wire::Envelope>().initRequest();
    req.setId(1);
    req.setVerb(verb);
    req.setResource("configmaps");
    req.setNamespace(ns);
    req.setName(name);
    if (verb == wire::Verb::CREATE_MANY) {
      req.initBodies(1).set(0, wire_util::AsData(body));
    } else {
      req.setBody(wire_util::AsData(body));
    }
    return wire_util::Serialize(msg);
  }
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};
};

struct HttpReply {
  int code = 0;
  std::string body;
};

HttpReply HttpCall(int port, const std::string& method, const std::string& target, const std::string& body = "",
                   const std::string& content_type = "application/json") {
  net::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
  if (ec) return {};
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::accept, "application/json");
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.prepare_payload();
  http::write(s, req, ec);
  if (ec) return {};
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(s, buf, parser, ec);
  if (ec) return {};
  auto res = parser.release();
  return {static_cast<int>(res.result_int()), res.body()};
}

// An HTTP watch stream, read line by line.
class HttpWatch {
 public:
  HttpWatch(int port, const std::string& target) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket_, req);
    parser_.body_limit(1 << 30);
    http::read_header(socket_, buffer_, parser_);
    code = parser_.get().result_int();
  }
  // The next line, or "" at the end of the stream.
  std::string Next() {
    for (;;) {
      size_t nl = pending_.find('\n');
      if (nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return line;
      }
      if (parser_.is_done()) return "";
      char data[4096];
      parser_.get().body().data = data;
      parser_.get().body().size = sizeof(data);
      boost::system::error_code ec;
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec && ec != http::error::need_buffer) return "";
      pending_.append(data, sizeof(data) - parser_.get().body().size);
    }
  }
  // The name of the next ADDED object, skipping other events; "" at the end.
  std::string NextAdded() {
    for (std::string line = Next(); !line.empty(); line = Next()) {
      Json ev = Json::parse(line, nullptr, false);
      if (ev.is_discarded()) return "undecodable: " + line;
      if (ev["type"] == "ADDED") return ev["object"]["metadata"].value("name", "");
    }
    return "";
  }
  int code = 0;

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::string pending_;
};

// An apiserver with both faces, a client and a ZeroMQ watch of configmaps recording names.
struct Fixture {
  Fixture() : http_port(FreeHttpPort()), server(dir.path(), {"--http-port", std::to_string(http_port)}) {
    ok = server.Start();
    ClientOptions o;
    o.endpoint = server.endpoint();
    client = std::make_unique<Client>(o);
    if (!ok) return;
    auto w = client->Watch(
        ConfigMaps(), "", {},
        [this](ClientWatchEvent& ev) {
          std::lock_guard<std::mutex> lock(mu);
          watched.insert(ev.object.name());
        },
        [](const Status&) {});
    ok = w.ok();
    if (ok) watch = std::move(*w);
  }
  static int FreeHttpPort() { return testutil::FreePort(); }
  bool Watched(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    return watched.count(name) > 0;
  }
  bool Alive() { return kill(server.pid(), 0) == 0 && client->Health(std::chrono::milliseconds(1000)).ok(); }
  bool Stored(const std::string& name) { return client->Get(ConfigMaps(), "default", name).ok(); }

  testutil::TempDir dir;
  int http_port;
  testutil::ApiServer server;
  bool ok = false;
  std::unique_ptr<Client> client;
  std::mutex mu;
  std::set<std::string> watched;  // GUARDED_BY(mu)
  std::unique_ptr<WatchStream> watch;
};

TEST(HostileInputTest, CorruptedCapnpBodiesAreBadRequestsAndTheServerAndItsWatchesGoOn) {
  Fixture f;
  ASSERT_TRUE(f.ok);
  HttpWatch http_watch(f.http_port, "/api/v1/configmaps?watch=true&timeoutSeconds=60");
  ASSERT_EQ(http_watch.code, 200);
  ASSERT_TRUE(f.client->Create(MakeConfigMap("before")).ok());
  ASSERT_TRUE(Eventually([&] { return f.Watched("before"); }));
  EXPECT_EQ(http_watch.NextAdded(), "before");

  RawPeer raw(f.server.endpoint());
  std::string good = MakeConfigMap("zzmarkerzz").ToBytes();
  const std::pair<testutil::TextCorruption, const char*> corruptions[] = {
      {testutil::TextCorruption::kMissingNul, "missing NUL"},
      {testutil::TextCorruption::kNotAList, "pointer is not a list"},
      {testutil::TextCorruption::kNotByteSized, "list not byte-sized"},
  };
  for (const auto& [how, what] : corruptions) {
    std::string bad = testutil::CorruptText(good, "zzmarkerzz", how);
    ASSERT_FALSE(bad.empty()) << what;
    EXPECT_EQ(raw.Call(RawPeer::Request(wire::Verb::CREATE, bad)), "BadRequest") << "create, " << what;
    ASSERT_TRUE(f.Alive()) << "the apiserver died on a create with " << what;
    EXPECT_EQ(raw.Call(RawPeer::Request(wire::Verb::UPDATE, bad, "before")), "BadRequest") << "update, " << what;
    EXPECT_EQ(raw.Call(RawPeer::Request(wire::Verb::CREATE_MANY, bad)), "OK") << "createMany, " << what;
    ASSERT_TRUE(f.Alive()) << "the apiserver died on an update or createMany with " << what;
  }
  // Ill-formed UTF-8 in a body and in the envelope itself.
  EXPECT_EQ(raw.Call(RawPeer::Request(wire::Verb::CREATE, MakeConfigMap("utf8", "\xFF\xFE").ToBytes())), "BadRequest");
  EXPECT_EQ(raw.Call(RawPeer::Request(wire::Verb::CREATE, MakeConfigMap("env").ToBytes(), "", "def\xC0\xAFult")),
            "BadRequest");
  ASSERT_TRUE(f.Alive());
  EXPECT_FALSE(f.Stored("zzmarkerzz"));
  EXPECT_FALSE(f.Stored("utf8"));

  // Everything else goes on: writes, reads, both watches.
  ASSERT_TRUE(f.client->Create(MakeConfigMap("after")).ok());
  EXPECT_TRUE(Eventually([&] { return f.Watched("after"); })) << "the ZeroMQ watch stopped";
  EXPECT_EQ(http_watch.NextAdded(), "after") << "the HTTP watch stopped";
  auto list = f.client->List(ConfigMaps(), "");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->items.size(), 2u);
  EXPECT_EQ(HttpCall(f.http_port, "GET", "/api/v1/configmaps").code, 200);
  EXPECT_EQ(f.server.Terminate(), 0);
}

TEST(HostileInputTest, IllFormedUtf8IsRefusedOnEveryFaceAndEveryReadStillServes) {
  Fixture f;
  ASSERT_TRUE(f.ok);
  HttpWatch http_watch(f.http_port, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=60");
  ASSERT_EQ(http_watch.code, 200);
  const std::string path = "/api/v1/namespaces/default/configmaps";
  struct Case {
    const char* name;
    std::string body, type;
  };
  const Case cases[] = {
      {"yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\ndata:\n  greeting: \"\xFF\xFE\"\n",
       "application/yaml"},
      {"json",
       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"json\"},\"data\":{\"greeting\":\"\xFF\xFE\"}}",
       "application/json"},
      {"protobuf", testutil::ProtobufConfigMap("protobuf", "default", "greeting", "\xFF\xFE"),
       "application/vnd.kubernetes.protobuf"},
  };
  for (const auto& c : cases) {
    auto r = HttpCall(f.http_port, "POST", path, c.body, c.type);
    EXPECT_EQ(r.code, 400) << c.name << ": " << SanitizeUtf8(r.body);
    EXPECT_TRUE(ValidUtf8(r.body)) << c.name;
    EXPECT_NE(r.body.find("not valid UTF-8"), std::string::npos) << c.name << ": " << SanitizeUtf8(r.body);
    EXPECT_FALSE(f.Stored(c.name)) << c.name << " was stored";
  }
  RawPeer raw(f.server.endpoint());
  EXPECT_EQ(raw.Call(RawPeer::Request(wire::Verb::CREATE, MakeConfigMap("capnp", "\xFF\xFE").ToBytes())), "BadRequest");
  EXPECT_FALSE(f.Stored("capnp"));

  // cattle apply parses locally: refused before anything is sent.
  std::string manifest = f.dir.path() + "/bad.yaml";
  std::ofstream(manifest) << "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  greeting: \"\xFF\xFE\"\n";
  std::string out;
  int rc = testutil::Run(testutil::BinDir() + "/cattle apply --server " + f.server.endpoint() + " -f " + manifest, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(out.find("created"), std::string::npos) << out;
  EXPECT_FALSE(f.Stored("applied"));

  // Every read still serves: lists of the namespace and of all configmaps, both watches,
  // and the CLI's JSON output.
  ASSERT_TRUE(f.client->Create(MakeConfigMap("good")).ok());
  EXPECT_EQ(http_watch.NextAdded(), "good");
  EXPECT_TRUE(Eventually([&] { return f.Watched("good"); }));
  auto ns_list = HttpCall(f.http_port, "GET", path);
  EXPECT_EQ(ns_list.code, 200) << ns_list.body;
  auto all = HttpCall(f.http_port, "GET", "/api/v1/configmaps");
  ASSERT_EQ(all.code, 200) << all.body;
  EXPECT_EQ(Json::parse(all.body)["items"].size(), 1u);
  rc = testutil::Run(testutil::BinDir() + "/cattle get cm good -o json --server " + f.server.endpoint(), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"good\""), std::string::npos) << out;
  EXPECT_TRUE(f.Alive());
  EXPECT_EQ(f.server.Terminate(), 0);
}

// VmRSS (or another "Vm..." line) of `pid` in KiB, from /proc.
long ProcKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

TEST(HostileInputTest, AliasBombIsAFastBadRequestWithoutMemoryGrowth) {
  Fixture f;
  ASSERT_TRUE(f.ok);
  const std::string path = "/api/v1/namespaces/default/configmaps";
  // Warm up the paths a YAML create takes (threads, caches), then measure.
  for (int i = 0; i < 3; ++i) {
    std::string yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: warm-" + std::to_string(i) +
                       "\nx:\n  a: &a [1, 2]\n  b: *a\n";
    ASSERT_EQ(HttpCall(f.http_port, "POST", path, yaml, "application/yaml").code, 201);
  }
  // Seven levels (394 bytes) first: the old converter accepted it with 440 MB it kept; stop
  // there rather than feed the nine-level one to a server that would take 16 GB.
  std::string small = testutil::AliasBomb(7, "bomb7");
  auto r7 = HttpCall(f.http_port, "POST", path, small, "application/yaml");
  ASSERT_EQ(r7.code, 400) << r7.body.substr(0, 300);
  EXPECT_FALSE(f.Stored("bomb7"));

  std::string bomb = testutil::AliasBomb(9);
  long rss_before = ProcKb(f.server.pid(), "VmRSS"), hwm_before = ProcKb(f.server.pid(), "VmHWM");
  auto start = std::chrono::steady_clock::now();
  auto r = HttpCall(f.http_port, "POST", path, bomb, "application/yaml");
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  long rss_after = ProcKb(f.server.pid(), "VmRSS"), hwm_after = ProcKb(f.server.pid(), "VmHWM");
  ASSERT_GT(rss_before, 0);
  EXPECT_EQ(r.code, 400) << r.body.substr(0, 300);
  EXPECT_NE(r.body.find("aliases expand"), std::string::npos) << r.body.substr(0, 300);
  EXPECT_LT(took, std::chrono::milliseconds(100));
  EXPECT_LT(rss_after - rss_before, 10 * 1024) << "KiB of RSS";
  std::cout << "alias bomb: " << bomb.size() << " bytes, answered " << r.code << " in " << took.count()
            << " us; server VmRSS " << rss_before << " -> " << rss_after << " KiB (" << rss_after - rss_before
            << "), VmHWM " << hwm_before << " -> " << hwm_after << " KiB (" << hwm_after - hwm_before << ")\n";
  RecordProperty("alias_bomb_latency_us", static_cast<int>(took.count()));
  RecordProperty("alias_bomb_rss_growth_kib", static_cast<int>(rss_after - rss_before));

  // The same bomb through an apply patch and through cattle apply.
  EXPECT_EQ(HttpCall(f.http_port, "PATCH", path + "/bomb?fieldManager=t", bomb, "application/apply-patch+yaml").code,
            400);
  std::string manifest = f.dir.path() + "/bomb.yaml";
  std::ofstream(manifest) << bomb;
  std::string out;
  auto cli_start = std::chrono::steady_clock::now();
  int rc = testutil::Run(testutil::BinDir() + "/cattle apply --server " + f.server.endpoint() + " -f " + manifest, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("aliases expand"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - cli_start, std::chrono::seconds(5));
  EXPECT_FALSE(f.Stored("bomb"));
  EXPECT_TRUE(f.Alive());
  EXPECT_EQ(f.server.Terminate(), 0);
}

}  // namespace
}  // namespace cattle
