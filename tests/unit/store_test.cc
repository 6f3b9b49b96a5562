// Tests for apiserver/store: revisions, CAS, watch (catch-up + live, no gap / no duplicate),
// compaction, List at a revision with paging, restart recovery and kill -9 durability.
#include "apiserver/store.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace cattle::store {
namespace {

using namespace std::chrono_literals;

// ---- helpers ------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/cattle_store_test_XXXXXX";
    char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string db() const { return path_ + "/db"; }

 private:
  std::string path_;
};

// A clock the test moves by hand. WaitUntil polls so an Advance can never be missed.
class ManualClock : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return now_;
  }
  int64_t WallNanos() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return wall_;
  }
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    if (Now() >= deadline) return false;
    cv.wait_for(lock, 2ms);
    return Now() < deadline;
  }
  void Advance(Duration d) {
    std::set<std::condition_variable*> cvs;
    {
      std::lock_guard<std::mutex> lk(mu_);
      now_ += d;
      wall_ += d.count();
      cvs = cvs_;
    }
    for (auto* cv : cvs) cv->notify_all();
  }
  void Register(std::condition_variable* cv) override {
    std::lock_guard<std::mutex> lk(mu_);
    cvs_.insert(cv);
  }
  void Unregister(std::condition_variable* cv) override {
    std::lock_guard<std::mutex> lk(mu_);
    cvs_.erase(cv);
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_{std::chrono::hours(1000)};
  int64_t wall_ = 1'700'000'000'000'000'000;
  std::set<std::condition_variable*> cvs_;
};

std::unique_ptr<Store> MustOpen(StoreOptions o) {
  auto r = Store::Open(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

StoreOptions Opts(const TempDir& dir, Clock* clock = RealClock::Get()) {
  StoreOptions o;
  o.dir = dir.db();
  o.clock = clock;
  return o;
}

int64_t MustRev(const Result<int64_t>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : -1;
}

// Records what a watch delivers.
class Recorder {
 public:
  WatchCallback OnEvent() {
    return [this](const Event& e) {
      std::lock_guard<std::mutex> lk(mu_);
      if (error_) after_error_ = true;
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  WatchErrorCallback OnError() {
    return [this](const Status& s) {
      std::lock_guard<std::mutex> lk(mu_);
      if (error_) after_error_ = true;
      error_ = s;
      ++errors_;
      cv_.notify_all();
    };
  }
  bool WaitForRevision(int64_t rev, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout,
                        [&] { return !events_.empty() && events_.back().revision >= rev; });
  }
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return events_.size() >= n; });
  }
  bool WaitForError(std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return error_.has_value(); });
  }
  std::vector<Event> Events() {
    std::lock_guard<std::mutex> lk(mu_);
    return events_;
  }
  std::vector<int64_t> Revisions() {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<int64_t> out;
    for (auto& e : events_) out.push_back(e.revision);
    return out;
  }
  std::optional<Status> Error() {
    std::lock_guard<std::mutex> lk(mu_);
    return error_;
  }
  int errors() {
    std::lock_guard<std::mutex> lk(mu_);
    return errors_;
  }
  bool after_error() {
    std::lock_guard<std::mutex> lk(mu_);
    return after_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::optional<Status> error_;
  int errors_ = 0;
  bool after_error_ = false;
};

std::string Describe(const Event& e) {
  std::ostringstream o;
  o << e.revision << (e.type == EventType::kPut ? " PUT " : " DEL ") << e.kv.key << "="
    << e.kv.value << " c" << e.kv.create_revision << " m" << e.kv.mod_revision << " prev("
    << e.prev_kv.key << "=" << e.prev_kv.value << " c" << e.prev_kv.create_revision << " m"
    << e.prev_kv.mod_revision << ")";
  return o.str();
}

// ---- revisions, CAS, errors -------------------------------------------------------------------

TEST(StoreTest, RevisionsIncreaseByOneOnlyOnSuccess) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->CurrentRevision(), 0);
  EXPECT_EQ(MustRev(s->Create("/a", "1")), 1);
  EXPECT_EQ(MustRev(s->Create("/b", "1")), 2);
  EXPECT_EQ(s->CurrentRevision(), 2);

  auto dup = s->Create("/a", "again");
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(dup.status().Is(Reason::kAlreadyExists)) << dup.status().ToString();
  EXPECT_EQ(s->CurrentRevision(), 2);

  auto stale = s->Update("/a", "2", 2);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.status().Is(Reason::kConflict)) << stale.status().ToString();
  EXPECT_EQ(s->CurrentRevision(), 2);

  EXPECT_EQ(MustRev(s->Update("/a", "2", 1)), 3);
  EXPECT_EQ(MustRev(s->Update("/a", "3", 0)), 4);  // 0 = unconditional
  EXPECT_EQ(MustRev(s->Delete("/b", 2)), 5);
  EXPECT_EQ(MustRev(s->Create("/b", "again")), 6);  // recreate after delete
  EXPECT_EQ(s->CurrentRevision(), 6);

  auto a = s->Get("/a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "3");
  EXPECT_EQ(a->create_revision, 1);
  EXPECT_EQ(a->mod_revision, 4);
  auto b = s->Get("/b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->create_revision, 6);
  EXPECT_EQ(b->mod_revision, 6);
}

TEST(StoreTest, UpdateAndDeleteConflictAndNotFound) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  auto u = s->Update("/missing", "x", 0);
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(u.status().Is(Reason::kNotFound)) << u.status().ToString();
  auto d = s->Delete("/missing", 0);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.status().Is(Reason::kNotFound)) << d.status().ToString();
  auto g = s->Get("/missing");
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(g.status().Is(Reason::kNotFound));
  EXPECT_EQ(s->CurrentRevision(), 0);

  int64_t r1 = MustRev(s->Create("/k", "v1"));
  int64_t r2 = MustRev(s->Update("/k", "v2", r1));
  auto stale_update = s->Update("/k", "v3", r1);
  ASSERT_FALSE(stale_update.ok());
  EXPECT_TRUE(stale_update.status().Is(Reason::kConflict));
  auto stale_delete = s->Delete("/k", r1);
  ASSERT_FALSE(stale_delete.ok());
  EXPECT_TRUE(stale_delete.status().Is(Reason::kConflict));
  EXPECT_EQ(s->CurrentRevision(), r2);
  EXPECT_EQ(s->Get("/k")->value, "v2");

  int64_t r3 = MustRev(s->Delete("/k", r2));
  EXPECT_EQ(r3, r2 + 1);
  EXPECT_TRUE(s->Get("/k").status().Is(Reason::kNotFound));
  auto again = s->Delete("/k", 0);
  EXPECT_TRUE(again.status().Is(Reason::kNotFound));
  EXPECT_EQ(s->CurrentRevision(), r3);
}

