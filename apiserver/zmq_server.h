// ZmqServer: the apiserver's ZeroMQ face. One ROUTER socket; one I/O thread owns it.
// Reads and the validation half of writes run on the I/O thread; writes complete on the
// store's commit thread and watch events arrive on the store's delivery thread: both hand
// their replies to the I/O thread through the outbox.
//
// Watches: every event carries a per-watch sequence number, and idle watches get a
// HEARTBEAT every `heartbeat_interval`. A watcher whose socket buffer is full is dropped
// (never silently thinned): its client sees the missing heartbeats or the sequence gap and
// resumes from the last revision it saw.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "apiserver/registry.h"

namespace cattle::apiserver {

struct ZmqServerOptions {
  std::string endpoint = "tcp://127.0.0.1:7400";  // Default: tcp://127.0.0.1:7400
  Duration heartbeat_interval = std::chrono::seconds(1);  // Default: 1 s
  int send_high_water_mark = 200000;  // messages queued per peer before its watches drop
  // Threads that run writes (decode, defaulting, validation, encoding). Default: 2.
  int workers = 2;
};

class ZmqServer {
 public:
  ZmqServer(Registry* registry, ZmqServerOptions options);
  ~ZmqServer();

  // Binds the socket (error when the endpoint is taken) and starts the I/O thread.
  Status Start();
  // Stops the I/O thread, cancels every watch. Idempotent.
  void Stop();
  // The bound endpoint (with the real port when bound to port 0... tcp://127.0.0.1:*).
  std::string endpoint() const;
  int64_t watch_count() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle::apiserver
