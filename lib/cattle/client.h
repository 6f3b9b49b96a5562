// Client: typed access to the apiserver over ZeroMQ, used by every component and the CLI.
//
// Calls are synchronous with a deadline (Timeout when the server does not answer,
// Unavailable when no connection could be made). Watches heal themselves: a sequence gap or
// silence longer than `watch_silence_timeout` (the server sends heartbeats) re-establishes
// the watch from the last revision seen, so the consumer sees every event exactly once and
// in order; only Expired (history compacted) or a permanent error reaches on_error.
//
// Thread-safety: every method may be called from any thread. Watch callbacks run on the
// client's I/O thread, one at a time, and must not block (hand work to a queue).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cattle/clock.h"
#include "cattle/object.h"
#include "cattle/status.h"

namespace cattle {

struct ClientOptions {
  std::string endpoint = "tcp://127.0.0.1:7400";  // Default: the apiserver's default
  Duration request_timeout = std::chrono::seconds(10);  // Default: 10 s
  // A request that could not even be sent (no connection) for this long fails with
  // Unavailable. Default: 3 s.
  Duration connect_timeout = std::chrono::seconds(3);
  // No watch message (event or heartbeat) for this long: re-establish. Default: 4 s.
  Duration watch_silence_timeout = std::chrono::seconds(4);
  // Pause between attempts to re-establish a watch. Default: 250 ms.
  Duration watch_retry_interval = std::chrono::milliseconds(250);
  const KindRegistry* kinds = &KindRegistry::Default();
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;
  // "" | "Exact" | "NotOlderThan": how resource_version applies (Kubernetes' semantics).
  std::string resource_version_match;
  int64_t limit = 0;
  std::string continue_token;
};

struct ObjectList {
  std::vector<Object> items;
  std::string resource_version;
  std::string continue_token;
  int64_t remaining = 0;
};

struct WriteOptions {
  bool dry_run = false;
  std::string field_validation;  // "Strict" (default), "Warn", "Ignore"
  std::string field_manager;
  std::string subresource;       // "status" for UpdateStatus-style writes
};

struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;
  bool dry_run = false;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  // "" or "0": the current objects arrive first as ADDED; else events after this revision.
  std::string resource_version;
};

struct ClientWatchEvent {
  std::string type;  // ADDED | MODIFIED | DELETED
  Object object;
};

// A running watch; destroying it stops it (no callback runs after the destructor returns).
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The last revision delivered (or the start revision).
  virtual int64_t last_revision() const = 0;
};

// The API as components see it. Client speaks to a real apiserver over ZeroMQ;
// LocalApiClient (apiserver/local_client.h) calls an in-process registry, so controllers
// and the scheduler are unit-tested with real semantics, a fake clock and no sockets.
class ApiClient {
 public:
  virtual ~ApiClient() = default;
  virtual const KindRegistry& kinds() const = 0;
  virtual Result<Object> Get(const KindInfo* kind, const std::string& ns, const std::string& name) = 0;
  virtual Result<ObjectList> List(const KindInfo* kind, const std::string& ns,
                                  const ListOptions& options = {}) = 0;
  virtual Result<Object> Create(const Object& obj, const WriteOptions& options = {}) = 0;
  // Creates each of `objs` (one kind, one namespace) on its own, without waiting for the
  // answers: `done` gets one Status per object, in order, once they came (or the request
  // failed), on a thread of the client's choosing, and must not call the client
  // synchronously. The apiserver validates and stores each object as a create of its own;
  // the client sends them in one request. By default: one Create after the other, then
  // `done` in the caller.
  virtual void CreateManyAsync(std::vector<Object> objs, std::function<void(std::vector<Status>)> done);
  virtual Result<Object> Update(const Object& obj, const WriteOptions& options = {}) = 0;
  Result<Object> UpdateStatus(const Object& obj) {
    WriteOptions o;
    o.subresource = "status";
    return Update(obj, o);
  }
  // patch_type: "merge", "json", "strategic", "apply".
  virtual Result<Object> Patch(const KindInfo* kind, const std::string& ns, const std::string& name,
                               const std::string& patch_type, const std::string& patch,
                               const WriteOptions& options = {}) = 0;
  // Returns the object as deleted, or as now terminating (graceful deletion, finalizers).
  virtual Result<Object> Delete(const KindInfo* kind, const std::string& ns, const std::string& name,
                                const DeleteOptions& options = {}) = 0;
  virtual Result<Object> Bind(const std::string& ns, const std::string& pod, const std::string& node,
                              const std::string& pod_uid = "") = 0;
  // Starts a watch; returns once the server has registered it.
  virtual Result<std::unique_ptr<WatchStream>> Watch(
      const KindInfo* kind, const std::string& ns, const WatchOptions& options,
      std::function<void(ClientWatchEvent&)> on_event,
      std::function<void(const Status&)> on_error) = 0;
  // Convenience: the kind by plural resource (core group first), e.g. Kind("pods").
  const KindInfo* Kind(const std::string& plural) const;
};

class Client : public ApiClient {
 public:
  explicit Client(ClientOptions options = {});
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const KindRegistry& kinds() const override { return *options_.kinds; }
  const ClientOptions& options() const { return options_; }

  // Current store revision; ok when the apiserver answers.
  Result<int64_t> Health(Duration timeout = std::chrono::seconds(2));

  Result<Object> Get(const KindInfo* kind, const std::string& ns, const std::string& name) override;
  Result<ObjectList> List(const KindInfo* kind, const std::string& ns,
                          const ListOptions& options = {}) override;
  Result<Object> Create(const Object& obj, const WriteOptions& options = {}) override;
  // One createMany request; `done` runs on the client's I/O thread.
  void CreateManyAsync(std::vector<Object> objs, std::function<void(std::vector<Status>)> done) override;
  Result<Object> Update(const Object& obj, const WriteOptions& options = {}) override;
  Result<Object> Patch(const KindInfo* kind, const std::string& ns, const std::string& name,
                       const std::string& patch_type, const std::string& patch,
                       const WriteOptions& options = {}) override;
  Result<Object> Delete(const KindInfo* kind, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) override;
  Result<Object> Bind(const std::string& ns, const std::string& pod, const std::string& node,
                      const std::string& pod_uid = "") override;
  Result<std::unique_ptr<WatchStream>> Watch(const KindInfo* kind, const std::string& ns,
                                             const WatchOptions& options,
                                             std::function<void(ClientWatchEvent&)> on_event,
                                             std::function<void(const Status&)> on_error) override;

  // Number of times watches were re-established after a gap or silence (for tests).
  int64_t watch_resumes() const;

  class Impl;  // implementation detail (public so the watch handle can name it)

 private:
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle
