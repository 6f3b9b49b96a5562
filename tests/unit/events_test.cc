// EventRecorder against an in-process apiserver on a FakeClock: the Event's fields as
// Kubernetes writes them, repeats counted on one Event, distinct events kept apart,
// transient errors retried on the clock, a full queue dropping.
#include "cattle/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <cinttypes>
#include <set>
#include <condition_variable>
#include <thread>

#include "apiserver/local_client.h"
#include "cattle/fake_clock.h"
#include "core.capnp.h"

namespace cattle {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// Forwards to another client; can fail the next N writes with Unavailable, hold every
// createMany request at a gate until it opens, or defer their answers.
class ScriptedClient : public ApiClient {
 public:
  explicit ScriptedClient(ApiClient* inner) : inner_(inner) {}
  std::atomic<int> fail_next{0};
  std::atomic<int> writes{0};  // Create/Patch calls, failed ones included

  const KindRegistry& kinds() const override { return inner_->kinds(); }
  Result<Object> Get(const KindInfo* k, const std::string& ns, const std::string& n) override {
    return inner_->Get(k, ns, n);
  }
  Result<ObjectList> List(const KindInfo* k, const std::string& ns, const ListOptions& o) override {
    return inner_->List(k, ns, o);
  }
  Result<Object> Create(const Object& obj, const WriteOptions& o) override {
    ++writes;
    if (fail_next > 0 && fail_next-- > 0) return Status::Unavailable("apiserver down");
    return inner_->Create(obj, o);
  }
  // Deferring: CreateManyAsync is answered only by AnswerDeferred (on the test's thread, as
  // a client's I/O thread would answer), so the creates stay in flight until then.
  std::atomic<bool> defer{false};
  // Gating: CreateManyAsync waits (in the caller, the recorder's thread) until OpenGate().
  void CloseGate() {
    std::lock_guard<std::mutex> g(mu_);
    gate_closed_ = true;
  }
  void OpenGate() {
    std::lock_guard<std::mutex> g(mu_);
    gate_closed_ = false;
    cv_.notify_all();
  }
  int at_gate() {
    std::lock_guard<std::mutex> g(mu_);
    return at_gate_;
  }
  void CreateManyAsync(std::vector<Object> objs, std::function<void(std::vector<Status>)> done) override {
    {
      std::unique_lock<std::mutex> g(mu_);
      request_sizes_.push_back(objs.size());
      ++at_gate_;
      cv_.wait(g, [&] { return !gate_closed_; });
      --at_gate_;
      if (defer) {
        deferred_.emplace_back(std::move(objs), std::move(done));
        return;
      }
    }
    ApiClient::CreateManyAsync(std::move(objs), std::move(done));
  }
  // Events in deferred requests.
  int deferred() {
    std::lock_guard<std::mutex> g(mu_);
    int n = 0;
    for (auto& d : deferred_) n += static_cast<int>(d.first.size());
    return n;
  }
  void AnswerDeferred() {
    std::vector<std::pair<std::vector<Object>, std::function<void(std::vector<Status>)>>> now;
    {
      std::lock_guard<std::mutex> g(mu_);
      now.swap(deferred_);
    }
    for (auto& [objs, done] : now) {
      std::vector<Status> st;
      for (const Object& obj : objs) st.push_back(Create(obj, {}).status());
      done(std::move(st));
    }
  }
  // The number of Events in each createMany request so far.
  std::vector<size_t> request_sizes() {
    std::lock_guard<std::mutex> g(mu_);
    return request_sizes_;
  }
  Result<Object> Update(const Object& obj, const WriteOptions& o) override {
    return inner_->Update(obj, o);
  }
  Result<Object> Patch(const KindInfo* k, const std::string& ns, const std::string& n,
                       const std::string& t, const std::string& p, const WriteOptions& o) override {
    ++writes;
    if (fail_next > 0 && fail_next-- > 0) return Status::Unavailable("apiserver down");
    return inner_->Patch(k, ns, n, t, p, o);
  }
  Result<Object> Delete(const KindInfo* k, const std::string& ns, const std::string& n,
                        const DeleteOptions& o) override {
    return inner_->Delete(k, ns, n, o);
  }
  Result<Object> Bind(const std::string& ns, const std::string& pod, const std::string& node,
                      const std::string& uid) override {
    return inner_->Bind(ns, pod, node, uid);
  }
  Result<std::unique_ptr<WatchStream>> Watch(const KindInfo* k, const std::string& ns,
                                             const WatchOptions& o,
                                             std::function<void(ClientWatchEvent&)> ev,
                                             std::function<void(const Status&)> err) override {
    return inner_->Watch(k, ns, o, std::move(ev), std::move(err));
  }

