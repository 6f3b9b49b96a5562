// Registry: Kubernetes' REST semantics for every kind, over the Store. Both transports (the
// ZeroMQ server and the HTTP server) call it, so validation, defaulting, preconditions,
// graceful deletion, finalizers and watch filtering exist once.
//
// Objects are stored without metadata.resourceVersion; it is the store's mod revision,
// stamped in on every read.
//
// Thread-safety: every method may be called from any thread. Write callbacks run on a store
// thread and must not block.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apiserver/store.h"
#include "apiserver/strategy.h"
#include "cattle/object.h"
#include "cattle/selector.h"

namespace cattle::apiserver {

// One API call, transport-neutral.
struct ApiRequest {
  const KindInfo* kind = nullptr;
  std::string namespace_;
  std::string name;
  std::string subresource;           // "", "status", "binding", "scale", "eviction"
  std::string label_selector;
  std::string field_selector;
  // get: "" = most recent, "0" = any, N = not older than N. list: the same, but with a limit
  // (and no continue) N means exactly N; resource_version_match ("Exact" | "NotOlderThan")
  // says which explicitly. Watch: see Registry::Watch.
  std::string resource_version;
  std::string resource_version_match;
  // A read not older than a revision newer than the store's waits up to
  // RegistryOptions::revision_wait for it. A face that must not block sets this to false:
  // such reads then fail at once with the same Timeout.
  bool wait_for_revision = true;
  int64_t limit = 0;
  std::string continue_token;
  FieldValidation field_validation = FieldValidation::kStrict;
  std::string field_manager;
  bool dry_run = false;
  // delete
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_resource_version;
  std::string propagation_policy;
  // watch
  bool allow_bookmarks = false;
};

// Raw stored object: binary without resourceVersion, plus its revision.
struct StoredItem {
  std::string bytes;
  int64_t revision = 0;
};

struct ListReply {
  const KindInfo* kind = nullptr;
  std::vector<StoredItem> items;
  int64_t revision = 0;
  std::string continue_token;
  int64_t remaining = 0;
};

struct WriteReply {
  Object object;
  std::vector<std::string> warnings;
  bool created = false;        // create, or an apply that created
  bool deleted = false;        // delete removed the object (else it is now terminating)
};

struct WatchEvent {
  std::string type;            // ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
  const KindInfo* kind = nullptr;
  StoredItem item;             // for DELETED: the last state, at the delete's revision
  Status error;                // ERROR
};

using WriteDone = std::function<void(Result<WriteReply>)>;
using WatchSink = std::function<void(const WatchEvent&)>;

class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

struct RegistryOptions {
  // Bootstrap namespaces created at startup if absent.
  std::vector<std::string> initial_namespaces = {"default", "kube-system", "kube-public",
                                                 "kube-node-lease"};
  // How long a get/list waits for a resourceVersion newer than the store's before failing
  // with Timeout ("Too large resource version"). Default: 3 s, as kube-apiserver waits.
  Duration revision_wait = std::chrono::seconds(3);
};

class Registry {
 public:
  Registry(store::Store* store, const KindRegistry* kinds, Clock* clock,
           RegistryOptions options = {});
  ~Registry();

  // Creates the bootstrap namespaces. Call once after construction.
  Status Bootstrap();

  const KindRegistry& kinds() const { return *kinds_; }
  const StrategyTable& strategies() const { return strategies_; }
  store::Store* store() const { return store_; }

  // resourceVersion semantics as Kubernetes' (see ApiRequest): a revision newer than the
  // store's is waited for, then Timeout (504, retryAfterSeconds 1). List: an exact revision
  // is served from the store's history (Expired, 410, once compacted); resourceVersionMatch
  // without resourceVersion, with continue, "Exact" with "0" or an unknown value are
  // Invalid (ListOptions); resourceVersion with continue is BadRequest.
  Result<Object> Get(const ApiRequest& req);
  Result<ListReply> List(const ApiRequest& req);
  void Create(const ApiRequest& req, Object obj, WriteDone done);
  // PUT: replaces the object (or its status with subresource "status"). A non-empty
  // metadata.resourceVersion must match (else Conflict). A write that changes nothing
  // returns the current object without a new revision.
  void Update(const ApiRequest& req, Object obj, WriteDone done);
  // patch_type: "merge", "json", "strategic", "apply". Retries internally on conflicts.
  void Patch(const ApiRequest& req, const std::string& patch_type, const std::string& patch,
             WriteDone done);
  // Graceful deletion for pods bound to a node; finalizers keep the object (terminating).
  void Delete(const ApiRequest& req, WriteDone done);
  // pods/binding: sets spec.nodeName once (Conflict if already bound).
  void Bind(const ApiRequest& req, Object binding, WriteDone done);

  // Delivers events after req.resource_version ("" or "0": the current objects as ADDED
  // first). Filtered by selectors and namespace/name. An ERROR event ends the watch.
  // `start_revision` (optional) receives the revision after which live events start.
  Result<std::unique_ptr<WatchHandle>> Watch(const ApiRequest& req, WatchSink sink,
                                             int64_t* start_revision = nullptr);

  // The store key of an object / the prefix of a kind (and namespace).
  std::string KeyFor(const KindInfo& kind, const std::string& ns, const std::string& name) const;
  std::string PrefixFor(const KindInfo& kind, const std::string& ns) const;

  // Read-modify-write with retries on Conflict: `mutate` gets the current object and edits
  // it (or returns an error). Used by patch, bind, status updates and internal writers.
  using Mutator = std::function<Status(Object& current)>;
  void GuaranteedUpdate(const ApiRequest& req, Mutator mutate, bool status_subresource,
                        WriteDone done, int attempts_left = 16);

 private:
  struct WatchState;
  Status ValidateMeta(const Object& obj, const Strategy& strategy, bool create) const;
  Status CheckNamespace(const ApiRequest& req) const;
  // Ok once the store is at `revision` (waiting when the request allows); else Timeout.
  Status WaitForRevision(const ApiRequest& req, int64_t revision) const;
  Status Finalize(const ApiRequest& req, Object& obj, const Object* old,
                  bool status_subresource, std::vector<StatusCause>* causes) const;
  void CommitUpdate(const ApiRequest& req, const std::string& key, Object updated,
                    const Object& current, WriteDone done, std::function<void()> retry);
  void DeleteNow(const ApiRequest& req, const std::string& key, Object current, WriteDone done);

  store::Store* store_;
  const KindRegistry* kinds_;
  Clock* clock_;
  RegistryOptions options_;
  StrategyTable strategies_;
};

// Kubernetes' "Kind.group \"name\" is invalid: field: detail, field: detail".
Status InvalidError(const KindInfo& kind, const std::string& name,
                    std::vector<StatusCause> causes);
// `pods "web" not found`
Status NotFoundError(const KindInfo& kind, const std::string& name);

// A fresh random RFC 4122 version-4 UUID.
std::string NewUid();

// Reads a field of an object by its JSON path ("spec.nodeName", "metadata.name"); nullopt
// when a struct on the way is absent. Scalars are rendered as Kubernetes prints them.
std::optional<std::string> FieldValue(capnp::DynamicStruct::Reader obj, const std::string& path);

}  // namespace cattle::apiserver
