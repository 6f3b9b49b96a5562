// LeaderElector on a FakeClock against an in-process apiserver: who leads, when a standby
// may take over (only after lease_duration on its own clock), release on Stop, renewal
// failure, conflicts. Timing is driven by FakeClock::Advance; AwaitWaiters(n) is the sync
// point (n = the store's compactor + one per running elector thread).
#include "cattle/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apiserver/local_client.h"
#include "cattle/fake_clock.h"
#include "coordination.capnp.h"

namespace cattle {
namespace {

using std::chrono::seconds;

// Forwards to another client; can fail every call (a partitioned process) and run a hook
// before each Update (an interloper writing the lease in between).
class FaultyClient : public ApiClient {
 public:
  explicit FaultyClient(ApiClient* inner) : inner_(inner) {}
  std::atomic<bool> fail{false};
  std::function<void()> before_update;  // set before the elector starts
  std::atomic<int> updates{0};

  const KindRegistry& kinds() const override { return inner_->kinds(); }
  Result<Object> Get(const KindInfo* k, const std::string& ns, const std::string& n) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->Get(k, ns, n);
  }
  Result<ObjectList> List(const KindInfo* k, const std::string& ns, const ListOptions& o) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->List(k, ns, o);
  }
  Result<Object> Create(const Object& obj, const WriteOptions& o) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->Create(obj, o);
  }
  Result<Object> Update(const Object& obj, const WriteOptions& o) override {
    if (fail) return Status::Unavailable("partitioned");
    ++updates;
    if (before_update) before_update();
    return inner_->Update(obj, o);
  }
  Result<Object> Patch(const KindInfo* k, const std::string& ns, const std::string& n,
                       const std::string& t, const std::string& p, const WriteOptions& o) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->Patch(k, ns, n, t, p, o);
  }
  Result<Object> Delete(const KindInfo* k, const std::string& ns, const std::string& n,
                        const DeleteOptions& o) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->Delete(k, ns, n, o);
  }
  Result<Object> Bind(const std::string& ns, const std::string& pod, const std::string& node,
                      const std::string& uid) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->Bind(ns, pod, node, uid);
  }
  Result<std::unique_ptr<WatchStream>> Watch(const KindInfo* k, const std::string& ns,
                                             const WatchOptions& o,
                                             std::function<void(ClientWatchEvent&)> ev,
                                             std::function<void(const Status&)> err) override {
    if (fail) return Status::Unavailable("partitioned");
    return inner_->Watch(k, ns, o, std::move(ev), std::move(err));
  }

 private:
  ApiClient* inner_;
};

// A real-time deadline as a safety net only (the thing waited for is not on the clock).
bool Eventually(const std::function<bool()>& pred) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Callbacks {
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  const KindInfo* Leases() { return server.client->kinds().ByGroupResource("coordination.k8s.io", "leases"); }

  LeaderElectionOptions Options(const std::string& identity) {
    LeaderElectionOptions o;
    o.lease_name = "kube-scheduler";
    o.identity = identity;
    return o;  // 15 s / 10 s / 2 s: Kubernetes' defaults
  }

  std::unique_ptr<LeaderElector> Start(const std::string& identity, Callbacks* cb,
                                       ApiClient* client = nullptr) {
    auto e = std::make_unique<LeaderElector>(client ? client : server.client.get(), &clock,
                                             Options(identity));
    e->Start([cb] { ++cb->started; }, [cb] { ++cb->stopped; });
    return e;
  }

  // Every thread on the clock is idle: the compactor plus `electors` elector threads.
  void Settle(int electors) { ASSERT_TRUE(clock.AwaitWaiters(1 + electors)) << "threads never went idle"; }
  void Step(Duration d, int electors) {
    clock.Advance(d);
    Settle(electors);
  }

  Object GetLease() {
    auto l = server.client->Get(Leases(), "kube-system", "kube-scheduler");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (!l.ok()) return Object(Leases());
    return std::move(*l);
  }
  std::string Holder() {
    Object lease = GetLease();
    return lease.get<api::Lease>().getSpec().getHolderIdentity().cStr();
  }
  int Transitions() {
    Object lease = GetLease();
    return lease.get<api::Lease>().getSpec().getLeaseTransitions().getValue();
  }
  std::string AcquireTime() {
    Object lease = GetLease();
    return lease.get<api::Lease>().getSpec().getAcquireTime().cStr();
  }
  std::string NowMicro() { return FormatRfc3339Micro(clock.WallNanos()); }

  FakeClock clock;  // declared first: outlives every thread that waits on it
  apiserver::LocalApiServer server{&clock};
};