 private:
  ApiClient* inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool gate_closed_ = false;
  int at_gate_ = 0;
  std::vector<size_t> request_sizes_;
  std::vector<std::pair<std::vector<Object>, std::function<void(std::vector<Status>)>>> deferred_;
};

// The kubelet's message for an image it already has.
constexpr char kPulled[] = "Container image \"pause\" already present on machine";

bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class EventRecorderTest : public ::testing::Test {
 protected:
  EventRecorderTest() {
    Object cm(Kind("configmaps"));
    cm.meta().setName("web-config");
    cm.meta().setNamespace("default");
    auto c = server.client->Create(cm);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) configmap = std::move(*c);
    Object node(Kind("nodes"));
    node.meta().setName("node-1");
    auto n = server.client->Create(node);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (n.ok()) this->node = std::move(*n);
  }

  const KindInfo* Kind(const std::string& plural) { return server.client->Kind(plural); }

  std::vector<Object> Events(const std::string& ns = "default") {
    auto l = server.client->List(Kind("events"), ns);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (!l.ok()) return {};
    return std::move(l->items);
  }

  static std::string S(capnp::Text::Reader t) { return t.cStr(); }

  FakeClock clock;  // first: outlives every thread waiting on it
  apiserver::LocalApiServer server{&clock};
  Object configmap{KindRegistry::Default().ByGroupResource("", "configmaps")};
  Object node{KindRegistry::Default().ByGroupResource("", "nodes")};
};

TEST_F(EventRecorderTest, CreatesEventWithKubernetesFields) {
  EventRecorder rec(server.client.get(), &clock, "replicaset-controller", "host-a");
  rec.Event(configmap, "Normal", "Synced", "config synced");
  rec.Flush();
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  const Object& ev = events[0];
  char hex[32];
  std::snprintf(hex, sizeof(hex), "%016" PRIx64, static_cast<uint64_t>(clock.WallNanos()));
  EXPECT_EQ(ev.name(), std::string("web-config.") + hex);
  EXPECT_EQ(ev.namespace_(), "default");
  auto e = ev.get<api::Event>();
  auto ref = e.getInvolvedObject();
  EXPECT_EQ(S(ref.getKind()), "ConfigMap");
  EXPECT_EQ(S(ref.getNamespace()), "default");
  EXPECT_EQ(S(ref.getName()), "web-config");
  EXPECT_EQ(S(ref.getUid()), configmap.uid());
  EXPECT_FALSE(configmap.uid().empty());
  EXPECT_EQ(S(ref.getApiVersion()), "v1");
  EXPECT_EQ(S(ref.getResourceVersion()), std::to_string(configmap.resource_version()));
  EXPECT_EQ(S(e.getReason()), "Synced");
  EXPECT_EQ(S(e.getMessage()), "config synced");
  EXPECT_EQ(S(e.getType()), "Normal");
  EXPECT_EQ(S(e.getSource().getComponent()), "replicaset-controller");
  EXPECT_EQ(S(e.getSource().getHost()), "host-a");
  EXPECT_EQ(S(e.getReportingComponent()), "replicaset-controller");
  EXPECT_EQ(S(e.getReportingInstance()), "host-a");
  EXPECT_EQ(S(e.getFirstTimestamp()), "2024-01-01T00:00:00Z");
  EXPECT_EQ(S(e.getLastTimestamp()), "2024-01-01T00:00:00Z");
  EXPECT_EQ(e.getCount(), 1);
  // Selectable as kubectl describe selects them.
  ListOptions by_object;
  by_object.field_selector = "involvedObject.uid=" + configmap.uid();
  auto l = server.client->List(Kind("events"), "default", by_object);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->items.size(), 1u);
}