TEST(StoreTest, TooLargeValueIsRejectedWithoutRevision) {
  TempDir dir;
  auto o = Opts(dir);
  o.max_value_bytes = 1000;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(MustRev(s->Create("/ok", std::string(1000, 'x'))), 1);
  auto big = s->Create("/big", std::string(1001, 'x'));
  ASSERT_FALSE(big.ok());
  EXPECT_TRUE(big.status().Is(Reason::kTooLarge)) << big.status().ToString();
  EXPECT_NE(big.status().message().find("1001"), std::string::npos) << big.status().message();
  EXPECT_NE(big.status().message().find("1000"), std::string::npos) << big.status().message();
  auto big_update = s->Update("/ok", std::string(5000, 'y'), 0);
  EXPECT_TRUE(big_update.status().Is(Reason::kTooLarge));
  EXPECT_EQ(s->CurrentRevision(), 1);
  EXPECT_EQ(MustRev(s->Create("/next", "v")), 2);
}

TEST(StoreTest, ConcurrentWritesGetConsecutiveRevisions) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  constexpr int kThreads = 8, kPerThread = 150;
  std::mutex mu;
  std::vector<int64_t> revs;
  std::atomic<int> failures_expected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "/c/" + std::to_string(t) + "/" + std::to_string(i);
        auto r = s->Create(key, "v");
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        // Interleave failing writes: they must not take revisions.
        if (i % 5 == 0) {
          EXPECT_FALSE(s->Create(key, "dup").ok());
          ++failures_expected;
        }
        std::lock_guard<std::mutex> lk(mu);
        revs.push_back(r.value());
      }
    });
  }
  // Async writes too, with callbacks.
  std::atomic<int> async_done{0};
  for (int i = 0; i < 200; ++i) {
    s->CreateAsync("/async/" + std::to_string(i), "v", [&](Result<int64_t> r) {
      EXPECT_TRUE(r.ok());
      {
        std::lock_guard<std::mutex> lk(mu);
        revs.push_back(r.value());
      }
      ++async_done;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 2000 && async_done < 200; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(async_done.load(), 200);
  std::sort(revs.begin(), revs.end());
  ASSERT_EQ(revs.size(), static_cast<size_t>(kThreads * kPerThread + 200));
  for (size_t i = 0; i < revs.size(); ++i) ASSERT_EQ(revs[i], static_cast<int64_t>(i + 1));
  EXPECT_EQ(s->CurrentRevision(), static_cast<int64_t>(revs.size()));
  EXPECT_GT(failures_expected.load(), 0);
}

// Replies are encoded in write callbacks: a slow one must hold up only the callbacks
// behind it, never the next commit.
TEST(StoreTest, WriteCallbacksRunInCommitOrderWhileLaterWritesCommit) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  std::mutex mu;
  std::vector<std::string> order;
  std::promise<void> release, a_running, b_called;
  std::shared_future<void> released = release.get_future().share();
  s->CreateAsync("/a", "v", [&](Result<int64_t>) {
    a_running.set_value();
    released.wait();
    std::lock_guard<std::mutex> lk(mu);
    order.push_back("a");
  });
  ASSERT_EQ(a_running.get_future().wait_for(10s), std::future_status::ready);
  s->CreateAsync("/b", "v", [&](Result<int64_t> r) {
    EXPECT_TRUE(r.ok());
    {
      std::lock_guard<std::mutex> lk(mu);
      order.push_back("b");
    }
    b_called.set_value();
  });
  bool committed = false;
  for (int i = 0; i < 2000 && !committed; ++i) {
    committed = s->Get("/b").ok();
    if (!committed) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(committed) << "/b was not committed while /a's callback ran";
  release.set_value();
  ASSERT_EQ(b_called.get_future().wait_for(10s), std::future_status::ready);
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

TEST(StoreTest, SyncWriteFromWriteCallbackFailsInsteadOfDeadlocking) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  std::promise<Status> inner;
  s->CreateAsync("/x", "v", [&](Result<int64_t> r) {
    auto nested = s->Create("/y", "v");
    inner.set_value(nested.status());
  });
  auto f = inner.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  Status st = f.get();
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.Is(Reason::kInternalError));
}

// ---- watch ------------------------------------------------------------------------------------

TEST(StoreWatchTest, EventFieldsForCreateUpdateDelete) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  Recorder rec;
  auto w = s->WatchPrefix("/e/", 0, rec.OnEvent(), rec.OnError());
  int64_t r1 = MustRev(s->Create("/e/k", "v1"));
  int64_t r2 = MustRev(s->Update("/e/k", "v2", r1));
  int64_t r3 = MustRev(s->Delete("/e/k", r2));
  ASSERT_TRUE(rec.WaitForRevision(r3));
  auto ev = rec.Events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, EventType::kPut);
  EXPECT_TRUE(ev[0].is_create());
  EXPECT_EQ(ev[0].revision, r1);
  EXPECT_EQ(ev[0].kv.key, "/e/k");
  EXPECT_EQ(ev[0].kv.value, "v1");
  EXPECT_EQ(ev[0].kv.create_revision, r1);
  EXPECT_EQ(ev[0].kv.mod_revision, r1);
  EXPECT_TRUE(ev[0].prev_kv.key.empty());

  EXPECT_EQ(ev[1].type, EventType::kPut);
  EXPECT_FALSE(ev[1].is_create());
  EXPECT_EQ(ev[1].kv.value, "v2");
  EXPECT_EQ(ev[1].kv.create_revision, r1);
  EXPECT_EQ(ev[1].kv.mod_revision, r2);
  EXPECT_EQ(ev[1].prev_kv.key, "/e/k");
  EXPECT_EQ(ev[1].prev_kv.value, "v1");
  EXPECT_EQ(ev[1].prev_kv.mod_revision, r1);

  EXPECT_EQ(ev[2].type, EventType::kDelete);
  EXPECT_EQ(ev[2].revision, r3);
  EXPECT_EQ(ev[2].kv.key, "/e/k");
  EXPECT_TRUE(ev[2].kv.value.empty());
  EXPECT_EQ(ev[2].kv.mod_revision, r3);
  EXPECT_EQ(ev[2].prev_kv.value, "v2");
  EXPECT_EQ(ev[2].prev_kv.create_revision, r1);
  EXPECT_EQ(ev[2].prev_kv.mod_revision, r2);
  EXPECT_FALSE(rec.Error().has_value());
}

