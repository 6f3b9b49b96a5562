// EventRecorder: records core/v1 Events on the objects a component acts on, as Kubernetes'
// recorders do (kubectl describe shows them). Repeats of the same (object, type, reason,
// message) within 10 minutes bump count and lastTimestamp of the existing Event instead
// of creating another.
//
// Event() never blocks on the apiserver: events are queued and written by a background
// thread; when the queue is full (1000), new events are dropped (logged).
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
  ~EventRecorder();

  // type: "Normal" or "Warning". Thread-safe.
  void Event(const Object& regarding, const std::string& type, const std::string& reason,
             const std::string& message);
  // Waits (real time) until every queued event was written or dropped; for tests.
  void Flush();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cattle
