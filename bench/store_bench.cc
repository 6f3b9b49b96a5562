// store_bench: measures the apiserver store in-process.
//
//   1. Durable writes of --value-bytes values from 1, 16 and 64 (--threads) concurrent writer
//      threads, each for --seconds: writes/s and per-write latency p50/p99. Each writer
//      creates its own keys with the synchronous Create (which waits for the group commit).
//   2. Watch delivery with 1 and 100 (--watchers) watchers on the written prefix: writers keep
//      --inflight async creates outstanding; per delivered event we report
//        ack→watch     write callback (runs right after the batch is durable and published)
//                      to watch callback; negative when the watcher was served first;
//        submit→watch  CreateAsync call to watch callback (includes the fsync).
//
//   3. (--space N instead of 1 and 2) Space reclaimed after deletes: disk use of the data
//      directory and the process's RSS for a fresh store, after creating and deleting N
//      --value-bytes objects (--inflight async writes outstanding), and after compacting
//      the whole history (compaction_age 0, then CompactNow).
//
// Flags: --seconds N (default 5)  --value-bytes N (1024)  --threads 1,16,64
//        --watchers 1,100  --inflight N (16)  --no-sync  --dir PATH (default: a temp dir)
//        --space N
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <condition_variable>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apiserver/store.h"

using namespace cattle;
using namespace cattle::store;
using Clk = std::chrono::steady_clock;

namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clk::now().time_since_epoch())
      .count();
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t idx = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(idx), v.end());
  return static_cast<double>(v[idx]) / 1000.0;  // µs
}

struct Flags {
  double seconds = 5;
  size_t value_bytes = 1024;
  std::vector<int> threads = {1, 16, 64};
  std::vector<int> watchers = {1, 100};
  int inflight = 16;
  bool sync = true;
  std::string dir;
  int64_t space_objects = 0;  // > 0: run the space benchmark only
};

std::unique_ptr<Store> OpenFresh(const Flags& f, const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  StoreOptions o;
  o.dir = dir;
  o.sync = f.sync;
  auto r = Store::Open(o);
  if (!r.ok()) {
    fprintf(stderr, "open %s: %s\n", dir.c_str(), r.status().ToString().c_str());
    exit(1);
  }
  return std::move(r).value();
}

void WriteBench(const Flags& f, const std::string& base) {
  printf("== durable writes: %zu-byte values, %s, %.0f s per run\n", f.value_bytes,
         f.sync ? "sync=true" : "sync=false", f.seconds);
  printf("%8s %12s %10s %10s %10s\n", "writers", "writes/s", "p50 µs", "p99 µs", "max µs");
  const std::string value(f.value_bytes, 'v');
  for (int n : f.threads) {
    auto s = OpenFresh(f, base + "/writes-" + std::to_string(n));
    std::atomic<bool> stop{false};
    std::vector<std::vector<int64_t>> lat(static_cast<size_t>(n));
    std::vector<std::thread> ts;
    auto deadline = Clk::now() + std::chrono::duration<double>(f.seconds);
    auto t0 = Clk::now();
    for (int t = 0; t < n; ++t) {
      ts.emplace_back([&, t] {
        auto& my = lat[static_cast<size_t>(t)];
        my.reserve(1 << 16);
        for (int64_t i = 0; Clk::now() < deadline; ++i) {
          std::string key = "/bench/w" + std::to_string(t) + "/" + std::to_string(i);
          int64_t a = NowNanos();
          auto r = s->Create(key, value);
          int64_t b = NowNanos();
          if (!r.ok()) {
            fprintf(stderr, "write failed: %s\n", r.status().ToString().c_str());
            exit(1);
          }
          my.push_back(b - a);
        }
      });
    }
    for (auto& t : ts) t.join();
    double secs = std::chrono::duration<double>(Clk::now() - t0).count();
    std::vector<int64_t> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    int64_t mx = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
    double rate = static_cast<double>(all.size()) / secs;
    double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
    printf("%8d %12.0f %10.0f %10.0f %10.0f\n", n, rate, p50, p99, static_cast<double>(mx) / 1000);
    fflush(stdout);
  }
}

