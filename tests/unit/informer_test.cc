// Informer semantics without sockets: list then watch, cache and indexes, relist on Expired
// delivering the difference, retry of a failed list on the (fake) clock.
#include "cattle/informer.h"

#include <gtest/gtest.h>

#include "cattle/fake_clock.h"
#include "core.capnp.h"

namespace cattle {
namespace {

const KindInfo* Pods() { return KindRegistry::Default().ByGroupResource("", "pods"); }

Object MakePod(const std::string& name, int64_t rv, const std::string& node = "") {
  Object p(Pods());
  p.meta().setName(name);
  p.meta().setNamespace("default");
  p.set_resource_version(rv);
  if (!node.empty()) p.as<api::Pod>().initSpec().setNodeName(node);
  return p;
}

class FakeLW : public ListerWatcher {
 public:
  struct FakeStream : WatchStream {
    int64_t last_revision() const override { return 0; }
  };
  Result<ObjectList> List() override {
    std::lock_guard<std::mutex> lock(mu);
    lists++;
    if (fail_lists > 0) {
      fail_lists--;
      return Status::Unavailable("apiserver down");
    }
    ObjectList l;
    for (const auto& o : objects) l.items.push_back(o.Clone());
    l.resource_version = std::to_string(rv);
    return l;
  }
  Result<std::unique_ptr<WatchStream>> Watch(const std::string& resource_version,
                                             std::function<void(ClientWatchEvent&)> on_event,
                                             std::function<void(const Status&)> on_error) override {
    std::lock_guard<std::mutex> lock(mu);
    watched_from = resource_version;
    event = std::move(on_event);
    error = std::move(on_error);
    watches++;
    return std::unique_ptr<WatchStream>(new FakeStream());
  }
  void Send(const std::string& type, Object obj) {
    ClientWatchEvent ev{type, std::move(obj)};
    std::function<void(ClientWatchEvent&)> cb;
    {
      std::lock_guard<std::mutex> lock(mu);
      cb = event;
    }
    cb(ev);
  }

  std::mutex mu;
  std::vector<Object> objects;
  int64_t rv = 10;
  int fail_lists = 0;
  int lists = 0;
  int watches = 0;
  std::string watched_from;
  std::function<void(ClientWatchEvent&)> event;
  std::function<void(const Status&)> error;
};

struct Recorder {
  std::mutex mu;
  std::vector<std::string> log;
  EventHandlers Handlers() {
    return {[this](const ObjectPtr& o) { Add("add " + o->name()); },
            [this](const ObjectPtr& a, const ObjectPtr& b) {
              Add("update " + a->name() + " " + std::to_string(a->resource_version()) + "->" +
                  std::to_string(b->resource_version()));
            },
            [this](const ObjectPtr& o) { Add("delete " + o->name()); }};
  }
  void Add(std::string s) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(std::move(s));
  }
  std::vector<std::string> Snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return log;
  }
};

bool WaitFor(const std::function<bool()>& cond) {
  for (int i = 0; i < 2000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

TEST(InformerTest, ListsThenWatchesFromTheListRevision) {
  FakeClock clock;
  auto lw = std::make_unique<FakeLW>();
  FakeLW* fake = lw.get();
  fake->objects.push_back(MakePod("a", 5, "node-1"));
  fake->objects.push_back(MakePod("b", 7, "node-2"));
  Informer inf(std::move(lw), &clock);
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  inf.AddIndex("node", [](const Object& o) {
    return std::vector<std::string>{o.get<api::Pod>().getSpec().getNodeName().cStr()};
  });
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(5)));
  EXPECT_EQ(fake->watched_from, "10");
  ASSERT_NE(inf.Get("default/a"), nullptr);
  EXPECT_EQ(inf.ByIndex("node", "node-2").size(), 1u);
  EXPECT_EQ(inf.ByIndex("node", "node-2")[0]->name(), "b");

  fake->Send("MODIFIED", MakePod("b", 11, "node-1"));
  fake->Send("ADDED", MakePod("c", 12));
  fake->Send("DELETED", MakePod("a", 13, "node-1"));
  ASSERT_TRUE(WaitFor([&] { return rec.Snapshot().size() == 5; }));
  auto log = rec.Snapshot();
  EXPECT_EQ(log[2], "update b 7->11");
  EXPECT_EQ(log[3], "add c");
  EXPECT_EQ(log[4], "delete a");
  EXPECT_EQ(inf.Get("default/a"), nullptr);
  EXPECT_EQ(inf.ByIndex("node", "node-2").size(), 0u) << "index must follow updates";
  EXPECT_EQ(inf.ByIndex("node", "node-1").size(), 1u);
  EXPECT_EQ(inf.last_revision(), 13);
}

