// The real cattle-apiserver binary: durability across SIGKILL, watches through a crash,
// and garbage on its socket.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <zmq.hpp>

#include "cattle/client.h"
#include "cattle/wire.h"
#include "core.capnp.h"
#include "testutil/process.h"

namespace cattle {
namespace {

using testutil::Eventually;

const KindInfo* ConfigMaps() { return KindRegistry::Default().ByGroupResource("", "configmaps"); }

Object MakeConfigMap(const std::string& name) {
  Object cm(ConfigMaps());
  cm.meta().setName(name);
  cm.meta().setNamespace("default");
  SetStringMap(cm.as<api::ConfigMap>().initData(), {{"payload", std::string(200, 'x')}, {"name", name}});
  return cm;
}

struct Seen {
  std::mutex mu;
  std::vector<std::pair<std::string, int64_t>> events;  // type:name, revision
  std::vector<int64_t> revisions;
};

TEST(ApiServerProcessTest, SigkillDuringWritesLosesNoAcknowledgedWriteAndWatchesResume) {
  testutil::TempDir dir;
  testutil::ApiServer server(dir.path());
  ASSERT_TRUE(server.Start());
  ClientOptions o;
  o.endpoint = server.endpoint();
  o.request_timeout = std::chrono::seconds(2);
  o.watch_silence_timeout = std::chrono::milliseconds(1000);
  Client client(o);

  // 500 objects first.
  for (int i = 0; i < 500; ++i) {
    auto r = client.Create(MakeConfigMap("seed-" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto start_rev = client.Health();
  ASSERT_TRUE(start_rev.ok());

  Seen seen;
  WatchOptions wo;
  wo.resource_version = std::to_string(*start_rev);
  Status watch_error;
  auto watch = client.Watch(
      ConfigMaps(), "default", wo,
      [&](ClientWatchEvent& ev) {
        std::lock_guard<std::mutex> lock(seen.mu);
        seen.events.push_back({ev.type + ":" + ev.object.name(), ev.object.resource_version()});
        seen.revisions.push_back(ev.object.resource_version());
      },
      [&](const Status& s) { watch_error = s; });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();

  std::mutex acked_mu;
  std::vector<std::pair<std::string, int64_t>> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> acks{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      std::string name = "w-" + std::to_string(i);
      auto r = client.Create(MakeConfigMap(name));
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(acked_mu);
        acked.push_back({name, r->resource_version()});
        acks.fetch_add(1);
      }
    }
  });

  ASSERT_TRUE(Eventually([&] { return acks.load() >= 200; }));
  server.Kill(SIGKILL);
  int acks_at_kill = acks.load();
  ASSERT_TRUE(server.Start());
  ASSERT_TRUE(Eventually([&] { return acks.load() >= acks_at_kill + 200; }, std::chrono::seconds(60)));
  stop = true;
  writer.join();

  // Every acknowledged write is present; revisions never went backwards.
  int64_t last = 0;
  for (const auto& [name, rev] : acked) {
    EXPECT_GT(rev, last) << name;
    last = rev;
  }
  auto list = client.List(ConfigMaps(), "default");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::map<std::string, int64_t> stored;
  for (const auto& item : list->items) stored[item.name()] = item.resource_version();
  for (const auto& [name, rev] : acked) {
    ASSERT_TRUE(stored.count(name)) << "acknowledged write lost: " << name;
    EXPECT_EQ(stored[name], rev) << name;
  }
  EXPECT_GE(atoll(list->resource_version.c_str()), last);

  // The watcher saw every acknowledged write, once, in order.
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(seen.mu);
    return !seen.revisions.empty() && seen.revisions.back() >= last;
  })) << "watch did not catch up after the crash";
  std::lock_guard<std::mutex> lock(seen.mu);
  for (size_t i = 1; i < seen.revisions.size(); ++i)
    ASSERT_LT(seen.revisions[i - 1], seen.revisions[i]) << "duplicate or out-of-order event at " << i;
  std::set<std::pair<std::string, int64_t>> events(seen.events.begin(), seen.events.end());
  for (const auto& [name, rev] : acked)
    EXPECT_TRUE(events.count({"ADDED:" + name, rev})) << "watch missed " << name << " @" << rev;
  EXPECT_TRUE(watch_error.ok()) << watch_error.ToString();
  EXPECT_GE(client.watch_resumes(), 1);
}