void WatchBench(const Flags& f, const std::string& base) {
  printf("== watch delivery: %zu-byte values, %d async writes in flight, %.0f s per run\n",
         f.value_bytes, f.inflight, f.seconds);
  printf("%9s %10s %12s %14s %14s %16s %16s\n", "watchers", "events", "writes/s",
         "ack→watch p50", "ack→watch p99", "submit→watch p50", "submit→watch p99");
  const std::string value(f.value_bytes, 'w');
  for (int nw : f.watchers) {
    auto s = OpenFresh(f, base + "/watch-" + std::to_string(nw));
    const size_t max_revs = 4'000'000;
    std::vector<std::atomic<int64_t>> submit_at(max_revs), ack_at(max_revs);
    struct Rec {
      std::vector<std::pair<int64_t, int64_t>> got;  // revision, time
      std::atomic<int64_t> last{0};
    };
    std::vector<Rec> recs(static_cast<size_t>(nw));
    std::vector<std::unique_ptr<Watch>> watches;
    for (int i = 0; i < nw; ++i) {
      recs[static_cast<size_t>(i)].got.reserve(1 << 16);
      watches.push_back(s->WatchPrefix(
          "/watch/", 0,
          [&recs, i](const Event& e) {
            auto& r = recs[static_cast<size_t>(i)];
            r.got.emplace_back(e.revision, NowNanos());
            r.last.store(e.revision, std::memory_order_release);
          },
          [](const Status& st) { fprintf(stderr, "watch error: %s\n", st.ToString().c_str()); }));
    }
    // Keep `inflight` async writes outstanding. A write's submit time is keyed by its revision
    // once known, so record it in a per-write slot first.
    std::mutex mu;
    std::condition_variable cv;
    int outstanding = 0;
    int64_t written = 0;
    auto deadline = Clk::now() + std::chrono::duration<double>(f.seconds);
    auto t0 = Clk::now();
    for (int64_t i = 0; Clk::now() < deadline; ++i) {
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return outstanding < f.inflight; });
        ++outstanding;
      }
      int64_t submitted = NowNanos();
      s->CreateAsync("/watch/" + std::to_string(i), value, [&, submitted](Result<int64_t> r) {
        int64_t now = NowNanos();
        if (r.ok() && static_cast<size_t>(r.value()) < max_revs) {
          submit_at[static_cast<size_t>(r.value())] = submitted;
          ack_at[static_cast<size_t>(r.value())] = now;
        }
        std::lock_guard<std::mutex> lk(mu);
        --outstanding;
        ++written;
        cv.notify_one();
      });
    }
    {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return outstanding == 0; });
    }
    double secs = std::chrono::duration<double>(Clk::now() - t0).count();
    const int64_t last = s->CurrentRevision();
    // Wait until every watcher has the last revision, then cancel: afterwards the recorders
    // are ours alone.
    for (auto& r : recs) {
      while (r.last.load(std::memory_order_acquire) < last)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    watches.clear();
    std::vector<int64_t> ack_lat, submit_lat;
    size_t events = 0;
    for (auto& r : recs) {
      for (auto& [rev, t] : r.got) {
        ++events;
        ack_lat.push_back(t - ack_at[static_cast<size_t>(rev)]);
        submit_lat.push_back(t - submit_at[static_cast<size_t>(rev)]);
      }
    }
    printf("%9d %10zu %12.0f %14.0f %14.0f %16.0f %16.0f   (last rev %ld)\n", nw, events,
           static_cast<double>(written) / secs, Percentile(ack_lat, 0.5),
           Percentile(ack_lat, 0.99), Percentile(submit_lat, 0.5), Percentile(submit_lat, 0.99),
           static_cast<long>(last));
    fflush(stdout);
  }
}

// Bytes the files under `dir` occupy on disk (st_blocks, as du counts them).
int64_t DiskBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += int64_t{st.st_blocks} * 512;
  }
  return total;
}