TEST_F(LeaderElectionTest, FirstCandidateLeadsSecondWaits) {
  Callbacks ca, cb;
  auto a = Start("a", &ca);
  Settle(1);
  EXPECT_TRUE(a->IsLeader());
  EXPECT_EQ(ca.started, 1);
  {
    Object lease = GetLease();
    auto spec = lease.get<api::Lease>().getSpec();
    EXPECT_EQ(std::string(spec.getHolderIdentity().cStr()), "a");
    ASSERT_TRUE(spec.hasLeaseDurationSeconds());
    EXPECT_EQ(spec.getLeaseDurationSeconds().getValue(), 15);
    EXPECT_EQ(std::string(spec.getAcquireTime().cStr()), NowMicro());
    EXPECT_EQ(std::string(spec.getRenewTime().cStr()), NowMicro());
    ASSERT_TRUE(spec.hasLeaseTransitions());
    EXPECT_EQ(spec.getLeaseTransitions().getValue(), 0);
  }
  const std::string acquired = NowMicro();

  auto b = Start("b", &cb);
  Settle(2);
  EXPECT_FALSE(b->IsLeader());
  // A live leader renews every retry_period; the standby never takes over however long.
  for (int i = 0; i < 30; ++i) {
    Step(seconds(2), 2);
    ASSERT_TRUE(a->IsLeader()) << "after " << (i + 1) * 2 << "s";
    ASSERT_FALSE(b->IsLeader()) << "after " << (i + 1) * 2 << "s";
  }
  Object lease = GetLease();
  auto spec = lease.get<api::Lease>().getSpec();
  EXPECT_EQ(std::string(spec.getHolderIdentity().cStr()), "a");
  EXPECT_EQ(std::string(spec.getRenewTime().cStr()), NowMicro());  // renewed at the last tick
  EXPECT_EQ(std::string(spec.getAcquireTime().cStr()), acquired);  // renewals keep it
  EXPECT_EQ(spec.getLeaseTransitions().getValue(), 0);
  EXPECT_EQ(cb.started, 0);
  EXPECT_EQ(ca.stopped, 0);
}

