#include "controller-manager/garbage_collector.h"

#include <algorithm>

#include "cattle/log.h"

namespace cattle::controllers {
namespace {

constexpr const char* kForegroundDeletion = "foregroundDeletion";
constexpr const char* kOrphan = "orphan";
constexpr int kWriteRetries = 5;
constexpr size_t kAbsentOwnerCacheSize = 10000;

std::string S(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

bool HasFinalizer(const Object& obj, const char* name) {
  for (auto f : obj.meta().getFinalizers())
    if (f == name) return true;
  return false;
}

std::string Describe(const KindInfo* kind, const std::string& ns, const std::string& name) {
  return kind->GroupResource() + " " + (ns.empty() ? name : ns + "/" + name);
}

}  // namespace

GarbageCollector::GarbageCollector(InformerFactory* informers, ApiClient* client,
                                   EventRecorder* recorder, Clock* clock, TimeScale scale,
                                   GarbageCollectorOptions options)
    : informers_(informers),
      client_(client),
      recorder_(recorder),
      clock_(clock),
      options_(std::move(options)),
      attempt_to_delete_(clock),
      attempt_to_orphan_(clock) {
  (void)scale;  // the collector has no timers of its own
  for (const KindInfo& kind : client->kinds().kinds()) {
    const auto& ignored = options_.ignored_resources;
    if (std::find(ignored.begin(), ignored.end(), kind.GroupResource()) != ignored.end()) continue;
    const KindInfo* k = &kind;
    Informer* inf = informers->For(k);
    inf->AddHandlers({[this, k](const ObjectPtr& o) { OnUpsert(k, o); },
                      [this, k](const ObjectPtr&, const ObjectPtr& o) { OnUpsert(k, o); },
                      [this](const ObjectPtr& o) { OnDelete(o); }});
    monitored_.push_back(inf);
  }
}

GarbageCollector::~GarbageCollector() { Stop(); }

void GarbageCollector::Run(int workers) {
  workers = std::max(1, workers);
  for (int i = 0; i < workers; ++i) {
    workers_.emplace_back([this] { WorkerLoop(&attempt_to_delete_, false); });
    workers_.emplace_back([this] { WorkerLoop(&attempt_to_orphan_, true); });
  }
}

void GarbageCollector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  attempt_to_delete_.ShutDown();
  attempt_to_orphan_.ShutDown();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

bool GarbageCollector::Synced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

bool GarbageCollector::WaitForSync() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
      if (synced_) return true;
    }
    bool all = true;
    for (Informer* inf : monitored_) {
      if (!inf->WaitForSync(std::chrono::milliseconds(100))) {
        all = false;
        break;
      }
    }
    if (all) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!synced_) {
        CATTLE_LOG(INFO) << "garbage collector: all resource monitors have synced";
      }
      synced_ = true;
      return true;
    }
  }
}

// --- the graph (informer threads) ---------------------------------------------------------

