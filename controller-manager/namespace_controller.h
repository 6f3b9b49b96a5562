// NamespaceController: empties a namespace that is being deleted (pkg/controller/namespace).
//
// For a namespace with deletionTimestamp whose spec.finalizers still holds "kubernetes":
// status.phase becomes Terminating, every object of every namespaced kind in it is deleted
// (background propagation; pods gracefully, so a pod on a lost node holds the namespace
// until it is gone, as in Kubernetes), and once nothing is left "kubernetes" is removed from
// spec.finalizers (Kubernetes' /finalize; here an update) and, if no metadata finalizer
// remains, the namespace is deleted. Content still present is looked at again after a
// rate-limited back-off.
//
// Note: the registry deletes a namespace without metadata finalizers at once (it has no
// Terminating phase of its own), so today this controller acts on namespaces that carry a
// metadata finalizer; it needs no change once the registry keeps namespaces Terminating.
#pragma once

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/events.h"
#include "cattle/informer.h"
#include "cattle/informer_factory.h"
#include "cattle/timescale.h"
#include "cattle/workqueue.h"

namespace cattle::controllers {

class NamespaceController {
 public:
  // `recorder` may be null (it is not used: Kubernetes' namespace controller records no
  // events).
  NamespaceController(InformerFactory* informers, ApiClient* client, EventRecorder* recorder,
                      Clock* clock, TimeScale scale);
  ~NamespaceController();
  NamespaceController(const NamespaceController&) = delete;
  NamespaceController& operator=(const NamespaceController&) = delete;

  void Run(int workers);
  void Stop();

 private:
  void WorkerLoop();
  Status Sync(const std::string& name);
  // Deletes what is left in `ns`; returns how many objects remain (being deleted).
  Result<int> DeleteContent(const std::string& ns);

  ApiClient* client_;
  const KindInfo* namespaces_kind_;
  Informer* namespaces_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
};

}  // namespace cattle::controllers