TEST_F(LeaderElectionTest, DeadHolderIsTakenOverOnlyAfterLeaseDurationOnOwnClock) {
  // A lease held by a crashed process. Its renewTime is an hour old, but that says nothing
  // on our clock: the candidate must watch it stay unchanged for leaseDurationSeconds.
  Object lease(Leases());
  lease.meta().setName("kube-scheduler");
  lease.meta().setNamespace("kube-system");
  auto spec = lease.as<api::Lease>().initSpec();
  spec.setHolderIdentity("dead");
  spec.initLeaseDurationSeconds().setValue(15);
  const std::string old = FormatRfc3339Micro(clock.WallNanos() - 3600LL * 1'000'000'000LL);
  spec.setAcquireTime(old);
  spec.setRenewTime(old);
  spec.initLeaseTransitions().setValue(3);
  ASSERT_TRUE(server.client->Create(lease).ok());

  Callbacks cb;
  auto b = Start("b", &cb);
  Settle(1);
  EXPECT_FALSE(b->IsLeader());
  // Attempts at 2, 4, ..., 14 s: the record was first seen at 0 s and is valid until 15 s.
  for (int t = 2; t <= 14; t += 2) {
    Step(seconds(2), 1);
    ASSERT_FALSE(b->IsLeader()) << "took over after only " << t << "s";
    ASSERT_EQ(Holder(), "dead");
  }
  Step(seconds(2), 1);  // 16 s
  EXPECT_TRUE(b->IsLeader());
  EXPECT_EQ(cb.started, 1);
  Object taken = GetLease();
  auto s = taken.get<api::Lease>().getSpec();
  EXPECT_EQ(std::string(s.getHolderIdentity().cStr()), "b");
  EXPECT_EQ(s.getLeaseTransitions().getValue(), 4);
  EXPECT_EQ(std::string(s.getAcquireTime().cStr()), NowMicro());
  EXPECT_EQ(std::string(s.getRenewTime().cStr()), NowMicro());
}

TEST_F(LeaderElectionTest, LeaderThatCannotRenewStopsBeforeStandbyTakesOver) {
  FaultyClient partitioned(server.client.get());
  Callbacks ca, cb;
  auto a = Start("a", &ca, &partitioned);
  Settle(1);
  ASSERT_TRUE(a->IsLeader());
  auto b = Start("b", &cb);
  Settle(2);
  ASSERT_FALSE(b->IsLeader());

  partitioned.fail = true;  // a keeps running but can no longer reach the apiserver
  // Renewals fail at 2, 4, 6, 8 s: still within renew_deadline (10 s).
  for (int t = 2; t <= 8; t += 2) {
    Step(seconds(2), 2);
    ASSERT_TRUE(a->IsLeader()) << t << "s";
    ASSERT_EQ(ca.stopped, 0);
  }
  // 10 s: renew_deadline since the last renewal: a stops leading (and campaigns again).
  clock.Advance(seconds(2));
  ASSERT_TRUE(Eventually([&] { return ca.stopped.load() == 1; }));
  EXPECT_FALSE(a->IsLeader());
  Settle(2);
  EXPECT_FALSE(b->IsLeader());
  EXPECT_EQ(Holder(), "a");  // not released: a could not reach the apiserver
  // b saw the record change last at 0 s (a's last renewal): it may take over from 15 s on.
  Step(seconds(2), 2);  // 12 s
  Step(seconds(2), 2);  // 14 s
  EXPECT_FALSE(b->IsLeader());
  Step(seconds(2), 2);  // 16 s
  EXPECT_TRUE(b->IsLeader());
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(Transitions(), 1);
  // a reaches the apiserver again: it campaigns as a standby and leaves b's live lease be.
  partitioned.fail = false;
  for (int i = 0; i < 10; ++i) {
    Step(seconds(2), 2);
    ASSERT_TRUE(b->IsLeader());
    ASSERT_FALSE(a->IsLeader());
  }
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(ca.started, 1);
  EXPECT_EQ(ca.stopped, 1);
  a.reset();  // not leading: nothing to release
  EXPECT_EQ(Holder(), "b");
}

TEST_F(LeaderElectionTest, LeaderCutOffFromTheApiserverCampaignsAgainAndReacquires) {
  FaultyClient partitioned(server.client.get());
  std::mutex mu;
  std::vector<std::string> calls;  // GUARDED_BY(mu)
  LeaderElector* self = nullptr;
  auto a = std::make_unique<LeaderElector>(&partitioned, &clock, Options("a"));
  self = a.get();
  a->Start(
      [&] {
        std::lock_guard<std::mutex> g(mu);
        calls.push_back("started");
      },
      [&] {
        std::lock_guard<std::mutex> g(mu);
        // Called once no longer leading, before any new attempt.
        calls.push_back(self->IsLeader() ? "stopped while leading" : "stopped");
      });
  auto Calls = [&] {
    std::lock_guard<std::mutex> g(mu);
    return calls;
  };
  Settle(1);
  ASSERT_TRUE(a->IsLeader());
  const std::string acquired = AcquireTime();

  for (int round = 1; round <= 2; ++round) {
    SCOPED_TRACE("outage " + std::to_string(round));
    partitioned.fail = true;  // the apiserver goes away
    for (int t = 2; t <= 8; t += 2) Step(seconds(2), 1);
    ASSERT_TRUE(a->IsLeader());
    Step(seconds(2), 1);  // renew_deadline: leadership lost
    EXPECT_FALSE(a->IsLeader());
    ASSERT_EQ(Calls().size(), 2u * round);
    EXPECT_EQ(Calls().back(), "stopped");
    // Away for far longer than lease_duration: the elector keeps trying, never gives up.
    for (int i = 0; i < 15; ++i) Step(seconds(2), 1);
    EXPECT_FALSE(a->IsLeader());
    ASSERT_EQ(Calls().size(), 2u * round);

    partitioned.fail = false;  // back: the next attempt takes the lease again
    Step(seconds(2), 1);
    EXPECT_TRUE(a->IsLeader());
    ASSERT_EQ(Calls().size(), 2u * round + 1);
    EXPECT_EQ(Calls().back(), "started");
    EXPECT_EQ(Holder(), "a");
    EXPECT_EQ(Transitions(), 0);  // its own lease, taken back
    EXPECT_EQ(AcquireTime(), acquired);
    // And it leads as before: renewals keep going.
    Step(seconds(2), 1);
    Object lease = GetLease();
    EXPECT_EQ(std::string(lease.get<api::Lease>().getSpec().getRenewTime().cStr()), NowMicro());
  }
  EXPECT_EQ(Calls(), (std::vector<std::string>{"started", "stopped", "started", "stopped", "started"}));
  a.reset();  // releases
  EXPECT_EQ(Holder(), "");
}

TEST_F(LeaderElectionTest, LeaderDisplacedByAnotherHolderCampaignsAgain) {
  Callbacks ca;
  auto a = Start("a", &ca);
  Settle(1);
  ASSERT_TRUE(a->IsLeader());
  // Someone else writes its name on the lease (and then never renews it).
  auto r = server.client->Patch(Leases(), "kube-system", "kube-scheduler", "merge",
                                R"({"spec":{"holderIdentity":"x"}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Step(seconds(2), 1);  // a's renewal finds x: a stops leading, then campaigns as a standby
  EXPECT_FALSE(a->IsLeader());
  EXPECT_EQ(ca.stopped, 1);
  // x's lease is valid for 15 s from when a saw it (2 s).
  for (int t = 4; t <= 16; t += 2) {
    Step(seconds(2), 1);
    ASSERT_FALSE(a->IsLeader()) << t << "s";
    ASSERT_EQ(Holder(), "x");
  }
  Step(seconds(2), 1);  // 18 s
  EXPECT_TRUE(a->IsLeader());
  EXPECT_EQ(ca.started, 2);
  EXPECT_EQ(ca.stopped, 1);
  EXPECT_EQ(Holder(), "a");
  EXPECT_EQ(Transitions(), 1);  // a takeover from x
}

TEST_F(LeaderElectionTest, StopReleasesAndStandbyTakesOverAtOnce) {
  Callbacks ca, cb;
  auto a = Start("a", &ca);
  Settle(1);
  auto b = Start("b", &cb);
  Settle(2);
  ASSERT_TRUE(a->IsLeader());
  ASSERT_FALSE(b->IsLeader());
  Step(seconds(2), 2);

  a->Stop();
  EXPECT_FALSE(a->IsLeader());
  EXPECT_EQ(ca.stopped, 0);  // Stop is the caller's own decision: no callback
  {
    Object lease = GetLease();
    auto spec = lease.get<api::Lease>().getSpec();
    EXPECT_FALSE(spec.hasHolderIdentity() && spec.getHolderIdentity().size() > 0);
    EXPECT_EQ(spec.getLeaseDurationSeconds().getValue(), 1);
    EXPECT_EQ(spec.getLeaseTransitions().getValue(), 0);
  }
  a->Stop();  // idempotent

  // The next attempt (one retry_period later, far less than lease_duration) takes it.
  Step(seconds(2), 1);
  EXPECT_TRUE(b->IsLeader());
  EXPECT_EQ(cb.started, 1);
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(Transitions(), 1);
  EXPECT_EQ(AcquireTime(), NowMicro());
}

TEST_F(LeaderElectionTest, LeaseTransitionsCountEveryChangeOfHolder) {
  Callbacks c1, c2, c3;
  auto a = Start("a", &c1);
  Settle(1);
  ASSERT_TRUE(a->IsLeader());
  EXPECT_EQ(Transitions(), 0);
  auto b = Start("b", &c2);
  Settle(2);
  a.reset();  // the destructor stops and releases, as Stop()
  Step(seconds(2), 1);
  ASSERT_TRUE(b->IsLeader());
  EXPECT_EQ(Transitions(), 1);

  auto a2 = Start("a", &c3);
  Settle(2);
  EXPECT_FALSE(a2->IsLeader());
  b->Stop();
  Step(seconds(2), 1);
  ASSERT_TRUE(a2->IsLeader());
  EXPECT_EQ(Holder(), "a");
  EXPECT_EQ(Transitions(), 2);
  // Renewals do not count.
  for (int i = 0; i < 5; ++i) Step(seconds(2), 1);
  EXPECT_EQ(Transitions(), 2);
}

TEST_F(LeaderElectionTest, ConflictingWriteIsReReadAndRetried) {
  FaultyClient client(server.client.get());
  Callbacks ca;
  auto a = Start("a", &ca, &client);
  Settle(1);
  ASSERT_TRUE(a->IsLeader());
  // Before a's next renewal reaches the apiserver, someone else writes the lease (a label):
  // a's write carries a stale resourceVersion and gets Conflict.
  std::atomic<bool> interfered{false};
  client.before_update = [&] {
    if (interfered.exchange(true)) return;
    auto r = server.client->Patch(Leases(), "kube-system", "kube-scheduler", "merge",
                                  R"({"metadata":{"labels":{"touched":"yes"}}})");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  const int before = client.updates;
  Step(seconds(2), 1);
  EXPECT_TRUE(interfered);
  EXPECT_EQ(client.updates - before, 2);  // the conflicting write, then the re-read one
  EXPECT_TRUE(a->IsLeader());
  Object lease = GetLease();
  EXPECT_EQ(std::string(lease.get<api::Lease>().getSpec().getRenewTime().cStr()), NowMicro());
  EXPECT_EQ(ToStdMap(lease.meta().getLabels()).at("touched"), "yes");  // kept: re-read
  EXPECT_EQ(ca.stopped, 0);
}

TEST_F(LeaderElectionTest, SimultaneousCandidatesElectExactlyOne) {
  Callbacks ca, cb;
  auto a = Start("a", &ca);
  auto b = Start("b", &cb);
  Settle(2);
  EXPECT_NE(a->IsLeader(), b->IsLeader());
  EXPECT_EQ(ca.started + cb.started, 1);
  EXPECT_EQ(Holder(), a->IsLeader() ? "a" : "b");
  for (int i = 0; i < 10; ++i) Step(seconds(2), 2);
  EXPECT_NE(a->IsLeader(), b->IsLeader());
  EXPECT_EQ(Transitions(), 0);
}

TEST_F(LeaderElectionTest, RestartWithSameIdentityKeepsTheLease) {
  Callbacks c1, c2;
  {
    // A holder that stopped renewing but comes back under the same identity (client-go:
    // the holder renews its own lease without waiting).
    Object lease(Leases());
    lease.meta().setName("kube-scheduler");
    lease.meta().setNamespace("kube-system");
    auto spec = lease.as<api::Lease>().initSpec();
    spec.setHolderIdentity("a");
    spec.initLeaseDurationSeconds().setValue(15);
    spec.setAcquireTime("2023-12-31T00:00:00.000000Z");
    spec.setRenewTime("2023-12-31T00:00:00.000000Z");
    spec.initLeaseTransitions().setValue(2);
    ASSERT_TRUE(server.client->Create(lease).ok());
  }
  auto a = Start("a", &c1);
  Settle(1);
  EXPECT_TRUE(a->IsLeader());
  Object lease = GetLease();
  auto spec = lease.get<api::Lease>().getSpec();
  EXPECT_EQ(spec.getLeaseTransitions().getValue(), 2);
  EXPECT_EQ(std::string(spec.getAcquireTime().cStr()), "2023-12-31T00:00:00.000000Z");
  EXPECT_EQ(std::string(spec.getRenewTime().cStr()), NowMicro());
}

TEST_F(LeaderElectionTest, StopFromCallbackAndBeforeStart) {
  {
    LeaderElector idle(server.client.get(), &clock, Options("x"));
    idle.Stop();  // never started: fine, and Start after Stop does nothing
    idle.Stop();
    idle.Start([] {}, [] {});
    EXPECT_FALSE(idle.IsLeader());
  }
  auto e = std::make_unique<LeaderElector>(server.client.get(), &clock, Options("a"));
  LeaderElector* self = e.get();
  std::atomic<bool> started{false};
  e->Start(
      [&] {
        started = true;
        self->Stop();  // from the elector's own thread: must not deadlock
      },
      [] {});
  ASSERT_TRUE(Eventually([&] { return started.load(); }));
  e->Stop();  // joins; the lease was released after the callback returned
  EXPECT_FALSE(e->IsLeader());
  EXPECT_EQ(Holder(), "");
}

}  // namespace
}  // namespace cattle