void GarbageCollector::OnUpsert(const KindInfo* kind, const ObjectPtr& obj) {
  Node n;
  n.kind = kind;
  n.ns = obj->namespace_();
  n.name = obj->name();
  n.uid = obj->uid();
  if (n.uid.empty()) return;
  for (auto r : obj->meta().getOwnerReferences()) {
    n.owners.push_back({S(r.getUid()), S(r.getApiVersion()), S(r.getKind()), S(r.getName()),
                        r.hasBlockOwnerDeletion() && r.getBlockOwnerDeletion().getValue()});
  }
  n.being_deleted = obj->meta().hasDeletionTimestamp();
  n.deleting_dependents = n.being_deleted && HasFinalizer(*obj, kForegroundDeletion);
  n.orphaning = n.being_deleted && HasFinalizer(*obj, kOrphan);

  std::vector<std::string> to_delete, to_orphan;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graph_.find(n.uid);
    bool existed = it != graph_.end();
    Node old = existed ? it->second : Node{};
    std::set<std::string> old_uids, new_uids;
    for (const auto& r : old.owners) old_uids.insert(r.uid);
    for (const auto& r : n.owners) new_uids.insert(r.uid);
    for (const auto& u : old_uids)
      if (!new_uids.count(u)) {
        auto d = dependents_.find(u);
        if (d != dependents_.end()) {
          d->second.erase(n.uid);
          if (d->second.empty()) dependents_.erase(d);
        }
        // An owner waiting for its dependents may now proceed.
        auto o = graph_.find(u);
        if (o != graph_.end() && o->second.deleting_dependents) to_delete.push_back(u);
      }
    for (const auto& u : new_uids) dependents_[u].insert(n.uid);

    bool owners_changed = !existed ? !n.owners.empty() : old.owners.size() != n.owners.size();
    if (existed && !owners_changed) {
      for (size_t i = 0; i < n.owners.size(); ++i)
        if (n.owners[i].uid != old.owners[i].uid || n.owners[i].block != old.owners[i].block)
          owners_changed = true;
    }
    if (owners_changed) {
      // Verify references to owners the graph does not know (absent ones mean garbage)
      // or that are deleting their dependents in the foreground.
      bool verify = false;
      for (const auto& r : n.owners) {
        auto o = graph_.find(r.uid);
        if (o == graph_.end() || o->second.deleting_dependents) verify = true;
      }
      if (verify) to_delete.push_back(n.uid);
      // A blockOwnerDeletion flip may release an owner deleting in the foreground.
      for (const auto& r : n.owners) {
        auto o = graph_.find(r.uid);
        if (o != graph_.end() && o->second.deleting_dependents) to_delete.push_back(r.uid);
      }
    }
    if (n.deleting_dependents && !old.deleting_dependents) {
      to_delete.push_back(n.uid);
      auto d = dependents_.find(n.uid);
      if (d != dependents_.end())
        for (const auto& dep : d->second) to_delete.push_back(dep);
    }
    if (n.orphaning && !old.orphaning) to_orphan.push_back(n.uid);
    graph_[n.uid] = std::move(n);
  }
  for (const auto& u : to_delete) attempt_to_delete_.Add(u);
  for (const auto& u : to_orphan) attempt_to_orphan_.Add(u);
}

void GarbageCollector::OnDelete(const ObjectPtr& obj) {
  std::string uid = obj->uid();
  std::vector<std::string> to_delete;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graph_.find(uid);
    if (it == graph_.end()) return;
    for (const auto& r : it->second.owners) {
      auto o = graph_.find(r.uid);
      if (o != graph_.end() && o->second.deleting_dependents) to_delete.push_back(r.uid);
    }
    auto d = dependents_.find(uid);
    if (d != dependents_.end())
      for (const auto& dep : d->second) to_delete.push_back(dep);
    RemoveNodeLocked(uid);
    if (absent_owners_.size() >= kAbsentOwnerCacheSize) absent_owners_.clear();
    absent_owners_.insert(uid);
  }
  for (const auto& u : to_delete) attempt_to_delete_.Add(u);
}

void GarbageCollector::RemoveNodeLocked(const std::string& uid) {
  auto it = graph_.find(uid);
  if (it == graph_.end()) return;
  for (const auto& r : it->second.owners) {
    auto d = dependents_.find(r.uid);
    if (d == dependents_.end()) continue;
    d->second.erase(uid);
    if (d->second.empty()) dependents_.erase(d);
  }
  graph_.erase(it);
  // dependents_[uid] stays while dependents still name this owner: they are what the
  // attemptToDelete workers act on.
}

// --- workers -------------------------------------------------------------------------------

void GarbageCollector::WorkerLoop(WorkQueue* queue, bool orphan) {
  if (!WaitForSync()) return;
  std::string uid;
  while (queue->Get(&uid)) {
    Status s = orphan ? AttemptToOrphan(uid) : AttemptToDelete(uid);
    if (s.ok()) {
      queue->Forget(uid);
    } else {
      CATTLE_LOG(WARN) << (orphan ? "orphaning dependents failed" : "garbage collection failed")
                       << kv("uid", uid) << kv("error", s.ToString());
      queue->AddRateLimited(uid);
    }
    queue->Done(uid);
  }
}