TEST_F(EventRecorderTest, ClusterScopedObjectsGetEventsInDefault) {
  EventRecorder rec(server.client.get(), &clock, "kubelet", "node-1");
  rec.Event(node, "Warning", "NodeNotReady", "Node node-1 status is now: NodeNotReady");
  rec.Flush();
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].namespace_(), "default");
  auto e = events[0].get<api::Event>();
  EXPECT_EQ(S(e.getInvolvedObject().getKind()), "Node");
  EXPECT_EQ(S(e.getInvolvedObject().getNamespace()), "");
  EXPECT_EQ(S(e.getInvolvedObject().getName()), "node-1");
  EXPECT_EQ(S(e.getType()), "Warning");
  EXPECT_EQ(S(e.getSource().getComponent()), "kubelet");
  EXPECT_EQ(S(e.getSource().getHost()), "node-1");
}

TEST_F(EventRecorderTest, RepeatsBumpCountAndLastTimestamp) {
  EventRecorder rec(server.client.get(), &clock, "default-scheduler");
  rec.Event(configmap, "Warning", "FailedScheduling", "0/3 nodes are available");
  rec.Flush();
  const std::string first = FormatRfc3339(clock.WallNanos());
  for (int i = 0; i < 3; ++i) {
    clock.Advance(minutes(3));  // each repeat within 10 minutes of the previous one
    rec.Event(configmap, "Warning", "FailedScheduling", "0/3 nodes are available");
    rec.Flush();
  }
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  auto e = events[0].get<api::Event>();
  EXPECT_EQ(e.getCount(), 4);
  EXPECT_EQ(S(e.getFirstTimestamp()), first);
  EXPECT_EQ(S(e.getLastTimestamp()), FormatRfc3339(clock.WallNanos()));
  EXPECT_EQ(S(e.getLastTimestamp()), "2024-01-01T00:09:00Z");
  EXPECT_EQ(S(e.getMessage()), "0/3 nodes are available");

  // Several repeats queued at once are each counted.
  for (int i = 0; i < 5; ++i) rec.Event(configmap, "Warning", "FailedScheduling", "0/3 nodes are available");
  rec.Flush();
  events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].get<api::Event>().getCount(), 9);
}

TEST_F(EventRecorderTest, CreatesAreInFlightTogetherAndRepeatsWaitForTheirEvent) {
  ScriptedClient client(server.client.get());
  client.defer = true;
  EventRecorder rec(&client, &clock, "kubelet", "node-1");
  rec.Event(configmap, "Normal", "Pulled", kPulled);
  ASSERT_TRUE(Eventually([&] { return client.deferred() == 1; }));
  for (int i = 0; i < 4; ++i)
    rec.Event(configmap, "Normal", "Pulled", kPulled);
  rec.Event(configmap, "Normal", "Created", "Created container: c");  // not held behind Pulled
  ASSERT_TRUE(Eventually([&] { return client.deferred() == 2; }));
  EXPECT_TRUE(Events().empty());
  client.AnswerDeferred();
  rec.Flush();
  EXPECT_EQ(client.deferred(), 0) << "the repeats were patches, not more creates";
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  std::map<std::string, int> counts;
  for (auto& e : events) counts[S(e.get<api::Event>().getReason())] = e.get<api::Event>().getCount();
  EXPECT_EQ(counts["Pulled"], 5);
  EXPECT_EQ(counts["Created"], 1);
}

// What queued up while a request was being sent goes out in one request; each Event is
// still created on its own.
TEST_F(EventRecorderTest, EventsQueuedTogetherAreCreatedInOneRequest) {
  ScriptedClient client(server.client.get());
  client.CloseGate();
  EventRecorder rec(&client, &clock, "kubelet", "node-1");
  rec.Event(configmap, "Normal", "Pulled", kPulled);
  ASSERT_TRUE(Eventually([&] { return client.at_gate() == 1; }));
  for (int i = 0; i < 10; ++i) rec.Event(configmap, "Normal", "Created", "Created container: c" + std::to_string(i));
  rec.Event(configmap, "Normal", "Created", "Created container: c0");  // a repeat: waits, then a patch
  client.OpenGate();
  rec.Flush();
  EXPECT_EQ(client.request_sizes(), (std::vector<size_t>{1, 10}));
  auto events = Events();
  ASSERT_EQ(events.size(), 11u);
  int counted = 0;
  for (auto& e : events) counted += e.get<api::Event>().getCount();
  EXPECT_EQ(counted, 12);
}

