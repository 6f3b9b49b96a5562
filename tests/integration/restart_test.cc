// Restarts with real processes started by `cattle up`: the control plane outlives an
// apiserver outage longer than its leases (the scheduler and controller-manager stop
// leading, then campaign again and work as before), `cattle kill` returns only once the
// process is gone (so an immediate `cattle start apiserver` finds the store free), and a
// killed scheduler stays down until `cattle start scheduler`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "apps.capnp.h"
#include "cattle/client.h"
#include "coordination.capnp.h"
#include "core.capnp.h"
#include "testutil/process.h"

namespace cattle {
namespace {

using testutil::Eventually;

// Leases at this scale: 1.5 s duration, 1 s renew deadline, 0.2 s retry period.
constexpr double kTimeScale = 10;

class RestartTest : public ::testing::Test {
 protected:
  void Up(int nodes) {
    for (const char* bin : {"cattle-scheduler", "cattle-controller-manager", "cattle-kubelet"}) {
      if (access((testutil::BinDir() + "/" + bin).c_str(), X_OK) != 0) GTEST_SKIP() << bin << " is not built";
    }
    port_ = testutil::FreePort();
    dir_path_ = dir_.path() + "/c";
    flags_ = " --dir " + dir_path_;
    std::string out;
    ASSERT_EQ(Cattle("up --nodes " + std::to_string(nodes) + " --time-scale " + std::to_string(kTimeScale) +
                         " --port " + std::to_string(port_),
                     &out),
              0)
        << out;
    ClientOptions o;
    o.endpoint = "tcp://127.0.0.1:" + std::to_string(port_);
    o.request_timeout = std::chrono::seconds(3);
    o.connect_timeout = std::chrono::seconds(1);
    client_ = std::make_unique<Client>(o);
  }
  void TearDown() override {
    client_.reset();
    if (!flags_.empty()) testutil::Run(testutil::BinDir() + "/cattle down" + flags_);
  }
  int Cattle(const std::string& args, std::string* out = nullptr) {
    return testutil::Run(testutil::BinDir() + "/cattle " + args + flags_, out);
  }
  std::string LogOf(const std::string& component) {
    std::ifstream in(dir_path_ + "/logs/" + component + ".log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  int PidOf(const std::string& component) {
    std::ifstream in(dir_path_ + "/pids/" + component + ".pid");
    int pid = 0;
    in >> pid;
    return pid;
  }
  // Running: it exists and is not a zombie (nothing reaps `cattle up`'s children at once).
  static bool Running(int pid) {
    if (pid <= 0 || kill(pid, 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
  }
  // Every thread of `pid` has exited (the process's files are closed).
  static bool Exited(int pid) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec), end;
         !ec && it != end; it.increment(ec)) {
      std::ifstream stat(it->path().string() + "/stat");
      std::string line;
      std::getline(stat, line);
      auto close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' && line[close + 2] != 'X')
        return false;
    }
    return true;
  }
  std::string Holder(const std::string& lease) {
    auto l = client_->Get(client_->Kind("leases"), "kube-system", lease);
    return l.ok() ? l->get<api::Lease>().getSpec().getHolderIdentity().cStr() : "";
  }
  int RunningPods() {
    ListOptions lo;
    lo.label_selector = "app=web";
    auto l = client_->List(client_->Kind("pods"), "default", lo);
    if (!l.ok()) return -1;
    int n = 0;
    for (auto& p : l->items) {
      auto pod = p.get<api::Pod>();
      if (p.meta().hasDeletionTimestamp() || pod.getSpec().getNodeName().size() == 0) continue;
      if (std::string(pod.getStatus().getPhase().cStr()) == "Running") n++;
    }
    return n;
  }
  void ApplyDeployment(int replicas) {
    auto obj = Object::FromJson(client_->kinds(), Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
      "metadata":{"name":"web","namespace":"default"},
      "spec":{"replicas":)" + std::to_string(replicas) + R"(,"selector":{"matchLabels":{"app":"web"}},
        "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}})"));
    ASSERT_TRUE(obj.ok());
    auto r = client_->Create(*obj);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  testutil::TempDir dir_;
  std::string dir_path_;
  int port_ = 0;
  std::string flags_;
  std::unique_ptr<Client> client_;
};

TEST_F(RestartTest, ControlPlaneWorksAgainAfterAnApiserverOutageLongerThanTheLease) {
  Up(2);
  if (IsSkipped() || HasFatalFailure()) return;
  ApplyDeployment(2);
  ASSERT_TRUE(Eventually([&] { return RunningPods() == 2; }, std::chrono::seconds(30))) << "2 Running pods";
  ASSERT_TRUE(Eventually([&] { return !Holder("kube-scheduler").empty() && !Holder("kube-controller-manager").empty(); }));
  const int scheduler_pid = PidOf("scheduler"), cm_pid = PidOf("controller-manager");
  ASSERT_TRUE(Running(scheduler_pid));
  ASSERT_TRUE(Running(cm_pid));

  std::string out;
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(Cattle("kill apiserver", &out), 0) << out;
  // Down until both have given up their leadership (renew deadline: 1 s) and for at least
  // twice the lease duration (3 s in all).
  EXPECT_TRUE(Eventually([&] {
    return LogOf("scheduler").find("leader election lost") != std::string::npos &&
           LogOf("controller-manager").find("leader election lost") != std::string::npos;
  })) << "both lose the lease while the apiserver is away";
  std::this_thread::sleep_until(killed + std::chrono::seconds(3));
  ASSERT_EQ(Cattle("start apiserver", &out), 0) << out;

  // The same processes lead again...
  auto acquisitions = [&](const std::string& component) {
    const std::string log = LogOf(component);
    int n = 0;
    for (size_t at = log.find("successfully acquired lease"); at != std::string::npos;
         at = log.find("successfully acquired lease", at + 1))
      n++;
    return n;
  };
  EXPECT_TRUE(Eventually([&] {
    if (!Running(scheduler_pid) || !Running(cm_pid)) return true;  // reported below
    return acquisitions("scheduler") >= 2 && acquisitions("controller-manager") >= 2;
  })) << "both take the lease again";
  EXPECT_TRUE(Running(scheduler_pid)) << "the scheduler died:\n" << LogOf("scheduler");
  EXPECT_TRUE(Running(cm_pid)) << "the controller-manager died:\n" << LogOf("controller-manager");
  EXPECT_EQ(Cattle("status", &out), 0) << out;

  // ...and act: new pods are created (controller-manager) and scheduled (scheduler), and
  // the kubelets run them.
  auto r = client_->Patch(client_->Kind("deployments"), "default", "web", "merge", R"({"spec":{"replicas":5}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Eventually([&] { return RunningPods() == 5; }, std::chrono::seconds(30)))
      << "5 Running pods; have " << RunningPods();
}

TEST_F(RestartTest, KillWaitsForTheExitSoStartRightAfterItWorks) {
  Up(0);
  if (IsSkipped() || HasFatalFailure()) return;
  // Writes in flight when the apiserver is killed: a thread inside an fsync finishes it
  // before it exits, and the store's LOCK stays held until the last thread has exited.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    ClientOptions o;
    o.endpoint = "tcp://127.0.0.1:" + std::to_string(port_);
    o.request_timeout = std::chrono::milliseconds(500);
    o.connect_timeout = std::chrono::milliseconds(200);
    Client c(o);
    for (int n = 0; !stop; ++n) {
      auto cm = Object::FromJson(c.kinds(), Json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
        "metadata":{"name":"cm-)" + std::to_string(n) + R"(","namespace":"default"},"data":{"k":"v"}})"));
      if (cm.ok()) (void)c.Create(*cm);
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      t.join();
    }
  } join{stop, writer};
  std::string out;
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    const int pid = PidOf("apiserver");
    ASSERT_EQ(Cattle("kill apiserver", &out), 0) << out;
    EXPECT_TRUE(Exited(pid)) << "`cattle kill` returned while the apiserver's threads were still exiting";
    ASSERT_EQ(Cattle("start apiserver", &out), 0) << out;
    ASSERT_EQ(Cattle("get ns kube-system -o name", &out), 0) << out;
  }
  stop = true;