Status GarbageCollector::AttemptToDelete(const std::string& uid) {
  Node node;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graph_.find(uid);
    if (it == graph_.end()) return Status::Ok();
    node = it->second;
  }
  if (node.being_deleted && !node.deleting_dependents) return Status::Ok();
  auto latest = client_->Get(node.kind, node.ns, node.name);
  if (!latest.ok()) {
    // Gone: the informer delivers the deletion, which queues what depends on it.
    if (latest.status().Is(Reason::kNotFound)) return Status::Ok();
    return latest.status();
  }
  if (latest->uid() != uid) return Status::Ok();
  bool being_deleted = latest->meta().hasDeletionTimestamp();
  if (being_deleted && HasFinalizer(*latest, kForegroundDeletion)) return ProcessDeletingDependents(node);
  if (being_deleted) return Status::Ok();

  std::vector<OwnerRef> owners;
  for (auto r : latest->meta().getOwnerReferences())
    owners.push_back({S(r.getUid()), S(r.getApiVersion()), S(r.getKind()), S(r.getName()),
                      r.hasBlockOwnerDeletion() && r.getBlockOwnerDeletion().getValue()});
  if (owners.empty()) return Status::Ok();

  std::set<std::string> solid, dangling, waiting;
  for (const auto& ref : owners) {
    auto state = Classify(node, ref);
    if (!state.ok()) return state.status();
    switch (*state) {
      case OwnerState::kSolid: solid.insert(ref.uid); break;
      case OwnerState::kDangling: dangling.insert(ref.uid); break;
      case OwnerState::kWaiting: waiting.insert(ref.uid); break;
    }
  }
  if (!solid.empty()) {
    if (dangling.empty() && waiting.empty()) return Status::Ok();
    std::set<std::string> remove = dangling;
    remove.insert(waiting.begin(), waiting.end());
    CATTLE_LOG(INFO) << "removing references to absent or deleting owners"
                     << kv("object", Describe(node.kind, node.ns, node.name));
    return RemoveOwnerRefs(node, remove);
  }
  bool has_dependents = false, dependent_deleting_dependents = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto d = dependents_.find(uid);
    if (d != dependents_.end()) {
      for (const auto& dep : d->second) {
        auto g = graph_.find(dep);
        if (g == graph_.end()) continue;
        has_dependents = true;
        if (g->second.deleting_dependents) dependent_deleting_dependents = true;
      }
    }
  }
  if (!waiting.empty() && has_dependents) {
    if (dependent_deleting_dependents) {
      // A cycle through foreground deletions: stop blocking the owners we wait for.
      CATTLE_LOG(INFO) << "unblocking owner references to break a foreground-deletion cycle"
                       << kv("object", Describe(node.kind, node.ns, node.name));
      CATTLE_RETURN_IF_ERROR(UnblockOwnerRefs(node, waiting));
    }
    return DeleteObject(node, "Foreground");
  }
  std::string policy = "Background";
  if (HasFinalizer(*latest, kOrphan)) {
    policy = "Orphan";
  } else if (HasFinalizer(*latest, kForegroundDeletion)) {
    policy = "Foreground";
  }
  return DeleteObject(node, policy);
}

Status GarbageCollector::ProcessDeletingDependents(const Node& node) {
  std::vector<std::string> blocking;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto d = dependents_.find(node.uid);
    if (d != dependents_.end()) {
      for (const auto& dep : d->second) {
        auto g = graph_.find(dep);
        if (g == graph_.end()) continue;
        for (const auto& r : g->second.owners) {
          if (r.uid == node.uid && r.block) {
            if (!g->second.deleting_dependents) blocking.push_back(dep);
            else blocking.push_back("");  // waits, but is already deleting its own
            break;
          }
        }
      }
    }
  }
  if (blocking.empty()) {
    CATTLE_LOG(INFO) << "dependents are gone; removing finalizer foregroundDeletion"
                     << kv("object", Describe(node.kind, node.ns, node.name));
    return RemoveFinalizer(node, kForegroundDeletion);
  }
  for (const auto& dep : blocking)
    if (!dep.empty()) attempt_to_delete_.Add(dep);
  return Status::Ok();
}