// A raw ZeroMQ peer of the apiserver: a DEALER socket sending hand-made frames.
struct RawPeer {
  explicit RawPeer(const std::string& endpoint) {
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(endpoint);
  }
  // Sends `bytes`; the decoded reply, or an error (none within 5 s, or undecodable).
  Result<std::unique_ptr<wire_util::Decoded>> Send(const std::string& bytes) {
    socket.send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5000));
    if (!(item.revents & ZMQ_POLLIN)) return Status::Timeout("no reply");
    zmq::message_t m;
    (void)socket.recv(m);
    return wire_util::Decoded::Parse(std::string_view(static_cast<const char*>(m.data()), m.size()));
  }
  // Sends `bytes`; the reply's status reason ("OK" for none, "" for no reply in time).
  std::string Call(const std::string& bytes) {
    auto d = Send(bytes);
    if (!d.ok()) return d.status().Is(Reason::kTimeout) ? "" : "undecodable reply";
    auto resp = (*d)->envelope().getResponse();
    return resp.hasStatus() ? resp.getStatus().getReason().cStr() : "OK";
  }
  zmq::context_t ctx;
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};
};

// A running apiserver with a client.
struct ServerAndClient {
  ServerAndClient() {
    ok = server.Start();
    ClientOptions o;
    o.endpoint = server.endpoint();
    client = std::make_unique<Client>(o);
  }
  testutil::TempDir dir;
  testutil::ApiServer server{dir.path()};
  bool ok = false;
  std::unique_ptr<Client> client;
};

TEST(ApiServerProcessTest, GarbageTruncatedAndOversizedMessagesGetErrorsAndServingContinues) {
  ServerAndClient sc;
  ASSERT_TRUE(sc.ok);
  testutil::ApiServer& server = sc.server;
  Client& client = *sc.client;
  ASSERT_TRUE(client.Create(MakeConfigMap("before")).ok());
  RawPeer raw(server.endpoint());

  std::mt19937 rng(42);
  for (size_t size : {1u, 7u, 8u, 16u, 64u, 1000u, 4096u, 65536u}) {
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    EXPECT_EQ(raw.Call(bytes), "BadRequest") << size << " random bytes";
  }
  // A valid request, truncated at every word.
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setId(7);
  req.setVerb(wire::Verb::CREATE);
  req.setResource("configmaps");
  req.setNamespace("default");
  std::string body = MakeConfigMap("truncated").ToBytes();
  req.setBody(wire_util::AsData(body));
  std::string valid = wire_util::Serialize(msg);
  for (size_t cut = 8; cut < valid.size(); cut += 64) {
    std::string reason = raw.Call(valid.substr(0, cut));
    EXPECT_EQ(reason, "BadRequest") << "cut at " << cut;
  }
  // A request whose body is a truncated object.
  {
    capnp::MallocMessageBuilder m2;
    auto r2 = m2.initRoot<wire::Envelope>().initRequest();
    r2.setVerb(wire::Verb::CREATE);
    r2.setResource("configmaps");
    r2.setNamespace("default");
    std::string half = body.substr(0, body.size() / 2 / 8 * 8);
    r2.setBody(wire_util::AsData(half));
    EXPECT_EQ(raw.Call(wire_util::Serialize(m2)), "BadRequest");
  }
  // Oversized.
  std::string huge(4 * 1024 * 1024, 'a');
  EXPECT_EQ(raw.Call(huge), "RequestEntityTooLarge");
  // An unknown resource.
  {
    capnp::MallocMessageBuilder m3;
    auto r3 = m3.initRoot<wire::Envelope>().initRequest();
    r3.setVerb(wire::Verb::LIST);
    r3.setResource("frobnicators");
    EXPECT_EQ(raw.Call(wire_util::Serialize(m3)), "NotFound");
  }

  // The well-behaved client still gets correct answers; nothing stored changed.
  auto got = client.Get(ConfigMaps(), "default", "before");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ToStdMap(got->get<api::ConfigMap>().getData()).at("name"), "before");
  EXPECT_FALSE(client.Get(ConfigMaps(), "default", "truncated").ok());
  ASSERT_TRUE(client.Create(MakeConfigMap("after")).ok());
  EXPECT_EQ(kill(server.pid(), 0), 0);
  EXPECT_EQ(server.Terminate(), 0) << "SIGTERM must shut down cleanly";
}