TEST(InformerTest, ExpiredRelistsAndDeliversTheDifference) {
  FakeClock clock;
  auto lw = std::make_unique<FakeLW>();
  FakeLW* fake = lw.get();
  fake->objects.push_back(MakePod("keep", 3));
  fake->objects.push_back(MakePod("change", 4));
  fake->objects.push_back(MakePod("gone", 5));
  Informer inf(std::move(lw), &clock);
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(WaitFor([&] { return rec.Snapshot().size() == 3; }));

  {
    std::lock_guard<std::mutex> lock(fake->mu);
    fake->objects.clear();
    fake->objects.push_back(MakePod("keep", 3));
    fake->objects.push_back(MakePod("change", 40));
    fake->objects.push_back(MakePod("new", 41));
    fake->rv = 50;
  }
  fake->error(Status::Expired("too old resource version"));
  ASSERT_TRUE(WaitFor([&] { return rec.Snapshot().size() == 6; }));
  auto log = rec.Snapshot();
  std::vector<std::string> tail(log.begin() + 3, log.end());
  std::sort(tail.begin(), tail.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"add new", "delete gone", "update change 4->40"}));
  EXPECT_EQ(inf.list_count(), 2);
  ASSERT_TRUE(WaitFor([&] { std::lock_guard<std::mutex> l(fake->mu); return fake->watched_from == "50"; }));
  EXPECT_EQ(inf.List().size(), 3u);
}

TEST(InformerTest, HandlersAddedToARunningInformerSeeTheCacheThenEveryEvent) {
  FakeClock clock;
  auto lw = std::make_unique<FakeLW>();
  FakeLW* fake = lw.get();
  fake->objects.push_back(MakePod("a", 5));
  fake->objects.push_back(MakePod("b", 7));
  Informer inf(std::move(lw), &clock);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(5)));
  Recorder rec;
  inf.AddHandlers(rec.Handlers());
  auto log = rec.Snapshot();
  std::sort(log.begin(), log.end());
  EXPECT_EQ(log, (std::vector<std::string>{"add a", "add b"})) << "the cache, replayed as adds on the caller's thread";

  fake->Send("MODIFIED", MakePod("b", 11));
  fake->Send("ADDED", MakePod("c", 12));
  ASSERT_TRUE(WaitFor([&] { return rec.Snapshot().size() == 4; }));
  log = rec.Snapshot();
  EXPECT_EQ(log[2], "update b 7->11");
  EXPECT_EQ(log[3], "add c");
}

TEST(InformerTest, FailedListIsRetriedAfterBackoffOnTheClock) {
  FakeClock clock;
  auto lw = std::make_unique<FakeLW>();
  FakeLW* fake = lw.get();
  fake->fail_lists = 2;
  fake->objects.push_back(MakePod("a", 1));
  InformerOptions opts;
  opts.relist_backoff = std::chrono::seconds(1);
  Informer inf(std::move(lw), &clock, opts);
  inf.Start();
  ASSERT_TRUE(clock.AwaitWaiters(1, std::chrono::seconds(5)));
  EXPECT_FALSE(inf.HasSynced());
  {
    std::lock_guard<std::mutex> lock(fake->mu);
    EXPECT_EQ(fake->lists, 1);
  }
  clock.Advance(std::chrono::milliseconds(500));  // not yet
  ASSERT_TRUE(clock.AwaitWaiters(1, std::chrono::seconds(5)));
  {
    std::lock_guard<std::mutex> lock(fake->mu);
    EXPECT_EQ(fake->lists, 1);
  }
  clock.Advance(std::chrono::milliseconds(600));
  ASSERT_TRUE(clock.AwaitWaiters(1, std::chrono::seconds(5)));
  {
    std::lock_guard<std::mutex> lock(fake->mu);
    EXPECT_EQ(fake->lists, 2);
  }
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(inf.WaitForSync(std::chrono::seconds(5)));
  EXPECT_NE(inf.Get("default/a"), nullptr);
}

}  // namespace
}  // namespace cattle