// Two requests at most are out at once; what comes meanwhile waits and goes out together.
TEST_F(EventRecorderTest, EventsWaitingForAnAnswerGoOutTogether) {
  ScriptedClient client(server.client.get());
  client.defer = true;
  EventRecorder rec(&client, &clock, "kubelet", "node-1");
  rec.Event(configmap, "Normal", "Pulled", kPulled);
  ASSERT_TRUE(Eventually([&] { return client.deferred() == 1; }));
  rec.Event(configmap, "Normal", "Created", "Created container: c");
  ASSERT_TRUE(Eventually([&] { return client.deferred() == 2; }));
  // Idle, the recorder's thread and the store's compactor wait on the clock: Advance(0)
  // wakes both, and once both wait again the recorder has handled what was queued.
  auto settle = [&] {
    clock.Advance(seconds(0));
    ASSERT_TRUE(clock.AwaitWaiters(2, seconds(10)));
  };
  settle();
  for (int i = 0; i < 10; ++i) {
    rec.Event(configmap, "Normal", "Started", "Started container: c" + std::to_string(i));
    settle();
  }
  EXPECT_EQ(client.request_sizes(), (std::vector<size_t>{1, 1})) << "nothing more while two are out";
  client.AnswerDeferred();
  ASSERT_TRUE(Eventually([&] { return client.deferred() == 10; }));
  client.AnswerDeferred();
  rec.Flush();
  EXPECT_EQ(client.request_sizes(), (std::vector<size_t>{1, 1, 10}));
  EXPECT_EQ(Events().size(), 12u);
}

TEST_F(EventRecorderTest, RecordersSharingOneKeepTheirOwnHost) {
  EventRecorder shared(server.client.get(), &clock, "kubelet");
  EventRecorder a(&shared, "node-a"), b(&shared, "node-b");
  a.Event(configmap, "Normal", "Pulled", "present");
  b.Event(configmap, "Normal", "Pulled", "present");
  a.Event(configmap, "Normal", "Pulled", "present");
  a.Flush();
  std::map<std::string, int> count_by_host;
  for (auto& e : Events()) {
    auto ev = e.get<api::Event>();
    EXPECT_EQ(S(ev.getSource().getComponent()), "kubelet");
    EXPECT_EQ(S(ev.getReportingInstance()), S(ev.getSource().getHost()));
    count_by_host[S(ev.getSource().getHost())] += ev.getCount();
  }
  EXPECT_EQ(count_by_host, (std::map<std::string, int>{{"node-a", 2}, {"node-b", 1}}))
      << "one Event per host, the repeat counted on node-a's";
}

TEST_F(EventRecorderTest, DifferentTypeReasonMessageOrObjectMakeDifferentEvents) {
  EventRecorder rec(server.client.get(), &clock, "replicaset-controller");
  // All at the same (fake) instant: names must still be unique.
  rec.Event(configmap, "Normal", "SuccessfulCreate", "Created pod: a");
  rec.Event(configmap, "Normal", "SuccessfulCreate", "Created pod: b");
  rec.Event(configmap, "Normal", "SuccessfulDelete", "Created pod: a");
  rec.Event(configmap, "Warning", "SuccessfulCreate", "Created pod: a");
  rec.Event(node, "Normal", "SuccessfulCreate", "Created pod: a");
  rec.Event(configmap, "Normal", "SuccessfulCreate", "Created pod: a");  // a repeat
  rec.Flush();
  auto events = Events();
  ASSERT_EQ(events.size(), 5u);
  std::set<std::string> names;
  int repeated = 0;
  for (const auto& ev : events) {
    names.insert(ev.name());
    auto e = ev.get<api::Event>();
    if (e.getCount() == 2) {
      ++repeated;
      EXPECT_EQ(S(e.getMessage()), "Created pod: a");
      EXPECT_EQ(S(e.getReason()), "SuccessfulCreate");
      EXPECT_EQ(S(e.getType()), "Normal");
      EXPECT_EQ(S(e.getInvolvedObject().getKind()), "ConfigMap");
    } else {
      EXPECT_EQ(e.getCount(), 1);
    }
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(repeated, 1);
}

TEST_F(EventRecorderTest, RepeatAfterTenMinutesIsANewEvent) {
  EventRecorder rec(server.client.get(), &clock, "kubelet", "node-1");
  rec.Event(node, "Normal", "Starting", "Starting kubelet.");
  rec.Flush();
  clock.Advance(minutes(10) + seconds(1));
  rec.Event(node, "Normal", "Starting", "Starting kubelet.");
  rec.Flush();
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& ev : events) EXPECT_EQ(ev.get<api::Event>().getCount(), 1);
  EXPECT_NE(events[0].name(), events[1].name());
}

