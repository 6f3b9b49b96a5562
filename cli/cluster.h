// Cluster: the processes of a local cluster, each its own OS process with its log and pid
// file under one directory (default .cattle/). cluster.json records how each component was
// started, so `cattle start X` restarts it with the same flags and data.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/status.h"

namespace cattle {
class Client;
}
namespace cattle::cli {

struct Component {
  std::string name;               // "apiserver", "scheduler", "kubelet/node-1"
  std::vector<std::string> argv;  // argv[0] is the binary's path
  // "apiserver": ask it over ZeroMQ; "node:NAME": its Node is Ready; "" = alive is enough.
  std::string health;
};

struct ClusterConfig {
  std::string dir;                // absolute
  std::string apiserver_endpoint; // tcp://127.0.0.1:7400
  std::string http_server;        // http://127.0.0.1:7401 ("" for clusters made before HTTP)
  double time_scale = 1;
  int nodes = 0;
  std::vector<Component> components;  // in start order
};

class Cluster {
 public:
  explicit Cluster(std::string dir);

  const std::string& dir() const { return dir_; }
  // Reads DIR/cluster.json; NotFound when there is none.
  Status Load();
  Status Save() const;
  ClusterConfig& config() { return config_; }
  const Component* Find(const std::string& name) const;
  // DIR/kubeconfig: a kubeconfig for kubectl and client libraries pointing at http_server
  // (context "cattle", namespace default). Nothing is written when http_server is empty.
  std::string KubeconfigPath() const { return dir_ + "/kubeconfig"; }
  Status WriteKubeconfig() const;
  // DIR/kubelet-auth-token: the secret the apiserver signs its requests to kubelets with
  // (cattle/kubelet_auth.h), given to both by --kubelet-auth-token-file.
  std::string KubeletTokenPath() const { return dir_ + "/kubelet-auth-token"; }

  // Starts the component unless it is already running; waits until healthy (or it died:
  // then the error quotes the end of its log).
  Status Start(const Component& c, Duration timeout);
  // SIGKILL (a crash), then waits until the process has exited, every thread of it (so its
  // files, RocksDB's LOCK among them, are closed): NotFound when it is not running, Timeout
  // when it is still there after `timeout`.
  Status Kill(const std::string& name, Duration timeout = std::chrono::seconds(10));
  // A clean stop: SIGTERM, SIGKILL after `grace`, then as Kill (Timeout after
  // `kill_timeout`). Ok when it is not running.
  Status Stop(const std::string& name, Duration grace, Duration kill_timeout = std::chrono::seconds(10));

  // 0 when not running.
  int Pid(const std::string& name) const;
  bool Alive(const std::string& name) const;
  std::string LogPath(const std::string& name) const;

 private:
  std::string PidPath(const std::string& name) const;
  std::string dir_;
  ClusterConfig config_;
};

// The Ready condition's status of a node ("True", "False", "Unknown", "NotRegistered").
std::string NodeReady(Client& client, const std::string& node);

// The directory of the running `cattle` binary (where the component binaries are too).
std::string BinDir();
// Whether `pid` is a process with a thread that has not exited (zombies are not alive).
bool ProcessAlive(int pid);
// Waits (polling) until ProcessAlive(pid) is false; false if it still is after `timeout`.
bool WaitExited(int pid, Duration timeout);

}  // namespace cattle::cli
