#include "controller-manager/namespace_controller.h"

#include <algorithm>

#include "cattle/log.h"
#include "core.capnp.h"

namespace cattle::controllers {
namespace {

constexpr const char* kKubernetesFinalizer = "kubernetes";

bool HasSpecFinalizer(const Object& ns) {
  for (auto f : ns.get<api::Namespace>().getSpec().getFinalizers())
    if (f == kKubernetesFinalizer) return true;
  return false;
}

std::string Join(const std::map<std::string, int>& m, const char* sep) {
  std::string out;
  for (const auto& [k, n] : m) {
    if (!out.empty()) out += ", ";
    out += k + sep + std::to_string(n) + " resource instances";
  }
  return out;
}

struct Cond {
  std::string type, status, reason, message;
};

}  // namespace

NamespaceController::NamespaceController(InformerFactory* informers, ApiClient* client,
                                         EventRecorder* recorder, Clock* clock, TimeScale scale)
    : client_(client),
      clock_(clock),
      namespaces_kind_(client->Kind("namespaces")),
      namespaces_(informers->For(namespaces_kind_)),
      queue_(clock) {
  (void)scale;
  (void)recorder;  // Kubernetes' namespace controller records no events either
  auto on = [this](const ObjectPtr& ns) {
    if (ns->meta().hasDeletionTimestamp()) queue_.Add(ns->name());
  };
  namespaces_->AddHandlers({on, [on](const ObjectPtr&, const ObjectPtr& ns) { on(ns); }, nullptr});
}

NamespaceController::~NamespaceController() { Stop(); }

void NamespaceController::Run(int workers) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void NamespaceController::Stop() {
  queue_.ShutDown();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void NamespaceController::WorkerLoop() {
  std::string name;
  while (queue_.Get(&name)) {
    Status s = Sync(name);
    if (s.ok()) {
      queue_.Forget(name);
    } else {
      // Content still being deleted is expected; other errors are worth a line.
      if (!s.Is(Reason::kConflict)) {
        CATTLE_LOG(WARN) << "namespace deletion failed; retrying" << kv("namespace", name) << kv("error", s.ToString());
      }
      queue_.AddRateLimited(name);
    }
    queue_.Done(name);
  }
}

Result<NamespaceController::Remaining> NamespaceController::DeleteContent(const std::string& ns) {
  Remaining out;
  for (const KindInfo& kind : client_->kinds().kinds()) {
    if (!kind.namespaced) continue;
    auto list = client_->List(&kind, ns);
    if (!list.ok()) return list.status();
    for (const auto& item : list->items) {
      const Object* left = &item;
      Result<Object> r = Status::NotFound("");
      if (!item.meta().hasDeletionTimestamp()) {
        DeleteOptions opts;
        opts.precondition_uid = item.uid();
        r = client_->Delete(&kind, ns, item.name(), opts);
        if (!r.ok()) {
          if (!r.status().Is(Reason::kNotFound) && !r.status().Is(Reason::kConflict))
            out.failure = kind.GroupResource() + " \"" + item.name() + "\": " + r.status().message();
          if (!out.failure.empty() || r.status().Is(Reason::kNotFound)) continue;
        }
        if (r.ok() && !r->meta().hasDeletionTimestamp()) continue;  // gone at once
        if (r.ok()) left = &*r;
      }
      out.resources[kind.GroupResource()]++;
      for (auto f : left->meta().getFinalizers()) out.finalizers[f.cStr()]++;
    }
  }
  return out;
}

void NamespaceController::UpdateConditions(const std::string& name, const Remaining& rem) {
  std::vector<Cond> want = {
      {"NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"},
      {"NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
       "All legacy kube types successfully parsed"},
      rem.failure.empty()
          ? Cond{"NamespaceDeletionContentFailure", "False", "ContentDeleted",
                 "All content successfully deleted, may be waiting on finalization"}
          : Cond{"NamespaceDeletionContentFailure", "True", "ContentDeletionFailed",
                 "Failed to delete all resource types, 1 remaining: " + rem.failure},
      rem.resources.empty()
          ? Cond{"NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"}
          : Cond{"NamespaceContentRemaining", "True", "SomeResourcesRemain",
                 "Some resources are remaining: " + Join(rem.resources, " has ")},
      rem.finalizers.empty()
          ? Cond{"NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
                 "All content-preserving finalizers finished"}
          : Cond{"NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                 "Some content in the namespace has finalizers remaining: " + Join(rem.finalizers, " in ")},
  };
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto ns = client_->Get(namespaces_kind_, "", name);
    if (!ns.ok()) return;
    auto status = ns->as<api::Namespace>().getStatus();
    // Keep other conditions and the transition times of unchanged ones.
    std::vector<std::pair<Cond, std::string>> conds;  // condition, lastTransitionTime
    bool changed = false;
    std::string now = FormatRfc3339(clock_->WallNanos());
    for (auto c : status.getConditions().asReader()) {
      Cond have{c.getType().cStr(), c.getStatus().cStr(), c.getReason().cStr(), c.getMessage().cStr()};
      auto it = std::find_if(want.begin(), want.end(), [&](const Cond& w) { return w.type == have.type; });
      if (it == want.end()) {
        conds.push_back({have, c.getLastTransitionTime().cStr()});
        continue;
      }
      bool same = it->status == have.status && it->reason == have.reason && it->message == have.message;
      changed |= !same;
      conds.push_back({*it, it->status == have.status ? std::string(c.getLastTransitionTime().cStr()) : now});
    }
    for (const auto& w : want) {
      bool present = std::any_of(conds.begin(), conds.end(), [&](const auto& c) { return c.first.type == w.type; });
      if (!present) {
        conds.push_back({w, now});
        changed = true;
      }
    }
    if (!changed) return;
    auto list = status.initConditions(conds.size());
    for (size_t i = 0; i < conds.size(); ++i) {
      list[i].setType(conds[i].first.type);
      list[i].setStatus(conds[i].first.status);
      list[i].setReason(conds[i].first.reason);
      list[i].setMessage(conds[i].first.message);
      if (!conds[i].second.empty()) list[i].setLastTransitionTime(conds[i].second);
    }
    auto r = client_->UpdateStatus(*ns);
    if (r.ok() || !r.status().Is(Reason::kConflict)) return;
  }
}

Status NamespaceController::Sync(const std::string& name) {
  ObjectPtr cached = namespaces_->Get(name);
  if (!cached || !cached->meta().hasDeletionTimestamp()) return Status::Ok();
  auto ns = client_->Get(namespaces_kind_, "", name);
  if (!ns.ok()) return ns.status().Is(Reason::kNotFound) ? Status::Ok() : ns.status();
  if (!ns->meta().hasDeletionTimestamp() || !HasSpecFinalizer(*ns)) return Status::Ok();

  auto remaining = DeleteContent(name);
  if (!remaining.ok()) return remaining.status();
  UpdateConditions(name, *remaining);
  if (!remaining->failure.empty()) return Status::Internal("deleting content of namespace " + name + " failed: " + remaining->failure);
  if (!remaining->resources.empty()) {
    CATTLE_LOG(DEBUG) << "namespace content remaining" << kv("namespace", name)
                      << kv("resources", Join(remaining->resources, " has "));
    return Status::Conflict("content remaining in namespace " + name);
  }

  // Finalize (namespaces/finalize): "kubernetes" leaves spec.finalizers; the registry then
  // deletes the namespace unless a metadata finalizer still holds it.
  WriteOptions finalize;
  finalize.subresource = "finalize";
  for (int attempt = 0;; ++attempt) {
    auto cur = client_->Get(namespaces_kind_, "", name);
    if (!cur.ok()) return cur.status().Is(Reason::kNotFound) ? Status::Ok() : cur.status();
    if (!HasSpecFinalizer(*cur)) break;
    std::vector<std::string> kept;
    for (auto f : cur->get<api::Namespace>().getSpec().getFinalizers())
      if (f != kKubernetesFinalizer) kept.push_back(f.cStr());
    auto list = cur->as<api::Namespace>().getSpec().initFinalizers(kept.size());
    for (size_t i = 0; i < kept.size(); ++i) list.set(i, kept[i]);
    auto r = client_->Update(*cur, finalize);
    if (r.ok() || r.status().Is(Reason::kNotFound)) break;
    if (!r.status().Is(Reason::kConflict) || attempt >= 4) return r.status();
  }
  CATTLE_LOG(INFO) << "namespace emptied and finalized" << kv("namespace", name);
  return Status::Ok();
}

}  // namespace cattle::controllers