TEST_F(EventRecorderTest, DeletedEventIsRecreated) {
  EventRecorder rec(server.client.get(), &clock, "kubelet", "node-1");
  rec.Event(node, "Normal", "Starting", "Starting kubelet.");
  rec.Flush();
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  ASSERT_TRUE(server.client->Delete(Kind("events"), "default", events[0].name()).ok());
  clock.Advance(seconds(5));
  rec.Event(node, "Normal", "Starting", "Starting kubelet.");
  rec.Flush();
  events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].get<api::Event>().getCount(), 1);
  // ... and later repeats count on the new one.
  rec.Event(node, "Normal", "Starting", "Starting kubelet.");
  rec.Flush();
  events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].get<api::Event>().getCount(), 2);
}

TEST_F(EventRecorderTest, TransientErrorsAreRetriedOnTheClockThenDropped) {
  ScriptedClient client(server.client.get());
  EventRecorder rec(&client, &clock, "kubelet", "node-1");
  client.fail_next = 1;
  rec.Event(node, "Normal", "Starting", "Starting kubelet.");
  // The first attempt fails; the recorder then waits out its back-off on the clock (the
  // compactor is the other waiter).
  ASSERT_TRUE(Eventually([&] { return client.writes.load() == 1; }));
  ASSERT_TRUE(clock.AwaitWaiters(2));
  EXPECT_TRUE(Events().empty());
  clock.Advance(seconds(1));
  rec.Flush();
  EXPECT_EQ(client.writes, 2);
  EXPECT_EQ(Events().size(), 1u);

  // Failing every attempt: 3 in all (back-offs of 1 s and 2 s), then dropped.
  client.fail_next = 100;
  rec.Event(node, "Normal", "Other", "x");
  ASSERT_TRUE(Eventually([&] { return client.writes.load() == 3; }));
  ASSERT_TRUE(clock.AwaitWaiters(2));
  clock.Advance(seconds(1));
  ASSERT_TRUE(Eventually([&] { return client.writes.load() == 4; }));
  ASSERT_TRUE(clock.AwaitWaiters(2));
  clock.Advance(seconds(2));
  rec.Flush();
  EXPECT_EQ(client.writes, 5);
  EXPECT_EQ(Events().size(), 1u);
  client.fail_next = 0;
}

TEST_F(EventRecorderTest, PermanentErrorsAreNotRetried) {
  ScriptedClient client(server.client.get());
  EventRecorder rec(&client, &clock, "controller");
  Object ghost(Kind("configmaps"));  // in a namespace that does not exist: NotFound
  ghost.meta().setName("ghost");
  ghost.meta().setNamespace("no-such-namespace");
  rec.Event(ghost, "Normal", "X", "y");
  rec.Flush();  // no clock advance needed: nothing waits for a back-off
  EXPECT_EQ(client.writes, 1);
}

TEST_F(EventRecorderTest, FullQueueDropsNewEventsWithoutBlocking) {
  ScriptedClient client(server.client.get());
  client.CloseGate();
  EventRecorder rec(&client, &clock, "controller");
  rec.Event(configmap, "Normal", "Busy", "first");  // taken by the worker, which then blocks
  ASSERT_TRUE(Eventually([&] { return client.at_gate() == 1; }));
  for (int i = 0; i < 1500; ++i) rec.Event(configmap, "Normal", "Queued", "event " + std::to_string(i));
  client.OpenGate();
  rec.Flush();
  EXPECT_EQ(client.writes, 1 + 1000);  // the queue holds 1000; the other 500 were dropped
}

TEST_F(EventRecorderTest, DestructorWritesWhatIsQueued) {
  {
    EventRecorder rec(server.client.get(), &clock, "controller");
    for (int i = 0; i < 20; ++i) rec.Event(configmap, "Normal", "R", "m" + std::to_string(i));
  }
  EXPECT_EQ(Events().size(), 20u);
}

}  // namespace
}  // namespace cattle