// createMany: each object is a create of its own, with its own result; a bad one fails
// alone; a garbage body fails alone; too many objects fail the request.
TEST(ApiServerProcessTest, CreateManyCreatesEachObjectOnItsOwn) {
  ServerAndClient sc;
  ASSERT_TRUE(sc.ok);
  testutil::ApiServer& server = sc.server;
  Client& client = *sc.client;
  ASSERT_TRUE(client.Create(MakeConfigMap("exists")).ok());

  auto create_many = [&](std::vector<Object> objs) {
    std::promise<std::vector<Status>> p;
    client.CreateManyAsync(std::move(objs), [&](std::vector<Status> st) { p.set_value(std::move(st)); });
    return p.get_future().get();
  };
  std::vector<Object> objs;
  for (const char* name : {"a", "b", "Not_A_Name", "exists", "c"}) objs.push_back(MakeConfigMap(name));
  auto st = create_many(std::move(objs));
  ASSERT_EQ(st.size(), 5u);
  EXPECT_TRUE(st[0].ok()) << st[0].ToString();
  EXPECT_TRUE(st[1].ok()) << st[1].ToString();
  EXPECT_TRUE(st[2].Is(Reason::kInvalid)) << st[2].ToString();
  EXPECT_NE(st[2].message().find("metadata.name"), std::string::npos) << st[2].ToString();
  EXPECT_TRUE(st[3].Is(Reason::kAlreadyExists)) << st[3].ToString();
  EXPECT_TRUE(st[4].ok()) << st[4].ToString();
  std::set<std::string> uids;
  for (const char* name : {"a", "b", "c"}) {
    auto got = client.Get(ConfigMaps(), "default", name);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().ToString();
    EXPECT_EQ(ToStdMap(got->get<api::ConfigMap>().getData()).at("name"), name);
    uids.insert(got->uid());
  }
  EXPECT_EQ(uids.size(), 3u) << "each object was created on its own";
  EXPECT_FALSE(client.Get(ConfigMaps(), "default", "Not_A_Name").ok());

  // Mixed namespaces are refused by the client; more than 1000 objects by the server.
  std::vector<Object> mixed;
  mixed.push_back(MakeConfigMap("m1"));
  mixed.push_back(MakeConfigMap("m2"));
  mixed[1].meta().setNamespace("kube-system");
  for (auto& s2 : create_many(std::move(mixed))) EXPECT_TRUE(s2.Is(Reason::kBadRequest)) << s2.ToString();
  std::vector<Object> many;
  for (int i = 0; i < 1001; ++i) many.push_back(MakeConfigMap("many-" + std::to_string(i)));
  auto too_many = create_many(std::move(many));
  ASSERT_EQ(too_many.size(), 1001u);
  EXPECT_TRUE(too_many[0].Is(Reason::kBadRequest)) << too_many[0].ToString();
  EXPECT_FALSE(client.Get(ConfigMaps(), "default", "many-0").ok());

  // A garbage body among good ones: BadRequest for it alone.
  RawPeer raw(server.endpoint());
  capnp::MallocMessageBuilder msg;
  auto req = msg.initRoot<wire::Envelope>().initRequest();
  req.setId(9);
  req.setVerb(wire::Verb::CREATE_MANY);
  req.setResource("configmaps");
  req.setNamespace("default");
  std::string good = MakeConfigMap("raw-good").ToBytes(), garbage(64, '\x7f');
  auto bodies = req.initBodies(2);
  bodies.set(0, wire_util::AsData(garbage));
  bodies.set(1, wire_util::AsData(good));
  auto d = raw.Send(wire_util::Serialize(msg));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto results = (*d)->envelope().getResponse().getResults();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].hasStatus());
  EXPECT_EQ(std::string(results[0].getStatus().getReason().cStr()), "BadRequest");
  EXPECT_FALSE(results[1].hasStatus());
  EXPECT_GT(results[1].getRevision(), 0);
  EXPECT_TRUE(client.Get(ConfigMaps(), "default", "raw-good").ok());
  EXPECT_EQ(server.Terminate(), 0);
}

TEST(ApiServerProcessTest, HelpAndBadFlags) {
  std::string out;
  EXPECT_EQ(testutil::Run(testutil::BinDir() + "/cattle-apiserver --help", &out), 0);
  EXPECT_NE(out.find("--data-dir"), std::string::npos);
  EXPECT_EQ(testutil::Run(testutil::BinDir() + "/cattle-apiserver --no-such-flag", &out), 2);
  EXPECT_NE(out.find("no-such-flag"), std::string::npos);
}

}  // namespace
}  // namespace cattle
