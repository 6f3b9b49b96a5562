// Helpers shared by the workload controllers (ReplicaSet, Deployment), after Kubernetes'
// pkg/controller/controller_utils.go, controller_ref_manager.go and pkg/api/v1/pod:
// expectations, owner references and adoption/release, the pod-template hash, pod
// readiness and availability, and the worker loop every controller runs.
//
// Everything here is thread-safe unless a comment says otherwise.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "apps.capnp.h"
#include "cattle/client.h"
#include "cattle/clock.h"
#include "cattle/informer.h"
#include "cattle/selector.h"
#include "cattle/status.h"
#include "cattle/workqueue.h"
#include "core.capnp.h"
#include "meta.capnp.h"

namespace cattle::controllers {

// The label a Deployment adds to its ReplicaSets, their selectors and their pods.
inline constexpr char kPodTemplateHashLabel[] = "pod-template-hash";
// The informer index every controller here files objects under: metadata.namespace.
inline constexpr char kNamespaceIndex[] = "namespace";

// ---------------------------------------------------------------------------------------
// Expectations (Kubernetes' UIDTrackingControllerExpectations)

// What a controller is waiting to observe through its informers for each of its objects
// (keyed "ns/name"): a number of pod creations and a set of pod keys to be deleted. A
// controller acts on an object only when its expectations are satisfied — fulfilled, or
// older than the timeout — so a slow watch never makes it create or delete twice.
class ControllerExpectations {
 public:
  // `timeout` is Kubernetes' ExpectationsTimeout (5 minutes), already scaled. `clock`
  // must outlive this object.
  ControllerExpectations(Clock* clock, Duration timeout) : clock_(clock), timeout_(timeout) {}

  // True when `key` has no expectations, when they are fulfilled (nothing more to
  // observe) or when they were set longer than the timeout ago.
  bool Satisfied(const std::string& key) const;
  // Replaces the expectations of `key`: `adds` creations, no deletions.
  void ExpectCreations(const std::string& key, int adds);
  // Replaces the expectations of `key`: the deletion of each of `pod_keys` ("ns/name").
  void ExpectDeletions(const std::string& key, const std::vector<std::string>& pod_keys);
  // One creation observed (or one creation that will never happen: it failed or was
  // skipped). No-op without expectations.
  void CreationObserved(const std::string& key);
  // The deletion of `pod_key` observed (or known to be unnecessary); counts once per key,
  // however often it is reported (a graceful deletion is seen first as an update).
  void DeletionObserved(const std::string& key, const std::string& pod_key);
  // Forgets `key` (its object is gone).
  void Delete(const std::string& key);

  struct Pending {
    bool exists = false;
    int adds = 0;
    int deletes = 0;
  };
  // The outstanding expectations of `key`, for tests and logs.
  Pending Get(const std::string& key) const;