int64_t RssBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, rss = 0;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
  fclose(f);
  return static_cast<int64_t>(rss) * sysconf(_SC_PAGESIZE);
}

void SpaceBench(const Flags& f, const std::string& base) {
  const std::string dir = base + "/space";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  StoreOptions o;
  o.dir = dir;
  o.sync = f.sync;
  o.compaction_age = Duration::zero();                // everything is old enough once asked
  o.compaction_interval = Duration::zero();           // no background compactor
  auto opened = Store::Open(o);
  if (!opened.ok()) {
    fprintf(stderr, "open %s: %s\n", dir.c_str(), opened.status().ToString().c_str());
    exit(1);
  }
  auto s = std::move(opened).value();
  printf("== space after deletes: %ld objects of %zu bytes created then deleted, %s\n",
         static_cast<long>(f.space_objects), f.value_bytes, f.sync ? "sync=true" : "sync=false");
  printf("%-28s %12s %12s %16s\n", "", "disk MiB", "RSS MiB", "malloc'd MiB");
  auto report = [&](const char* what) {
    struct mallinfo2 mi = mallinfo2();
    printf("%-28s %12.2f %12.2f %16.2f\n", what, static_cast<double>(DiskBytes(dir)) / (1 << 20),
           static_cast<double>(RssBytes()) / (1 << 20),
           static_cast<double>(mi.uordblks + mi.hblkhd) / (1 << 20));
    fflush(stdout);
  };
  report("fresh");
  const std::string value(f.value_bytes, 's');
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  auto run = [&](bool create) {
    for (int64_t i = 0; i < f.space_objects; ++i) {
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return outstanding < std::max(1, f.inflight); });
        ++outstanding;
      }
      auto done = [&](Result<int64_t> r) {
        if (!r.ok()) {
          fprintf(stderr, "write failed: %s\n", r.status().ToString().c_str());
          exit(1);
        }
        std::lock_guard<std::mutex> lk(mu);
        --outstanding;
        cv.notify_one();
      };
      std::string key = "/space/" + std::to_string(i);
      if (create) s->CreateAsync(std::move(key), value, done);
      else s->DeleteAsync(std::move(key), 0, done);
    }
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return outstanding == 0; });
  };
  auto t0 = Clk::now();
  run(true);
  run(false);
  double secs = std::chrono::duration<double>(Clk::now() - t0).count();
  report("after create+delete");
  t0 = Clk::now();
  s->CompactNow();
  double compact_secs = std::chrono::duration<double>(Clk::now() - t0).count();
  report("after compaction");
  printf("(writes %.1f s, compaction %.2f s, revision %ld, compacted %ld)\n", secs, compact_secs,
         static_cast<long>(s->CurrentRevision()), static_cast<long>(s->CompactedRevision()));
  s.reset();
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--seconds") f.seconds = std::atof(next().c_str());
    else if (a == "--value-bytes") f.value_bytes = static_cast<size_t>(std::atol(next().c_str()));
    else if (a == "--threads") f.threads = ParseList(next());
    else if (a == "--watchers") f.watchers = ParseList(next());
    else if (a == "--inflight") f.inflight = std::atoi(next().c_str());
    else if (a == "--no-sync") f.sync = false;
    else if (a == "--dir") f.dir = next();
    else if (a == "--space") f.space_objects = std::atoll(next().c_str());
    else {
      fprintf(stderr,
              "usage: %s [--seconds N] [--value-bytes N] [--threads 1,16,64] "
              "[--watchers 1,100] [--inflight N] [--no-sync] [--dir PATH] [--space N]\n",
              argv[0]);
      return 2;
    }
  }
  bool own_dir = f.dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/cattle_store_bench_XXXXXX";
    if (!mkdtemp(tmpl)) {
      perror("mkdtemp");
      return 1;
    }
    f.dir = tmpl;
  }
  if (f.space_objects > 0) {
    SpaceBench(f, f.dir);
  } else {
    WriteBench(f, f.dir);
    WatchBench(f, f.dir);
  }
  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(f.dir, ec);
  }
  return 0;
}