TEST(StoreWatchTest, PrefixFiltering) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  Recorder slash_a, bare_a, all;
  auto w1 = s->WatchPrefix("/a/", 0, slash_a.OnEvent(), slash_a.OnError());
  auto w2 = s->WatchPrefix("/a", 0, bare_a.OnEvent(), bare_a.OnError());
  auto w3 = s->WatchPrefix("", 0, all.OnEvent(), all.OnError());
  MustRev(s->Create("/a/1", "x"));   // 1: /a/, /a, ""
  MustRev(s->Create("/ab/1", "x"));  // 2: /a, ""
  MustRev(s->Create("/b/1", "x"));   // 3: ""
  MustRev(s->Create("/a", "x"));     // 4: /a, ""
  MustRev(s->Create("/a/2", "x"));   // 5: all three
  ASSERT_TRUE(all.WaitForRevision(5));
  ASSERT_TRUE(slash_a.WaitForRevision(5));
  ASSERT_TRUE(bare_a.WaitForRevision(5));
  EXPECT_EQ(slash_a.Revisions(), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(bare_a.Revisions(), (std::vector<int64_t>{1, 2, 4, 5}));
  EXPECT_EQ(all.Revisions(), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

// Writers on /a/ and /b/ run while watchers on /a/ start from past revisions (and from
// "now"); every watcher must get exactly the committed /a/ revisions after its start, in order.
struct Committed {
  std::mutex mu;
  std::map<int64_t, std::string> rev_to_key;  // every successful write
  void Add(int64_t rev, const std::string& key) {
    std::lock_guard<std::mutex> lk(mu);
    EXPECT_TRUE(rev_to_key.emplace(rev, key).second) << "revision " << rev << " given twice";
  }
  std::vector<int64_t> With(const std::string& prefix, int64_t after) {
    std::lock_guard<std::mutex> lk(mu);
    std::vector<int64_t> out;
    for (auto& [rev, key] : rev_to_key)
      if (rev > after && key.rfind(prefix, 0) == 0) out.push_back(rev);
    return out;
  }
};

void RunWriter(Store* s, Committed* committed, int thread, int ops) {
  std::map<std::string, int64_t> live;  // key → mod revision
  for (int j = 0; j < ops; ++j) {
    std::string key =
        std::string(thread % 2 ? "/a/" : "/b/") + "t" + std::to_string(thread) + "/k" + std::to_string(j % 7);
    auto it = live.find(key);
    if (it == live.end()) {
      auto r = s->Create(key, "v" + std::to_string(j));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      live[key] = r.value();
      committed->Add(r.value(), key);
    } else if (j % 3 == 0) {
      auto r = s->Delete(key, it->second);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      live.erase(it);
      committed->Add(r.value(), key);
    } else {
      if (j % 4 == 0) {  // a stale write: must fail and take no revision
        auto bad = s->Update(key, "stale", it->second - 1 > 0 ? it->second - 1 : 999999);
        EXPECT_TRUE(bad.status().Is(Reason::kConflict)) << bad.status().ToString();
      }
      auto r = s->Update(key, "v" + std::to_string(j), it->second);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      it->second = r.value();
      committed->Add(r.value(), key);
    }
  }
}

void CheckWatchSequences(Store* s, bool reopen_first) {
  TempDir dir;
  auto store = MustOpen(Opts(dir));
  ASSERT_TRUE(store);
  Committed committed;
  // History before the watchers: 60 writes per thread, single-threaded.
  for (int t = 0; t < 4; ++t) RunWriter(store.get(), &committed, t, 60);
  if (reopen_first) {  // the ring is empty after a reopen: catch-up must come from RocksDB
    store.reset();
    store = MustOpen(Opts(dir));
    ASSERT_TRUE(store);
  }
  const int64_t base = store->CurrentRevision();
  ASSERT_EQ(base, 240);

  struct W {
    int64_t after;
    std::unique_ptr<Recorder> rec = std::make_unique<Recorder>();
    std::unique_ptr<Watch> watch;
  };
  std::vector<W> watches;
  // after_revision 0 = "from now": registered while nothing is written, so now == base.
  watches.push_back(W{base, std::make_unique<Recorder>(), nullptr});
  watches.back().watch =
      store->WatchPrefix("/a/", 0, watches.back().rec->OnEvent(), watches.back().rec->OnError());

  std::vector<std::thread> writers;
  for (int t = 0; t < 6; ++t)
    writers.emplace_back([&, t] { RunWriter(store.get(), &committed, t + 10, 300); });

  std::vector<int64_t> starts = {1, 17, 120, base - 1, base};
  for (int64_t after : starts) {
    watches.push_back(W{after, std::make_unique<Recorder>(), nullptr});
    auto& w = watches.back();
    w.watch = store->WatchPrefix("/a/", w.after, w.rec->OnEvent(), w.rec->OnError());
  }
  // More watchers registered while the writers are running, from the revision of the moment
  // and from a little before it.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(3ms);
    int64_t now = store->CurrentRevision();
    watches.push_back(W{now - (i % 2) * 25, std::make_unique<Recorder>(), nullptr});
    auto& w = watches.back();
    w.watch = store->WatchPrefix("/a/", w.after, w.rec->OnEvent(), w.rec->OnError());
  }
  for (auto& t : writers) t.join();

  // Every write took exactly one revision: 1..final with no hole.
  const int64_t final_rev = store->CurrentRevision();
  {
    std::lock_guard<std::mutex> lk(committed.mu);
    ASSERT_EQ(static_cast<int64_t>(committed.rev_to_key.size()), final_rev);
    ASSERT_EQ(committed.rev_to_key.begin()->first, 1);
    ASSERT_EQ(committed.rev_to_key.rbegin()->first, final_rev);
  }
  const std::vector<int64_t> all_a = committed.With("/a/", 0);
  ASSERT_FALSE(all_a.empty());
  // A marker write on /a/ after everything: once a watcher has it, nothing else can arrive.
  const int64_t marker = MustRev(store->Create("/a/marker", "m"));
  committed.Add(marker, "/a/marker");
  for (auto& w : watches) {
    std::vector<int64_t> want = committed.With("/a/", w.after);
    ASSERT_FALSE(want.empty());  // at least the marker
    ASSERT_TRUE(w.rec->WaitForRevision(marker)) << "watch from " << w.after;
    auto events = w.rec->Events();
    std::vector<int64_t> got;
    for (auto& e : events) {
      got.push_back(e.revision);
      std::lock_guard<std::mutex> lk(committed.mu);
      EXPECT_EQ(e.kv.key, committed.rev_to_key[e.revision]) << "revision " << e.revision;
    }
    EXPECT_EQ(got, want) << "watch from " << w.after << ": got " << got.size() << " want "
                         << want.size();
    EXPECT_FALSE(w.rec->Error().has_value());
  }
  (void)s;
}

TEST(StoreWatchTest, FromPastRevisionThenLiveNoGapNoDuplicateUnderConcurrentWriters) {
  CheckWatchSequences(nullptr, /*reopen_first=*/false);
}

TEST(StoreWatchTest, CatchUpFromDiskAfterReopenThenLiveUnderConcurrentWriters) {
  CheckWatchSequences(nullptr, /*reopen_first=*/true);
}

TEST(StoreWatchTest, CancelFromInsideCallbackStopsDelivery) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  std::atomic<int> calls{0};
  std::unique_ptr<Watch> w;
  std::mutex w_mu;
  std::promise<void> third;
  {
    std::lock_guard<std::mutex> lk(w_mu);
    w = s->WatchPrefix("/c/", 0, [&](const Event& e) {
      if (++calls == 3) {
        std::lock_guard<std::mutex> lk(w_mu);
        w->Cancel();  // must not deadlock
        third.set_value();
      }
    }, nullptr);
  }
  for (int i = 0; i < 10; ++i) MustRev(s->Create("/c/" + std::to_string(i), "v"));
  ASSERT_EQ(third.get_future().wait_for(10s), std::future_status::ready);
  for (int i = 10; i < 20; ++i) MustRev(s->Create("/c/" + std::to_string(i), "v"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls.load(), 3);
  std::lock_guard<std::mutex> lk(w_mu);
  w.reset();  // destroying after Cancel is fine
}

TEST(StoreWatchTest, CancelWaitsForRunningCallbackAndNothingRunsAfter) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  std::atomic<bool> in_callback{false}, callback_finished{false};
  std::atomic<int> calls_after_cancel{0}, calls{0};
  std::atomic<bool> cancelled{false};
  auto w = s->WatchPrefix("/s/", 0, [&](const Event&) {
    if (cancelled) ++calls_after_cancel;
    if (++calls == 1) {
      in_callback = true;
      std::this_thread::sleep_for(300ms);
      callback_finished = true;
    }
  }, nullptr);
  MustRev(s->Create("/s/1", "v"));
  MustRev(s->Create("/s/2", "v"));
  for (int i = 0; i < 1000 && !in_callback; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_TRUE(in_callback.load());
  w->Cancel();
  cancelled = true;
  EXPECT_TRUE(callback_finished.load()) << "Cancel returned while the callback was running";
  for (int i = 3; i < 10; ++i) MustRev(s->Create("/s/" + std::to_string(i), "v"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls_after_cancel.load(), 0);
  EXPECT_EQ(calls.load(), 1);
}

TEST(StoreWatchTest, CancelReleasesTheCallbacks) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  auto token = std::make_shared<int>(0);
  std::atomic<int> calls{0};
  auto w = s->WatchPrefix("/rel/", 0, [token, &calls](const Event&) { ++calls; },
                          [token](const Status&) {});
  EXPECT_EQ(token.use_count(), 3);
  MustRev(s->Create("/rel/a", "v"));
  for (int i = 0; i < 1000 && calls == 0; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(calls.load(), 1);
  w->Cancel();
  EXPECT_EQ(token.use_count(), 1);
}

TEST(StoreWatchTest, HandleMayOutliveStore) {
  TempDir dir;
  std::unique_ptr<Watch> w;
  {
    auto s = MustOpen(Opts(dir));
    ASSERT_TRUE(s);
    w = s->WatchPrefix("/", 0, [](const Event&) {}, nullptr);
    MustRev(s->Create("/x", "v"));
  }
  w->Cancel();
  w.reset();
}

TEST(StoreWatchTest, ManyWatchersAllGetEverything) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  constexpr int kWatchers = 200;
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int i = 0; i < kWatchers; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    watches.push_back(s->WatchPrefix(i % 4 == 0 ? "/other/" : "/m/", 0, recs.back()->OnEvent(),
                                     recs.back()->OnError()));
  }
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        MustRev(s->Create("/m/" + std::to_string(t) + "/" + std::to_string(i), "v"));
    });
  for (auto& t : writers) t.join();
  MustRev(s->Create("/other/x", "v"));
  const int64_t last = s->CurrentRevision();
  ASSERT_EQ(last, 401);
  std::vector<int64_t> m_revs;
  for (int64_t r = 1; r <= 400; ++r) m_revs.push_back(r);
  for (int i = 0; i < kWatchers; ++i) {
    if (i % 4 == 0) {
      ASSERT_TRUE(recs[i]->WaitForRevision(last));
      EXPECT_EQ(recs[i]->Revisions(), std::vector<int64_t>{last});
    } else {
      ASSERT_TRUE(recs[i]->WaitForRevision(400));
      EXPECT_EQ(recs[i]->Revisions(), m_revs) << "watcher " << i;
    }
  }
}