 private:
  struct Entry {
    int adds = 0;
    int deletes = 0;
    std::set<std::string> delete_keys;
    TimePoint set_at;
  };
  Clock* clock_;
  Duration timeout_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

// ---------------------------------------------------------------------------------------
// Owner references

struct OwnerRef {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;  // absent and false stay distinct, as in the API
  std::optional<bool> block_owner_deletion;
  bool IsController() const { return controller.value_or(false); }
  friend bool operator==(const OwnerRef&, const OwnerRef&) = default;
};

// The ownerReference with controller: true, if any (metav1.GetControllerOf).
std::optional<OwnerRef> GetControllerOf(const Object& obj);
// metav1.NewControllerRef: a reference to `owner` with controller and blockOwnerDeletion.
OwnerRef NewControllerRef(const Object& owner);
// Replaces metadata.ownerReferences with `refs` (removing the field when empty).
void SetOwnerRefs(api::ObjectMeta::Builder meta, const std::vector<OwnerRef>& refs);
std::vector<OwnerRef> GetOwnerRefs(const Object& obj);

// Kubernetes' ControllerRefManager.ClaimObject over `candidates` (objects of one kind in
// the owner's namespace, from a cache): keeps those the owner controls whose labels match
// `selector`; adopts matching orphans (adds a controller reference) unless the owner or
// the object is being deleted; releases owned objects that no longer match (removes the
// reference) unless the owner is being deleted. Adoption and release are updates that
// carry the cached resourceVersion, so they never act on a changed object (Conflict: the
// caller requeues). `can_adopt` runs once, before the first adoption (Kubernetes'
// RecheckDeletionTimestamp: a fresh read of the owner). Objects that vanished are skipped.
// `error` aggregates the failures (the first one's reason, every message).
struct ClaimResult {
  std::vector<ObjectPtr> claimed;  // adopted ones as returned by the apiserver
  Status error;
};
ClaimResult ClaimObjects(ApiClient* client, const Object& owner, const LabelSelector& selector,
                         const std::vector<ObjectPtr>& candidates,
                         const std::function<Status()>& can_adopt);

// ---------------------------------------------------------------------------------------
// Labels, selectors, times

Labels LabelsOf(const Object& obj);
std::string AnnotationOf(const Object& obj, const std::string& key);
// metav1.LabelSelectorAsSelector; an absent selector (`has` false) selects nothing.
Result<LabelSelector> SelectorFromApi(bool has, api::LabelSelector::Reader selector);
// RFC 3339 text as Unix nanoseconds; 0 when empty or malformed (Go's zero time).
int64_t ParseTime(const std::string& text);
int64_t CreationNanos(const Object& obj);
bool BeingDeleted(const Object& obj);  // metadata.deletionTimestamp set

// Indexes objects by metadata.namespace (register with Informer::AddIndex before Start).
IndexFunc NamespaceIndexFunc();
// The objects of `ns` in `informer` (through kNamespaceIndex when registered).
std::vector<ObjectPtr> ListNamespace(const Informer* informer, const std::string& ns);
// "ns/name" -> {ns, name}.
std::pair<std::string, std::string> SplitKey(const std::string& key);

// ---------------------------------------------------------------------------------------
// Conditions (the generic meta Condition shape of apps and pod statuses)

struct Condition {
  std::string type;
  std::string status;
  std::string reason;
  std::string message;
  std::string last_update_time;
  std::string last_transition_time;
  friend bool operator==(const Condition&, const Condition&) = default;
};
std::vector<Condition> ReadConditions(capnp::List<api::Condition>::Reader list);
// Writes `conds` with `init` (e.g. [&](unsigned n) { return status.initConditions(n); }),
// or calls `disown` when `conds` is empty.
void WriteConditions(const std::vector<Condition>& conds,
                     const std::function<capnp::List<api::Condition>::Builder(unsigned)>& init,
                     const std::function<void()>& disown);
const Condition* FindCondition(const std::vector<Condition>& conds, const std::string& type);
void RemoveCondition(std::vector<Condition>* conds, const std::string& type);

// ---------------------------------------------------------------------------------------
// Pods

// Neither Succeeded nor Failed, and not being deleted (controller.IsPodActive).
bool IsPodActive(const Object& pod);
// The Ready condition is True.
bool IsPodReady(const Object& pod);
// lastTransitionTime of the Ready condition as Unix nanoseconds (0 when absent).
int64_t PodReadySinceNanos(const Object& pod);
// Ready, and (min_ready zero or) ready since longer than `min_ready` at `now_wall_nanos`:
// Kubernetes' podutil.IsPodAvailable.
bool IsPodAvailable(const Object& pod, Duration min_ready, int64_t now_wall_nanos);
// The highest restartCount among the pod's containers.
int32_t MaxContainerRestarts(const Object& pod);

// ---------------------------------------------------------------------------------------
// Pod-template hash (controller.ComputeHash)

// FNV-1a, 32 bits.
uint32_t Fnv32a(std::string_view data, uint32_t hash = 2166136261u);
// rand.SafeEncodeString: each character mapped onto "bcdfghjklmnpqrstvwxz2456789", so the
// result has no vowels (no words) and no confusable characters.
std::string SafeEncodeString(std::string_view s);
// FNV-32a of the template's canonical JSON (keys sorted), then, if `collision_count` is
// set, of its 8-byte little-endian form; the decimal value safe-encoded.
std::string ComputeTemplateHash(api::PodTemplateSpec::Reader tmpl,
                                std::optional<int32_t> collision_count);
// The template's canonical JSON without the pod-template-hash label.
std::string TemplateJsonIgnoringHash(api::PodTemplateSpec::Reader tmpl);
// deploymentutil.EqualIgnoreHash: equal templates apart from the pod-template-hash label.
bool EqualIgnoreHash(api::PodTemplateSpec::Reader a, api::PodTemplateSpec::Reader b);

// ---------------------------------------------------------------------------------------
// Work

// Calls fn(i) for i in [0, n) on up to `parallelism` threads; returns each call's Status.
std::vector<Status> RunParallel(int n, int parallelism, const std::function<Status(int)>& fn);

// Kubernetes' slowStartBatch: calls `fn` `count` times in batches of 1, 2, 4, ... (each
// batch in parallel), stopping after the first batch with a failure. Returns the number
// of successful calls and the first error.
std::pair<int, Status> SlowStartBatch(int count, int initial_batch,
                                      const std::function<Status()>& fn);

// The worker loop of a controller: `n` threads that first wait for `informers` to have
// listed once, then take keys from `queue` and call `sync`; an error requeues the key with
// rate limiting, success forgets its back-off.
class QueueWorkers {
 public:
  QueueWorkers(std::string name, WorkQueue* queue, std::vector<const Informer*> informers,
               std::function<Status(const std::string&)> sync)
      : name_(std::move(name)),
        queue_(queue),
        informers_(std::move(informers)),
        sync_(std::move(sync)) {}
  ~QueueWorkers() { Stop(); }
  QueueWorkers(const QueueWorkers&) = delete;
  QueueWorkers& operator=(const QueueWorkers&) = delete;

  // Starts `n` worker threads; returns at once. Call once.
  void Start(int n);
  // Shuts the queue down and joins the workers (a sync in progress finishes first).
  // Idempotent.
  void Stop();

 private:
  void Work();

  std::string name_;
  WorkQueue* queue_;
  std::vector<const Informer*> informers_;
  std::function<Status(const std::string&)> sync_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace cattle::controllers