Result<GarbageCollector::OwnerState> GarbageCollector::Classify(const Node& dependent, const OwnerRef& ref) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absent_owners_.count(ref.uid)) return OwnerState::kDangling;
    auto o = graph_.find(ref.uid);
    if (o != graph_.end())
      return o->second.deleting_dependents ? OwnerState::kWaiting : OwnerState::kSolid;
  }
  const KindInfo* kind = client_->kinds().ByApiVersionKind(ref.api_version, ref.kind);
  if (kind == nullptr) {
    // Kubernetes retries until the kind is served; here the set of kinds is fixed, so an
    // unknown owner kind can never be checked: keep the dependent.
    CATTLE_LOG(WARN) << "owner kind is unknown; keeping the dependent" << kv("apiVersion", ref.api_version)
                     << kv("kind", ref.kind) << kv("object", Describe(dependent.kind, dependent.ns, dependent.name));
    return OwnerState::kSolid;
  }
  if (kind->namespaced && dependent.ns.empty()) {
    // A cluster-scoped dependent cannot have a namespaced owner: the reference is invalid.
    if (recorder_) {
      Object ref_obj(dependent.kind);
      ref_obj.meta().setName(dependent.name);
      ref_obj.meta().setUid(dependent.uid);
      recorder_->Event(ref_obj, "Warning", "OwnerRefInvalidNamespace",
                       "ownerRef [" + ref.api_version + "/" + ref.kind + ", namespace: , name: " + ref.name +
                           ", uid: " + ref.uid + "] does not exist in namespace \"\"");
    }
    return OwnerState::kDangling;
  }
  auto owner = client_->Get(kind, kind->namespaced ? dependent.ns : "", ref.name);
  if (!owner.ok()) {
    if (!owner.status().Is(Reason::kNotFound)) return owner.status();
  } else if (owner->uid() == ref.uid) {
    bool waiting = owner->meta().hasDeletionTimestamp() && HasFinalizer(*owner, kForegroundDeletion);
    return waiting ? OwnerState::kWaiting : OwnerState::kSolid;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (absent_owners_.size() >= kAbsentOwnerCacheSize) absent_owners_.clear();
  absent_owners_.insert(ref.uid);
  return OwnerState::kDangling;
}

Status GarbageCollector::AttemptToOrphan(const std::string& uid) {
  Node node;
  std::vector<Node> deps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = graph_.find(uid);
    if (it == graph_.end()) return Status::Ok();
    node = it->second;
    auto d = dependents_.find(uid);
    if (d != dependents_.end())
      for (const auto& dep : d->second) {
        auto g = graph_.find(dep);
        if (g != graph_.end()) deps.push_back(g->second);
      }
  }
  auto latest = client_->Get(node.kind, node.ns, node.name);
  if (!latest.ok()) return latest.status().Is(Reason::kNotFound) ? Status::Ok() : latest.status();
  if (latest->uid() != uid || !latest->meta().hasDeletionTimestamp() || !HasFinalizer(*latest, kOrphan))
    return Status::Ok();
  for (const auto& dep : deps) CATTLE_RETURN_IF_ERROR(RemoveOwnerRefs(dep, {uid}));
  CATTLE_LOG(INFO) << "dependents orphaned; removing finalizer orphan"
                   << kv("object", Describe(node.kind, node.ns, node.name)) << kv("dependents", deps.size());
  return RemoveFinalizer(node, kOrphan);
}

// --- writes ----------------------------------------------------------------------------------

Status GarbageCollector::RemoveFinalizer(const Node& node, const std::string& finalizer) {
  Status last;
  for (int attempt = 0; attempt < kWriteRetries; ++attempt) {
    auto obj = client_->Get(node.kind, node.ns, node.name);
    if (!obj.ok()) return obj.status().Is(Reason::kNotFound) ? Status::Ok() : obj.status();
    if (obj->uid() != node.uid) return Status::Ok();
    std::vector<std::string> kept;
    for (auto f : obj->meta().getFinalizers())
      if (f != finalizer.c_str()) kept.push_back(S(f));
    if (kept.size() == obj->meta().getFinalizers().size()) return Status::Ok();
    auto meta = obj->meta();
    if (kept.empty()) {
      meta.disownFinalizers();
    } else {
      auto list = meta.initFinalizers(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) list.set(i, kept[i]);
    }
    auto r = client_->Update(*obj);
    if (r.ok() || r.status().Is(Reason::kNotFound)) return Status::Ok();
    last = r.status();
    if (!last.Is(Reason::kConflict)) return last;
  }
  return last;
}