// ---- compaction -------------------------------------------------------------------------------

TEST(StoreCompactionTest, ByAgeExpiresWatchAndListButKeepsNewerHistory) {
  TempDir dir;
  ManualClock clock;
  auto o = Opts(dir, &clock);
  o.compaction_age = 5min;
  o.compaction_interval = 1000h;  // only CompactNow
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int i = 1; i <= 10; ++i) MustRev(s->Create("/k/" + std::to_string(i), "old"));
  clock.Advance(6min);
  s->CompactNow();  // nothing is old enough relative to... everything 1..10 is 6 min old
  EXPECT_EQ(s->CompactedRevision(), 10);
  for (int i = 11; i <= 15; ++i) MustRev(s->Update("/k/" + std::to_string(i - 10), "new", 0));
  s->CompactNow();  // 11..15 are new: nothing more to compact
  EXPECT_EQ(s->CompactedRevision(), 10);

  Recorder expired;
  auto w1 = s->WatchPrefix("/k/", 5, expired.OnEvent(), expired.OnError());
  ASSERT_TRUE(expired.WaitForError());
  EXPECT_TRUE(expired.Error()->Is(Reason::kExpired)) << expired.Error()->ToString();
  Recorder ok;
  auto w2 = s->WatchPrefix("/k/", 10, ok.OnEvent(), ok.OnError());  // == compacted: fine
  ASSERT_TRUE(ok.WaitForRevision(15));
  EXPECT_EQ(ok.Revisions(), (std::vector<int64_t>{11, 12, 13, 14, 15}));
  EXPECT_EQ(ok.Events()[0].prev_kv.value, "old");
  MustRev(s->Create("/k/live", "v"));
  ASSERT_TRUE(ok.WaitForRevision(16));
  std::this_thread::sleep_for(30ms);
  EXPECT_TRUE(expired.Events().empty());
  EXPECT_EQ(expired.errors(), 1);
  EXPECT_FALSE(ok.Error().has_value());

  ListOptions lo;
  lo.prefix = "/k/";
  lo.revision = 9;
  auto l9 = s->List(lo);
  ASSERT_FALSE(l9.ok());
  EXPECT_TRUE(l9.status().Is(Reason::kExpired)) << l9.status().ToString();
  lo.revision = 10;  // the state at the compacted revision is still reconstructible
  auto l10 = s->List(lo);
  ASSERT_TRUE(l10.ok()) << l10.status().ToString();
  ASSERT_EQ(l10->items.size(), 10u);
  for (auto& kv : l10->items) EXPECT_EQ(kv.value, "old");
  lo.revision = 17;
  auto future = s->List(lo);
  EXPECT_TRUE(future.status().Is(Reason::kBadRequest)) << future.status().ToString();

  // Age compaction again, later: everything up to now goes.
  clock.Advance(10min);
  s->CompactNow();
  EXPECT_EQ(s->CompactedRevision(), 16);
  lo.revision = 16;
  EXPECT_TRUE(s->List(lo).ok());
  lo.revision = 15;
  EXPECT_TRUE(s->List(lo).status().Is(Reason::kExpired));
}

