// NamespaceController: empties a namespace that is being deleted (pkg/controller/namespace).
//
// For a namespace with deletionTimestamp whose spec.finalizers still holds "kubernetes"
// (the registry keeps such a namespace Terminating): every object of every namespaced kind
// in it is deleted (background propagation; pods gracefully, so a pod on a lost node holds
// the namespace until it is gone, as in Kubernetes); once nothing is left, "kubernetes" is
// removed through namespaces/finalize, and the registry deletes the namespace when no
// finalizer remains. Content still present is looked at again after a rate-limited back-off.
// After every pass the namespace's status carries Kubernetes' deletion conditions
// (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
// NamespaceDeletionContentFailure, NamespaceContentRemaining "Some resources are remaining:
// pods has 1 resource instances", NamespaceFinalizersRemaining), as kubectl describe shows.
#pragma once

#include <map>
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
  // What a deletion pass left behind: objects per resource, and their finalizers.
  struct Remaining {
    std::map<std::string, int> resources;   // "pods" -> 1
    std::map<std::string, int> finalizers;  // "example.com/x" -> 1
    std::string failure;                    // a deletion that failed, if any
  };
  // Deletes what is left in `ns` and reports what remains.
  Result<Remaining> DeleteContent(const std::string& ns);
  void UpdateConditions(const std::string& ns, const Remaining& remaining);

  ApiClient* client_;
  Clock* clock_;
  const KindInfo* namespaces_kind_;
  Informer* namespaces_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
};

}  // namespace cattle::controllers