namespace {

// Rewrites metadata.ownerReferences through `edit`, which returns whether it changed the list.
template <typename Edit>
Status EditOwnerRefs(ApiClient* client, const KindInfo* kind, const std::string& ns,
                     const std::string& name, const std::string& uid, Edit edit) {
  Status last;
  for (int attempt = 0; attempt < kWriteRetries; ++attempt) {
    auto obj = client->Get(kind, ns, name);
    if (!obj.ok()) return obj.status().Is(Reason::kNotFound) ? Status::Ok() : obj.status();
    if (obj->uid() != uid) return Status::Ok();
    auto meta = obj->meta();
    // Copy out first: initOwnerReferences zeroes the old list.
    capnp::MallocMessageBuilder scratch;
    auto orphan = scratch.getOrphanage().newOrphanCopy(meta.asReader().getOwnerReferences());
    auto old = orphan.getReader();
    std::vector<bool> keep(old.size(), true);
    std::vector<bool> unblock(old.size(), false);
    if (!edit(old, keep, unblock)) return Status::Ok();
    size_t n = std::count(keep.begin(), keep.end(), true);
    if (n == 0) {
      meta.disownOwnerReferences();
    } else {
      auto list = meta.initOwnerReferences(n);
      size_t j = 0;
      for (size_t i = 0; i < old.size(); ++i) {
        if (!keep[i]) continue;
        list.setWithCaveats(j, old[i]);
        if (unblock[i]) list[j].initBlockOwnerDeletion().setValue(false);
        ++j;
      }
    }
    auto r = client->Update(*obj);
    if (r.ok() || r.status().Is(Reason::kNotFound)) return Status::Ok();
    last = r.status();
    if (!last.Is(Reason::kConflict)) return last;
  }
  return last;
}

}  // namespace

Status GarbageCollector::RemoveOwnerRefs(const Node& node, const std::set<std::string>& owner_uids) {
  return EditOwnerRefs(client_, node.kind, node.ns, node.name, node.uid,
                       [&](capnp::List<api::OwnerReference>::Reader refs, std::vector<bool>& keep,
                           std::vector<bool>&) {
                         bool changed = false;
                         for (size_t i = 0; i < refs.size(); ++i)
                           if (owner_uids.count(S(refs[i].getUid()))) keep[i] = false, changed = true;
                         return changed;
                       });
}

Status GarbageCollector::UnblockOwnerRefs(const Node& node, const std::set<std::string>& owner_uids) {
  return EditOwnerRefs(client_, node.kind, node.ns, node.name, node.uid,
                       [&](capnp::List<api::OwnerReference>::Reader refs, std::vector<bool>&,
                           std::vector<bool>& unblock) {
                         bool changed = false;
                         for (size_t i = 0; i < refs.size(); ++i) {
                           bool blocks = refs[i].hasBlockOwnerDeletion() && refs[i].getBlockOwnerDeletion().getValue();
                           if (blocks && owner_uids.count(S(refs[i].getUid()))) unblock[i] = true, changed = true;
                         }
                         return changed;
                       });
}

Status GarbageCollector::DeleteObject(const Node& node, const std::string& propagation) {
  CATTLE_LOG(INFO) << "deleting object" << kv("object", Describe(node.kind, node.ns, node.name))
                   << kv("uid", node.uid) << kv("propagationPolicy", propagation);
  DeleteOptions opts;
  opts.precondition_uid = node.uid;
  opts.propagation_policy = propagation;
  auto r = client_->Delete(node.kind, node.ns, node.name, opts);
  // NotFound: already gone. Conflict: the uid precondition failed, the name was reused.
  if (!r.ok() && !r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict)) return r.status();
  return Status::Ok();
}

}  // namespace cattle::controllers