TEST(StoreCompactionTest, ByMaxEvents) {
  TempDir dir;
  auto o = Opts(dir);
  o.compaction_max_events = 10;
  o.compaction_interval = 1000h;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 25; ++i) MustRev(s->Create("/n/" + std::to_string(i), "v"));
  s->CompactNow();
  EXPECT_EQ(s->CompactedRevision(), 15);
  Recorder rec;
  auto w = s->WatchPrefix("/n/", 15, rec.OnEvent(), rec.OnError());
  ASSERT_TRUE(rec.WaitForRevision(25));
  EXPECT_EQ(rec.Revisions().size(), 10u);
  Recorder old;
  auto w2 = s->WatchPrefix("/n/", 14, old.OnEvent(), old.OnError());
  ASSERT_TRUE(old.WaitForError());
  EXPECT_TRUE(old.Error()->Is(Reason::kExpired));
}

TEST(StoreCompactionTest, BackgroundCompactorRunsOnTheInjectedClock) {
  TempDir dir;
  ManualClock clock;
  auto o = Opts(dir, &clock);
  o.compaction_age = 1min;
  o.compaction_interval = 10s;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  for (int i = 0; i < 5; ++i) MustRev(s->Create("/bg/" + std::to_string(i), "v"));
  clock.Advance(11s);  // a compaction runs, but nothing is a minute old
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(s->CompactedRevision(), 0);
  clock.Advance(2min);
  for (int i = 0; i < 2500 && s->CompactedRevision() != 5; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_EQ(s->CompactedRevision(), 5);
}

TEST(StoreCompactionTest, SlowWatcherFallingBehindCompactionGetsExpired) {
  TempDir dir;
  ManualClock clock;
  auto o = Opts(dir, &clock);
  o.compaction_age = 1min;
  o.compaction_interval = 1000h;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  std::promise<void> entered;
  std::promise<void> release;
  auto release_f = release.get_future().share();
  Recorder rec;
  auto on_event = rec.OnEvent();
  std::atomic<int> n{0};
  auto w = s->WatchPrefix("/slow/", 0, [&](const Event& e) {
    on_event(e);
    if (++n == 1) {
      entered.set_value();
      release_f.wait();
    }
  }, rec.OnError());
  MustRev(s->Create("/slow/0", "v"));
  ASSERT_EQ(entered.get_future().wait_for(10s), std::future_status::ready);
  for (int i = 1; i < 10; ++i) MustRev(s->Create("/slow/" + std::to_string(i), "v"));
  clock.Advance(2min);
  s->CompactNow();
  EXPECT_EQ(s->CompactedRevision(), 10);
  release.set_value();
  ASSERT_TRUE(rec.WaitForError());
  EXPECT_TRUE(rec.Error()->Is(Reason::kExpired));
  EXPECT_EQ(rec.Revisions(), std::vector<int64_t>{1});
  MustRev(s->Create("/slow/after", "v"));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rec.Revisions(), std::vector<int64_t>{1});
  EXPECT_EQ(rec.errors(), 1);
  EXPECT_FALSE(rec.after_error());
}

