// Container logs in the simulated kubelet: the bounded per-instance log (tail, since,
// timestamps, bounds, closing), what simulated containers write, and which instance the
// pod worker serves (current, previous; one previous instance kept).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "cattle/fake_clock.h"
#include "kubelet-sim/container_log.h"
#include "kubelet-sim/sim_output.h"
#include "kubelet-sim/sim_runtime.h"

namespace cattle::kubelet {
namespace {

using std::chrono::seconds;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = FakeClock::kDefaultWallNanos;  // 2024-01-01T00:00:00Z

std::string ReadAll(const ContainerLog& log, ContainerLog::Cursor cursor, bool timestamps = false) {
  std::string out;
  log.Read(&cursor, timestamps, 1 << 30, &out);
  return out;
}

bool Contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

TEST(ContainerLogTest, Rfc3339NanoDropsTrailingZerosLikeGo) {
  EXPECT_EQ(FormatRfc3339Nano(kT0), "2024-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Nano(kT0 + 500'000'000), "2024-01-01T00:00:00.5Z");
  EXPECT_EQ(FormatRfc3339Nano(kT0 + 123'456'789), "2024-01-01T00:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339Nano(kT0 + 61 * kSecond + 1'000), "2024-01-01T00:01:01.000001Z");
}

TEST(ContainerLogTest, ReadsEverythingInOrderAndSplitsNewlines) {
  ContainerLog log;
  log.Append(kT0, "one");
  log.Append(kT0 + kSecond, "two\nthree\n");  // a trailing newline adds no empty line
  log.Append(kT0 + 2 * kSecond, "");
  EXPECT_EQ(log.Lines(), (std::vector<std::string>{"one", "two", "three", ""}));
  EXPECT_EQ(ReadAll(log, log.Start(std::nullopt, std::nullopt)), "one\ntwo\nthree\n\n");
  EXPECT_EQ(log.End(), 4u);
}

TEST(ContainerLogTest, TailLines) {
  ContainerLog log;
  for (int i = 1; i <= 5; ++i) log.Append(kT0 + i * kSecond, "line " + std::to_string(i));
  EXPECT_EQ(ReadAll(log, log.Start(2, std::nullopt)), "line 4\nline 5\n");
  EXPECT_EQ(ReadAll(log, log.Start(0, std::nullopt)), "");
  EXPECT_EQ(ReadAll(log, log.Start(50, std::nullopt)), "line 1\nline 2\nline 3\nline 4\nline 5\n");
}

TEST(ContainerLogTest, SinceKeepsLinesWrittenAtOrAfterIt) {
  ContainerLog log;
  for (int i = 1; i <= 5; ++i) log.Append(kT0 + i * kSecond, "line " + std::to_string(i));
  EXPECT_EQ(ReadAll(log, log.Start(std::nullopt, kT0 + 4 * kSecond)), "line 4\nline 5\n");
  EXPECT_EQ(ReadAll(log, log.Start(std::nullopt, kT0 + 10 * kSecond)), "");
  EXPECT_EQ(ReadAll(log, log.Start(std::nullopt, kT0)), "line 1\nline 2\nline 3\nline 4\nline 5\n");
  // Both: the last N lines that are recent enough.
  EXPECT_EQ(ReadAll(log, log.Start(1, kT0 + 2 * kSecond)), "line 5\n");
  EXPECT_EQ(ReadAll(log, log.Start(4, kT0 + 4 * kSecond)), "line 4\nline 5\n");
}

TEST(ContainerLogTest, TimestampsPrefixEachLine) {
  ContainerLog log;
  log.Append(kT0 + 250'000'000, "hello");
  log.Append(kT0 + kSecond, "world");
  EXPECT_EQ(ReadAll(log, 0, true), "2024-01-01T00:00:00.25Z hello\n2024-01-01T00:00:01Z world\n");
}

TEST(ContainerLogTest, ReadResumesFromItsCursorAndChunksByWholeLines) {
  ContainerLog log;
  log.Append(kT0, "aaaa");
  log.Append(kT0, "bbbb");
  log.Append(kT0, "cccc");
  ContainerLog::Cursor c = 0;
  std::string out;
  EXPECT_EQ(log.Read(&c, false, 6, &out), 10u);  // whole lines: passes 6 with its last one
  EXPECT_EQ(out, "aaaa\nbbbb\n");
  EXPECT_EQ(c, 2u);
  out.clear();
  EXPECT_EQ(log.Read(&c, false, 6, &out), 5u);
  EXPECT_EQ(out, "cccc\n");
  out.clear();
  EXPECT_EQ(log.Read(&c, false, 6, &out), 0u);  // nothing new
  log.Append(kT0, "dddd");
  EXPECT_EQ(log.Read(&c, false, 6, &out), 5u);  // a follower gets what came meanwhile
  EXPECT_EQ(out, "dddd\n");
}

TEST(ContainerLogTest, BoundedByLinesAndBytes) {
  ContainerLog by_lines(ContainerLogLimits{.max_lines = 3, .max_bytes = 1024});
  for (int i = 1; i <= 10; ++i) by_lines.Append(kT0, std::to_string(i));
  EXPECT_EQ(by_lines.Lines(), (std::vector<std::string>{"8", "9", "10"}));
  EXPECT_EQ(by_lines.End(), 10u);
  // A cursor into what was evicted resumes at the oldest kept line.
  EXPECT_EQ(ReadAll(by_lines, 2), "8\n9\n10\n");

  ContainerLog by_bytes(ContainerLogLimits{.max_lines = 1000, .max_bytes = 10});
  by_bytes.Append(kT0, "12345");
  by_bytes.Append(kT0, "67890");
  by_bytes.Append(kT0, "abc");
  EXPECT_EQ(by_bytes.Lines(), (std::vector<std::string>{"67890", "abc"}));
  EXPECT_EQ(by_bytes.bytes(), 8u);
  by_bytes.Append(kT0, std::string(25, 'x'));  // longer than the whole budget: cut
  EXPECT_EQ(by_bytes.Lines(), (std::vector<std::string>{std::string(10, 'x')}));
  EXPECT_EQ(by_bytes.bytes(), 10u);

  // Many appends stay within the bounds (the kept window is compacted as it moves).
  ContainerLog big;
  for (int i = 0; i < 100000; ++i) big.Append(kT0, "a line of some forty bytes of text, ok #" + std::to_string(i));
  EXPECT_LE(big.Lines().size(), 1000u);
  EXPECT_LE(big.bytes(), 256u * 1024);
  EXPECT_EQ(big.Lines().back(), "a line of some forty bytes of text, ok #99999");
}

TEST(ContainerLogTest, ClosedLogTakesNoMoreLines) {
  ContainerLog log;
  log.Append(kT0, "last words");
  EXPECT_FALSE(log.closed());
  log.Close();
  log.Close();
  EXPECT_TRUE(log.closed());
  log.Append(kT0, "from beyond");
  EXPECT_EQ(log.Lines(), (std::vector<std::string>{"last words"}));
}

// --- what simulated containers write -------------------------------------------------------

ContainerConfig Config(const std::string& name, const std::string& image) {
  ContainerConfig c;
  c.pod_uid = "uid-1";
  c.pod_namespace = "default";
  c.pod_name = "web";
  c.name = name;
  c.image = image;
  return c;
}

TEST(SimulatedOutputTest, ImagesPrintInTheirOwnStyle) {
  EXPECT_EQ(ParseImageName("docker.io/library/nginx:1.27").base, "nginx");
  EXPECT_EQ(ParseImageName("docker.io/library/nginx:1.27").tag, "1.27");
  EXPECT_EQ(ParseImageName("quay.io/a/redis@sha256:abc").base, "redis");

  auto nginx = SimulatedStartOutput(Config("web", "nginx:1.27"), "docker.io/library/nginx:1.27", kT0);
  EXPECT_TRUE(Contains(nginx, "2024/01/01 00:00:00 [notice] 1#1: nginx/1.27"));
  EXPECT_TRUE(Contains(nginx, "start worker processes"));
  auto stop = SimulatedStopOutput(Config("web", "nginx"), "docker.io/library/nginx:latest", kT0);
  EXPECT_TRUE(Contains(stop, "signal 15 (SIGTERM) received, exiting"));
  EXPECT_TRUE(Contains(SimulatedStartOutput(Config("db", "redis"), "docker.io/library/redis:latest", kT0),
                       "Ready to accept connections tcp"));
  EXPECT_TRUE(SimulatedStartOutput(Config("p", "pause"), "registry.k8s.io/pause:3.10", kT0).empty());

  // A shell command echoes what it echoes.
  ContainerConfig shell = Config("sh", "busybox");
  shell.command = {"sh", "-c"};
  shell.args = {"echo hello world; sleep 3600 && echo 'done here'"};
  EXPECT_EQ(SimulatedStartOutput(shell, "docker.io/library/busybox:latest", kT0),
            (std::vector<std::string>{"hello world", "done here"}));
}

TEST(SimulatedOutputTest, RuntimeWritesStartExitAndStopLines) {
  FakeClock clock;
  SimulatedRuntime rt(&clock);
  ContainerConfig crash = Config("web", "nginx");
  crash.exit_after = seconds(5);
  crash.exit_code = 3;
  auto id = rt.CreateContainer(crash);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(rt.StartContainer(*id).ok());
  auto log = rt.Log(*id);
  ASSERT_NE(log, nullptr);
  auto lines = log->Lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "container web started (simulated, image docker.io/library/nginx:latest)");
  EXPECT_TRUE(Contains(lines, "start worker processes"));
  EXPECT_FALSE(log->closed());

  clock.Advance(seconds(5));
  (void)rt.Inspect(*id);
  EXPECT_EQ(log->Lines().back(), "container web exiting with code 3");
  EXPECT_TRUE(log->closed());
  // The exit line carries the exit's time, not the time it was noticed.
  clock.Advance(seconds(30));
  std::string text;
  ContainerLog::Cursor c = log->End() - 1;
  log->Read(&c, true, 1 << 20, &text);
  EXPECT_EQ(text, "2024-01-01T00:00:05Z container web exiting with code 3\n");

  // A stop: SIGTERM and the image's shutdown lines, then the exit.
  auto id2 = rt.CreateContainer(Config("web", "nginx"));
  ASSERT_TRUE(id2.ok());
  ASSERT_TRUE(rt.StartContainer(*id2).ok());
  rt.AppendLog(*id2, "[cattle-sim] readiness probe succeeded: GET http://10.244.1.2:80/");
  ASSERT_TRUE(rt.StopContainer(*id2, seconds(30)).ok());
  auto lines2 = rt.Log(*id2)->Lines();
  EXPECT_TRUE(Contains(lines2, "readiness probe succeeded"));
  EXPECT_TRUE(Contains(lines2, "container web: SIGTERM received (grace period 30s)"));
  EXPECT_TRUE(Contains(lines2, "[notice] 1#1: exit"));
  EXPECT_EQ(lines2.back(), "container web exiting with code 0");
  rt.AppendLog(*id2, "too late");  // exited: nothing more is written
  EXPECT_EQ(rt.Log(*id2)->Lines().back(), "container web exiting with code 0");

  // Past the grace period: killed.
  ContainerConfig slow = Config("slow", "redis");
  slow.stop_delay = seconds(60);
  auto id3 = rt.CreateContainer(slow);
  ASSERT_TRUE(rt.StartContainer(*id3).ok());
  ASSERT_TRUE(rt.StopContainer(*id3, seconds(2)).ok());
  clock.Advance(seconds(2));
  (void)rt.Inspect(*id3);
  EXPECT_EQ(rt.Log(*id3)->Lines().back(), "container slow killed: grace period over (SIGKILL, exit code 137)");

  // Removing an instance closes its log for anyone still holding it.
  auto id4 = rt.CreateContainer(Config("web", "nginx"));
  ASSERT_TRUE(rt.StartContainer(*id4).ok());
  auto held = rt.Log(*id4);
  rt.RemoveContainer(*id4);
  EXPECT_EQ(rt.Log(*id4), nullptr);
  EXPECT_TRUE(held->closed());
}

TEST(SimulatedOutputTest, LogsFollowTheRuntimesLimits) {
  FakeClock clock;
  SimulatedRuntime rt(&clock, ContainerLogLimits{.max_lines = 4, .max_bytes = 4096});
  auto id = rt.CreateContainer(Config("web", "nginx"));
  ASSERT_TRUE(rt.StartContainer(*id).ok());
  for (int i = 0; i < 10; ++i) rt.AppendLog(*id, "probe " + std::to_string(i));
  EXPECT_EQ(rt.Log(*id)->Lines(), (std::vector<std::string>{"probe 6", "probe 7", "probe 8", "probe 9"}));
}

}  // namespace
}  // namespace cattle::kubelet