  // A killed scheduler is the user's intent: it stays down, whatever the apiserver does,
  // until `cattle start scheduler`.
  const int scheduler_pid = PidOf("scheduler");
  ASSERT_EQ(Cattle("kill scheduler", &out), 0) << out;
  EXPECT_FALSE(Running(scheduler_pid));
  ASSERT_EQ(Cattle("kill apiserver", &out), 0) << out;
  ASSERT_EQ(Cattle("start apiserver", &out), 0) << out;
  EXPECT_FALSE(Eventually([&] { return Cattle("status", &out) == 0; }, std::chrono::seconds(2)))
      << "something restarted the scheduler:\n" << out;
  EXPECT_NE(out.find("scheduler"), std::string::npos);
  ASSERT_EQ(Cattle("kill scheduler", &out), 1) << out;
  EXPECT_NE(out.find("scheduler is not running"), std::string::npos) << out;
  ASSERT_EQ(Cattle("start scheduler", &out), 0) << out;
  EXPECT_TRUE(Eventually([&] { return Cattle("status", &out) == 0; })) << out;
  EXPECT_TRUE(Eventually([&] {
    std::string h = Holder("kube-scheduler");
    return h.find("_" + std::to_string(PidOf("scheduler"))) != std::string::npos;
  })) << "the new scheduler leads; holder " << Holder("kube-scheduler");
}

// Holds an fcntl write lock on a file, as RocksDB does on its LOCK; released on destruction.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    struct flock f = {};
    f.l_type = F_WRLCK;
    f.l_whence = SEEK_SET;
    held_ = fd_ >= 0 && fcntl(fd_, F_SETLK, &f) == 0;
  }
  ~FileLock() { Release(); }
  bool held() const { return held_; }
  void Release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool held_ = false;
};

TEST_F(RestartTest, StartWaitsBrieflyForAStoreLockStillHeld) {
  Up(0);
  if (IsSkipped() || HasFatalFailure()) return;
  std::string out;
  ASSERT_EQ(Cattle("kill apiserver", &out), 0) << out;
  const std::string lock_path = dir_path_ + "/apiserver-data/LOCK";

  // As if the killed apiserver's last thread were still exiting: the LOCK is held for a
  // moment after `cattle start` begins. The new apiserver waits for it.
  {
    FileLock lock(lock_path);
    ASSERT_TRUE(lock.held());
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::seconds(1));  // the exiting process's last second
      lock.Release();
    });
    const int rc = Cattle("start apiserver", &out);
    release.join();
    ASSERT_EQ(rc, 0) << out;
  }
  ASSERT_EQ(Cattle("get ns kube-system -o name", &out), 0) << out;

  // Held for good (another apiserver on the same data): a clear error after a few seconds.
  ASSERT_EQ(Cattle("kill apiserver", &out), 0) << out;
  FileLock lock(lock_path);
  ASSERT_TRUE(lock.held());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Cattle("start apiserver", &out), 1) << out;
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  EXPECT_NE(out.find("is in use by another process"), std::string::npos) << out;
  lock.Release();
  ASSERT_EQ(Cattle("start apiserver", &out), 0) << out;
  ASSERT_EQ(Cattle("get ns kube-system -o name", &out), 0) << out;
}

}  // namespace
}  // namespace cattle