// ---- list -------------------------------------------------------------------------------------

std::vector<std::string> Keys(const ListResult& r) {
  std::vector<std::string> out;
  for (auto& kv : r.items) out.push_back(kv.key);
  return out;
}

TEST(StoreListTest, PrefixStartAfterLimitRemaining) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  for (char c = 'a'; c <= 'j'; ++c) MustRev(s->Create(std::string("/p/") + c, std::string(1, c)));
  MustRev(s->Create("/pq", "x"));
  MustRev(s->Create("/q/a", "x"));
  MustRev(s->Create("/o/a", "x"));

  ListOptions lo;
  lo.prefix = "/p/";
  auto all = s->List(lo);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 10u);
  EXPECT_FALSE(all->more);
  EXPECT_EQ(all->revision, 13);
  EXPECT_EQ(all->items[0].value, "a");
  EXPECT_EQ(all->items[0].mod_revision, 1);

  lo.limit = 3;
  auto p1 = s->List(lo);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(Keys(*p1), (std::vector<std::string>{"/p/a", "/p/b", "/p/c"}));
  EXPECT_TRUE(p1->more);
  EXPECT_EQ(p1->remaining, 7);
  lo.start_after = "/p/c";
  auto p2 = s->List(lo);
  EXPECT_EQ(Keys(*p2), (std::vector<std::string>{"/p/d", "/p/e", "/p/f"}));
  EXPECT_EQ(p2->remaining, 4);
  lo.start_after = "/p/cc";  // need not exist
  EXPECT_EQ(Keys(*s->List(lo)), (std::vector<std::string>{"/p/d", "/p/e", "/p/f"}));
  lo.start_after = "/p/g";
  auto p4 = s->List(lo);
  EXPECT_EQ(Keys(*p4), (std::vector<std::string>{"/p/h", "/p/i", "/p/j"}));
  EXPECT_FALSE(p4->more);
  EXPECT_EQ(p4->remaining, 0);
  lo.start_after = "/p/j";
  auto p5 = s->List(lo);
  EXPECT_TRUE(p5->items.empty());
  EXPECT_FALSE(p5->more);

  ListOptions everything;
  auto e = s->List(everything);
  EXPECT_EQ(e->items.size(), 13u);
  ListOptions before;
  before.prefix = "/p/";
  before.start_after = "/a";  // before the prefix: from the start of the prefix
  EXPECT_EQ(s->List(before)->items.size(), 10u);
  ListOptions bad;
  bad.limit = -1;
  EXPECT_TRUE(s->List(bad).status().Is(Reason::kBadRequest));
}

TEST(StoreListTest, AtOlderRevisionUndoesLaterChanges) {
  TempDir dir;
  auto s = MustOpen(Opts(dir));
  ASSERT_TRUE(s);
  MustRev(s->Create("/r/a", "a1"));       // 1
  MustRev(s->Create("/r/b", "b1"));       // 2
  MustRev(s->Create("/r/c", "c1"));       // 3
  MustRev(s->Update("/r/b", "b2", 2));    // 4
  MustRev(s->Delete("/r/a", 1));          // 5
  MustRev(s->Create("/r/d", "d1"));       // 6
  MustRev(s->Create("/r/a", "a2"));       // 7
  MustRev(s->Update("/r/b", "b3", 4));    // 8
  MustRev(s->Create("/other", "x"));      // 9
  auto at = [&](int64_t rev, int64_t limit = 0, std::string after = "") {
    ListOptions lo;
    lo.prefix = "/r/";
    lo.revision = rev;
    lo.limit = limit;
    lo.start_after = after;
    auto r = s->List(lo);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    for (auto& kv : r->items)
      out.push_back(kv.key + "=" + kv.value + "@" + std::to_string(kv.create_revision) + "/" +
                    std::to_string(kv.mod_revision));
    EXPECT_EQ(r->revision, rev);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(at(1), (V{"/r/a=a1@1/1"}));
  EXPECT_EQ(at(3), (V{"/r/a=a1@1/1", "/r/b=b1@2/2", "/r/c=c1@3/3"}));
  EXPECT_EQ(at(4), (V{"/r/a=a1@1/1", "/r/b=b2@2/4", "/r/c=c1@3/3"}));
  EXPECT_EQ(at(5), (V{"/r/b=b2@2/4", "/r/c=c1@3/3"}));
  EXPECT_EQ(at(6), (V{"/r/b=b2@2/4", "/r/c=c1@3/3", "/r/d=d1@6/6"}));
  EXPECT_EQ(at(8), (V{"/r/a=a2@7/7", "/r/b=b3@2/8", "/r/c=c1@3/3", "/r/d=d1@6/6"}));
  EXPECT_EQ(at(9), at(8));
  EXPECT_EQ(at(4, 2), (V{"/r/a=a1@1/1", "/r/b=b2@2/4"}));
  EXPECT_EQ(at(4, 2, "/r/b"), (V{"/r/c=c1@3/3"}));
  EXPECT_EQ(at(3, 1, "/r/a"), (V{"/r/b=b1@2/2"}));
  ListOptions lo;
  lo.prefix = "/r/";
  lo.revision = 4;
  lo.limit = 1;
  auto r = s->List(lo);
  EXPECT_TRUE(r->more);
  EXPECT_EQ(r->remaining, 2);
}

TEST(StoreListTest, PagingAtFixedRevisionIsConsistentUnderConcurrentWrites) {
  TempDir dir;
  auto o = Opts(dir);
  o.sync = false;  // many writes; durability is tested elsewhere
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  constexpr int kKeys = 300;
  auto key = [](int i) {
    char buf[32];
    snprintf(buf, sizeof buf, "/pg/k%04d", i);
    return std::string(buf);
  };
  for (int i = 0; i < kKeys; ++i) MustRev(s->Create(key(i), "initial"));
  MustRev(s->Create("/pgz", "outside"));
  ListOptions full;
  full.prefix = "/pg/";
  auto expected0 = s->List(full);
  ASSERT_TRUE(expected0.ok());
  ASSERT_EQ(expected0->items.size(), static_cast<size_t>(kKeys));

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      unsigned seed = 12345u + t;
      while (!stop) {
        int i = static_cast<int>(rand_r(&seed) % (kKeys + 50));
        int op = static_cast<int>(rand_r(&seed) % 3);
        Result<int64_t> r = Status::Ok();
        if (op == 0) r = s->Create(key(i), "created-" + std::to_string(t));
        else if (op == 1) r = s->Update(key(i), "updated-" + std::to_string(t), 0);
        else r = s->Delete(key(i), 0);
        if (r.ok()) ++writes;
      }
    });
  }
  auto page_through = [&](int64_t rev, int64_t limit, const ListResult& want) {
    std::vector<KeyValue> got;
    std::string after;
    int pages = 0;
    while (true) {
      ListOptions lo;
      lo.prefix = "/pg/";
      lo.revision = rev;
      lo.limit = limit;
      lo.start_after = after;
      auto r = s->List(lo);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->revision, rev);
      got.insert(got.end(), r->items.begin(), r->items.end());
      EXPECT_EQ(r->remaining, static_cast<int64_t>(want.items.size() - got.size()))
          << "page " << pages;
      ++pages;
      std::this_thread::sleep_for(1ms);  // let writes land between pages
      if (!r->more) break;
      ASSERT_FALSE(r->items.empty());
      after = r->items.back().key;
    }
    ASSERT_EQ(got.size(), want.items.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].key, want.items[i].key);
      EXPECT_EQ(got[i].value, want.items[i].value);
      EXPECT_EQ(got[i].create_revision, want.items[i].create_revision);
      EXPECT_EQ(got[i].mod_revision, want.items[i].mod_revision);
    }
  };
  // 1) At the revision before the writers started.
  page_through(expected0->revision, 7, *expected0);
  // 2) At revisions taken while the writers run: a one-shot list is the reference.
  for (int round = 0; round < 3; ++round) {
    auto snap = s->List(full);
    ASSERT_TRUE(snap.ok());
    page_through(snap->revision, 11 + round * 20, *snap);
    EXPECT_GT(s->CurrentRevision(), snap->revision) << "writers should have moved on";
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GT(writes.load(), 50);
}

