// The store gives space back after deletes and compaction, without a restart: disk use of
// the data directory and the process's RSS return close to a fresh store's.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "apiserver/store.h"

extern char** environ;

namespace cattle::store {
namespace {

using namespace std::chrono_literals;

// Bytes the regular files under `dir` occupy on disk (st_blocks, as du counts them).
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

double MiB(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// Issue 8's figure: 50,000 objects of 1 KiB. CATTLE_SPACE_TEST_OBJECTS overrides it.
int64_t ObjectCount() {
  const char* env = getenv("CATTLE_SPACE_TEST_OBJECTS");
  if (env != nullptr && atoll(env) > 0) return atoll(env);
  return 50000;
}

// Creates then deletes `n` 1 KiB objects, 256 writes in flight.
void CreateAndDelete(Store* s, int64_t n) {
  const std::string value(1024, 'x');
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  bool failed = false;
  auto run = [&](bool create) {
    for (int64_t i = 0; i < n; ++i) {
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return outstanding < 256; });
        ++outstanding;
      }
      auto done = [&](Result<int64_t> r) {
        std::lock_guard<std::mutex> lk(mu);
        if (!r.ok()) failed = true;
        --outstanding;
        cv.notify_all();
      };
      std::string key = "/registry/core/configmaps/default/cm-" + std::to_string(i);
      if (create) {
        s->CreateAsync(std::move(key), value, done);
      } else {
        s->DeleteAsync(std::move(key), 0, done);
      }
    }
    std::unique_lock<std::mutex> lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, 120s, [&] { return outstanding == 0; }));
  };
  run(true);
  run(false);
  ASSERT_FALSE(failed);
}

std::unique_ptr<Store> OpenForSpace(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.compaction_age = Duration::zero();       // all history is old enough once compacted
  o.compaction_interval = Duration::zero();  // no background compactor: CompactNow below
  auto opened = Store::Open(o);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// Run in a child process by the test below, so that RSS is this store's alone and not
// whatever earlier tests in this binary left in the heap.
TEST(StoreSpaceChild, DISABLED_Measure) {
  char tmpl[] = "/tmp/cattle_store_space_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  // RocksDB starts its flush and compaction threads (and malloc their arenas) on a
  // process's first flush, and keeps them for the life of the process, as the apiserver
  // has them soon after it starts: let a first store start them, so that "fresh" is a
  // newly opened store in a process that has them.
  const int64_t cold_rss = RssBytes();
  {
    auto warm = OpenForSpace(std::string(tmpl) + "/warm-up");
    ASSERT_TRUE(warm);
    CreateAndDelete(warm.get(), 12000);
    warm->CompactNow();
  }
  const std::string dir = std::string(tmpl) + "/db";
  auto s = OpenForSpace(dir);
  ASSERT_TRUE(s);
  const int64_t fresh_disk = DiskBytes(dir), fresh_rss = RssBytes();
  const int64_t n = ObjectCount();
  CreateAndDelete(s.get(), n);
  ASSERT_EQ(s->CurrentRevision(), 2 * n);
  const int64_t loaded_disk = DiskBytes(dir), loaded_rss = RssBytes();

  s->CompactNow();
  ASSERT_EQ(s->CompactedRevision(), 2 * n);
  const int64_t after_disk = DiskBytes(dir), after_rss = RssBytes();

  printf("[ figures  ] %ld objects of 1 KiB created and deleted\n", static_cast<long>(n));
  printf("[ figures  ] disk MiB: fresh %.2f, after create+delete %.2f, after compaction %.2f\n",
         MiB(fresh_disk), MiB(loaded_disk), MiB(after_disk));
  printf("[ figures  ] RSS MiB:  before any store %.2f; fresh %.2f, after create+delete %.2f, after compaction %.2f\n",
         MiB(cold_rss), MiB(fresh_rss), MiB(loaded_rss), MiB(after_rss));
  EXPECT_LE(after_disk, fresh_disk * 12 / 10) << "the data directory did not shrink back";
  // Within 20% of a fresh store's RSS; in this small process that is 3-4 MiB, about what the
  // store's threads' malloc arenas keep after malloc_trim (measured: 3.4-5 MiB, more on a
  // loaded machine), so allow 8 MiB here: the 50,000 objects were 250 MiB before this
  // change. In the apiserver (84 MiB fresh) 8 MiB is well inside the 20%.
  EXPECT_LE(after_rss, std::max(fresh_rss * 12 / 10, fresh_rss + (int64_t{8} << 20)))
      << "memory was not given back";

  // The store still works, and nothing of the deleted keys is left.
  EXPECT_TRUE(s->Get("/registry/core/configmaps/default/cm-0").status().Is(Reason::kNotFound));
  ListOptions all;
  all.prefix = "/registry/";
  auto list = s->List(all);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_TRUE(list->items.empty());
  ASSERT_TRUE(s->Create("/registry/core/configmaps/default/again", "v").ok());
  s.reset();
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

TEST(StoreSpaceTest, DiskAndMemoryComeBackAfterDeletesAndCompaction) {
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {exe, "--gtest_filter=StoreSpaceChild.DISABLED_Measure",
                                   "--gtest_also_run_disabled_tests", "--gtest_repeat=1"};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string v = *e;
    if (v.rfind("GTEST_", 0) != 0) env.push_back(v);
  }
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  fflush(stdout);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the measurement (its output is above) failed";
}

TEST(StoreSpaceTest, WaitForRevisionReturnsOnceTheRevisionIsPublished) {
  char tmpl[] = "/tmp/cattle_store_wait_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  StoreOptions o;
  o.dir = std::string(tmpl) + "/db";
  auto opened = Store::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto s = std::move(opened).value();
  ASSERT_TRUE(s->Create("/a", "1").ok());
  EXPECT_TRUE(s->WaitForRevision(1, 0ms));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(s->WaitForRevision(2, 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  std::thread writer([&] { EXPECT_TRUE(s->Create("/b", "2").ok()); });
  EXPECT_TRUE(s->WaitForRevision(2, 20s));
  writer.join();
  s.reset();
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace cattle::store
