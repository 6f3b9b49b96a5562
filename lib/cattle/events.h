// EventRecorder: records core/v1 Events on the objects a component acts on, as Kubernetes'
// recorders do (kubectl describe shows them). Repeats of the same (object, type, reason,
// message) within 10 minutes bump count and lastTimestamp of the existing Event instead
// of creating another.
//
// Event() never blocks on the apiserver: events are queued and written by a background
// thread; when the queue is full (1000), new events are dropped (logged). New Events queued
// together are sent in one createMany request (each is still created on its own); while two
// such requests are unanswered, new Events wait and go out together in the next.
//
// Events are named "<object>.<16 hex digits of wall-clock Unix nanos>" in the object's
// namespace ("default" for cluster-scoped objects such as Nodes), with involvedObject,
// source{component, host}, reportingComponent/Instance, first/lastTimestamp and count 1.
// A repeat (same object uid, kind, name, type, reason, message) within 10 minutes of its
// last occurrence is a merge patch of count+1 and lastTimestamp; if that Event is gone, a
// new one is created. The repeat cache is per recorder (LRU, 4096 keys).
// Errors are logged. Transient ones (unreachable, timeout, 5xx, 429) are tried 3 times in
// all, backing off 1 s then 2 s on the injected clock; others are not retried.
#pragma once

#include <memory>
#include <string>

#include "cattle/client.h"
#include "cattle/clock.h"

namespace cattle {

class EventRecorder {
 public:
  // `component` is source.component / reportingComponent ("default-scheduler",
  // "replicaset-controller", "kubelet"); `host` is source.host (kubelets: the node name).
  EventRecorder(ApiClient* client, Clock* clock, std::string component, std::string host = "");
  // Records through `shared` (its thread, client, queue and repeat cache; its queue holds
  // 1000 more events per sharer) with this recorder's own source.host: the hollow nodes
  // of one process share one recorder so. `shared` must outlive this recorder.
  EventRecorder(EventRecorder* shared, std::string host);
  // Writes what is still queued (no back-off; once the apiserver is unreachable the rest is
  // dropped), then stops the thread.
  ~EventRecorder();

  // type: "Normal" or "Warning". Thread-safe.
  void Event(const Object& regarding, const std::string& type, const std::string& reason,
             const std::string& message);
  // Waits (real time) until every queued event was written or dropped; for tests. (With a
  // FakeClock, a retry back-off waits for the test to Advance the clock.)
  void Flush();

 private:
  class Impl;
  std::unique_ptr<Impl> owned_;  // null for a recorder sharing another's
  Impl* impl_;
  std::string host_;
};

}  // namespace cattle