// ---- restart, durability ----------------------------------------------------------------------

TEST(StoreRecoveryTest, ReopenResumesRevisionObjectsHistoryAndCompaction) {
  TempDir dir;
  ManualClock clock;
  auto o = Opts(dir, &clock);
  o.compaction_interval = 1000h;
  o.compaction_age = 1min;
  std::vector<std::string> before_events;
  ListResult list_at_12;
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    for (int i = 0; i < 5; ++i) MustRev(s->Create("/rc/" + std::to_string(i), "v0"));
    clock.Advance(2min);
    s->CompactNow();  // compacts 1..5
    ASSERT_EQ(s->CompactedRevision(), 5);
    for (int i = 0; i < 5; ++i) MustRev(s->Update("/rc/" + std::to_string(i), "v1", 0));
    MustRev(s->Delete("/rc/0", 0));                   // 11
    MustRev(s->Create("/rc/new", std::string(5000, 'z')));  // 12
    MustRev(s->Update("/rc/1", "v2", 0));             // 13
    ASSERT_EQ(s->CurrentRevision(), 13);
    Recorder rec;
    auto w = s->WatchPrefix("", 5, rec.OnEvent(), rec.OnError());
    ASSERT_TRUE(rec.WaitForRevision(13));
    for (auto& e : rec.Events()) before_events.push_back(Describe(e));
    ListOptions lo;
    lo.revision = 12;
    list_at_12 = s->List(lo).value();
  }
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->CurrentRevision(), 13);
  EXPECT_EQ(s->CompactedRevision(), 5);
  auto g = s->Get("/rc/1");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->value, "v2");
  EXPECT_EQ(g->create_revision, 2);
  EXPECT_EQ(g->mod_revision, 13);
  EXPECT_TRUE(s->Get("/rc/0").status().Is(Reason::kNotFound));
  EXPECT_EQ(s->Get("/rc/new")->value, std::string(5000, 'z'));

  Recorder rec;
  auto w = s->WatchPrefix("", 5, rec.OnEvent(), rec.OnError());
  ASSERT_TRUE(rec.WaitForRevision(13));
  std::vector<std::string> after_events;
  for (auto& e : rec.Events()) after_events.push_back(Describe(e));
  EXPECT_EQ(after_events, before_events);

  ListOptions lo;
  lo.revision = 12;
  auto l = s->List(lo);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->items.size(), list_at_12.items.size());
  for (size_t i = 0; i < l->items.size(); ++i) {
    EXPECT_EQ(l->items[i].key, list_at_12.items[i].key);
    EXPECT_EQ(l->items[i].value, list_at_12.items[i].value);
    EXPECT_EQ(l->items[i].mod_revision, list_at_12.items[i].mod_revision);
  }
  lo.revision = 4;
  EXPECT_TRUE(s->List(lo).status().Is(Reason::kExpired));
  Recorder old;
  auto w2 = s->WatchPrefix("", 3, old.OnEvent(), old.OnError());
  ASSERT_TRUE(old.WaitForError());
  EXPECT_TRUE(old.Error()->Is(Reason::kExpired));

  EXPECT_EQ(MustRev(s->Create("/rc/after", "v")), 14);
  ASSERT_TRUE(rec.WaitForRevision(14));
  // Age compaction state was rebuilt from history: 6..14 were written at the same wall time.
  clock.Advance(2min);
  s->CompactNow();
  EXPECT_EQ(s->CompactedRevision(), 14);
}

TEST(StoreRecoveryTest, AgeCompactionStateSurvivesReopen) {
  TempDir dir;
  ManualClock clock;
  auto o = Opts(dir, &clock);
  o.compaction_interval = 1000h;
  o.compaction_age = 5min;
  {
    auto s = MustOpen(o);
    ASSERT_TRUE(s);
    for (int i = 0; i < 5; ++i) MustRev(s->Create("/t/" + std::to_string(i), "v"));  // 1..5 at T
    clock.Advance(3min);
    for (int i = 0; i < 5; ++i) MustRev(s->Update("/t/" + std::to_string(i), "w", 0));  // 6..10
  }
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  clock.Advance(150s);  // 1..5 are 5.5 min old, 6..10 are 2.5 min old
  s->CompactNow();
  EXPECT_EQ(s->CompactedRevision(), 5);
  clock.Advance(3min);
  s->CompactNow();
  EXPECT_EQ(s->CompactedRevision(), 10);
}

// The child half of the kill -9 test: run only when the parent execs this binary with the
// environment set. Opens the store and writes until killed, printing every acknowledged write.
TEST(StoreKillChild, DISABLED_Writer) {
  const char* dir = getenv("CATTLE_STORE_KILL_DIR");
  const char* fd_text = getenv("CATTLE_STORE_KILL_FD");
  if (!dir || !fd_text) GTEST_SKIP() << "only run by StoreDurabilityTest";
  const int fd = atoi(fd_text);
  StoreOptions o;
  o.dir = dir;
  auto opened = Store::Open(o);
  if (!opened.ok()) {
    fprintf(stderr, "child: open: %s\n", opened.status().ToString().c_str());
    _exit(3);
  }
  auto s = std::move(opened).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0;; ++n) {
        std::string key = "/kill/" + std::to_string(t) + "/" + std::to_string(n);
        auto r = s->Create(key, key + "#0");
        if (!r.ok()) _exit(4);
        std::string line = key + " " + std::to_string(r.value()) + " 0\n";
        if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
        if (n % 3 == 2) {  // update the previous key too
          std::string prev = "/kill/" + std::to_string(t) + "/" + std::to_string(n - 1);
          auto u = s->Update(prev, prev + "#1", 0);
          if (!u.ok()) _exit(6);
          line = prev + " " + std::to_string(u.value()) + " 1\n";
          if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(StoreDurabilityTest, EveryAcknowledgedWriteSurvivesKill9) {
  TempDir dir;
  std::string db = dir.db();
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  constexpr int kChildFd = 100;
  // Everything the child needs is prepared before fork(): after it only async-signal-safe
  // calls, then exec of this same test binary running the child test.
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {exe, "--gtest_filter=StoreKillChild.DISABLED_Writer",
                                   "--gtest_also_run_disabled_tests", "--gtest_repeat=1"};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string v = *e;
    if (v.rfind("GTEST_", 0) == 0 || v.rfind("CATTLE_STORE_KILL_", 0) == 0) continue;
    env.push_back(v);
  }
  env.push_back("CATTLE_STORE_KILL_DIR=" + db);
  env.push_back("CATTLE_STORE_KILL_FD=" + std::to_string(kChildFd));
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(devnull, 0);

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], kChildFd);  // dup2 clears close-on-exec
    dup2(devnull, 1);
    execve(exe.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  close(devnull);

  // Read acknowledgements until enough arrived, then kill -9 mid-stream.
  std::string buffer;
  size_t lines = 0;
  auto start = std::chrono::steady_clock::now();
  bool killed = false;
  while (true) {
    if (!killed && (lines >= 600 || std::chrono::steady_clock::now() - start > 20s)) {
      kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    int pr = poll(&p, 1, 200);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    char buf[65536];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone
    buffer.append(buf, static_cast<size_t>(n));
    lines = static_cast<size_t>(std::count(buffer.begin(), buffer.end(), '\n'));
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended on its own, status " << status;
  ASSERT_GE(lines, 600u) << "the child acknowledged too few writes";

  // key → (highest acknowledged revision, version written at it)
  std::map<std::string, std::pair<int64_t, int>> acked;
  int64_t max_acked = 0;
  std::istringstream in(buffer);
  std::string k;
  int64_t rev;
  int version;
  size_t parsed = 0;
  while (in >> k >> rev >> version) {
    ++parsed;
    auto& slot = acked[k];
    if (rev > slot.first) slot = {rev, version};
    max_acked = std::max(max_acked, rev);
  }
  EXPECT_EQ(parsed, lines);

  StoreOptions o;
  o.dir = db;
  auto s = MustOpen(o);
  ASSERT_TRUE(s);
  EXPECT_GE(s->CurrentRevision(), max_acked);
  for (auto& [key, want] : acked) {
    auto g = s->Get(key);
    ASSERT_TRUE(g.ok()) << key << " acknowledged at " << want.first << " is lost";
    EXPECT_GE(g->mod_revision, want.first) << key;
    if (g->mod_revision == want.first) {
      EXPECT_EQ(g->value, key + "#" + std::to_string(want.second));
    } else {
      EXPECT_EQ(g->value, key + "#1");  // an update that landed but whose ack was not read
    }
  }
  // The history is contiguous up to the recovered revision, and each acknowledged write is in
  // it at its revision.
  Recorder rec;
  auto w = s->WatchPrefix("", 1, rec.OnEvent(), rec.OnError());
  const int64_t current = s->CurrentRevision();
  ASSERT_TRUE(rec.WaitForRevision(current));
  auto events = rec.Events();
  ASSERT_EQ(static_cast<int64_t>(events.size()), current - 1);
  std::map<int64_t, std::string> by_rev;
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].revision, static_cast<int64_t>(i) + 2);
    by_rev[events[i].revision] = events[i].kv.key;
  }
  std::istringstream again(buffer);
  while (again >> k >> rev >> version) {
    if (rev >= 2) {
      EXPECT_EQ(by_rev[rev], k) << "revision " << rev;
    }
  }
  // And the store carries on from there.
  EXPECT_EQ(MustRev(s->Create("/after-kill", "v")), current + 1);
}

}  // namespace
}  // namespace cattle::store
